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
fn beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
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

    let column_views: Vec<ColumnView> = columns
        .iter()
        .map(|c| ColumnView {
            name: c.name.clone(),
            url: column_path(c),
            column_type: c.column_type.clone(),
            description: c.description.clone(),
            keywords: c.keywords.clone(),
        })
        .collect();
    let site_ctx = context! {
        name => site.name.clone(),
        domain => domain,
        id_code => site.site_id_code.clone(),
        icp => site.icp_record.clone(),
        psb => site.psb_record.clone(),
        contact => site.contact.clone(),
        party_gov_mark => site.party_gov_mark,
        org_name => if site.sponsor.is_empty() { org.name.clone() } else { site.sponsor.clone() },
        columns => Value::from_serialize(&column_views),
    };

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
    for a in &articles {
        let (Some(rev), Some(column)) = (
            a.published_revision_id.and_then(|id| revisions.get(&id)),
            columns.iter().find(|c| c.id == a.column_id),
        ) else {
            continue;
        };
        let when = beijing(rev.publish_time.or(a.published_at).unwrap_or(a.created_at));
        // A link item is listed with its external address and has no page of its own.
        if a.kind == "link" {
            per_column.entry(column.id).or_default().push(ListItem {
                title: rev.title.clone(),
                url: rev.link_url.clone(),
                date: when.format("%Y-%m-%d").to_string(),
            });
            continue;
        }
        let path = article_path(column, a.id);
        per_column.entry(column.id).or_default().push(ListItem {
            title: rev.title.clone(),
            url: path.clone(),
            date: when.format("%Y-%m-%d").to_string(),
        });
        let body = theme.render(
            "article.html",
            context! {
                group => group.clone(), site => site_ctx.clone(),
                column => Value::from_serialize(ColumnView {
                    name: column.name.clone(),
                    url: column_path(column),
                    column_type: column.column_type.clone(),
                    description: column.description.clone(),
                    keywords: column.keywords.clone(),
                }),
                article => context! {
                    title => rev.title.clone(),
                    subtitle => rev.subtitle.clone(),
                    summary => rev.summary.clone(),
                    index_no => rev.index_no.clone(),
                    issuer => rev.issuer.clone(),
                    doc_no => rev.doc_no.clone(),
                    written_date => rev.written_date.clone(),
                    topic => rev.topic.clone(),
                    author => rev.author.clone(),
                    source => if rev.source.is_empty() { org.name.clone() } else { rev.source.clone() },
                    pub_date => when.format("%Y-%m-%d %H:%M").to_string(),
                    body => rev.body.clone(),
                },
            },
        )?;
        pages.push((path, html.clone(), body.into_bytes()));
    }
    for (column, view) in columns.iter().zip(&column_views) {
        let items = per_column.get(&column.id).cloned().unwrap_or_default();
        // List pages of the column's page size: index.html, index_2.html, …
        let size = usize::try_from(column.page_size).unwrap_or(20).max(1);
        let total = items.len().div_ceil(size).max(1);
        for n in 1..=total {
            let chunk = items
                .get((n - 1) * size..(n * size).min(items.len()))
                .unwrap_or_default();
            let body = theme.render(
                "column.html",
                context! {
                    group => group.clone(), site => site_ctx.clone(), column => Value::from_serialize(view), articles => chunk,
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
        .zip(&column_views)
        .map(|(c, view)| {
            let mut items = per_column.get(&c.id).cloned().unwrap_or_default();
            items.truncate(8);
            context! { column => Value::from_serialize(view), articles => items }
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
    pages.push(("/404.html".into(), html, not_found.into_bytes()));
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

    // The media library: its files are already in the store.
    let mut manifest = manifest;
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

    // 2. Swap the manifest and bump the generation in one transaction.
    let txn = db.begin().await?;
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
    let pages = rows.len();
    for chunk in rows.chunks(200) {
        published_file::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    bump_generation(&txn).await?;
    txn.commit().await?;

    // 3. The operator-readable manifest copy.
    let json: BTreeMap<&String, serde_json::Value> = manifest
        .iter()
        .map(|(p, (h, ct))| (p, serde_json::json!({ "sha256": h, "content_type": ct })))
        .collect();
    let dir = state.store.root().join("manifests");
    let bytes = serde_json::to_vec_pretty(&json).context("manifest json")?;
    write_atomic(&dir, &dir.join(format!("site-{site_id}.json")), &bytes)
        .context("writing manifest file")?;
    tracing::info!(site = site_id, pages, "site published");
    Ok(PublishReport { pages })
}
