//! Unit accounts for those who manage them (the 系统管理员 and unit administrators): disable,
//! enable, set an expiry date, reset the password. Who may touch which account is decided by
//! `service::users`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use sea_orm::EntityTrait;
use serde::Deserialize;

use super::{CsrfForm, notice, render, user_ctx};
use crate::auth;
use crate::error::{AppError, AppResult};
use crate::service::users;
use crate::state::SharedState;
use crate::web::session::Authed;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/users", get(page))
        .route("/users/{id}/status", post(set_status))
        .route("/users/{id}/reset-password", post(reset_password))
}

async fn page_inner(
    state: &SharedState,
    s: &auth::Session,
    actor: &crate::service::authz::Actor,
    notice: Option<&str>,
    error: Option<String>,
    one_time: Option<Value>,
) -> AppResult<Html<String>> {
    let orgs = super::org_names(state).await?;
    let now = Utc::now();
    let rows: Vec<Value> = users::manageable(state, actor)
        .await?
        .into_iter()
        .map(|u| {
            context! {
                id => u.id, username => u.username.clone(), display_name => u.display_name.clone(),
                org => u.org_id.and_then(|o| orgs.get(&o).cloned()).unwrap_or_default(),
                disabled => u.disabled, usable => auth::account_usable(&u, now),
                expires_at => u.expires_at.map(|t| crate::publish::beijing(t).format("%Y-%m-%d").to_string()).unwrap_or_default(),
                totp => u.totp_enabled,
            }
        })
        .collect();
    render(
        state,
        "accounts.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, users => rows, one_time,
        },
    )
}

async fn page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    page_inner(&state, &s, &actor, notice(&q), None, None).await
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    disabled: Option<String>,
    /// `YYYY-MM-DD` (Beijing); empty: no expiry.
    #[serde(default)]
    expires_on: String,
}

async fn set_status(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let expires_at = if form.expires_on.trim().is_empty() {
        None
    } else {
        // The account works until the end of that day, Beijing time.
        match crate::service::content::parse_beijing(&format!("{} 23:59", form.expires_on.trim())) {
            Some(t) => Some(t),
            None => {
                let page = page_inner(
                    &state,
                    &s,
                    &actor,
                    None,
                    Some("有效期格式应为 2027-12-31。".into()),
                    None,
                )
                .await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        }
    };
    users::set_status(&state, &actor, id, form.disabled.is_some(), expires_at).await?;
    Ok(Redirect::to("/users?notice=account").into_response())
}

async fn reset_password(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let password = users::reset_password(&state, &actor, id).await?;
    let user = crate::db::entities::app_user::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    // Shown once, in this answer only.
    let one_time = context! { username => user.username, password };
    Ok(page_inner(&state, &s, &actor, None, None, Some(one_time))
        .await?
        .into_response())
}
