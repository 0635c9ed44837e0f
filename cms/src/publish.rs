//! Publishing: render a site with its theme into the content-addressed store and swap its
//! manifest.
//!
//! Order matters, so that a gateway never sees a manifest naming a file that is not there:
//! 1. render every page and write each into the store (objects are immutable, named by hash);
//! 2. in one transaction, replace the site's `published_file` rows and bump the configuration
//!    generation;
//! 3. write the per-site manifest file `store/manifests/site-{id}.json` (a copy for operators
//!    and the tamper watch; the gateways get the manifest in their snapshot).
//!
//! Every publish renders the whole site. Unchanged pages hash the same and are not rewritten;
//! rendering only what changed is an optimisation for later.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use chrono::{DateTime, FixedOffset, Utc};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use serde::Serialize;
use sitegroup_contract::store::write_atomic;

use crate::db::entities::{
    article, article_revision, media, organization, platform_setting, published_file, site,
    site_column, site_hostname,
};
use crate::error::{AppError, AppResult};
use crate::snapshot::bump_generation;
use crate::state::AppState;

/// Page paths of a site's content.
pub fn column_path(column: &site_column::Model) -> String {
    format!("/{}/", column.slug)
}

/// Identifies what an article page is made of: theme, template and every value it shows.
fn fingerprint(theme: &str, template: &str, ctx: &Value) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(theme.as_bytes());
    h.update([0]);
    h.update(template.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(ctx).unwrap_or_default());
    h.finalize().into()
}

/// Whether the group is in mourning mode (every site rendered in grey).
pub async fn mourning_mode(db: &impl sea_orm::ConnectionTrait) -> Result<bool, sea_orm::DbErr> {
    Ok(platform_setting::Entity::find_by_id("mourning_mode")
        .one(db)
        .await?
        .is_some_and(|s| s.value == "on"))
}

/// Page `n` (1-based) of a column's list: `index.html`, then `index_2.html`, …
pub fn list_page_path(column_url: &str, n: usize) -> String {
    if n <= 1 {
        format!("{column_url}index.html")
    } else {
        format!("{column_url}index_{n}.html")
    }
}

pub fn article_path(column: &site_column::Model, article_id: i32) -> String {
    format!("/{}/{}.html", column.slug, article_id)
}

/// Beijing time, as the pages show it (China has no daylight saving).
pub fn beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset)
}

#[derive(Serialize)]
struct ColumnView {
    name: String,
    url: String,
    column_type: String,
    description: String,
    keywords: String,
}

#[derive(Serialize, Clone)]
struct ListItem {
    title: String,
    url: String,
    date: String,
    /// 文号, for 信息公开 lists.
    doc_no: String,
}

/// One entry of the RSS feed.
struct FeedItem {
    title: String,
    url: String,
    summary: String,
    when: chrono::DateTime<chrono::FixedOffset>,
}

/// Escapes text for XML.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `sitemap.xml`: every page of the site (links to external items excluded).
fn sitemap(base: &str, pages: &[(String, String, Vec<u8>)], lastmod: &str) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (path, content_type, _) in pages {
        if !content_type.starts_with("text/html")
            || path == "/404.html"
            || path == crate::theme::ERROR_PAGE_PATH
        {
            continue;
        }
        let loc = path.strip_suffix("index.html").unwrap_or(path);
        out.push_str(&format!(
            "  <url><loc>{}</loc><lastmod>{lastmod}</lastmod></url>\n",
            xml_escape(&format!("{base}{loc}"))
        ));
    }
    out.push_str("</urlset>\n");
    out
}

/// `rss.xml`: the latest 50 items (RSS 2.0).
fn rss(base: &str, site_name: &str, items: &[FeedItem]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\n<title>{}</title>\n<link>{}/</link>\n<description>{}</description>\n<language>zh-cn</language>\n",
        xml_escape(site_name),
        xml_escape(base),
        xml_escape(&format!("{site_name}最新信息"))
    );
    for it in items.iter().take(50) {
        let link = if it.url.starts_with("http") {
            it.url.clone()
        } else {
            format!("{base}{}", it.url)
        };
        out.push_str(&format!(
            "<item><title>{}</title><link>{}</link><guid>{}</guid><pubDate>{}</pubDate><description>{}</description></item>\n",
            xml_escape(&it.title),
            xml_escape(&link),
            xml_escape(&link),
            it.when.to_rfc2822(),
            xml_escape(&it.summary)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

/// The `site` value every page of a site gets.
fn site_value(
    site: &site::Model,
    org: &organization::Model,
    domain: &str,
    columns: &[ColumnView],
) -> Value {
    context! {
        name => site.name.clone(),
        domain => domain,
        id_code => site.site_id_code.clone(),
        icp => site.icp_record.clone(),
        psb => site.psb_record.clone(),
        contact => site.contact.clone(),
        party_gov_mark => site.party_gov_mark,
        org_name => if site.sponsor.is_empty() { org.name.clone() } else { site.sponsor.clone() },
        columns => Value::from_serialize(columns),
    }
}

/// The `site` and `group` values for a page of `site` rendered outside publishing (the search
/// page), exactly as its published pages have them.
pub async fn page_context(
    db: &impl sea_orm::ConnectionTrait,
    site: &site::Model,
) -> AppResult<(Value, Value)> {
    let org = organization::Entity::find_by_id(site.org_id)
        .one(db)
        .await?
        .context("site without organization")?;
    let domain = site_hostname::Entity::find()
        .filter(site_hostname::Column::SiteId.eq(site.id))
        .order_by_asc(site_hostname::Column::Id)
        .one(db)
        .await?
        .map(|h| h.hostname)
        .unwrap_or_default();
    let columns: Vec<ColumnView> = site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(site.id))
        .order_by_asc(site_column::Column::SortOrder)
        .order_by_asc(site_column::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(column_view)
        .collect();
    Ok((
        site_value(site, &org, &domain, &columns),
        context! { mourning => mourning_mode(db).await? },
    ))
}

fn column_view(c: &site_column::Model) -> ColumnView {
    ColumnView {
        name: c.name.clone(),
        url: column_path(c),
        column_type: c.column_type.clone(),
        description: c.description.clone(),
        keywords: c.keywords.clone(),
    }
}

/// What a publish did.
#[derive(Debug)]
pub struct PublishReport {
    pub pages: usize,
}

/// Renders and publishes one site. Serialized by `state.publish_lock`.
pub async fn publish_site(state: &AppState, site_id: i32) -> AppResult<PublishReport> {
    let _guard = state.publish_lock.lock().await;
    let db = &state.db;
    let site = site::Entity::find_by_id(site_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let org = organization::Entity::find_by_id(site.org_id)
        .one(db)
        .await?
        .context("site without organization")?;
    let domain = site_hostname::Entity::find()
        .filter(site_hostname::Column::SiteId.eq(site_id))
        .order_by_asc(site_hostname::Column::Id)
        .one(db)
        .await?
        .map(|h| h.hostname)
        .unwrap_or_default();
    let columns = site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(site_id))
        .order_by_asc(site_column::Column::SortOrder)
        .order_by_asc(site_column::Column::Id)
        .all(db)
        .await?;
    let articles = article::Entity::find()
        .filter(article::Column::SiteId.eq(site_id))
        .filter(article::Column::Status.eq("published"))
        .filter(article::Column::DeletedAt.is_null())
        .filter(article::Column::PublishedRevisionId.is_not_null())
        .order_by_desc(article::Column::PublishedAt)
        .order_by_desc(article::Column::Id)
        .all(db)
        .await?;
    let revision_ids: Vec<i32> = articles
        .iter()
        .filter_map(|a| a.published_revision_id)
        .collect();
    let revisions: HashMap<i32, article_revision::Model> = article_revision::Entity::find()
        .filter(article_revision::Column::Id.is_in(revision_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();

    let column_views: Vec<ColumnView> = columns.iter().map(column_view).collect();
    // The same views as template values, built once (every article page shows its column).
    let column_values: Vec<Value> = column_views.iter().map(Value::from_serialize).collect();
    let site_ctx = site_value(&site, &org, &domain, &column_views);

    let theme = state.themes.get(&site.theme).ok_or_else(|| {
        AppError::Invalid(format!(
            "网站使用的主题“{}”未安装，请在网站设置中选择已安装的主题。",
            site.theme
        ))
    })?;
    let group = context! { mourning => mourning_mode(db).await? };
    let mut pages: Vec<(String, String, Vec<u8>)> = Vec::new(); // (path, content type, bytes)
    let html = "text/html; charset=utf-8".to_string();
    let mut per_column: BTreeMap<i32, Vec<ListItem>> = BTreeMap::new();
    let mut feed: Vec<FeedItem> = Vec::new();
    // Article pages reused from the last publish: (path, content type, object hash).
    let mut reused: Vec<(String, String, String)> = Vec::new();
    // Article pages rendered now: (path, fingerprint), for the cache.
    let mut rendered: Vec<(String, [u8; 32])> = Vec::new();
    for a in &articles {
        let (Some(rev), Some(ci)) = (
            a.published_revision_id.and_then(|id| revisions.get(&id)),
            columns.iter().position(|c| c.id == a.column_id),
        ) else {
            continue;
        };
        let column = &columns[ci];
        let when = beijing(rev.publish_time.or(a.published_at).unwrap_or(a.created_at));
        feed.push(FeedItem {
            title: rev.title.clone(),
            url: if a.kind == "link" {
                rev.link_url.clone()
            } else {
                article_path(column, a.id)
            },
            summary: rev.summary.clone(),
            when,
        });
        // A link item is listed with its external address and has no page of its own.
        if a.kind == "link" {
            per_column.entry(column.id).or_default().push(ListItem {
                title: rev.title.clone(),
                url: rev.link_url.clone(),
                date: when.format("%Y-%m-%d").to_string(),
                doc_no: rev.doc_no.clone(),
            });
            continue;
        }
        let path = article_path(column, a.id);
        per_column.entry(column.id).or_default().push(ListItem {
            title: rev.title.clone(),
            url: path.clone(),
            date: when.format("%Y-%m-%d").to_string(),
            doc_no: rev.doc_no.clone(),
        });
        let article_template =
            if !column.article_template.is_empty() && theme.has(&column.article_template) {
                column.article_template.as_str()
            } else {
                "article.html"
            };
        let ctx = context! {
                group => group.clone(), site => site_ctx.clone(),
                column => column_values[ci].clone(),
                article => context! {
                    title => rev.title.clone(),
                    subtitle => rev.subtitle.clone(),
                    summary => rev.summary.clone(),
                    index_no => rev.index_no.clone(),
                    issuer => rev.issuer.clone(),
                    doc_no => rev.doc_no.clone(),
                    written_date => rev.written_date.clone(),
                    topic => rev.topic.clone(),
                    attachments => rev.attachments.lines().filter_map(|l| {
                        let (path, name) = l.split_once('\t')?;
                        Some(context! { url => path, name => if name.is_empty() { path } else { name } })
                    }).collect::<Vec<_>>(),
                    author => rev.author.clone(),
                    source => if rev.source.is_empty() { org.name.clone() } else { rev.source.clone() },
                    pub_date => when.format("%Y-%m-%d %H:%M").to_string(),
                    body => rev.body.clone(),
                },
        };
        // Incremental: an article page whose template and data are unchanged since the last
        // publish is not rendered again; its stored object is reused.
        let fingerprint = fingerprint(&site.theme, article_template, &ctx);
        let cached = state
            .render_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&(site_id, path.clone())).cloned())
            .filter(|(f, hash)| *f == fingerprint && state.store.contains(hash));
        match cached {
            Some((_, hash)) => reused.push((path, html.clone(), hash)),
            None => {
                let body = theme.render(article_template, ctx)?;
                rendered.push((path.clone(), fingerprint));
                pages.push((path, html.clone(), body.into_bytes()));
            }
        }
    }
    for ((column, view), value) in columns.iter().zip(&column_views).zip(&column_values) {
        let items = per_column.get(&column.id).cloned().unwrap_or_default();
        // List pages of the column's page size: index.html, index_2.html, …
        let size = usize::try_from(column.page_size).unwrap_or(20).max(1);
        let total = items.len().div_ceil(size).max(1);
        for n in 1..=total {
            let chunk = items
                .get((n - 1) * size..(n * size).min(items.len()))
                .unwrap_or_default();
            let list_template =
                if !column.list_template.is_empty() && theme.has(&column.list_template) {
                    column.list_template.as_str()
                } else {
                    "column.html"
                };
            let body = theme.render(
                list_template,
                context! {
                    group => group.clone(), site => site_ctx.clone(), column => value.clone(), articles => chunk,
                    pager => context! {
                        page => n, pages => total,
                        prev => (n > 1).then(|| list_page_path(&view.url, n - 1)),
                        next => (n < total).then(|| list_page_path(&view.url, n + 1)),
                    },
                },
            )?;
            pages.push((
                list_page_path(&view.url, n),
                html.clone(),
                body.into_bytes(),
            ));
        }
    }
    let blocks: Vec<Value> = columns
        .iter()
        .zip(&column_values)
        .map(|(c, view)| {
            let mut items = per_column.get(&c.id).cloned().unwrap_or_default();
            items.truncate(8);
            context! { column => view.clone(), articles => items }
        })
        .collect();
    let index = theme.render(
        "index.html",
        context! { group => group.clone(), site => site_ctx.clone(), blocks => blocks },
    )?;
    pages.push(("/index.html".into(), html.clone(), index.into_bytes()));
    let not_found = theme.render(
        "404.html",
        context! { group => group.clone(), site => site_ctx.clone() },
    )?;
    pages.push(("/404.html".into(), html.clone(), not_found.into_bytes()));
    // The gateway's error pages in the site's own look (it fills in the placeholders).
    let error = theme.render(
        crate::theme::ERROR_TEMPLATE,
        context! { group => group.clone(), site => site_ctx.clone() },
    )?;
    pages.push((
        crate::theme::ERROR_PAGE_PATH.into(),
        html,
        error.into_bytes(),
    ));
    // Feeds for search engines and readers (newest first, as `articles` is ordered).
    let base = format!("http://{domain}");
    feed.sort_by_key(|f| std::cmp::Reverse(f.when));
    let lastmod = feed
        .first()
        .map(|f| f.when.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| beijing(chrono::Utc::now()).format("%Y-%m-%d").to_string());
    let map = sitemap(&base, &pages, &lastmod);
    pages.push((
        "/sitemap.xml".into(),
        "application/xml; charset=utf-8".into(),
        map.into_bytes(),
    ));
    pages.push((
        "/rss.xml".into(),
        "application/rss+xml; charset=utf-8".into(),
        rss(&base, &site.name, &feed).into_bytes(),
    ));
    for file in theme.statics() {
        pages.push((
            file.path.to_string(),
            file.content_type.to_string(),
            file.bytes.to_vec(),
        ));
    }

    // 1. Objects first.
    let store = state.store.clone();
    let manifest: BTreeMap<String, (String, String)> = tokio::task::spawn_blocking(move || {
        pages
            .into_iter()
            .map(|(path, content_type, bytes)| {
                let hash = store.put(&bytes)?;
                Ok((path, (hash, content_type)))
            })
            .collect::<std::io::Result<BTreeMap<_, _>>>()
    })
    .await
    .context("publish task")?
    .context("writing published pages to the store")?;

    let mut manifest = manifest;
    if let Ok(mut cache) = state.render_cache.lock() {
        for (path, fingerprint) in rendered {
            if let Some((hash, _)) = manifest.get(&path) {
                cache.insert((site_id, path), (fingerprint, hash.clone()));
            }
        }
    }
    for (path, content_type, hash) in reused {
        manifest.insert(path, (hash, content_type));
    }
    // The media library: its files are already in the store.
    for m in media::Entity::find()
        .filter(media::Column::SiteId.eq(site_id))
        .all(db)
        .await?
    {
        if let (Some(tp), Some(th)) = (&m.thumb_path, &m.thumb_sha256) {
            manifest.insert(tp.clone(), (th.clone(), "image/jpeg".into()));
        }
        manifest.insert(m.path, (m.sha256, m.content_type));
    }

    // 2. Update the manifest rows to the new manifest (only the rows that differ) and bump
    //    the generation, in one transaction.
    let pages = manifest.len();
    let txn = db.begin().await?;
    // The write first: on SQLite a transaction that reads and then writes cannot wait for
    // another writer (its snapshot would be stale) and fails with "database is locked"; one
    // that starts by writing takes the write lock, waiting for it if need be.
    bump_generation(&txn).await?;
    let current: HashMap<String, published_file::Model> = published_file::Entity::find()
        .filter(published_file::Column::SiteId.eq(site_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    let gone: Vec<i32> = current
        .values()
        .filter(|f| !manifest.contains_key(&f.path))
        .map(|f| f.id)
        .collect();
    let mut changed: Vec<i32> = Vec::new();
    let mut rows: Vec<published_file::ActiveModel> = Vec::new();
    for (path, (hash, content_type)) in &manifest {
        match current.get(path) {
            Some(f) if &f.sha256 == hash && &f.content_type == content_type => continue,
            Some(f) => changed.push(f.id),
            None => {}
        }
        rows.push(published_file::ActiveModel {
            site_id: Set(site_id),
            path: Set(path.clone()),
            sha256: Set(hash.clone()),
            content_type: Set(content_type.clone()),
            ..Default::default()
        });
    }
    let removed: Vec<i32> = gone.iter().chain(&changed).copied().collect();
    for chunk in removed.chunks(500) {
        published_file::Entity::delete_many()
            .filter(published_file::Column::Id.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    for chunk in rows.chunks(200) {
        published_file::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    if !rows.is_empty() || !gone.is_empty() {
        record_publication(&txn, site_id, &manifest, None).await?;
    }
    txn.commit().await?;
    tracing::debug!(
        site = site_id,
        added_or_changed = rows.len(),
        removed = gone.len(),
        "manifest updated"
    );

    // 3. The operator-readable manifest copy.
    write_manifest_copy(state, site_id, &manifest)?;
    tracing::info!(site = site_id, pages, "site published");
    Ok(PublishReport { pages })
}

/// Writes the operator-readable copy of a site's manifest, `store/manifests/site-{id}.json`.
fn write_manifest_copy(
    state: &AppState,
    site_id: i32,
    manifest: &BTreeMap<String, (String, String)>,
) -> anyhow::Result<()> {
    let json: BTreeMap<&String, serde_json::Value> = manifest
        .iter()
        .map(|(p, (h, ct))| (p, serde_json::json!({ "sha256": h, "content_type": ct })))
        .collect();
    let dir = state.store.root().join("manifests");
    let bytes = serde_json::to_vec_pretty(&json).context("manifest json")?;
    write_atomic(&dir, &dir.join(format!("site-{site_id}.json")), &bytes)
        .context("writing manifest file")?;
    Ok(())
}

/// Publications kept per site for rollbacks.
pub const PUBLICATIONS_KEPT: usize = 30;

/// Records a site's new manifest as a publication, and drops the oldest beyond
/// [`PUBLICATIONS_KEPT`].
async fn record_publication(
    txn: &impl sea_orm::ConnectionTrait,
    site_id: i32,
    manifest: &BTreeMap<String, (String, String)>,
    rollback_of: Option<i32>,
) -> Result<(), sea_orm::DbErr> {
    use crate::db::entities::publication;
    use sea_orm::{ActiveModelTrait, QuerySelect};
    let json = serde_json::to_string(manifest)
        .map_err(|e| sea_orm::DbErr::Custom(format!("manifest json: {e}")))?;
    publication::ActiveModel {
        site_id: Set(site_id),
        published_at: Set(chrono::Utc::now()),
        files: Set(i32::try_from(manifest.len()).unwrap_or(i32::MAX)),
        manifest: Set(json),
        rollback_of: Set(rollback_of),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    // (SQLite has no OFFSET without LIMIT: the ids are few, skip them here.)
    let old: Vec<i32> = publication::Entity::find()
        .select_only()
        .column(publication::Column::Id)
        .filter(publication::Column::SiteId.eq(site_id))
        .order_by_desc(publication::Column::Id)
        .into_tuple::<i32>()
        .all(txn)
        .await?
        .into_iter()
        .skip(PUBLICATIONS_KEPT)
        .collect();
    if !old.is_empty() {
        publication::Entity::delete_many()
            .filter(publication::Column::Id.is_in(old))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Rolls a site back to its last publication before `before`: that manifest becomes the
/// site's again (every file it names is verified in the store first), at every gateway with the
/// next configuration pull. The database is not touched, so the next publication renders the
/// current content again: fix or withdraw what was wrong first. Returns the publication
/// restored.
pub async fn roll_back(
    state: &AppState,
    site_id: i32,
    before: chrono::DateTime<chrono::Utc>,
) -> AppResult<crate::db::entities::publication::Model> {
    use crate::db::entities::publication;
    use sea_orm::QueryOrder;
    let _guard = state.publish_lock.lock().await;
    let db = &state.db;
    let target = publication::Entity::find()
        .filter(publication::Column::SiteId.eq(site_id))
        .filter(publication::Column::PublishedAt.lt(before))
        .order_by_desc(publication::Column::PublishedAt)
        .order_by_desc(publication::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Invalid("没有事件发生前的发布记录，无法回滚。".into()))?;
    let manifest: BTreeMap<String, (String, String)> = serde_json::from_str(&target.manifest)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("publication {}: {e}", target.id)))?;
    let store = state.store.clone();
    let hashes: Vec<String> = manifest.values().map(|(h, _)| h.clone()).collect();
    let bad: Vec<String> = tokio::task::spawn_blocking(move || {
        let unique: std::collections::BTreeSet<String> = hashes.into_iter().collect();
        unique
            .into_iter()
            .filter(|h| store.read_verified(h).is_err())
            .collect()
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    if !bad.is_empty() {
        return Err(AppError::Invalid(format!(
            "该次发布的 {} 个文件在存储中缺失或已被改动，无法回滚。",
            bad.len()
        )));
    }
    let txn = db.begin().await?;
    bump_generation(&txn).await?;
    published_file::Entity::delete_many()
        .filter(published_file::Column::SiteId.eq(site_id))
        .exec(&txn)
        .await?;
    let rows: Vec<published_file::ActiveModel> = manifest
        .iter()
        .map(|(path, (hash, content_type))| published_file::ActiveModel {
            site_id: Set(site_id),
            path: Set(path.clone()),
            sha256: Set(hash.clone()),
            content_type: Set(content_type.clone()),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(200) {
        published_file::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    record_publication(&txn, site_id, &manifest, Some(target.id)).await?;
    txn.commit().await?;
    write_manifest_copy(state, site_id, &manifest)?;
    tracing::warn!(site = site_id, publication = target.id, "site rolled back");
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_and_feed_are_escaped_and_list_pages() {
        let pages = vec![
            (
                "/index.html".to_string(),
                "text/html; charset=utf-8".to_string(),
                vec![],
            ),
            (
                "/tzgg/index_2.html".to_string(),
                "text/html; charset=utf-8".to_string(),
                vec![],
            ),
            (
                "/tzgg/7.html".to_string(),
                "text/html; charset=utf-8".to_string(),
                vec![],
            ),
            (
                "/404.html".to_string(),
                "text/html; charset=utf-8".to_string(),
                vec![],
            ),
            (
                "/static/style.css".to_string(),
                "text/css".to_string(),
                vec![],
            ),
        ];
        let map = sitemap("http://www.demo.localhost", &pages, "2026-11-25");
        assert!(map.contains("<loc>http://www.demo.localhost/</loc>"));
        assert!(map.contains("<loc>http://www.demo.localhost/tzgg/index_2.html</loc>"));
        assert!(map.contains("/tzgg/7.html"));
        assert!(!map.contains("404") && !map.contains("style.css"));
        let when = beijing(Utc::now());
        let feed = rss(
            "http://www.demo.localhost",
            "示范 & <站>",
            &[FeedItem {
                title: "关于<通知>".into(),
                url: "/tzgg/7.html".into(),
                summary: "a\u{1}b".into(),
                when,
            }],
        );
        assert!(feed.contains("<title>示范 &amp; &lt;站&gt;</title>"));
        assert!(feed.contains("<title>关于&lt;通知&gt;</title>"));
        assert!(feed.contains("<link>http://www.demo.localhost/tzgg/7.html</link>"));
        assert!(
            feed.contains("<description>ab</description>"),
            "control characters dropped"
        );
        assert!(feed.contains("+0800"), "RFC 2822 Beijing time");
    }
}
