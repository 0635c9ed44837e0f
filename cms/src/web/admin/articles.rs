//! Content pages of the admin: item lists with filters and pagination, the editor, workflow
//! buttons (submit / approve / return / withdraw / unpublish), the review to-do list,
//! revisions with diff and restore, and the recycle bin. Every decision about what the user may
//! see or do is the service's ([`crate::service::content`]).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{CsrfForm, hostnames_of, notice, render, user_ctx};
use crate::auth::Session;
use crate::db::entities::{app_user, media, site, site_column};
use crate::error::{AppError, AppResult};
use crate::publish;
use crate::service::authz::Actor;
use crate::service::content::{self, ArticleInput, KINDS, ListFilter};
use crate::service::workflow::{Action, Status, level_name};
use crate::state::SharedState;
use crate::web::session::Authed;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/todo", get(todo))
        .route("/articles/search", get(search_page))
        .route("/sites/{id}/articles", get(list).post(create))
        .route("/sites/{id}/articles/new", get(new_form))
        .route("/sites/{id}/articles/bulk", post(bulk))
        .route("/articles/{id}", get(edit).post(update))
        .route("/articles/{id}/act", post(act))
        .route("/articles/{id}/delete", post(delete))
        .route("/articles/{id}/restore", post(restore))
        .route("/articles/{id}/purge", post(purge))
        .route("/articles/{id}/revisions", get(revisions))
        .route("/articles/{id}/diff", get(diff))
        .route(
            "/articles/{id}/revisions/{rev}/restore",
            post(restore_revision),
        )
}

#[derive(Deserialize)]
struct ArticleForm {
    #[serde(default)]
    csrf: String,
    /// `save` (draft) or `publish` (save, then submit: publishes at once on sites without
    /// review levels).
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    input: ArticleInput,
}

fn column_rows(columns: &[site_column::Model], actor: &Actor, site_id: i32) -> Vec<Value> {
    columns
        .iter()
        .filter(|c| actor.can_edit(site_id, c.id))
        .map(|c| context! { id => c.id, name => c.name.clone() })
        .collect()
}

fn kinds() -> Vec<Value> {
    KINDS
        .iter()
        .map(|(k, l)| context! { value => *k, label => *l })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn editor_page(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    site: &site::Model,
    columns: &[site_column::Model],
    article: Option<Value>,
    form: &ArticleInput,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    // The site's images, newest first, for the cover choice.
    let images: Vec<Value> = media::Entity::find()
        .filter(media::Column::SiteId.eq(site.id))
        .filter(media::Column::ContentType.starts_with("image/"))
        .order_by_desc(media::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .take(200)
        .map(|m| context! { path => m.path, name => m.name })
        .collect();
    // 错敏词 in what the editor shows (warnings; blocked words never get saved).
    let word_findings = crate::monitor::words::WordList::load(&state.db)
        .await?
        .find_in_item(&form.title, &form.subtitle, &form.summary, &form.body);
    render(
        state,
        "article.html",
        context! {
            word_findings,
            images => images,
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name.clone(), review_levels => site.review_levels },
            columns => column_rows(columns, actor, site.id), kinds => kinds(), article,
            form => Value::from_serialize(form),
        },
    )
}

async fn new_form(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
) -> AppResult<Html<String>> {
    let site = content::site(&state, &actor, id).await?;
    let columns = content::columns(&state.db, site.id).await?;
    let form = ArticleInput {
        column_id: columns
            .iter()
            .find(|c| actor.can_edit(site.id, c.id))
            .map_or(0, |c| c.id),
        kind: "article".into(),
        ..Default::default()
    };
    editor_page(&state, &s, &actor, &site, &columns, None, &form, None, None).await
}

/// After a save: the workflow step the form's button asked for, and the notice to show.
async fn after_save(
    state: &SharedState,
    actor: &Actor,
    id: i32,
    action: &str,
) -> AppResult<&'static str> {
    if action != "publish" {
        return Ok("saved");
    }
    Ok(
        match content::act(state, actor, id, Action::Submit, "").await? {
            Status::Published => "published",
            Status::Scheduled => "scheduled",
            _ => "submitted",
        },
    )
}

/// Renders the editor again with what the user typed and the problem (nothing was saved).
async fn invalid_form(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    site: &site::Model,
    article: Option<Value>,
    form: &ArticleInput,
    msg: String,
) -> AppResult<Response> {
    let columns = content::columns(&state.db, site.id).await?;
    let page = editor_page(
        state,
        s,
        actor,
        site,
        &columns,
        article,
        form,
        None,
        Some(msg),
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn create(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ArticleForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = content::site(&state, &actor, id).await?;
    match content::create(&state, &actor, site.id, &form.input).await {
        Ok(article_id) => {
            let n = after_save(&state, &actor, article_id, &form.action).await?;
            Ok(Redirect::to(&format!("/articles/{article_id}?notice={n}")).into_response())
        }
        Err(AppError::Invalid(msg)) => {
            invalid_form(&state, &s, &actor, &site, None, &form.input, msg).await
        }
        Err(e) => Err(e),
    }
}

/// Display names of the given accounts (only those are read).
async fn user_names(
    state: &SharedState,
    ids: impl IntoIterator<Item = i32>,
) -> AppResult<HashMap<i32, String>> {
    let ids: Vec<i32> = ids.into_iter().collect();
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

fn action_label(a: &str) -> &'static str {
    match a {
        "create" => "创建",
        "edit" => "修改",
        "submit" => "提交审核",
        "approve" => "审核通过",
        "return" => "退回",
        "withdraw" => "撤回",
        "publish" => "发布",
        "unpublish" => "撤稿",
        "delete" => "删除",
        "restore" => "恢复",
        _ => "其他",
    }
}

fn button_label(a: Action, status: Status) -> String {
    match (a, status) {
        (Action::Submit, _) => "提交审核".into(),
        (Action::Approve, Status::Pending(l)) => format!("{}审通过", level_name(l)),
        (Action::Approve, _) => "审核通过".into(),
        (Action::Return, _) => "退回修改".into(),
        (Action::Withdraw, _) => "撤回".into(),
        (Action::Unpublish, _) => "撤稿".into(),
    }
}

/// What the editor page shows about an existing item.
async fn article_view(
    state: &SharedState,
    actor: &Actor,
    id: i32,
) -> AppResult<(Value, content::ArticleView, site::Model)> {
    let view = content::view(state, actor, id).await?;
    let site = content::site(state, actor, view.article.site_id).await?;
    let columns = content::columns(&state.db, site.id).await?;
    let names = user_names(state, view.history.iter().filter_map(|h| h.actor_id)).await?;
    let history: Vec<Value> = view
        .history
        .iter()
        .rev()
        .map(|h| {
            context! {
                at => content::format_beijing(h.at),
                action => action_label(&h.action),
                level => if h.level > 0 { format!("{}审", level_name(h.level)) } else { String::new() },
                who => h.actor_id.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "系统".into()),
                comment => h.comment.clone(),
            }
        })
        .collect();
    let url = match (
        view.status,
        columns.iter().find(|c| c.id == view.article.column_id),
    ) {
        (Status::Published, Some(c)) => hostnames_of(state, site.id)
            .await?
            .into_iter()
            .next()
            .map(|h| format!("//{h}{}", publish::article_path(c, view.article.id))),
        _ => None,
    };
    let buttons: Vec<Value> = view
        .actions
        .iter()
        .map(|&a| context! { action => a.as_str(), label => button_label(a, view.status) })
        .collect();
    let v = context! {
        id => view.article.id,
        status => view.status.label(),
        unpublished_changes => view.status == Status::Published
            && view.article.published_revision_id != view.article.current_revision_id,
        deleted => view.article.deleted_at.is_some(),
        can_edit => view.can_edit,
        can_purge => actor.can_manage_site(site.id),
        can_delete => actor.can_edit(site.id, view.article.column_id),
        buttons, history, url,
    };
    Ok((v, view, site))
}

/// What the editor shows for an item: its current revision.
fn current_input(view: &content::ArticleView) -> ArticleInput {
    match &view.revision {
        Some(r) => content::input_of(&view.article, r),
        None => ArticleInput {
            column_id: view.article.column_id,
            ..Default::default()
        },
    }
}

async fn edit(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let (v, view, site) = article_view(&state, &actor, id).await?;
    let columns = content::columns(&state.db, site.id).await?;
    let form = current_input(&view);
    editor_page(
        &state,
        &s,
        &actor,
        &site,
        &columns,
        Some(v),
        &form,
        notice(&q),
        None,
    )
    .await
}

async fn update(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ArticleForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    match content::update(&state, &actor, id, &form.input).await {
        Ok(()) => {
            let n = after_save(&state, &actor, id, &form.action).await?;
            Ok(Redirect::to(&format!("/articles/{id}?notice={n}")).into_response())
        }
        Err(AppError::Invalid(msg)) => {
            let (v, _, site) = article_view(&state, &actor, id).await?;
            invalid_form(&state, &s, &actor, &site, Some(v), &form.input, msg).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    comment: String,
}

async fn act(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ActForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let action = Action::parse(&form.action).ok_or(AppError::Invalid("未知的操作。".into()))?;
    match content::act(&state, &actor, id, action, &form.comment).await {
        Ok(next) => {
            let n = match (action, next) {
                (_, Status::Published) => "published",
                (_, Status::Scheduled) => "scheduled",
                (Action::Submit, _) => "submitted",
                (Action::Approve, _) => "approved",
                (Action::Return, _) => "returned",
                (Action::Withdraw, _) => "withdrawn",
                (Action::Unpublish, _) => "unpublished",
            };
            Ok(Redirect::to(&format!("/articles/{id}?notice={n}")).into_response())
        }
        Err(AppError::Invalid(msg)) => {
            let (v, view, site) = article_view(&state, &actor, id).await?;
            invalid_form(
                &state,
                &s,
                &actor,
                &site,
                Some(v),
                &current_input(&view),
                msg,
            )
            .await
        }
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
    content::delete(&state, &actor, id).await?;
    Ok(Redirect::to(&format!("/articles/{id}?notice=deleted")).into_response())
}

async fn restore(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    content::restore(&state, &actor, id).await?;
    Ok(Redirect::to(&format!("/articles/{id}?notice=restored")).into_response())
}

async fn purge(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let a = content::article(&state, &actor, id).await?;
    content::purge(&state, &actor, id).await?;
    Ok(Redirect::to(&format!(
        "/sites/{}/articles?deleted=true&notice=purged",
        a.site_id
    ))
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    column_id: Option<String>,
    status: Option<String>,
    q: Option<String>,
    deleted: Option<String>,
    page: Option<u64>,
    notice: Option<String>,
}

async fn list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(lq): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let q: HashMap<String, String> = lq
        .notice
        .iter()
        .map(|n| ("notice".to_string(), n.clone()))
        .collect();
    let notice = notice(&q).map(str::to_string);
    list_page(&state, &s, &actor, id, &lq, notice).await
}

async fn list_page(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    id: i32,
    lq: &ListQuery,
    notice: Option<String>,
) -> AppResult<Html<String>> {
    let site = content::site(state, actor, id).await?;
    let columns = content::columns(&state.db, site.id).await?;
    let deleted = lq.deleted.as_deref() == Some("true");
    let filter = ListFilter {
        site_id: Some(site.id),
        column_id: lq
            .column_id
            .as_deref()
            .and_then(|c| c.parse().ok())
            .filter(|&c: &i32| c > 0),
        status: lq.status.clone().filter(|s| !s.is_empty()),
        q: lq.q.clone(),
        deleted,
        page: lq.page,
        per_page: Some(20),
    };
    let page = content::list(state, actor, &filter).await?;
    let names: HashMap<i32, String> = columns.iter().map(|c| (c.id, c.name.clone())).collect();
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            context! {
                id => a.id, title => a.title.clone(), status => a.status_label.clone(),
                column => names.get(&a.column_id).cloned().unwrap_or_default(),
                kind => KINDS.iter().find(|(k, _)| *k == a.kind).map_or("", |(_, l)| *l),
                updated_at => a.updated_at.clone(),
            }
        })
        .collect();
    let pages = page.total.div_ceil(page.per_page).max(1);
    render(
        state,
        "articles.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice,
            site => context! { id => site.id, name => site.name.clone() },
            columns => columns.iter().map(|c| context! { id => c.id, name => c.name.clone() }).collect::<Vec<_>>(),
            statuses => [("draft", "草稿"), ("pending", "审核中"), ("returned", "已退回"), ("scheduled", "待定时发布"), ("published", "已发布"), ("unpublished", "已撤稿")]
                .iter().map(|(v, l)| context! { value => *v, label => *l }).collect::<Vec<_>>(),
            filter => context! {
                column_id => filter.column_id.unwrap_or(0), status => filter.status.clone().unwrap_or_default(),
                q => filter.q.clone().unwrap_or_default(), deleted,
            },
            rows, total => page.total, page => page.page, pages,
        },
    )
}

async fn todo(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
) -> AppResult<Html<String>> {
    let items = content::todo(&state, &actor).await?;
    let sites: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|a| {
            context! {
                id => a.id, title => a.title.clone(), status => a.status_label.clone(),
                site => sites.get(&a.site_id).cloned().unwrap_or_default(),
                updated_at => a.updated_at.clone(),
            }
        })
        .collect();
    render(
        &state,
        "todo.html",
        context! { user => user_ctx(&s), csrf => s.csrf.clone(), rows },
    )
}

async fn revisions(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
) -> AppResult<Html<String>> {
    let (v, view, site) = article_view(&state, &actor, id).await?;
    let revs = content::revisions(&state, &actor, id).await?;
    let names = user_names(&state, revs.iter().filter_map(|r| r.created_by)).await?;
    let rows: Vec<Value> = revs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            context! {
                id => r.id, title => r.title.clone(), note => r.note.clone(),
                at => content::format_beijing(r.created_at),
                who => r.created_by.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "系统".into()),
                current => Some(r.id) == view.article.current_revision_id,
                published => Some(r.id) == view.article.published_revision_id,
                previous => revs.get(i + 1).map(|p| p.id),
            }
        })
        .collect();
    render(
        &state,
        "revisions.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(),
            site => context! { id => site.id, name => site.name.clone() },
            article => v, rows,
        },
    )
}

#[derive(Deserialize)]
struct DiffQuery {
    from: i32,
    to: i32,
}

async fn diff(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<DiffQuery>,
) -> AppResult<Html<String>> {
    let (v, _, site) = article_view(&state, &actor, id).await?;
    let lines = content::diff(&state, &actor, id, q.from, q.to).await?;
    render(
        &state,
        "diff.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(),
            site => context! { id => site.id, name => site.name.clone() },
            article => v, from => q.from, to => q.to,
            lines => Value::from_serialize(&lines),
        },
    )
}

async fn restore_revision(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path((id, rev)): Path<(i32, i32)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    content::restore_revision(&state, &actor, id, rev).await?;
    Ok(Redirect::to(&format!("/articles/{id}?notice=reverted")).into_response())
}

/// Bulk actions on the checked rows of a list (`id` repeated, `action`, `csrf`).
async fn bulk(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(site_id): Path<i32>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AppError::Invalid("表单数据无效。".into()))?;
    let value = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    s.check_csrf(&value("csrf"))?;
    let site = content::site(&state, &actor, site_id).await?;
    let ids: Vec<i32> = pairs
        .iter()
        .filter(|(n, _)| n == "id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let back = if value("deleted") == "true" {
        format!("/sites/{}/articles?deleted=true", site.id)
    } else {
        format!("/sites/{}/articles", site.id)
    };
    if ids.is_empty() {
        return Ok(Redirect::to(&back).into_response());
    }
    let report = content::bulk(&state, &actor, &ids, &value("action")).await?;
    let msg = if report.failed.is_empty() {
        format!("已处理 {} 条。", report.done)
    } else {
        format!(
            "已处理 {} 条；{} 条未处理：{}",
            report.done,
            report.failed.len(),
            report
                .failed
                .iter()
                .map(|(id, why)| format!("#{id} {why}"))
                .collect::<Vec<_>>()
                .join("；")
        )
    };
    let status = if report.failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let lq = ListQuery {
        deleted: Some(value("deleted")),
        ..Default::default()
    };
    let page = list_page(&state, &s, &actor, site.id, &lq, Some(msg)).await?;
    Ok((status, page).into_response())
}

/// Full-text search over every item the user may read, drafts included.
async fn search_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> AppResult<Html<String>> {
    let (params, notices) = crate::service::search::SearchParams::from_query(raw.as_deref());
    let o = crate::service::search::staff(&state, &actor, params, notices).await?;
    let sites: Vec<Value> = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|x| actor.can_view_site(x.id))
        .map(|x| context! { id => x.id, name => x.name })
        .collect();
    let p = &o.params;
    render(
        &state,
        "search.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(),
            p => context! {
                q => p.q.clone(), site => p.site.unwrap_or(0), status => p.status.clone(),
                from => p.from.clone(), to => p.to.clone(), doc_no => p.doc_no.clone(),
                issuer => p.issuer.clone(), sort => p.sort.clone(), page => p.page,
            },
            prev => (p.page > 1).then(|| format!("?{}", p.query_string(p.page - 1))),
            next => (p.page < o.pages).then(|| format!("?{}", p.query_string(p.page + 1))),
            sites,
            statuses => [("draft", "草稿"), ("pending", "审核中"), ("returned", "已退回"), ("scheduled", "待定时发布"), ("published", "已发布"), ("unpublished", "已撤稿")]
                .iter().map(|(v, l)| context! { value => *v, label => *l }).collect::<Vec<_>>(),
            o => Value::from_serialize(&o),
        },
    )
}
