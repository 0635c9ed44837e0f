//! Tamper watch for CMS-published sites (防篡改): every file a publish manifest names is read
//! from the store and hashed. A file that no longer hashes to its name (or is gone) is moved
//! aside to `<data dir>/quarantine/` — the evidence — and its site is re-rendered, which writes
//! the file again from the database; the file is then verified once more. The gateway already
//! refuses to serve a changed file (it checks every file against the manifest); this restores
//! it, so the page comes back without anyone publishing.
//!
//! Media files (uploads) are not rendered: one changed on disk cannot be rebuilt and stays
//! withheld until it is uploaded again; the alert says so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::Utc;
use sea_orm::EntityTrait;
use sitegroup_contract::store::{ObjectError, ObjectStore};

use super::alerts::{self, NewAlert, Severity};
use crate::db::entities::{published_file, site};
use crate::state::SharedState;

/// What one round found.
#[derive(Debug, Default)]
pub struct Report {
    /// Distinct stored files checked.
    pub checked: usize,
    /// (site, path) of every file found changed or missing.
    pub bad: Vec<(i32, String)>,
    /// Of those, how many verify again after re-rendering.
    pub restored: usize,
}

/// A file that did not verify: which sites' paths name it, and what is wrong.
struct Bad {
    paths: Vec<(i32, String)>,
    problem: String,
}

/// Hashes every named object on a blocking thread; returns those that fail.
async fn verify_all(
    store: ObjectStore,
    objects: BTreeMap<String, Vec<(i32, String)>>,
) -> anyhow::Result<(usize, BTreeMap<String, Bad>)> {
    tokio::task::spawn_blocking(move || {
        let checked = objects.len();
        let mut bad = BTreeMap::new();
        for (hash, paths) in objects {
            let problem = match store.read_verified(&hash) {
                Ok(_) => continue,
                Err(ObjectError::Tampered { actual, .. }) => {
                    format!("内容被改动（现摘要 {}…）", &actual[..12.min(actual.len())])
                }
                Err(ObjectError::Missing(_)) => "文件缺失".to_string(),
                Err(e) => format!("无法读取：{e}"),
            };
            bad.insert(hash, Bad { paths, problem });
        }
        Ok((checked, bad))
    })
    .await?
}

/// One full verification round, with restoration and alerts.
pub async fn round(state: &SharedState) -> anyhow::Result<Report> {
    let mut objects: BTreeMap<String, Vec<(i32, String)>> = BTreeMap::new();
    for f in published_file::Entity::find().all(&state.db).await? {
        objects
            .entry(f.sha256)
            .or_default()
            .push((f.site_id, f.path));
    }
    let (checked, bad) = verify_all(state.store.clone(), objects).await?;
    let mut report = Report {
        checked,
        ..Report::default()
    };
    if bad.is_empty() {
        return Ok(report);
    }
    // The evidence first: a changed file is moved aside (a missing one has nothing to keep).
    let quarantine = state.data_dir.join("quarantine");
    std::fs::create_dir_all(&quarantine)?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    for hash in bad.keys() {
        let path = state.store.path_for(hash);
        if path.exists() {
            let to: PathBuf = quarantine.join(format!("{stamp}-{hash}"));
            if let Err(e) = std::fs::rename(&path, &to) {
                tracing::error!(file = %path.display(), "moving a tampered file aside failed: {e}");
            }
        }
    }
    let sites: BTreeSet<i32> = bad
        .values()
        .flat_map(|b| b.paths.iter().map(|(s, _)| *s))
        .collect();
    for site_id in &sites {
        if let Err(e) = crate::publish::publish_site(state, *site_id).await {
            tracing::error!(site = site_id, "re-rendering a tampered site failed: {e}");
        }
    }
    // Check again what was wrong.
    let again: BTreeMap<String, Vec<(i32, String)>> = bad
        .iter()
        .map(|(h, b)| (h.clone(), b.paths.clone()))
        .collect();
    let (_, still_bad) = verify_all(state.store.clone(), again).await?;
    for site_id in sites {
        let name = site::Entity::find_by_id(site_id)
            .one(&state.db)
            .await?
            .map(|s| s.name)
            .unwrap_or_else(|| format!("网站 {site_id}"));
        let mut restored = Vec::new();
        let mut lost = Vec::new();
        for (hash, b) in &bad {
            for (s, path) in b.paths.iter().filter(|(s, _)| *s == site_id) {
                report.bad.push((*s, path.clone()));
                if still_bad.contains_key(hash) {
                    lost.push(format!("{path}（{}）", b.problem));
                } else {
                    restored.push(format!("{path}（{}）", b.problem));
                }
            }
        }
        report.restored += restored.len();
        let key = format!("tamper:{site_id}");
        let mut detail = format!(
            "防篡改校验发现 {} 个文件与发布记录不符，已隔离至数据目录 quarantine/。",
            restored.len() + lost.len()
        );
        if !restored.is_empty() {
            detail.push_str(&format!("已自动恢复：{}。", restored.join("、")));
        }
        if !lost.is_empty() {
            detail.push_str(&format!(
                "无法自动恢复（请重新上传或发布）：{}；网关拒绝提供这些文件。",
                lost.join("、")
            ));
        }
        alerts::raise(
            state,
            NewAlert {
                site_id: Some(site_id),
                kind: "tamper",
                key: key.clone(),
                severity: Severity::Critical,
                title: format!("{name}网页被篡改"),
                detail,
            },
        )
        .await?;
        if lost.is_empty() {
            alerts::resolve(state, &key, "已自动恢复并校验通过 restored and verified").await?;
        }
    }
    Ok(report)
}
