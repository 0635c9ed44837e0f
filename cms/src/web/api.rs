//! The JSON API for automation, `/api/v1/…`, described by `GET /api/v1/openapi.json`.
//!
//! Authentication is a per-user API token (`Authorization: Bearer sgt_…`) and nothing else: a
//! session cookie is not accepted here, so the API needs no CSRF protection. Every call goes
//! through the same service functions, with the same permission checks, as the admin UI.
//! Errors are `{"error": {"code": "...", "message": "..."}}` with the matching status.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sea_orm::{EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db::entities::site;
use crate::error::AppError;
use crate::service::authz::{Actor, SiteScope};
use crate::service::content::{self, ArticleInput, ListFilter};
use crate::service::tokens;
use crate::service::workflow::Action;
use crate::state::SharedState;

/// The OpenAPI description, kept beside the code (a test checks that every route is in it).
pub const OPENAPI: &str = include_str!("../../api/openapi.json");

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route("/api/v1/sites", get(sites))
        .route(
            "/api/v1/sites/{id}/articles",
            get(list_articles).post(create_article),
        )
        .route(
            "/api/v1/articles/{id}",
            get(get_article).put(update_article).delete(delete_article),
        )
        .route("/api/v1/articles/{id}/actions", post(act))
        .route("/api/v1/articles/{id}/restore", post(restore_article))
        .route("/api/v1/articles/{id}/revisions", get(revisions))
        .route("/api/v1/todo", get(todo))
        .route("/api/v1/search", get(search))
}

/// An API error: the admin's error, as JSON.
pub struct ApiError(AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self.0 {
            AppError::LoginRequired
            | AppError::Unauthorized
            | AppError::PasswordChangeRequired
            | AppError::SecondFactorRequired
            | AppError::SecondFactorSetupRequired => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "需要有效的 API 令牌 (Authorization: Bearer sgt_…)".to_string(),
            ),
            AppError::Forbidden | AppError::Csrf => {
                (StatusCode::FORBIDDEN, "forbidden", "无权执行此操作".into())
            }
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "未找到".into()),
            AppError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", m.clone()),
            AppError::Internal(e) => {
                tracing::error!("internal error: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "服务器内部错误".into(),
                )
            }
        };
        let mut res = (
            status,
            Json(json!({ "error": { "code": code, "message": message } })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A JSON body; a body that is not JSON, or not of the expected shape, is a 422 with the
/// parser's reason in the usual error format.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(ApiError(AppError::Invalid(format!(
                "请求体不是有效的 JSON 或字段不符 (invalid JSON body): {}",
                e.body_text()
            )))),
        }
    }
}

/// The user behind the request's bearer token, with their grants.
pub struct ApiActor(pub Actor);

impl FromRequestParts<SharedState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError(AppError::Unauthorized))?;
        let user = tokens::authenticate(&state.db, token)
            .await?
            .ok_or(ApiError(AppError::Unauthorized))?;
        let mut actor = Actor::load(&state.db, user).await?;
        actor.client_addr = crate::web::session::client_of(parts).addr;
        Ok(ApiActor(actor))
    }
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        OPENAPI,
    )
}

async fn me(ApiActor(actor): ApiActor) -> Json<Value> {
    Json(json!({
        "id": actor.user.id,
        "username": actor.user.username,
        "display_name": actor.user.display_name,
        "platform_role": actor.user.platform_role,
        "grants": actor.grants.iter().map(|g| json!({
            "site_id": g.site_id, "column_id": g.column_id,
            "role": g.role.as_str(), "review_level": g.review_level,
        })).collect::<Vec<_>>(),
    }))
}

async fn sites(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Value>> {
    let mut q = site::Entity::find().order_by_asc(site::Column::Id);
    if let SiteScope::Only(ids) = actor.site_scope() {
        q = q.filter(sea_orm::ColumnTrait::is_in(&site::Column::Id, ids));
    }
    let mut out = Vec::new();
    for s in q.all(&state.db).await? {
        let columns = content::columns(&state.db, s.id).await?;
        out.push(json!({
            "id": s.id, "name": s.name, "status": s.status, "review_levels": s.review_levels,
            "columns": columns.iter().map(|c| json!({
                "id": c.id, "name": c.name, "slug": c.slug, "column_type": c.column_type,
                "parent_id": c.parent_id,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(json!({ "items": out })))
}

async fn list_articles(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
    Query(mut f): Query<ListFilter>,
) -> ApiResult<Json<content::Page<content::ArticleRow>>> {
    content::site(&state, &actor, id).await?;
    f.site_id = Some(id);
    Ok(Json(content::list(&state, &actor, &f).await?))
}

#[derive(Serialize)]
struct Created {
    id: i32,
}

async fn create_article(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = content::create(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

async fn get_article(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
) -> ApiResult<Json<Value>> {
    let v = content::view(&state, &actor, id).await?;
    let (status, level) = v.status.to_row();
    Ok(Json(json!({
        "id": v.article.id,
        "site_id": v.article.site_id,
        "status": status,
        "review_level": level,
        "status_label": v.status.label(),
        "deleted": v.article.deleted_at.is_some(),
        "current_revision_id": v.article.current_revision_id,
        "published_revision_id": v.article.published_revision_id,
        "content": v.revision.as_ref().map(|r| content::input_of(&v.article, r)),
        "actions": v.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "history": v.history.iter().map(|h| json!({
            "action": h.action, "level": h.level, "comment": h.comment,
            "actor_id": h.actor_id, "at": h.at.to_rfc3339(),
        })).collect::<Vec<_>>(),
    })))
}

async fn update_article(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> ApiResult<StatusCode> {
    content::update(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_article(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    content::delete(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restore_article(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    content::restore(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ActBody {
    action: String,
    #[serde(default)]
    comment: String,
}

async fn act(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
    ApiJson(body): ApiJson<ActBody>,
) -> ApiResult<Json<Value>> {
    let action = Action::parse(&body.action).ok_or(ApiError(AppError::Invalid(
        "action 须为 submit、approve、return、withdraw 或 unpublish。".into(),
    )))?;
    let next = content::act(&state, &actor, id, action, &body.comment).await?;
    let (status, level) = next.to_row();
    Ok(Json(
        json!({ "status": status, "review_level": level, "status_label": next.label() }),
    ))
}

async fn revisions(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i32>,
) -> ApiResult<Json<Value>> {
    let revs = content::revisions(&state, &actor, id).await?;
    Ok(Json(json!({
        "items": revs.iter().map(|r| json!({
            "id": r.id, "title": r.title, "note": r.note,
            "created_by": r.created_by, "created_at": r.created_at.to_rfc3339(),
        })).collect::<Vec<_>>(),
    })))
}

async fn todo(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": content::todo(&state, &actor).await? }),
    ))
}

/// Full-text search over the items the token's user may read (drafts included); the
/// parameters of the public search plus `status`.
async fn search(
    State(state): State<SharedState>,
    ApiActor(actor): ApiActor,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    let (params, notices) = crate::service::search::SearchParams::from_query(raw.as_deref());
    let o = crate::service::search::staff(&state, &actor, params, notices).await?;
    Ok(Json(json!({
        "total": o.total,
        "page": o.params.page,
        "pages": o.pages,
        "items": o.items,
        "suggestions": o.suggestions,
        "notices": o.notices,
        "error": o.error,
    })))
}
