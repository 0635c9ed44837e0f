//! The 审计管理员's section: search the audit trail, export it (CSV for reading, signed JSON
//! lines for keeping), and check the chain. Reading only: there is no route that changes or
//! removes a record, for anybody. Nobody else may open it (refusals are audited).

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{CsrfForm, render, require, user_ctx};
use crate::audit::{self, Entry, Event, Filter, Outcome, Who};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::state::SharedState;
use crate::web::session::Authed;

const PER_PAGE: u64 = 50;
/// An export holds at most this many records (narrow the filter for more).
const EXPORT_LIMIT: u64 = 200_000;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/audit", get(page))
        .route("/audit/export", get(export))
        .route("/audit/verify", post(verify))
}

async fn guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(state, actor, actor.is_auditor(), "section:audit").await
}

/// The search form as typed (kept as text so the form comes back as it was).
#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u64>,
    #[serde(default)]
    format: String,
}

impl Params {
    fn filter(&self) -> (Filter, Vec<&'static str>) {
        let mut problems = Vec::new();
        let mut date = |s: &str, what: &'static str| {
            if s.trim().is_empty() {
                return None;
            }
            let d = crate::service::content::parse_beijing(s);
            if d.is_none() {
                problems.push(what);
            }
            d
        };
        let from = date(&self.from, "开始日期格式应为 2026-01-31。");
        let until = date(&self.until, "结束日期格式应为 2026-01-31。")
            .map(|d| d + chrono::Duration::days(1));
        let pick = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let event = pick(&self.event).filter(|e| audit::Event::parse(e).is_some());
        let outcome =
            pick(&self.result).filter(|r| ["success", "failure", "denied"].contains(&r.as_str()));
        (
            Filter {
                from,
                until,
                actor: pick(&self.actor),
                event,
                outcome,
                text: pick(&self.q).map(|t| t.chars().take(100).collect()),
            },
            problems,
        )
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("from", self.from.as_str()),
            ("until", self.until.as_str()),
            ("actor", self.actor.as_str()),
            ("event", self.event.as_str()),
            ("result", self.result.as_str()),
            ("q", self.q.as_str()),
        ])
        .unwrap_or_default()
    }
}

/// A record's time as the auditor reads it (Beijing time).
fn at_text(r: &crate::db::entities::audit_log::Model) -> String {
    crate::publish::beijing(r.at)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn row(r: &crate::db::entities::audit_log::Model) -> Value {
    context! {
        seq => r.seq,
        at => at_text(r),
        actor => r.actor_name.clone(), role => r.actor_role.clone(),
        client_addr => r.client_addr.clone(),
        event => Event::parse(&r.event).map(Event::label).unwrap_or(r.event.as_str()),
        event_code => r.event.clone(),
        object => r.object.clone(),
        result => Outcome::label(&r.result), result_code => r.result.clone(),
        details => r.details.clone(),
    }
}

async fn page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(p): Query<Params>,
) -> AppResult<Html<String>> {
    guard(&state, &actor).await?;
    render_page(&state, &s, &p, None).await
}

async fn render_page(
    state: &SharedState,
    s: &crate::auth::Session,
    p: &Params,
    report: Option<Value>,
) -> AppResult<Html<String>> {
    let (filter, problems) = p.filter();
    let page = p.page.unwrap_or(1).clamp(1, 100_000);
    let (rows, total) = audit::search(&state.db, &filter, page, PER_PAGE).await?;
    let pages = total.div_ceil(PER_PAGE).max(1);
    let events: Vec<Value> = Event::ALL
        .iter()
        .map(|e| context! { code => e.code(), label => e.label() })
        .collect();
    render(
        state,
        "audit.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(),
            error => (!problems.is_empty()).then(|| problems.join(" ")),
            form => context! {
                from => p.from.clone(), until => p.until.clone(), actor => p.actor.clone(),
                event => p.event.clone(), result => p.result.clone(), q => p.q.clone(),
            },
            events, rows => rows.iter().map(row).collect::<Vec<_>>(), total, page, pages,
            query => p.query_string(), report,
        },
    )
}

async fn export(
    State(state): State<SharedState>,
    Authed(_s, actor): Authed,
    Query(p): Query<Params>,
) -> AppResult<Response> {
    guard(&state, &actor).await?;
    let (filter, problems) = p.filter();
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let jsonl = p.format == "jsonl";
    let mut lines = Vec::new();
    let mut csv = String::from("\u{feff}序号,时间,操作者,角色,地址,事件,对象,结果,详情\n");
    let mut records = 0u64;
    let mut too_many = false;
    audit::for_each(&state.db, &filter, |r| {
        if records >= EXPORT_LIMIT {
            too_many = true;
            return;
        }
        records += 1;
        if jsonl {
            lines.push(audit::Line::from(r));
        } else {
            csv.push_str(&csv_row(&[
                &r.seq.to_string(),
                &at_text(r),
                &r.actor_name,
                &r.actor_role,
                &r.client_addr,
                Event::parse(&r.event).map(Event::label).unwrap_or(&r.event),
                &r.object,
                Outcome::label(&r.result),
                &r.details,
            ]));
        }
    })
    .await?;
    if too_many {
        return Err(AppError::Invalid(format!(
            "符合条件的记录超过 {EXPORT_LIMIT} 条，请缩小日期范围后分批导出。"
        )));
    }
    state
        .audit(
            &Who::actor(&actor),
            Entry::new(Event::AuditExport, "audit_log").details(serde_json::json!({
                "format": if jsonl { "jsonl" } else { "csv" },
                "records": records, "filter": p.query_string(),
            })),
        )
        .await?;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let (body, content_type, name) = if jsonl {
        (
            audit::signed_jsonl(&state.secrets.get(), &lines),
            "application/x-ndjson; charset=utf-8",
            format!("audit-{stamp}.jsonl"),
        )
    } else {
        (
            csv.into_bytes(),
            "text/csv; charset=utf-8",
            format!("audit-{stamp}.csv"),
        )
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// One CSV line; cells that a spreadsheet would run as a formula are prefixed with `'`.
fn csv_row(cells: &[&str]) -> String {
    let mut out = cells
        .iter()
        .map(|c| {
            let c = if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                (*c).to_string()
            };
            format!("\"{}\"", c.replace('"', "\"\""))
        })
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    out
}

async fn verify(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<CsrfForm>,
) -> AppResult<Html<String>> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    // Records written by the command line after a key rotation need the new key.
    let report = audit::verify(&state.db, &state.secrets.reloaded()).await?;
    state
        .audit(
            &Who::actor(&actor),
            Entry::new(Event::AuditVerify, "audit_log")
                .outcome(if report.ok() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                })
                .details(serde_json::json!({
                    "checked": report.checked, "problems": report.problems.len(),
                })),
        )
        .await?;
    let shown = context! {
        ok => report.ok(), checked => report.checked, first => report.first_seq,
        last => report.last_seq, problems => report.problems.iter().take(50).cloned().collect::<Vec<_>>(),
    };
    render_page(&state, &s, &Params::default(), Some(shown)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(
            csv_row(&["a", "b\"c", "=1+1"]),
            "\"a\",\"b\"\"c\",\"'=1+1\"\n"
        );
    }
}
