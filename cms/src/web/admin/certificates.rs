//! 证书管理 (安全管理员): the HTTPS certificates the gateways offer by SNI. Upload a PEM chain
//! and key (checked: they parse, belong together, name at least one host, have not expired),
//! see names, issuer and expiry (expiring ones flagged), delete. Each change reaches every
//! gateway with the next configuration generation, without a restart.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{CsrfForm, render, require, user_ctx};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::service::certificates::{self, EXPIRY_WARNING_DAYS};
use crate::state::SharedState;
use crate::web::session::Authed;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/security/certificates", get(list).post(upload))
        .route("/security/certificates/{id}/delete", post(delete))
}

async fn guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(state, actor, actor.is_secadmin(), "section:certificates").await
}

fn notice(q: &HashMap<String, String>) -> Option<&'static str> {
    match q.get("notice").map(String::as_str) {
        Some("uploaded") => Some("证书已上传，网关将在 5 秒内按域名启用。"),
        Some("deleted") => Some("证书已删除。"),
        _ => None,
    }
}

#[derive(Deserialize, Default, serde::Serialize)]
struct UploadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    chain_pem: String,
    #[serde(default)]
    key_pem: String,
}

async fn page(
    state: &SharedState,
    s: &crate::auth::Session,
    notice: Option<&str>,
    error: Option<String>,
    form: &UploadForm,
) -> AppResult<Html<String>> {
    let now = Utc::now();
    let rows: Vec<Value> = certificates::list(&state.db)
        .await?
        .into_iter()
        .map(|c| {
            let days_left = (c.not_after - now).num_days();
            context! {
                id => c.id, name => c.name, hostnames => c.hostnames.replace(',', ", "),
                issuer => c.issuer, created_by => c.created_by,
                not_after => crate::publish::beijing(c.not_after).format("%Y-%m-%d %H:%M").to_string(),
                days_left, expired => c.not_after <= now,
                expiring => days_left < EXPIRY_WARNING_DAYS,
            }
        })
        .collect();
    render(
        state,
        "security_certificates.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            certificates => rows,
            // The key is never echoed back into the page.
            form => context! { name => form.name.clone(), chain_pem => form.chain_pem.clone() },
        },
    )
}

async fn list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    guard(&state, &actor).await?;
    page(&state, &s, notice(&q), None, &UploadForm::default()).await
}

async fn upload(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<UploadForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    match certificates::upload(&state, &actor, &form.name, &form.chain_pem, &form.key_pem).await {
        Ok(_) => Ok(Redirect::to("/security/certificates?notice=uploaded").into_response()),
        Err(AppError::Invalid(msg)) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, &s, None, Some(msg), &form).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

async fn delete(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    certificates::delete(&state, &actor, id).await?;
    Ok(Redirect::to("/security/certificates?notice=deleted").into_response())
}
