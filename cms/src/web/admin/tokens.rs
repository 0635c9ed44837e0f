//! The user's API tokens: create (the token is shown once), list, revoke.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{CsrfForm, render, user_ctx};
use crate::auth::Session;
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::service::content::format_beijing;
use crate::service::tokens;
use crate::state::SharedState;
use crate::web::session::Authed;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/account/tokens", get(page).post(create))
        .route("/account/tokens/{id}/revoke", post(revoke))
}

async fn view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    created: Option<String>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let rows: Vec<Value> = tokens::list(state, actor)
        .await?
        .iter()
        .map(|t| {
            context! {
                id => t.id, name => t.name.clone(), created_at => format_beijing(t.created_at),
                last_used_at => t.last_used_at.map(format_beijing).unwrap_or_default(),
                expires_at => t.expires_at.map(format_beijing).unwrap_or_default(),
                expired => t.expires_at.is_some_and(|e| e <= chrono::Utc::now()),
            }
        })
        .collect();
    render(
        state,
        "tokens.html",
        context! { user => user_ctx(s), csrf => s.csrf.clone(), rows, created, error },
    )
}

async fn page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
) -> AppResult<Html<String>> {
    view(&state, &s, &actor, None, None).await
}

#[derive(Deserialize)]
struct NewToken {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    days: String,
}

async fn create(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<NewToken>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let days = form.days.trim().parse().unwrap_or(0);
    match tokens::create(&state, &actor, &form.name, days).await {
        Ok((_, token)) => Ok(view(&state, &s, &actor, Some(token), None)
            .await?
            .into_response()),
        Err(AppError::Invalid(msg)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            view(&state, &s, &actor, None, Some(msg)).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

async fn revoke(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    tokens::revoke(&state, &actor, id).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}
