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
};
use crate::error::{AppError, AppResult};
use crate::monitor::{self, Settings, Webhook, alerts, bans, probe, words};
use crate::publish::beijing;
use crate::service::authz::Actor;
use crate::state::SharedState;
use crate::web::session::Authed;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/monitor", get(overview))
        .route("/monitor/alerts", get(alert_list))
        .route("/monitor/alerts/{id}/close", post(close_alert))
        .route("/monitor/dashboard", get(dashboard))
        .route("/monitor/logs", get(log_search))
        .route("/monitor/logs.csv", get(log_csv))
        .route("/monitor/links", get(link_list))
        .route("/monitor/links.csv", get(link_csv))
        .route("/monitor/links/check", post(check_links_now))
        .route("/monitor/settings", get(settings_page).post(save_settings))
        .route("/monitor/bans", get(ban_list).post(add_ban))
        .route("/monitor/bans/{id}/lift", post(lift_ban))
        .route("/monitor/words", get(word_list).post(add_word))
        .route("/monitor/words/{id}/delete", post(delete_word))
        .route("/monitor/words/starter", post(add_starter))
}

fn time(t: chrono::DateTime<Utc>) -> String {
    beijing(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The sites whose monitoring an actor sees: all for the system and security administrators,
/// the sites of their grants for a unit's people.
fn scope(actor: &Actor) -> Option<BTreeSet<i32>> {
    if actor.is_sysadmin() || actor.is_secadmin() {
        None
    } else {
        Some(actor.grants.iter().map(|g| g.site_id).collect())
    }
}

fn notice(q: &HashMap<String, String>) -> Option<&'static str> {
    match q.get("notice").map(String::as_str) {
        Some("settings") => Some("检测设置已保存，立即生效。"),
        Some("closed") => Some("告警已关闭。"),
        Some("banned") => Some("已封禁，网关将在 5 秒内拒绝该地址。"),
        Some("lifted") => Some("封禁已解除。"),
        Some("word") => Some("已保存。"),
        Some("starter") => Some("示例词库已加入。"),
        Some("checking") => Some("链接检查已开始，完成后结果显示在此页。"),
        _ => None,
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

// ---- alerts -------------------------------------------------------------------------------

async fn alert_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:alerts",
    )
    .await?;
    let show_all = q.get("all").is_some_and(|v| v == "1");
    let mut query = alert::Entity::find().order_by_desc(alert::Column::Id);
    if !show_all {
        query = query.filter(alert::Column::ResolvedAt.is_null());
    }
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut rows = Vec::new();
    for a in query.limit(500).all(&state.db).await? {
        if !alerts::visible_to(&actor, &a) {
            continue;
        }
        let deliveries: Vec<Value> = alert_delivery::Entity::find()
            .filter(alert_delivery::Column::AlertId.eq(a.id))
            .order_by_asc(alert_delivery::Column::Id)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|d| context! {
                channel => d.channel, event => if d.event == "opened" { "告警" } else { "恢复" },
                ok => d.ok, error => d.error, at => time(d.sent_at),
            })
            .collect();
        rows.push(context! {
            id => a.id, kind => alerts::kind_label(&a.kind), severity => a.severity.clone(),
            severity_label => alerts::severity_label(&a.severity),
            site => a.site_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| "全平台".into()),
            title => a.title, detail => a.detail, opened_at => time(a.opened_at),
            last_seen_at => time(a.last_seen_at), occurrences => a.occurrences,
            resolved_at => a.resolved_at.map(time), resolution => a.resolution,
            deliveries,
        });
    }
    render(
        &state,
        "monitor_alerts.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q),
            alerts => rows, show_all,
            can_close => actor.is_sysadmin() || actor.is_secadmin(),
        },
    )
}

async fn close_alert(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    require(
        &state,
        &actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "alert:close",
    )
    .await?;
    let a = alert::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if a.resolved_at.is_none() {
        let txn = state.db.begin().await?;
        let key = a.dedup_key.clone();
        let mut active: alert::ActiveModel = a.into();
        active.resolved_at = Set(Some(Utc::now()));
        active.resolution = Set(format!("由 {} 手动关闭", actor.user.username));
        active.update(&txn).await?;
        state
            .audit_in(
                &txn,
                &Who::actor(&actor),
                Entry::new(Event::AlertClose, format!("alert:{id}"))
                    .details(serde_json::json!({ "key": key })),
            )
            .await?;
        txn.commit().await?;
    }
    Ok(Redirect::to("/monitor/alerts?notice=closed").into_response())
}

// ---- dashboard ----------------------------------------------------------------------------

async fn dashboard(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    use monitor::dashboard::{self as d, Count};
    logs_guard(&state, &actor).await?;
    let days: i64 = if q.get("days").is_some_and(|v| v == "7") {
        7
    } else {
        1
    };
    let now = Utc::now();
    let since = now - Duration::days(days);
    let db = &state.db;
    let sites = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(db)
        .await?;
    let name_of = |label: &str| match label.parse::<i32>() {
        Ok(0) => "管理后台".to_string(),
        Ok(id) => sites
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| format!("#{id}"), |s| s.name.clone()),
        Err(_) => "未知网站".to_string(),
    };
    let traffic = d::hourly(&d::traffic(db, since).await?, since, now);
    let blocks = d::hourly(&d::blocks(db, since).await?, since, now);
    let every = if days == 7 { 24 } else { 3 };
    let attacked: Vec<Count> = d::attacked_sites(db, since)
        .await?
        .into_iter()
        .map(|c| Count {
            label: name_of(&c.label),
            n: c.n,
        })
        .collect();
    let mut uptime = Vec::new();
    for site in &sites {
        let (ok, n) = probe::uptime(&state, site.id, now - Duration::days(7)).await?;
        if n > 0 {
            uptime.push(Count {
                label: format!("{}（{:.2}%）", site.name, ok as f64 * 100.0 / n as f64),
                n: i64::try_from(ok * 10_000 / n).unwrap_or(0),
            });
        }
    }
    let open = alert::Entity::find()
        .filter(alert::Column::ResolvedAt.is_null())
        .all(db)
        .await?;
    let safe = Value::from_safe_string;
    render(
        &state,
        "monitor_dashboard.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), days,
            requests => traffic.iter().map(|c| c.n).sum::<i64>(),
            blocked => blocks.iter().map(|c| c.n).sum::<i64>(),
            critical => open.iter().filter(|a| a.severity == "critical").count(),
            warnings => open.iter().filter(|a| a.severity != "critical").count(),
            bans => bans::active(db, now).await?.len(),
            traffic_chart => safe(d::columns_svg("每小时请求数", &traffic, "#0969da", every)),
            blocks_chart => safe(d::columns_svg("每小时 WAF 拦截数", &blocks, "#cf222e", every)),
            rules_chart => safe(d::bars_svg("拦截最多的规则", &d::top_rules(db, since).await?, "#bc4c00")),
            sources_chart => safe(d::bars_svg("攻击最多的来源地址", &d::top_sources(db, since).await?, "#8250df")),
            sites_chart => safe(d::bars_svg("受攻击最多的网站", &attacked, "#cf222e")),
            uptime_chart => safe(d::bars_svg("近 7 天可用率", &uptime, "#1a7f37")),
        },
    )
}

// ---- log search ---------------------------------------------------------------------------

async fn logs_guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(
        state,
        actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "section:logs",
    )
    .await
}

/// The search form's fields as typed (to fill the form again and build links).
const LOG_FIELDS: &[&str] = &[
    "kind",
    "from",
    "to",
    "site",
    "ip",
    "path",
    "status",
    "request_id",
    "rule",
    "event",
];

fn query_string(q: &HashMap<String, String>, before: Option<i64>) -> String {
    let mut pairs: Vec<(String, String)> = LOG_FIELDS
        .iter()
        .filter_map(|k| {
            q.get(*k)
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    if let Some(b) = before {
        pairs.push(("before".into(), b.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn log_search(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    logs_guard(&state, &actor).await?;
    let started = std::time::Instant::now();
    let security = q.get("kind").is_some_and(|k| k == "security");
    let parsed = monitor::logs::parse(|k| q.get(k).cloned().unwrap_or_default(), Utc::now());
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let site_name = |id: Option<i32>| match id {
        Some(0) => "管理后台".to_string(),
        Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
        None => "—".to_string(),
    };
    let (rows, next, error): (Vec<Value>, Option<i64>, Option<String>) = match &parsed {
        Err(problems) => (Vec::new(), None, Some(problems.join(" "))),
        Ok(query) if security => {
            let rows = monitor::logs::events(&state.db, query, None, monitor::logs::PAGE).await?;
            let next = (rows.len() as u64 == monitor::logs::PAGE)
                .then(|| rows.last().map(|r| i64::from(r.id)))
                .flatten();
            (
                rows.into_iter()
                    .map(|e| context! {
                        time => time(e.received_at), site => site_name(e.site_id), kind => e.kind,
                        ip => e.client_ip, host => e.host, path => e.path, detail => e.detail,
                        request_id => e.request_id, node => e.node,
                    })
                    .collect(),
                next,
                None,
            )
        }
        Ok(query) => {
            let rows = monitor::logs::access(&state.db, query, None, monitor::logs::PAGE).await?;
            let next = (rows.len() as u64 == monitor::logs::PAGE)
                .then(|| rows.last().map(|r| r.id))
                .flatten();
            (
                rows.into_iter()
                    .map(|a| {
                        context! {
                            time => time(a.time), site => site_name(a.site_id), ip => a.client_ip,
                            method => a.method, host => a.host, path => a.path, query => a.query,
                            status => a.status, ms => a.duration_us / 1000, waf => a.waf,
                            request_id => a.request_id, node => a.node, served_by => a.served_by,
                        }
                    })
                    .collect(),
                next,
                None,
            )
        }
    };
    let form: HashMap<&str, String> = LOG_FIELDS
        .iter()
        .map(|k| (*k, q.get(*k).cloned().unwrap_or_default()))
        .collect();
    let page = render(
        &state,
        "monitor_logs.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), error => error.clone(),
            security, rows, form,
            sites => names.iter().map(|(id, n)| context! { id => id, name => n }).collect::<Vec<_>>(),
            next => next.map(|b| query_string(&q, Some(b))),
            csv => query_string(&q, None),
            millis => started.elapsed().as_millis() as u64,
        },
    )?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// The search's rows (up to `EXPORT_MAX`) as CSV.
async fn log_csv(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    logs_guard(&state, &actor).await?;
    let query = monitor::logs::parse(|k| q.get(k).cloned().unwrap_or_default(), Utc::now())
        .map_err(|p| AppError::Invalid(p.join(" ")))?;
    let mut out = String::from("\u{feff}");
    let name;
    if q.get("kind").is_some_and(|k| k == "security") {
        name = "security-events.csv";
        out.push_str("时间,网站编号,类型,客户端地址,主机,路径,详情,请求编号,网关\r\n");
        for e in monitor::logs::events(&state.db, &query, None, monitor::logs::EXPORT_MAX).await? {
            let f = [
                e.received_at.to_rfc3339(),
                e.site_id.map(|i| i.to_string()).unwrap_or_default(),
                e.kind,
                e.client_ip,
                e.host,
                e.path,
                e.detail,
                e.request_id,
                e.node,
            ];
            out.push_str(&f.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
    } else {
        name = "access-log.csv";
        out.push_str(
            "时间,网站编号,客户端地址,方法,主机,路径,查询,状态,耗时(ms),WAF,请求编号,网关\r\n",
        );
        for a in monitor::logs::access(&state.db, &query, None, monitor::logs::EXPORT_MAX).await? {
            let f = [
                a.time.to_rfc3339(),
                a.site_id.map(|i| i.to_string()).unwrap_or_default(),
                a.client_ip,
                a.method,
                a.host,
                a.path,
                a.query.unwrap_or_default(),
                a.status.to_string(),
                (a.duration_us / 1000).to_string(),
                a.waf,
                a.request_id,
                a.node,
            ];
            out.push_str(&f.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
    }
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out,
    )
        .into_response())
}

// ---- links --------------------------------------------------------------------------------

/// The broken links of the sites this actor sees: (site name, issue).
async fn visible_links(
    state: &SharedState,
    actor: &Actor,
) -> AppResult<Vec<(String, link_issue::Model)>> {
    let scope = scope(actor);
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    Ok(link_issue::Entity::find()
        .order_by_asc(link_issue::Column::SiteId)
        .order_by_asc(link_issue::Column::Url)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|l| scope.as_ref().is_none_or(|ids| ids.contains(&l.site_id)))
        .map(|l| (names.get(&l.site_id).cloned().unwrap_or_default(), l))
        .collect())
}

async fn link_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:links",
    )
    .await?;
    let rows: Vec<Value> = visible_links(&state, &actor)
        .await?
        .into_iter()
        .map(|(site, l)| context! {
            site, url => l.url, found_on => l.found_on, anchor => l.anchor,
            problem => match l.status { Some(st) if l.error.is_empty() => format!("HTTP {st}"), _ => l.error },
            first_seen => time(l.first_seen_at), checked => time(l.checked_at),
        })
        .collect();
    render(
        &state,
        "monitor_links.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q), links => rows,
            can_check => actor.is_sysadmin() || actor.is_secadmin(),
        },
    )
}

/// The broken links as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese).
async fn link_csv(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
) -> AppResult<Response> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:links",
    )
    .await?;
    let mut out =
        String::from("\u{feff}网站,失效链接,状态,所在页面,链接文字,首次发现,最近检查\r\n");
    for (site, l) in visible_links(&state, &actor).await? {
        let problem = match l.status {
            Some(st) if l.error.is_empty() => format!("HTTP {st}"),
            _ => l.error.clone(),
        };
        let fields = [
            site,
            l.url,
            problem,
            l.found_on,
            l.anchor,
            time(l.first_seen_at),
            time(l.checked_at),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"broken-links.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// One CSV field: quoted when needed; a leading `=`, `+`, `-`, `@` is defused so that a
/// spreadsheet does not run it as a formula (the anchor text comes from the sites' pages).
fn csv_field(v: &str) -> String {
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

async fn check_links_now(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    require(
        &state,
        &actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "links:check",
    )
    .await?;
    let settings = monitor::load(&state.db).await?;
    let st = state.clone();
    tokio::spawn(async move {
        if let Err(e) = monitor::links::round(&st, &settings).await {
            tracing::error!("link check failed: {e:#}");
        }
    });
    Ok(Redirect::to("/monitor/links?notice=checking").into_response())
}

// ---- settings -----------------------------------------------------------------------------

async fn settings_guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(
        state,
        actor,
        actor.is_secadmin(),
        "section:monitor-settings",
    )
    .await
}

#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    probe_interval_secs: String,
    #[serde(default)]
    probe_timeout_secs: String,
    #[serde(default)]
    down_after_failures: String,
    #[serde(default)]
    probe_via: String,
    #[serde(default)]
    tamper_interval_secs: String,
    #[serde(default)]
    link_interval_secs: String,
    #[serde(default)]
    link_max_pages: String,
    #[serde(default)]
    log_retention_days: String,
    #[serde(default)]
    ban_threshold: String,
    #[serde(default)]
    ban_window_secs: String,
    #[serde(default)]
    ban_secs: String,
    #[serde(default)]
    email_enabled: Option<String>,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_security: String,
    #[serde(default)]
    smtp_username: String,
    /// Empty keeps the stored password.
    #[serde(default)]
    smtp_password: String,
    #[serde(default)]
    email_from: String,
    #[serde(default)]
    email_to: String,
    /// One per line: `format URL` (format: json, wecom, dingtalk) or just a URL (json).
    #[serde(default)]
    webhooks: String,
    /// The category checkboxes, `block_<code>`.
    #[serde(flatten)]
    extra: HashMap<String, String>,
}

impl SettingsForm {
    fn from_settings(s: &Settings) -> SettingsForm {
        SettingsForm {
            csrf: String::new(),
            probe_interval_secs: s.probe_interval_secs.to_string(),
            probe_timeout_secs: s.probe_timeout_secs.to_string(),
            down_after_failures: s.down_after_failures.to_string(),
            probe_via: s.probe_via.clone(),
            tamper_interval_secs: s.tamper_interval_secs.to_string(),
            link_interval_secs: s.link_interval_secs.to_string(),
            link_max_pages: s.link_max_pages.to_string(),
            log_retention_days: s.log_retention_days.to_string(),
            ban_threshold: s.ban_threshold.to_string(),
            ban_window_secs: s.ban_window_secs.to_string(),
            ban_secs: s.ban_secs.to_string(),
            email_enabled: s.email.enabled.then(|| "on".into()),
            smtp_host: s.email.host.clone(),
            smtp_port: s.email.port.to_string(),
            smtp_security: s.email.security.clone(),
            smtp_username: s.email.username.clone(),
            smtp_password: String::new(),
            email_from: s.email.from.clone(),
            email_to: s.email.to.join("\n"),
            webhooks: s
                .webhooks
                .iter()
                .map(|w| format!("{} {}", w.format, w.url))
                .collect::<Vec<_>>()
                .join("\n"),
            extra: s
                .word_block_categories
                .iter()
                .map(|c| (format!("block_{c}"), "on".to_string()))
                .collect(),
        }
    }

    /// The categories ticked, in the list's order.
    fn blocked(&self) -> Vec<&'static str> {
        words::CATEGORIES
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| self.extra.contains_key(&format!("block_{c}")))
            .collect()
    }

    fn parse(&self) -> (Settings, Vec<String>) {
        let mut problems = Vec::new();
        let d = Settings::default();
        let mut num = |label: &str, v: &str, fallback: u64| match v.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                problems.push(format!("{label}须为整数。"));
                fallback
            }
        };
        let probe_interval_secs = num("探测间隔", &self.probe_interval_secs, d.probe_interval_secs);
        let probe_timeout_secs = num("探测超时", &self.probe_timeout_secs, d.probe_timeout_secs);
        let down_after = num(
            "连续失败次数",
            &self.down_after_failures,
            u64::from(d.down_after_failures),
        );
        let tamper_interval_secs = num(
            "防篡改校验间隔",
            &self.tamper_interval_secs,
            d.tamper_interval_secs,
        );
        let link_interval_secs = num(
            "链接检查间隔",
            &self.link_interval_secs,
            d.link_interval_secs,
        );
        let link_max_pages = num(
            "每站检查页面数",
            &self.link_max_pages,
            d.link_max_pages as u64,
        );
        let log_retention_days = num(
            "日志保存天数",
            &self.log_retention_days,
            u64::from(d.log_retention_days),
        );
        let ban_threshold = num("封禁阈值", &self.ban_threshold, u64::from(d.ban_threshold));
        let ban_window_secs = num("统计窗口", &self.ban_window_secs, d.ban_window_secs);
        let ban_secs = num("封禁时长", &self.ban_secs, d.ban_secs);
        let port = num("SMTP 端口", &self.smtp_port, 25);
        let mut webhooks = Vec::new();
        for line in self
            .webhooks
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (format, url) = match line.split_once(char::is_whitespace) {
                Some((f, u)) => (f.to_string(), u.trim().to_string()),
                None => ("json".to_string(), line.to_string()),
            };
            webhooks.push(Webhook { url, format });
        }
        let settings = Settings {
            probe_interval_secs,
            probe_timeout_secs,
            down_after_failures: u32::try_from(down_after).unwrap_or(u32::MAX),
            probe_via: self.probe_via.trim().to_string(),
            tamper_interval_secs,
            link_interval_secs,
            link_max_pages: usize::try_from(link_max_pages).unwrap_or(usize::MAX),
            log_retention_days: u32::try_from(log_retention_days).unwrap_or(u32::MAX),
            ban_threshold: u32::try_from(ban_threshold).unwrap_or(u32::MAX),
            ban_window_secs,
            ban_secs,
            email: monitor::EmailChannel {
                enabled: self.email_enabled.is_some(),
                host: self.smtp_host.trim().to_string(),
                port: u16::try_from(port).unwrap_or_else(|_| {
                    problems.push("SMTP 端口须在 1 到 65535 之间。".into());
                    25
                }),
                security: self.smtp_security.trim().to_string(),
                username: self.smtp_username.trim().to_string(),
                from: self.email_from.trim().to_string(),
                to: self
                    .email_to
                    .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
            webhooks,
            word_block_categories: self.blocked().into_iter().map(str::to_string).collect(),
        };
        (settings, problems)
    }
}

async fn settings_view(
    state: &SharedState,
    s: &crate::auth::Session,
    form: &SettingsForm,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let has_password = alerts::smtp_password(state)
        .await
        .is_ok_and(|p| !p.is_empty());
    let blocked = form.blocked();
    render(
        state,
        "monitor_settings.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            f => context! {
                probe_interval_secs => form.probe_interval_secs, probe_timeout_secs => form.probe_timeout_secs,
                down_after_failures => form.down_after_failures, probe_via => form.probe_via,
                tamper_interval_secs => form.tamper_interval_secs, ban_threshold => form.ban_threshold,
                link_interval_secs => form.link_interval_secs, link_max_pages => form.link_max_pages,
                log_retention_days => form.log_retention_days,
                ban_window_secs => form.ban_window_secs, ban_secs => form.ban_secs,
                email_enabled => form.email_enabled.is_some(), smtp_host => form.smtp_host,
                smtp_port => form.smtp_port, smtp_security => form.smtp_security,
                smtp_username => form.smtp_username, email_from => form.email_from,
                email_to => form.email_to, webhooks => form.webhooks,
            },
            categories => words::CATEGORIES.iter().map(|(c, l)| context! { code => c, label => l, blocked => blocked.contains(c) }).collect::<Vec<_>>(),
            has_password, default_via => state.default_probe_via.clone(),
        },
    )
}

async fn settings_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    settings_guard(&state, &actor).await?;
    let current = monitor::load(&state.db).await?;
    settings_view(
        &state,
        &s,
        &SettingsForm::from_settings(&current),
        notice(&q),
        None,
    )
    .await
}

async fn save_settings(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    settings_guard(&state, &actor).await?;
    let (new, mut problems) = form.parse();
    problems.extend(new.problems());
    if !problems.is_empty() {
        let page = settings_view(&state, &s, &form, None, Some(problems.join(" "))).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let old = monitor::load(&state.db).await?;
    let txn = state.db.begin().await?;
    monitor::store(&txn, &new).await?;
    let password_changed = !form.smtp_password.is_empty();
    if password_changed {
        let sealed = state
            .secrets
            .get()
            .seal(form.smtp_password.as_bytes(), monitor::SMTP_PASSWORD_KEY);
        monitor::put_setting(&txn, monitor::SMTP_PASSWORD_KEY, sealed).await?;
    }
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::MonitorSettings, "settings:monitor").details(serde_json::json!({
                "before": old, "after": new, "smtp_password_changed": password_changed,
            })),
        )
        .await?;
    txn.commit().await?;
    state.monitor_wake.send_modify(|n| *n += 1);
    Ok(Redirect::to("/monitor/settings?notice=settings").into_response())
}

// ---- bans ---------------------------------------------------------------------------------

async fn ban_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    settings_guard(&state, &actor).await?;
    ban_view(&state, &s, notice(&q), None).await
}

async fn ban_view(
    state: &SharedState,
    s: &crate::auth::Session,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let rows: Vec<Value> = bans::active(&state.db, Utc::now())
        .await?
        .into_iter()
        .map(|b| {
            context! {
                id => b.id, address => b.address, reason => b.reason, by => b.created_by,
                created_at => time(b.created_at), expires_at => time(b.expires_at),
            }
        })
        .collect();
    render(
        state,
        "monitor_bans.html",
        context! { user => user_ctx(s), csrf => s.csrf.clone(), notice, error, bans => rows },
    )
}

#[derive(Deserialize)]
struct BanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    reason: String,
}

async fn add_ban(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<BanForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    settings_guard(&state, &actor).await?;
    let address = form.address.trim();
    let hours = form
        .hours
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|h| (1..=720).contains(h));
    let problem = if address.parse::<std::net::IpAddr>().is_err() {
        Some(format!("“{address}”不是有效的 IP 地址。"))
    } else if hours.is_none() {
        Some("封禁时长须为 1 到 720 小时。".to_string())
    } else if form.reason.trim().is_empty() {
        Some("请填写封禁原因。".to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        let page = ban_view(&state, &s, None, Some(p)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let expires = Utc::now() + Duration::hours(hours.unwrap_or(1));
    bans::ban(
        &state,
        address,
        form.reason.trim(),
        expires,
        &Who::actor(&actor),
        &actor.user.username,
    )
    .await
    .map_err(AppError::Internal)?;
    Ok(Redirect::to("/monitor/bans?notice=banned").into_response())
}

async fn lift_ban(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    settings_guard(&state, &actor).await?;
    bans::lift(&state, id, &Who::actor(&actor))
        .await
        .map_err(AppError::Internal)?;
    Ok(Redirect::to("/monitor/bans?notice=lifted").into_response())
}

// ---- words --------------------------------------------------------------------------------

async fn words_guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(
        state,
        actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "section:words",
    )
    .await
}

async fn word_view(
    state: &SharedState,
    s: &crate::auth::Session,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let settings = monitor::load(&state.db).await?;
    let rows = word_entry::Entity::find()
        .order_by_asc(word_entry::Column::Category)
        .order_by_asc(word_entry::Column::Word)
        .all(&state.db)
        .await?;
    let groups: Vec<Value> = words::CATEGORIES
        .iter()
        .map(|(code, label)| {
            let entries: Vec<Value> = rows
                .iter()
                .filter(|r| r.category == *code)
                .map(|r| context! { id => r.id, word => r.word, suggestion => r.suggestion })
                .collect();
            context! {
                code, label, entries,
                blocked => settings.word_block_categories.iter().any(|c| c == code),
            }
        })
        .collect();
    render(
        state,
        "monitor_words.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, groups,
            categories => words::CATEGORIES.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
        },
    )
}

async fn word_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    words_guard(&state, &actor).await?;
    word_view(&state, &s, notice(&q), None).await
}

#[derive(Deserialize)]
struct WordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    word: String,
    #[serde(default)]
    suggestion: String,
}

async fn add_word(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<WordForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    words_guard(&state, &actor).await?;
    let word = form.word.trim();
    let problem = if !words::CATEGORIES.iter().any(|(c, _)| *c == form.category) {
        Some("请选择类别。".to_string())
    } else if word.is_empty() || word.chars().count() > 100 {
        Some("词语须为 1 到 100 个字符。".to_string())
    } else if words::WordList::new(vec![(
        form.category.clone(),
        word.to_string(),
        String::new(),
    )])
    .find(word)
    .is_empty()
    {
        Some("该词语只含空白或分隔符号，无法匹配。".to_string())
    } else if word_entry::Entity::find()
        .filter(word_entry::Column::Word.eq(word))
        .one(&state.db)
        .await?
        .is_some()
    {
        Some(format!("“{word}”已在词库中。"))
    } else {
        None
    };
    if let Some(p) = problem {
        let page = word_view(&state, &s, None, Some(p)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let txn = state.db.begin().await?;
    word_entry::ActiveModel {
        category: Set(form.category.clone()),
        word: Set(word.to_string()),
        suggestion: Set(form.suggestion.trim().to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    state
        .audit_in(&txn, &Who::actor(&actor), Entry::new(Event::WordAdd, format!("word:{word}")).details(serde_json::json!({ "category": form.category, "suggestion": form.suggestion.trim() })))
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/words?notice=word").into_response())
}

async fn delete_word(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    words_guard(&state, &actor).await?;
    let row = word_entry::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = state.db.begin().await?;
    word_entry::Entity::delete_by_id(id).exec(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::WordDelete, format!("word:{}", row.word)),
        )
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/words?notice=word").into_response())
}

async fn add_starter(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    words_guard(&state, &actor).await?;
    let txn = state.db.begin().await?;
    let n = words::add_starter(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::WordAdd, "word:starter-list")
                .details(serde_json::json!({ "added": n })),
        )
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/words?notice=starter").into_response())
}
