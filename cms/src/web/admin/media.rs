//! The media library pages, and the upload endpoint of the article editor.

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::json;

use super::{CsrfForm, render, user_ctx};
use crate::auth::Session;
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::service::content::{self, format_beijing};
use crate::service::media;
use crate::state::SharedState;
use crate::web::session::Authed;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/sites/{id}/media", get(page))
        // Uploads live under /media/ so that the gateway's large-body allowance for the admin
        // (`large_body_paths`) covers them and nothing else.
        .route("/media/upload/{id}", post(upload))
        .route("/media/editor/{id}", post(editor_upload))
        .route("/media/{id}/delete", post(delete))
        // Uploads may be up to the document limit (plus multipart framing).
        .layer(DefaultBodyLimit::max(media::MAX_DOCUMENT + (1 << 20)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    page: Option<u64>,
}

async fn view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    site_id: i32,
    page: u64,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let site = content::site(state, actor, site_id).await?;
    let (items, total) = media::list(state, actor, site.id, page).await?;
    let rows: Vec<minijinja::Value> = items
        .iter()
        .map(|m| {
            context! {
                id => m.id, name => m.name.clone(), path => m.path.clone(),
                thumb => m.thumb_path.clone(), content_type => m.content_type.clone(),
                size_kb => (m.size + 1023) / 1024, at => format_beijing(m.created_at),
                dims => m.width.zip(m.height).map(|(w, h)| format!("{w}×{h}")),
            }
        })
        .collect();
    let host = super::hostnames_of(state, site.id)
        .await?
        .into_iter()
        .next();
    render(
        state,
        "media.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name.clone() },
            rows, total, page, pages => total.div_ceil(40).max(1), host,
            accept => media::accepted_extensions().iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(","),
            can_delete => actor.can_manage_site(site.id),
        },
    )
}

async fn page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<PageQuery>,
) -> AppResult<Html<String>> {
    view(
        &state,
        &s,
        &actor,
        id,
        q.page.unwrap_or(1).max(1),
        None,
        None,
    )
    .await
}

/// Reads a multipart upload: the CSRF field (if any) and the files, in order.
async fn read_upload(mut mp: Multipart) -> AppResult<(String, Vec<(String, Vec<u8>)>)> {
    let mut csrf = String::new();
    let mut files = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(AppError::Invalid(format!("上传数据不完整：{e}"))),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| AppError::Invalid(format!("上传数据不完整或过大：{e}")))?;
        match (name.as_str(), file_name) {
            ("csrf", _) => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            (_, Some(f)) if !f.is_empty() => files.push((f, bytes.to_vec())),
            _ => {}
        }
    }
    Ok((csrf, files))
}

async fn upload(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    mp: Multipart,
) -> AppResult<Response> {
    let (csrf, files) = read_upload(mp).await?;
    s.check_csrf(&csrf)?;
    if files.is_empty() {
        let page = view(
            &state,
            &s,
            &actor,
            id,
            1,
            None,
            Some("请选择要上传的文件。".into()),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    // Each file stands alone: good ones are kept, each refusal is reported.
    let mut done = Vec::new();
    let mut problems = Vec::new();
    for r in media::upload_all(&state, &actor, id, files).await? {
        match r {
            Ok(u) => done.push(u.name),
            Err(msg) => problems.push(msg),
        }
    }
    let notice = (!done.is_empty()).then(|| format!("已上传：{}。", done.join("、")));
    let error = (!problems.is_empty()).then(|| problems.join(" "));
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        view(&state, &s, &actor, id, 1, notice, error).await?,
    )
        .into_response())
}

/// The editor's image upload (wangEditor's protocol: `{"errno": 0, "data": {"url": …}}`). The
/// CSRF token comes in the `X-CSRF-Token` header.
async fn editor_upload(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    headers: HeaderMap,
    mp: Multipart,
) -> Response {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let fail = |status: StatusCode, message: String| {
        (status, Json(json!({ "errno": 1, "message": message }))).into_response()
    };
    if s.check_csrf(&token).is_err() {
        return fail(StatusCode::FORBIDDEN, "表单已过期，请刷新页面。".into());
    }
    let files = match read_upload(mp).await {
        Ok((_, f)) => f,
        Err(AppError::Invalid(m)) => return fail(StatusCode::UNPROCESSABLE_ENTITY, m),
        Err(_) => return fail(StatusCode::BAD_REQUEST, "上传失败。".into()),
    };
    let Some((name, bytes)) = files.into_iter().next() else {
        return fail(StatusCode::UNPROCESSABLE_ENTITY, "没有文件。".into());
    };
    match media::upload(&state, &actor, id, &name, bytes).await {
        Ok(u) => Json(json!({ "errno": 0, "data": { "url": u.path, "alt": u.name, "href": "" } }))
            .into_response(),
        Err(AppError::Invalid(m)) => fail(StatusCode::UNPROCESSABLE_ENTITY, m),
        Err(AppError::NotFound) => fail(StatusCode::NOT_FOUND, "未找到".into()),
        Err(AppError::Forbidden) => fail(StatusCode::FORBIDDEN, "无权上传".into()),
        Err(e) => e.into_response(),
    }
}

async fn delete(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let m = crate::db::entities::media::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    match media::delete(&state, &actor, id).await {
        Ok(()) => Ok(Redirect::to(&format!("/sites/{}/media", m.site_id)).into_response()),
        Err(AppError::Invalid(msg)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            view(&state, &s, &actor, m.site_id, 1, None, Some(msg)).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}
