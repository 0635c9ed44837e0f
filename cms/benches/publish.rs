//! Publishing benchmark: one site with 10,000 published articles, rendered and written to the
//! content-addressed store (pages, paginated column lists, homepage), manifest swapped.
//!
//! Run: `cargo bench -p sitegroup-cms --bench publish` (`SITEGROUP_BENCH_ARTICLES=N` to change
//! the count). Target: seconds, not minutes. Uses SQLite in a temporary directory.

use std::time::Instant;

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use sitegroup_cms::db::entities::{article, article_revision, site, site_column};
use sitegroup_cms::server::{CmsOptions, build_state};
use sitegroup_cms::state::AdminRoute;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("SITEGROUP_BENCH_ARTICLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let url = sitegroup_cms::db::sqlite_url(dir.path());
    let db = sitegroup_cms::db::connect(&url).await?;
    sitegroup_cms::seed::seed(&db).await?;
    let state = build_state(
        &CmsOptions {
            data_dir: dir.path().to_path_buf(),
            database_url: url,
            gateway_token: "bench".into(),
            admin: AdminRoute {
                hosts: vec!["admin.localhost".into()],
                upstream: "127.0.0.1:1".into(),
                networks: vec![],
                https_only: false,
            },
            probe_via: String::new(),
        },
        db.clone(),
    )
    .await?;
    let s = site::Entity::find()
        .filter(site::Column::Code.eq("portal"))
        .one(&db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo portal missing"))?;
    let columns = site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(s.id))
        .all(&db)
        .await?;
    let body =
        "<p>为深入贯彻落实党中央、国务院关于安全生产工作的决策部署，切实做好冬季安全生产工作，\
                有效防范和遏制各类生产安全事故，现就有关事项通知如下。</p>"
            .repeat(6);
    let t0 = Instant::now();
    let now = Utc::now();
    let txn = db.begin().await?;
    for i in 0..n {
        let column = &columns[i % columns.len()];
        let when = now - Duration::minutes(i as i64);
        let a = article::ActiveModel {
            site_id: Set(s.id),
            column_id: Set(column.id),
            status: Set("published".into()),
            published_at: Set(Some(when)),
            created_at: Set(when),
            updated_at: Set(when),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let r = article_revision::ActiveModel {
            article_id: Set(a.id),
            title: Set(format!("关于做好第{i}批冬季安全生产工作的通知")),
            author: Set(String::new()),
            source: Set("市政府办公室".into()),
            summary: Set(String::new()),
            body: Set(body.clone()),
            created_at: Set(when),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let mut a: article::ActiveModel = a.into();
        a.current_revision_id = Set(Some(r.id));
        a.published_revision_id = Set(Some(r.id));
        a.update(&txn).await?;
    }
    txn.commit().await?;
    println!(
        "inserted {n} articles in {:.1} s (setup, not measured)",
        t0.elapsed().as_secs_f64()
    );
    for round in [
        "first publish (all pages rendered)",
        "republish, nothing changed (incremental: no article page rendered)",
    ] {
        let t = Instant::now();
        let report = sitegroup_cms::publish::publish_site(&state, s.id)
            .await
            .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{round}: {} pages in {secs:.2} s ({:.0} pages/s)",
            report.pages,
            report.pages as f64 / secs
        );
    }
    // One article edited: only its page (and the lists, homepage and feeds) are rendered.
    let one = article::Entity::find()
        .filter(article::Column::SiteId.eq(s.id))
        .one(&db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no article"))?;
    if let Some(rev) = one.current_revision_id {
        let mut r: article_revision::ActiveModel = article_revision::Entity::find_by_id(rev)
            .one(&db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no revision"))?
            .into();
        r.title = Set("关于做好冬季安全生产工作的通知（修订）".into());
        r.update(&db).await?;
    }
    let t = Instant::now();
    let report = sitegroup_cms::publish::publish_site(&state, s.id)
        .await
        .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
    println!(
        "publish after editing one article (incremental): {} pages in {:.2} s",
        report.pages,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
