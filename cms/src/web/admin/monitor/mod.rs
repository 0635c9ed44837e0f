//! 统一检测 in the admin: the monitoring overview (每个网站的可用性、告警), alerts, and for the
//! security team the detection settings (probes, notice channels, automatic bans), the ban
//! list and — for the platform administrators — the wrong-and-sensitive word list.

use std::collections::{BTreeSet, HashMap};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use minijinja::{Value, context};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde::Deserialize;

use super::{CsrfForm, render, require, user_ctx};
use crate::audit::{Entry, Event, Who};
use crate::db::entities::{
    alert, alert_delivery, exposure_finding, link_issue, monitor_probe, site, word_entry,
    word_finding,
};
use crate::error::{AppError, AppResult};
use crate::monitor::{self, Settings, Webhook, alerts, bans, probe, words};
use crate::publish::beijing;
use crate::service::authz::Actor;
use crate::state::SharedState;
use crate::web::session::Authed;

mod alerts_page;
mod bans_page;
mod baselines_page;
mod health_page;
mod links_page;
mod logs_page;
mod settings_page;
mod words_page;

use alerts_page::{alert_badge, alert_list, close_alert};
use bans_page::{add_ban, ban_list, lift_ban};
use baselines_page::{baseline_list, delete_baseline, retake_baseline, save_baseline};
use health_page::{health_group, health_site, health_xlsx};
use links_page::{check_links_now, link_csv, link_list};
use logs_page::{dashboard, log_csv, log_search};
use settings_page::{save_settings, settings_guard, settings_page};
use words_page::{
    add_starter, add_word, delete_word, finding_csv, finding_list, handle_finding, word_list,
};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/monitor", get(overview))
        .route("/monitor/alerts", get(alert_list))
        .route("/monitor/alerts/badge", get(alert_badge))
        .route("/monitor/alerts/{id}/close", post(close_alert))
        .route("/monitor/dashboard", get(dashboard))
        .route("/monitor/logs", get(log_search))
        .route("/monitor/logs.csv", get(log_csv))
        .route("/monitor/baselines", get(baseline_list).post(save_baseline))
        .route("/monitor/baselines/{id}/retake", post(retake_baseline))
        .route("/monitor/baselines/{id}/delete", post(delete_baseline))
        .route("/monitor/health", get(health_group))
        .route("/monitor/health.xlsx", get(health_xlsx))
        .route("/monitor/health/{id}", get(health_site))
        .route("/monitor/links", get(link_list))
        .route("/monitor/links.csv", get(link_csv))
        .route("/monitor/links/check", post(check_links_now))
        .route("/monitor/settings", get(settings_page).post(save_settings))
        .route("/monitor/bans", get(ban_list).post(add_ban))
        .route("/monitor/bans/{id}/lift", post(lift_ban))
        .route("/monitor/words", get(word_list).post(add_word))
        .route("/monitor/words/{id}/delete", post(delete_word))
        .route("/monitor/words/starter", post(add_starter))
        .route("/monitor/word-findings", get(finding_list))
        .route("/monitor/word-findings.csv", get(finding_csv))
        .route("/monitor/word-findings/{id}/{action}", post(handle_finding))
}

pub(in crate::web::admin) fn time(t: chrono::DateTime<Utc>) -> String {
    beijing(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The sites whose monitoring an actor sees: all for the system and security administrators,
/// the sites of their grants for a unit's people.
pub(super) fn scope(actor: &Actor) -> Option<BTreeSet<i32>> {
    if actor.is_sysadmin() || actor.is_secadmin() {
        None
    } else {
        Some(actor.grants.iter().map(|g| g.site_id).collect())
    }
}

pub(super) fn notice(q: &HashMap<String, String>) -> Option<&'static str> {
    match q.get("notice").map(String::as_str) {
        Some("settings") => Some("检测设置已保存，立即生效。"),
        Some("closed") => Some("告警已关闭。"),
        Some("banned") => Some("已封禁，网关将在 5 秒内拒绝该地址。"),
        Some("lifted") => Some("封禁已解除。"),
        Some("word") => Some("已保存。"),
        Some("starter") => Some("示例词库已加入。"),
        Some("checking") => Some("链接检查已开始，完成后结果显示在此页。"),
        Some("finding") => Some("已更新处理状态。"),
        Some("baseline") => Some("已保存，基线已采集。"),
        Some("baseline-later") => Some("已保存；页面暂时无法读取，将在下一轮校验时采集基线。"),
        Some("retaken") => Some("基线已重新采集。"),
        Some("baseline-deleted") => Some("已停止监测该页面。"),
        _ => None,
    }
}

/// One CSV field: quoted when needed; a leading `=`, `+`, `-`, `@` is defused so that a
/// spreadsheet does not run it as a formula (the anchor text comes from the sites' pages).
pub(super) fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

// ---- overview -----------------------------------------------------------------------------

async fn overview(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:monitor",
    )
    .await?;
    let settings = monitor::load(&state.db).await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for site in site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
    {
        if scope.as_ref().is_some_and(|ids| !ids.contains(&site.id)) {
            continue;
        }
        let latest = monitor_probe::Entity::find()
            .filter(monitor_probe::Column::SiteId.eq(site.id))
            .order_by_desc(monitor_probe::Column::Id)
            .limit(1)
            .one(&state.db)
            .await?;
        let (ok_day, n_day) = probe::uptime(&state, site.id, now - Duration::days(1)).await?;
        let (ok_week, n_week) = probe::uptime(&state, site.id, now - Duration::days(7)).await?;
        let pct = |ok: u64, n: u64| {
            if n == 0 {
                "—".to_string()
            } else {
                format!("{:.2}%", ok as f64 * 100.0 / n as f64)
            }
        };
        // 单项否决: failed probes reach 5 % of a week's probes.
        let veto = n_week > 0 && (n_week - ok_week) * 100 >= n_week * 5;
        let open = alert::Entity::find()
            .filter(alert::Column::SiteId.eq(site.id))
            .filter(alert::Column::ResolvedAt.is_null())
            .all(&state.db)
            .await?;
        let fresh = monitor::freshness::evaluate(&state.db, site.id, now).await?;
        let idle: Vec<String> = fresh
            .columns
            .iter()
            .filter(|c| c.idle)
            .map(|c| match c.last_update {
                Some(t) => format!(
                    "{}（{} 天未更新，周期 {} 天）",
                    c.name,
                    (now - t).num_days(),
                    c.cadence_days.unwrap_or(0)
                ),
                None => format!("{}（无内容）", c.name),
            })
            .collect();
        let exposure: Vec<Value> = exposure_finding::Entity::find()
            .filter(exposure_finding::Column::SiteId.eq(site.id))
            .order_by_asc(exposure_finding::Column::Id)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|f| context! { severity => f.severity, detail => f.detail })
            .collect();
        rows.push(context! {
            exposure,
            last_update => fresh.last_update.map(time),
            idle_columns => idle,
            empty_columns => fresh.columns.iter().filter(|c| c.empty).count(),
            fresh_veto => fresh.veto,
            id => site.id, name => site.name, status => site.status,
            legacy => !probe::origins(&site).is_empty(),
            latest_ok => latest.as_ref().map(|p| p.ok),
            latest_at => latest.as_ref().map(|p| time(p.checked_at)),
            latest_detail => latest.as_ref().map(|p| match (p.status, p.latency_ms) {
                (Some(st), Some(ms)) if p.ok => format!("{st}，{ms} 毫秒"),
                _ => p.error.clone(),
            }),
            uptime_day => pct(ok_day, n_day), uptime_week => pct(ok_week, n_week),
            probes_week => n_week, veto,
            open_alerts => open.iter().map(|a| a.title.clone()).collect::<Vec<_>>(),
        });
    }
    render(
        &state,
        "monitor.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q),
            sites => rows, interval => settings.probe_interval_secs,
            timeout => settings.probe_timeout_secs,
        },
    )
}
