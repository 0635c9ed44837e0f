//! The admin UI: sign in, the sites you may see, content and its review workflow
//! ([`articles`]), a site's hostnames. Handlers parse input and render; what a user may see and
//! do is decided by the service layer ([`crate::service`]) with the request's `Actor`. Every
//! form checks the session's CSRF token.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;

use crate::auth::{self, SESSION_COOKIE, Session};
use crate::db::entities::{app_user, organization, site, site_hostname};
use crate::error::{AppError, AppResult};
use crate::publish;
use crate::service::authz::{Actor, SiteScope};
use crate::service::content::{self, ListFilter};
use crate::snapshot::bump_generation;
use crate::state::SharedState;
use crate::web::session::{Authed, AuthedAnyState};

mod articles;
mod manage;
mod media;
mod tokens;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(change_password))
        .route("/", get(sites))
        .route("/sites/{id}", get(site_page))
        .route("/sites/{id}/hostnames", post(save_hostnames))
        .route("/sites/{id}/publish", post(republish))
        .merge(articles::router())
        .merge(manage::router())
        .merge(manage::platform_router())
        .merge(tokens::router())
        .merge(media::router())
}

pub(super) fn render(state: &SharedState, name: &str, ctx: Value) -> AppResult<Html<String>> {
    Ok(Html(state.admin_ui.get_template(name)?.render(ctx)?))
}

pub(super) fn user_ctx(s: &Session) -> Value {
    context! { username => s.user.username.clone(), display_name => s.user.display_name.clone() }
}

fn session_cookie(token: &str, headers: &HeaderMap) -> HeaderValue {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let value = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
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
        _ => None,
    }
}

// ---- sign in / out -----------------------------------------------------------------------

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login_page(State(state): State<SharedState>) -> AppResult<Html<String>> {
    render(&state, "login.html", context! {})
}

async fn login(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let user = app_user::Entity::find()
        .filter(app_user::Column::Username.eq(form.username.trim()))
        .one(&state.db)
        .await?;
    // Verify against a dummy hash for unknown users: same time, same message.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_string());
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    match user {
        Some(user) if ok && !user.disabled => {
            tracing::info!(user = %user.username, "login succeeded");
            let token = auth::create_session(&state.db, user.id).await?;
            let to = if user.must_change_password {
                "/password"
            } else {
                "/"
            };
            Ok(redirect_with_cookie(to, session_cookie(&token, &headers)))
        }
        _ => {
            tracing::warn!(user = %form.username, "login failed");
            Ok(render(
                &state,
                "login.html",
                context! { error => "用户名或密码错误。", username => form.username },
            )?
            .into_response())
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn logout(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    auth::end_session(&state.db, s.session_id).await?;
    let clear =
        HeaderValue::from_static("sg_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(redirect_with_cookie("/login", clear))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new_password: String,
    confirm: String,
}

async fn password_page(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
) -> AppResult<Html<String>> {
    render(
        &state,
        "password.html",
        context! { user => user_ctx(&s), csrf => s.csrf },
    )
}

async fn change_password(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let fail = |msg: &str| {
        render(
            &state,
            "password.html",
            context! { user => user_ctx(&s), csrf => s.csrf.clone(), error => msg },
        )
        .map(IntoResponse::into_response)
    };
    let (current, hash) = (form.current.clone(), s.user.password_hash.clone());
    let current_ok = tokio::task::spawn_blocking(move || auth::verify_password(&current, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if !current_ok {
        return fail("当前密码不正确。");
    }
    if form.new_password != form.confirm {
        return fail("两次输入的新密码不一致。");
    }
    if form.new_password == form.current {
        return fail("新密码不能与当前密码相同。");
    }
    if let Err(msg) = auth::check_new_password(&form.new_password) {
        return fail(msg);
    }
    let new_password = form.new_password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&new_password))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let txn = state.db.begin().await?;
    let mut user: app_user::ActiveModel = s.user.clone().into();
    user.password_hash = Set(hash);
    user.must_change_password = Set(false);
    user.update(&txn).await?;
    // A password change ends every session of the account, this one included.
    auth::end_all_sessions(&txn, s.user.id).await?;
    let token = auth::create_session(&txn, s.user.id).await?;
    txn.commit().await?;
    tracing::info!(user = %s.user.username, "password changed");
    Ok(redirect_with_cookie(
        "/?notice=password",
        session_cookie(&token, &headers),
    ))
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
) -> AppResult<Html<String>> {
    let counts = content::counts_by_site(&state, &actor).await?;
    let mut rows = Vec::new();
    for site in visible_sites(&state, &actor).await? {
        let org_name = organization::Entity::find_by_id(site.org_id)
            .one(&state.db)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
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
    if !actor.is_sysadmin() {
        return Err(AppError::Forbidden);
    }
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
    if !actor.can_manage_site(site.id) {
        return Err(AppError::Forbidden);
    }
    publish::publish_site(&state, site.id).await?;
    Ok(Redirect::to(&format!("/sites/{}?notice=published", site.id)).into_response())
}
