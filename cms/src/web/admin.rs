//! The admin UI, v0: sign in, list the sites you may see, write and publish articles, change a
//! site's hostnames. Every handler checks the session and, for anything of a site, that the user
//! may see that site; every form checks the session's CSRF token.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::Deserialize;

use crate::auth::{self, SESSION_COOKIE, Session};
use crate::db::entities::{
    app_user, article, article_revision, organization, site, site_column, site_hostname,
};
use crate::error::{AppError, AppResult};
use crate::publish;
use crate::snapshot::bump_generation;
use crate::state::SharedState;
use crate::web::session::{Authed, AuthedAnyState};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(change_password))
        .route("/", get(sites))
        .route("/sites/{id}", get(site_page))
        .route("/sites/{id}/hostnames", post(save_hostnames))
        .route("/sites/{id}/publish", post(republish))
        .route("/sites/{id}/articles/new", get(new_article))
        .route("/sites/{id}/articles", post(create_article))
        .route("/articles/{id}", get(edit_article).post(update_article))
}

fn render(state: &SharedState, name: &str, ctx: Value) -> AppResult<Html<String>> {
    Ok(Html(state.admin_ui.get_template(name)?.render(ctx)?))
}

fn user_ctx(s: &Session) -> Value {
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
fn notice(q: &HashMap<String, String>) -> Option<&'static str> {
    match q.get("notice").map(String::as_str) {
        Some("saved") => Some("已保存。"),
        Some("published") => Some("已发布，网关将在 5 秒内提供新页面。"),
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
struct CsrfForm {
    csrf: String,
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

/// The sites this user may see: platform system administrators see all, unit users the sites
/// of their own unit.
async fn visible_sites(state: &SharedState, s: &Session) -> AppResult<Vec<site::Model>> {
    let mut q = site::Entity::find().order_by_asc(site::Column::Id);
    if s.user.platform_role != "sysadmin" {
        let Some(org) = s.user.org_id else {
            return Ok(vec![]);
        };
        q = q.filter(site::Column::OrgId.eq(org));
    }
    Ok(q.all(&state.db).await?)
}

/// Loads a site the user may see, or answers 404 (not 403: existence is not revealed).
async fn site_for(state: &SharedState, s: &Session, id: i32) -> AppResult<site::Model> {
    let site = site::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed = s.user.platform_role == "sysadmin" || s.user.org_id == Some(site.org_id);
    if allowed {
        Ok(site)
    } else {
        Err(AppError::NotFound)
    }
}

async fn hostnames_of(state: &SharedState, site_id: i32) -> AppResult<Vec<String>> {
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
    Authed(s): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let mut rows = Vec::new();
    for site in visible_sites(&state, &s).await? {
        let org_name = organization::Entity::find_by_id(site.org_id)
            .one(&state.db)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let articles = article::Entity::find()
            .filter(article::Column::SiteId.eq(site.id))
            .count(&state.db)
            .await?;
        rows.push(context! {
            id => site.id, name => site.name, status => site.status, org_name,
            hostnames => hostnames_of(&state, site.id).await?, articles,
        });
    }
    render(
        &state,
        "sites.html",
        context! { user => user_ctx(&s), csrf => s.csrf, sites => rows, notice => notice(&q) },
    )
}

async fn site_page_inner(
    state: &SharedState,
    s: &Session,
    site: site::Model,
    notice: Option<&str>,
    error: Option<String>,
    hostnames_override: Option<Vec<String>>,
) -> AppResult<Html<String>> {
    let columns = site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(site.id))
        .order_by_asc(site_column::Column::SortOrder)
        .all(&state.db)
        .await?;
    let column_names: HashMap<i32, String> =
        columns.iter().map(|c| (c.id, c.name.clone())).collect();
    let articles = article::Entity::find()
        .filter(article::Column::SiteId.eq(site.id))
        .order_by_desc(article::Column::UpdatedAt)
        .order_by_desc(article::Column::Id)
        .all(&state.db)
        .await?;
    let revision_ids: Vec<i32> = articles
        .iter()
        .filter_map(|a| a.current_revision_id)
        .collect();
    let titles: HashMap<i32, String> = article_revision::Entity::find()
        .filter(article_revision::Column::Id.is_in(revision_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.title))
        .collect();
    let article_rows: Vec<Value> = articles
        .iter()
        .map(|a| {
            context! {
                id => a.id,
                title => a.current_revision_id.and_then(|r| titles.get(&r).cloned()).unwrap_or_default(),
                column => column_names.get(&a.column_id).cloned().unwrap_or_default(),
                status => status_label(a),
                published_at => a.published_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
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
            site => context! { id => site.id, name => site.name },
            hostnames, columns => column_rows, articles => article_rows,
        },
    )
}

fn status_label(a: &article::Model) -> &'static str {
    match (
        a.status.as_str(),
        a.published_revision_id == a.current_revision_id,
    ) {
        ("published", true) => "已发布",
        ("published", false) => "已发布（有未发布的修改）",
        _ => "草稿",
    }
}

async fn site_page(
    State(state): State<SharedState>,
    Authed(s): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let site = site_for(&state, &s, id).await?;
    site_page_inner(&state, &s, site, notice(&q), None, None).await
}

#[derive(Deserialize)]
struct HostnamesForm {
    csrf: String,
    hostnames: String,
}

async fn save_hostnames(
    State(state): State<SharedState>,
    Authed(s): Authed,
    Path(id): Path<i32>,
    Form(form): Form<HostnamesForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = site_for(&state, &s, id).await?;
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
    Authed(s): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = site_for(&state, &s, id).await?;
    publish::publish_site(&state, site.id).await?;
    Ok(Redirect::to(&format!("/sites/{}?notice=published", site.id)).into_response())
}

// ---- articles ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct ArticleForm {
    csrf: String,
    title: String,
    column_id: i32,
    #[serde(default)]
    source: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    body: String,
    /// `save` or `publish`.
    #[serde(default)]
    action: String,
}

async fn columns_of(state: &SharedState, site_id: i32) -> AppResult<Vec<site_column::Model>> {
    Ok(site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(site_id))
        .order_by_asc(site_column::Column::SortOrder)
        .all(&state.db)
        .await?)
}

#[allow(clippy::too_many_arguments)]
fn article_page(
    state: &SharedState,
    s: &Session,
    site: &site::Model,
    columns: &[site_column::Model],
    article: Option<Value>,
    form: Value,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let column_rows: Vec<Value> = columns
        .iter()
        .map(|c| context! { id => c.id, name => c.name.clone() })
        .collect();
    render(
        state,
        "article.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name.clone() },
            columns => column_rows, article, form,
        },
    )
}

async fn new_article(
    State(state): State<SharedState>,
    Authed(s): Authed,
    Path(id): Path<i32>,
) -> AppResult<Html<String>> {
    let site = site_for(&state, &s, id).await?;
    let columns = columns_of(&state, site.id).await?;
    let form = context! {
        title => "", source => "", author => "", body => "",
        column_id => columns.first().map(|c| c.id).unwrap_or(0),
    };
    article_page(&state, &s, &site, &columns, None, form, None, None)
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The body as stored: HTML input is cleaned by ammonia; plain text becomes paragraphs.
pub fn clean_body(input: &str) -> String {
    let input = input.replace("\r\n", "\n");
    if input.contains('<') {
        ammonia::clean(&input)
    } else {
        input
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
            .collect()
    }
}

/// Checks the form; returns the problems as one message.
fn validate_article(form: &ArticleForm, columns: &[site_column::Model]) -> Result<(), String> {
    let mut problems = Vec::new();
    let title = form.title.trim();
    if title.is_empty() {
        problems.push("标题不能为空。");
    }
    if title.chars().count() > 200 {
        problems.push("标题不能超过 200 个字符。");
    }
    if form.source.chars().count() > 100 || form.author.chars().count() > 100 {
        problems.push("来源和作者不能超过 100 个字符。");
    }
    if !columns.iter().any(|c| c.id == form.column_id) {
        problems.push("请选择本站点的栏目。");
    }
    if form.body.len() > 2 * 1024 * 1024 {
        problems.push("正文不能超过 2 MB。");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(" "))
    }
}

fn form_value(form: &ArticleForm) -> Value {
    context! {
        title => form.title.clone(), source => form.source.clone(), author => form.author.clone(),
        body => form.body.clone(), column_id => form.column_id,
    }
}

/// Saves a new revision of an article (creating the article when `existing` is None) and, when
/// asked, publishes it. Returns the article id.
async fn save_article(
    state: &SharedState,
    s: &Session,
    site: &site::Model,
    existing: Option<article::Model>,
    form: &ArticleForm,
) -> AppResult<i32> {
    let now = Utc::now();
    let publish_now = form.action == "publish";
    let txn = state.db.begin().await?;
    let article = match existing {
        Some(a) => a,
        None => {
            article::ActiveModel {
                site_id: Set(site.id),
                column_id: Set(form.column_id),
                status: Set("draft".into()),
                current_revision_id: Set(None),
                published_revision_id: Set(None),
                published_at: Set(None),
                created_by: Set(Some(s.user.id)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let revision = article_revision::ActiveModel {
        article_id: Set(article.id),
        title: Set(form.title.trim().to_string()),
        author: Set(form.author.trim().to_string()),
        source: Set(form.source.trim().to_string()),
        summary: Set(String::new()),
        body: Set(clean_body(&form.body)),
        created_by: Set(Some(s.user.id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let id = article.id;
    let first_publish = article.published_at.is_none();
    let mut active: article::ActiveModel = article.into();
    active.column_id = Set(form.column_id);
    active.current_revision_id = Set(Some(revision.id));
    active.updated_at = Set(now);
    if publish_now {
        active.status = Set("published".into());
        active.published_revision_id = Set(Some(revision.id));
        if first_publish {
            active.published_at = Set(Some(now));
        }
    }
    active.update(&txn).await?;
    txn.commit().await?;
    tracing::info!(article = id, user = %s.user.username, publish = publish_now, "article saved");
    if publish_now {
        publish::publish_site(state, site.id).await?;
    }
    Ok(id)
}

async fn create_article(
    State(state): State<SharedState>,
    Authed(s): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ArticleForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = site_for(&state, &s, id).await?;
    let columns = columns_of(&state, site.id).await?;
    if let Err(msg) = validate_article(&form, &columns) {
        let page = article_page(
            &state,
            &s,
            &site,
            &columns,
            None,
            form_value(&form),
            None,
            Some(msg),
        )?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let article_id = save_article(&state, &s, &site, None, &form).await?;
    let notice = if form.action == "publish" {
        "published"
    } else {
        "saved"
    };
    Ok(Redirect::to(&format!("/articles/{article_id}?notice={notice}")).into_response())
}

async fn load_article(
    state: &SharedState,
    s: &Session,
    id: i32,
) -> AppResult<(article::Model, site::Model)> {
    let article = article::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let site = site_for(state, s, article.site_id).await?;
    Ok((article, site))
}

async fn edit_article(
    State(state): State<SharedState>,
    Authed(s): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let (article, site) = load_article(&state, &s, id).await?;
    let columns = columns_of(&state, site.id).await?;
    let revision = match article.current_revision_id {
        Some(rid) => {
            article_revision::Entity::find_by_id(rid)
                .one(&state.db)
                .await?
        }
        None => None,
    };
    let form = match &revision {
        Some(r) => context! {
            title => r.title.clone(), source => r.source.clone(), author => r.author.clone(),
            body => r.body.clone(), column_id => article.column_id,
        },
        None => {
            context! { title => "", source => "", author => "", body => "", column_id => article.column_id }
        }
    };
    let url = match (
        article.status.as_str(),
        columns.iter().find(|c| c.id == article.column_id),
    ) {
        ("published", Some(c)) => {
            let host = hostnames_of(&state, site.id).await?.into_iter().next();
            host.map(|h| format!("//{h}{}", publish::article_path(c, article.id)))
        }
        _ => None,
    };
    let view = context! { id => article.id, status => status_label(&article), url };
    article_page(
        &state,
        &s,
        &site,
        &columns,
        Some(view),
        form,
        notice(&q),
        None,
    )
}

async fn update_article(
    State(state): State<SharedState>,
    Authed(s): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ArticleForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let (article, site) = load_article(&state, &s, id).await?;
    let columns = columns_of(&state, site.id).await?;
    if let Err(msg) = validate_article(&form, &columns) {
        let view = context! { id => article.id, status => status_label(&article) };
        let page = article_page(
            &state,
            &s,
            &site,
            &columns,
            Some(view),
            form_value(&form),
            None,
            Some(msg),
        )?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let article_id = save_article(&state, &s, &site, Some(article), &form).await?;
    let notice = if form.action == "publish" {
        "published"
    } else {
        "saved"
    };
    Ok(Redirect::to(&format!("/articles/{article_id}?notice={notice}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_sanitised_or_paragraphed() {
        assert_eq!(
            clean_body("第一段\n\n第二段\n第三行"),
            "<p>第一段</p><p>第二段<br>第三行</p>"
        );
        assert_eq!(clean_body("a & b\n\nc"), "<p>a &amp; b</p><p>c</p>");
        let cleaned = clean_body("<p onclick=\"x()\">正文</p><script>alert(1)</script>");
        assert_eq!(cleaned, "<p>正文</p>");
    }
}
