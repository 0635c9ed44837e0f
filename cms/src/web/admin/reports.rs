//! 总结报告: the group's period summary (系统管理员, 安全管理员), printable and as XLSX.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Utc};
use minijinja::context;

use super::{render, user_ctx};
use crate::error::{AppError, AppResult};
use crate::publish::beijing;
use crate::service::summary;
use crate::state::SharedState;
use crate::web::session::Authed;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/reports/summary", get(summary_page))
        .route("/reports/summary.xlsx", get(summary_xlsx))
}

/// The period asked for; by default this year up to today (Beijing dates).
fn asked(q: &HashMap<String, String>) -> (String, String) {
    let today = beijing(Utc::now()).date_naive();
    let first = today.with_ordinal(1).unwrap_or(today);
    (
        q.get("from")
            .cloned()
            .unwrap_or_else(|| first.format("%Y-%m-%d").to_string()),
        q.get("to")
            .cloned()
            .unwrap_or_else(|| today.format("%Y-%m-%d").to_string()),
    )
}

async fn summary_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    if !summary::may_read(&actor) {
        return Err(AppError::Forbidden);
    }
    let (from, to) = asked(&q);
    let (report, error, status) = match summary::period(&from, &to) {
        Ok((f, t)) => (
            Some(summary::build(&state, &actor, f, t).await?),
            None,
            StatusCode::OK,
        ),
        Err(e) => (None, Some(e), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let page = render(
        &state,
        "report_summary.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), error, from, to, r => report,
            generated => beijing(Utc::now()).format("%Y-%m-%d %H:%M").to_string(),
        },
    )?;
    Ok((status, page).into_response())
}

async fn summary_xlsx(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    if !summary::may_read(&actor) {
        return Err(AppError::Forbidden);
    }
    let (from, to) = asked(&q);
    let (f, t) = summary::period(&from, &to).map_err(AppError::Invalid)?;
    let report = summary::build(&state, &actor, f, t).await?;
    let bytes = summary::xlsx(&report).map_err(AppError::Internal)?;
    Ok(super::xlsx_download(
        &format!("summary-{}-{}.xlsx", report.from, report.to),
        bytes,
    ))
}
