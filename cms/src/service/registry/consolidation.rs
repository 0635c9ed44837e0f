//! Consolidation tracking (网站集约化): for each registered site a decision — migrate into the
//! CMS, keep it on its own servers behind the gateway, or close it — with its progress; closing
//! is carried out here: the site answers every visitor with a 301 to the unit's portal at every
//! gateway (a site not in the platform yet is created for it, with the registered domains).
//! The group's figures come from what the platform actually does with each site, not only from
//! what was reported.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::Serialize;

use super::{may_edit, values_of};
use crate::audit::{Entry, Event, Who};
use crate::db::entities::{site, site_hostname, site_registry};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::service::sites::{self, NewSite, SiteSettings};
use crate::state::AppState;

pub const DECISIONS: &[(&str, &str)] = &[
    ("migrate", "迁入平台"),
    ("proxy", "保留，接入网关防护"),
    ("close", "关停"),
];

pub const PROGRESS: &[(&str, &str)] = &[
    ("planned", "未开始"),
    ("in_progress", "进行中"),
    ("done", "已完成"),
];

pub fn label(table: &[(&'static str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("未决定", |(_, l)| l)
}

/// Where a registered site stands, judged from the platform itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Published by the CMS.
    Merged,
    /// On its own servers, proxied and protected by the gateway.
    Protected,
    /// Closed: its addresses redirect or show the closure notice.
    Closed,
    /// Not in the platform yet, or not decided.
    Pending,
}

impl Standing {
    pub fn label(self) -> &'static str {
        match self {
            Standing::Merged => "已迁入平台",
            Standing::Protected => "已接入防护",
            Standing::Closed => "已关停",
            Standing::Pending => "待整合",
        }
    }
}

pub fn standing(r: &site_registry::Model, site: Option<&site::Model>) -> Standing {
    match site {
        Some(s) if s.status == "已关停" => Standing::Closed,
        Some(s) if s.origin_upstreams.trim().is_empty() && s.status == "运行" => Standing::Merged,
        Some(s) if !s.origin_upstreams.trim().is_empty() && s.status != "建设中" => {
            Standing::Protected
        }
        _ if r.decision == "close" && r.progress == "done" => Standing::Closed,
        _ => Standing::Pending,
    }
}

/// The group's figures: (standing, count), in a fixed order.
pub fn counts(rows: &[(site_registry::Model, Option<site::Model>)]) -> Vec<(Standing, usize)> {
    [
        Standing::Merged,
        Standing::Protected,
        Standing::Closed,
        Standing::Pending,
    ]
    .into_iter()
    .map(|st| {
        (
            st,
            rows.iter()
                .filter(|(r, s)| standing(r, s.as_ref()) == st)
                .count(),
        )
    })
    .collect()
}

/// The plan for one site.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub decision: String,
    pub progress: String,
    pub note: String,
    pub due_date: String,
}

/// Records the decision and progress for a site (with its history and an audit record).
pub async fn set_plan(state: &AppState, actor: &Actor, id: i32, plan: &Plan) -> AppResult<()> {
    let r = super::get(state, actor, id).await?;
    if !may_edit(state, actor, r.org_id).await? {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    if !plan.decision.is_empty() && !DECISIONS.iter().any(|(c, _)| *c == plan.decision) {
        problems.push("整合方式无效。".to_string());
    }
    if !plan.progress.is_empty() && !PROGRESS.iter().any(|(c, _)| *c == plan.progress) {
        problems.push("进度无效。".to_string());
    }
    if plan.decision.is_empty() && !plan.progress.is_empty() {
        problems.push("请先选择整合方式。".to_string());
    }
    let due = match plan.due_date.trim() {
        "" => String::new(),
        d => match super::fields::parse_date(d) {
            Some(d) => d,
            None => {
                problems.push(format!("完成期限“{d}”不是有效的日期。"));
                String::new()
            }
        },
    };
    if plan.note.chars().count() > 2000 {
        problems.push("说明过长（最多 2000 字）。".to_string());
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let changes: std::collections::BTreeMap<&str, (String, String)> = [
        ("decision", &r.decision, &plan.decision),
        ("progress", &r.progress, &plan.progress),
        ("plan_note", &r.plan_note, &plan.note),
        ("due_date", &r.due_date, &due),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(k, a, b)| (k, (a.clone(), b.clone())))
    .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let txn = state.db.begin().await?;
    let mut a = r.clone().into_active_model();
    a.decision = Set(plan.decision.clone());
    a.progress = Set(plan.progress.clone());
    a.plan_note = Set(plan.note.trim().to_string());
    a.due_date = Set(due);
    a.updated_at = Set(Utc::now());
    a.update(&txn).await?;
    record(state, &txn, actor, r.id, &changes, Event::ConsolidationPlan).await?;
    txn.commit().await?;
    Ok(())
}

async fn record(
    state: &AppState,
    txn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    id: i32,
    changes: &std::collections::BTreeMap<&str, (String, String)>,
    event: Event,
) -> AppResult<()> {
    super::record_change(txn, id, actor, super::Source::Form, changes).await?;
    state
        .audit_in(
            txn,
            &Who::actor(actor),
            Entry::new(event, format!("registry:{id}")).details(serde_json::json!({
                "changes": changes,
            })),
        )
        .await?;
    Ok(())
}

/// Where a closed site of this unit sends its visitors by default: the first hostname of the
/// unit's first site in service (its portal), else of the group's first.
pub async fn default_redirect(state: &AppState, org_id: i32) -> AppResult<String> {
    let sites = site::Entity::find()
        .filter(site::Column::Status.eq("运行"))
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?;
    let target = sites
        .iter()
        .find(|s| s.org_id == org_id)
        .or_else(|| sites.first());
    let Some(target) = target else {
        return Ok(String::new());
    };
    Ok(site_hostname::Entity::find()
        .filter(site_hostname::Column::SiteId.eq(target.id))
        .order_by_asc(site_hostname::Column::Id)
        .one(&state.db)
        .await?
        .map(|h| format!("https://{}/", h.hostname))
        .unwrap_or_default())
}

/// Closes a registered site whose decision is to close it: at every gateway its addresses
/// answer with a 301 to `redirect` (the closure notice when `redirect` is empty). A site not in
/// the platform yet is created for this (系统管理员), with its first registered domain, and
/// linked to the record. Returns the site's id.
pub async fn close(state: &AppState, actor: &Actor, id: i32, redirect: &str) -> AppResult<i32> {
    let r = super::get(state, actor, id).await?;
    if !may_edit(state, actor, r.org_id).await? {
        return Err(AppError::Forbidden);
    }
    if r.decision != "close" {
        return Err(AppError::Invalid(
            "只有整合方式为“关停”的网站才能执行关停。".into(),
        ));
    }
    let redirect = redirect.trim();
    if !redirect.is_empty()
        && !reqwest::Url::parse(redirect).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        return Err(AppError::Invalid(format!(
            "跳转地址“{redirect}”须为 http(s) 网址。"
        )));
    }
    let values = values_of(&r);
    let site_id = match r.site_id {
        Some(s) => s,
        None => {
            if !actor.is_sysadmin() {
                return Err(AppError::Invalid(
                    "该网站尚未纳入平台，请联系系统管理员执行关停（平台将为其域名建立关停站点）。"
                        .into(),
                ));
            }
            let domain = values
                .get("domains")
                .and_then(|d| d.lines().next())
                .map(str::to_string)
                .ok_or_else(|| {
                    AppError::Invalid("请先在登记表中填写网站域名，关停需要它。".into())
                })?;
            sites::create_site(
                state,
                actor,
                &NewSite {
                    org_id: r.org_id,
                    name: values
                        .get("site_name")
                        .cloned()
                        .unwrap_or_else(|| domain.clone()),
                    code: format!("closed{}", r.id),
                    hostname: domain,
                },
            )
            .await?
        }
    };
    let s = site::Entity::find_by_id(site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut settings = SiteSettings::of(&s);
    settings.status = "已关停".into();
    settings.closed_redirect = redirect.to_string();
    sites::update_settings(state, actor, site_id, &settings).await?;
    let txn = state.db.begin().await?;
    let changes: std::collections::BTreeMap<&str, (String, String)> = [
        (
            "site_id",
            (
                r.site_id.map(|i| i.to_string()).unwrap_or_default(),
                site_id.to_string(),
            ),
        ),
        ("progress", (r.progress.clone(), "done".to_string())),
    ]
    .into_iter()
    .filter(|(_, (a, b))| a != b)
    .collect();
    let mut a = r.clone().into_active_model();
    a.site_id = Set(Some(site_id));
    a.progress = Set("done".into());
    a.updated_at = Set(Utc::now());
    a.update(&txn).await?;
    record(
        state,
        &txn,
        actor,
        r.id,
        &changes,
        Event::ConsolidationClose,
    )
    .await?;
    txn.commit().await?;
    Ok(site_id)
}
