//! The admin UI: sign in, the sites you may see, content and its review workflow
//! ([`articles`]), a site's hostnames. Handlers parse input and render; what a user may see and
//! do is decided by the service layer ([`crate::service`]) with the request's `Actor`. Every
//! form checks the session's CSRF token.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;

use crate::audit::{Entry, Event, Outcome, Who};
use crate::auth::Session;
use crate::db::entities::{organization, site, site_hostname};
use crate::error::{AppError, AppResult};
use crate::publish;
use crate::service::authz::{Actor, SiteScope};
use crate::service::content::{self, ListFilter};
use crate::snapshot::bump_generation;
use crate::state::SharedState;
use crate::web::session::Authed;

mod account;
mod accounts;
mod articles;
mod audit;
mod certificates;
mod incidents;
mod manage;
mod media;
mod monitor;
mod registry;
mod reports;
mod security;
mod tokens;
mod two_factor;

pub fn router(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/", get(sites))
        .route("/sites/{id}", get(site_page))
        .route("/sites/{id}/hostnames", post(save_hostnames))
        .route("/sites/{id}/publish", post(republish))
        .merge(account::router())
        .merge(two_factor::router())
        .merge(security::router())
        .merge(certificates::router())
        .merge(audit::router())
        .merge(accounts::router())
        .merge(articles::router())
        .merge(manage::router())
        .merge(manage::platform_router())
        .merge(tokens::router())
        .merge(media::router())
        .merge(monitor::router())
        .merge(registry::router())
        .merge(incidents::router())
        .merge(reports::router())
        .layer(axum::middleware::from_fn_with_state(state, csrf_guard))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Bodies of admin forms are read up to this size (axum's default form limit).
const FORM_LIMIT: usize = 2 << 20;

/// Checks the CSRF token of every urlencoded admin form before its handler runs, so a form that
/// does not parse, or a handler that forgot its own check, is still protected: a forged request
/// gets 403 whatever else is wrong with it. (Uploads are multipart: their handlers check the
/// token field; the sign-in form has its own double-submit token, there being no session yet.)
async fn csrf_guard(
    State(state): State<SharedState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let urlencoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // Case-insensitive, as axum's `Form` reads media types.
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if req.method() != axum::http::Method::POST || !urlencoded || req.uri().path() == "/login" {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Some(token) = crate::web::session::session_cookie(&parts) else {
        // Not signed in: the handler sends the visitor to sign in, and changes nothing.
        return next
            .run(axum::extract::Request::from_parts(parts, body))
            .await;
    };
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return (
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "表单内容过大 Form too large",
            )
                .into_response();
        }
    };
    let presented = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
        .unwrap_or_default();
    match crate::auth::lookup_session(&state.db, &token, &state.policy()).await {
        Ok(Some(session)) if session.check_csrf(&presented).is_err() => {
            AppError::Csrf.into_response()
        }
        Ok(_) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// The admin's Content-Security-Policy: scripts only from the admin's own files (no inline
/// script, no eval: Alpine runs its CSP build), nothing framed, forms only to itself. Styles
/// allow inline attributes, which the rich-text editor sets on the content it edits.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Security headers on every admin answer; pages are never cached (they hold CSRF tokens and
/// personal data).
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_XSS_PROTECTION,
        HeaderValue::from_static("1; mode=block"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

pub(super) fn render(state: &SharedState, name: &str, ctx: Value) -> AppResult<Html<String>> {
    Ok(Html(state.admin_ui.get_template(name)?.render(ctx)?))
}

/// The status of a form's page: 422 when it is shown again with the reason a submission was
/// refused, 200 otherwise.
pub(super) fn page_status<T>(error: &Option<T>) -> axum::http::StatusCode {
    if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    }
}

/// The answer to a form: on success a redirect to `to`; refused as invalid, the form's page
/// again with the reason (`refused` renders it, 422); any other error as it is.
pub(super) async fn redirect_or_refused<T, F>(
    result: AppResult<T>,
    to: &str,
    refused: impl FnOnce(String) -> F,
) -> AppResult<Response>
where
    F: std::future::Future<Output = AppResult<Response>>,
{
    match result {
        Ok(_) => Ok(Redirect::to(to).into_response()),
        Err(AppError::Invalid(msg)) => refused(msg).await,
        Err(e) => Err(e),
    }
}

/// A spreadsheet download: `name` is the file name offered (ASCII).
pub(super) fn xlsx_download(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub(super) fn user_ctx(s: &Session) -> Value {
    context! {
        username => s.user.username.clone(), display_name => s.user.display_name.clone(),
        role => s.user.platform_role.clone(),
    }
}

/// Fixed notices shown after a redirect (never text from the query string).
pub(super) fn notice(q: &HashMap<String, String>) -> Option<&'static str> {
    match q.get("notice").map(String::as_str) {
        Some("saved") => Some("已保存。"),
        Some("published") => Some("已发布，网关将在 5 秒内提供新页面。"),
        Some("submitted") => Some("已提交审核。"),
        Some("approved") => Some("已审核通过。"),
        Some("scheduled") => Some("已审核通过，将在定时发布时间发布。"),
        Some("returned") => Some("已退回。"),
        Some("withdrawn") => Some("已撤回为草稿。"),
        Some("unpublished") => Some("已撤稿，网关将在 5 秒内下线该页面。"),
        Some("deleted") => Some("已移入回收站。"),
        Some("restored") => Some("已从回收站恢复。"),
        Some("purged") => Some("已彻底删除。"),
        Some("reverted") => Some("已恢复该版本（作为新版本保存）。"),
        Some("hostnames") => Some("域名已保存，网关将在 5 秒内生效。"),
        Some("password") => Some("密码已修改。"),
        Some("session_ended") => Some("会话已结束。"),
        Some("mfa_off") => Some("已停用双因素认证。"),
        Some("policy") => Some("安全策略已保存，新的登录和会话即按新策略执行。"),
        Some("unlocked") => Some("已解除锁定。"),
        Some("mfa_reset") => Some("已重置该账号的动态口令，其会话均已结束。"),
        Some("account") => Some("账号状态已保存。"),
        _ => None,
    }
}

/// Refuses an action outside the actor's role and records the attempt in the audit trail.
pub(super) async fn require(
    state: &SharedState,
    actor: &Actor,
    allowed: bool,
    what: &str,
) -> AppResult<()> {
    if allowed {
        return Ok(());
    }
    state
        .audit(
            &Who::actor(actor),
            Entry::new(Event::AccessDenied, what).outcome(Outcome::Denied),
        )
        .await?;
    Err(AppError::Forbidden)
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

// ---- sites -------------------------------------------------------------------------------

/// The sites this user may see (see `service::authz::Actor::site_scope`).
async fn visible_sites(state: &SharedState, actor: &Actor) -> AppResult<Vec<site::Model>> {
    let mut q = site::Entity::find().order_by_asc(site::Column::Id);
    if let SiteScope::Only(ids) = actor.site_scope() {
        q = q.filter(site::Column::Id.is_in(ids));
    }
    Ok(q.all(&state.db).await?)
}

/// Every organisation's name by id.
pub(super) async fn org_names(state: &SharedState) -> AppResult<HashMap<i32, String>> {
    Ok(organization::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

pub(super) async fn hostnames_of(state: &SharedState, site_id: i32) -> AppResult<Vec<String>> {
    Ok(site_hostname::Entity::find()
        .filter(site_hostname::Column::SiteId.eq(site_id))
        .order_by_asc(site_hostname::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|h| h.hostname)
        .collect())
}

async fn sites(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    // The 安全管理员 and the 审计管理员 have no sites: each starts in their own section.
    if actor.is_secadmin() {
        return Ok(Redirect::to("/security").into_response());
    }
    if actor.is_auditor() {
        return Ok(Redirect::to("/audit").into_response());
    }
    let counts = content::counts_by_site(&state, &actor).await?;
    let orgs = org_names(&state).await?;
    let mut rows = Vec::new();
    for site in visible_sites(&state, &actor).await? {
        let org_name = orgs.get(&site.org_id).cloned().unwrap_or_default();
        let c = counts.get(&site.id);
        let n = |status: &str| c.and_then(|m| m.get(status)).copied().unwrap_or(0);
        rows.push(context! {
            id => site.id, name => site.name, status => site.status, org_name,
            hostnames => hostnames_of(&state, site.id).await?,
            published => n("published"), pending => n("pending"),
            drafts => n("draft") + n("returned"),
        });
    }
    let todo = content::todo(&state, &actor).await?;
    let drafts = content::my_drafts(&state, &actor, 8).await?;
    let recent = content::recently_published(&state, &actor, 8).await?;
    let site_names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let item = |a: &content::ArticleRow| {
        context! {
            id => a.id, title => a.title.clone(), status => a.status_label.clone(),
            site => site_names.get(&a.site_id).cloned().unwrap_or_default(),
            updated_at => a.updated_at.clone(),
        }
    };
    render(
        &state,
        "sites.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf, sites => rows, notice => notice(&q),
            todo => todo.len(),
            todo_items => todo.iter().take(8).map(item).collect::<Vec<_>>(),
            drafts => drafts.iter().map(item).collect::<Vec<_>>(),
            recent => recent.iter().map(item).collect::<Vec<_>>(),
            can_create => actor.is_sysadmin(),
        },
    )
    .map(IntoResponse::into_response)
}

async fn site_page_inner(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    site: site::Model,
    notice: Option<&str>,
    error: Option<String>,
    hostnames_override: Option<Vec<String>>,
) -> AppResult<Html<String>> {
    let columns = content::columns(&state.db, site.id).await?;
    let column_names: HashMap<i32, String> =
        columns.iter().map(|c| (c.id, c.name.clone())).collect();
    let recent = content::list(
        state,
        actor,
        &ListFilter {
            site_id: Some(site.id),
            per_page: Some(15),
            ..Default::default()
        },
    )
    .await?;
    let article_rows: Vec<Value> = recent
        .items
        .iter()
        .map(|a| {
            context! {
                id => a.id, title => a.title.clone(), status => a.status_label.clone(),
                column => column_names.get(&a.column_id).cloned().unwrap_or_default(),
                updated_at => a.updated_at.clone(),
            }
        })
        .collect();
    let hostnames = match hostnames_override {
        Some(h) => h,
        None => hostnames_of(state, site.id).await?,
    };
    let column_rows: Vec<Value> = columns
        .iter()
        .map(|c| context! { name => c.name.clone(), slug => c.slug.clone(), column_type => c.column_type.clone() })
        .collect();
    render(
        state,
        "site.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name, review_levels => site.review_levels },
            hostnames, columns => column_rows, articles => article_rows, total => recent.total,
            can_hostnames => actor.is_sysadmin(),
            can_manage => actor.can_manage_site(site.id),
            can_write => columns.iter().any(|c| actor.can_edit(site.id, c.id)),
        },
    )
}

async fn site_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let site = content::site(&state, &actor, id).await?;
    site_page_inner(&state, &s, &actor, site, notice(&q), None, None).await
}

#[derive(Deserialize)]
struct HostnamesForm {
    #[serde(default)]
    csrf: String,
    hostnames: String,
}

async fn save_hostnames(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<HostnamesForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = content::site(&state, &actor, id).await?;
    // Hostnames decide routing and certificates for the whole group: platform level.
    require(
        &state,
        &actor,
        actor.is_sysadmin(),
        &format!("site:{id} hostnames"),
    )
    .await?;
    let wanted: Vec<String> = form
        .hostnames
        .lines()
        .map(|l| l.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    let mut problems = Vec::new();
    if wanted.is_empty() {
        problems.push("至少需要一个域名。".to_string());
    }
    for (i, host) in wanted.iter().enumerate() {
        if let Err(why) = sitegroup_contract::config::check_hostname(host) {
            problems.push(format!("“{host}”不是有效的域名（{why}）。"));
        }
        if wanted[..i].contains(host) {
            problems.push(format!("“{host}”重复。"));
        }
        if state.admin.hosts.contains(host) {
            problems.push(format!("“{host}”是管理后台的域名。"));
        }
    }
    let taken = site_hostname::Entity::find()
        .filter(site_hostname::Column::Hostname.is_in(wanted.clone()))
        .filter(site_hostname::Column::SiteId.ne(site.id))
        .all(&state.db)
        .await?;
    for h in taken {
        problems.push(format!("“{}”已被其他站点使用。", h.hostname));
    }
    if !problems.is_empty() {
        // Nothing is saved; the form comes back with what was typed and every problem.
        let page = site_page_inner(
            &state,
            &s,
            &actor,
            site,
            None,
            Some(problems.join(" ")),
            Some(wanted),
        )
        .await?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let txn = state.db.begin().await?;
    site_hostname::Entity::delete_many()
        .filter(site_hostname::Column::SiteId.eq(site.id))
        .exec(&txn)
        .await?;
    for host in &wanted {
        site_hostname::ActiveModel {
            site_id: Set(site.id),
            hostname: Set(host.clone()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    bump_generation(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::SiteHostnames, format!("site:{}", site.id))
                .details(serde_json::json!({ "hostnames": wanted })),
        )
        .await?;
    txn.commit().await?;
    tracing::info!(site = site.id, user = %s.user.username, hostnames = ?wanted, "hostnames changed");
    Ok(Redirect::to(&format!("/sites/{}?notice=hostnames", site.id)).into_response())
}

async fn republish(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = content::site(&state, &actor, id).await?;
    require(
        &state,
        &actor,
        actor.can_manage_site(site.id),
        &format!("site:{id} publish"),
    )
    .await?;
    publish::publish_site(&state, site.id).await?;
    state
        .audit(
            &Who::actor(&actor),
            Entry::new(Event::SitePublish, format!("site:{}", site.id)),
        )
        .await?;
    Ok(Redirect::to(&format!("/sites/{}?notice=published", site.id)).into_response())
}
