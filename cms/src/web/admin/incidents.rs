//! 应急处置: the incident list, an incident's page (timeline, one-click emergency actions, notes,
//! closing with a post-mortem) and its printable report for superiors. `service::incidents`
//! decides who may do what.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{EntityTrait, QueryOrder};

use super::{redirect_or_refused, render, user_ctx};
use crate::auth::Session;
use crate::db::entities::{incident, site};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::service::incidents::{self as inc, ACTIONS, SEVERITIES, STATUSES, label};
use crate::state::SharedState;
use crate::web::session::Authed;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/incidents", get(list_page).post(open))
        .route("/incidents/plans", get(plans_page).post(save_plan))
        .route("/incidents/drills", post(record_drill))
        .route("/incidents/{id}", get(incident_page))
        .route("/incidents/{id}/report", get(report_page))
        .route("/incidents/{id}/report.xlsx", get(report_xlsx))
        .route("/incidents/{id}/action/{action}", post(act))
        .route("/incidents/{id}/note", post(note))
        .route("/incidents/{id}/close", post(close))
}

use super::monitor::time;

async fn site_names(state: &SharedState) -> AppResult<HashMap<i32, String>> {
    Ok(site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

fn row(i: &incident::Model, names: &HashMap<i32, String>) -> Value {
    context! {
        id => i.id, title => i.title,
        site => i.site_id.and_then(|s| names.get(&s).cloned()).unwrap_or_else(|| "全平台".into()),
        severity => i.severity, severity_label => label(SEVERITIES, &i.severity),
        status => i.status, status_label => label(STATUSES, &i.status),
        opened_at => time(i.opened_at), opened_by => if i.opened_by == "system" { "系统（告警）".to_string() } else { i.opened_by.clone() },
        closed_at => i.closed_at.map(time), postmortem => i.postmortem,
        from_alert => i.alert_id.is_some(),
    }
}

async fn list_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    error: Option<String>,
) -> AppResult<Response> {
    let status = super::page_status(&error);
    let items = inc::list(state, actor).await?;
    let names = site_names(state).await?;
    let sites: Vec<Value> = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|s| inc::may_handle(actor, Some(s.id)))
        .map(|s| context! { id => s.id, name => s.name })
        .collect();
    if items.is_empty() && sites.is_empty() && !inc::may_handle(actor, None) {
        return Err(AppError::Forbidden);
    }
    let page = render(
        state,
        "incidents.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), error,
            incidents => items.iter().map(|i| row(i, &names)).collect::<Vec<_>>(),
            open_count => items.iter().filter(|i| i.status != "closed").count(),
            sites, can_group => inc::may_handle(actor, None),
            severities => SEVERITIES.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
        },
    )?;
    Ok((status, page).into_response())
}

async fn list_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
) -> AppResult<Response> {
    list_view(&state, &s, &actor, None).await
}

async fn open(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let site_id = form
        .get("site_id")
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok());
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    match inc::open(
        &state,
        &actor,
        site_id,
        get("title"),
        get("severity"),
        get("description"),
    )
    .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
        Err(AppError::Invalid(msg)) => list_view(&state, &s, &actor, Some(msg)).await,
        Err(e) => Err(e),
    }
}

async fn incident_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    id: i32,
    template: &str,
    (notice, error): (Option<String>, Option<String>),
) -> AppResult<Response> {
    let status = super::page_status(&error);
    let (i, events) = inc::get(state, actor, id).await?;
    let names = site_names(state).await?;
    let timeline: Vec<Value> = events
        .iter()
        .map(|e| {
            context! {
                at => time(e.at), who => if e.actor_name == "system" { "系统".to_string() } else { e.actor_name.clone() },
                kind => e.kind, kind_label => match e.kind.as_str() {
                    "alert" => "告警", "action" => "处置操作", "status" => "状态", _ => "记录",
                },
                text => e.text,
            }
        })
        .collect();
    let actions: Vec<Value> = ACTIONS
        .iter()
        .filter(|(c, _)| i.site_id.is_some() || *c == "ban")
        .map(|(c, l)| context! { code => c, label => l })
        .collect();
    let page = render(
        state,
        template,
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            i => row(&i, &names), timeline, actions,
            can_handle => inc::may_handle(actor, i.site_id) && i.status != "closed",
            statuses => STATUSES.iter().filter(|(c, _)| *c != "closed").map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
            generated => time(chrono::Utc::now()),
        },
    )?;
    Ok((status, page).into_response())
}

async fn incident_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let notice = q
        .get("done")
        .map(|_| "已执行，见处置记录；网站状态和封禁在各网关 5 秒内生效。".to_string());
    incident_view(&state, &s, &actor, id, "incident.html", (notice, None)).await
}

/// The report for superiors (网络安全事件报告): printable.
async fn report_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
) -> AppResult<Response> {
    incident_view(&state, &s, &actor, id, "incident_report.html", (None, None)).await
}

/// The report as XLSX (the record, the timeline).
async fn report_xlsx(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Path(id): Path<i32>,
) -> AppResult<Response> {
    let (i, events) = inc::get(&state, &actor, id).await?;
    let names = site_names(&state).await?;
    let site = i
        .site_id
        .and_then(|s| names.get(&s).cloned())
        .unwrap_or_else(|| "全平台".into());
    let bytes = inc::report_xlsx(&i, &site, &events).map_err(AppError::Internal)?;
    Ok(super::xlsx_download(
        &format!("incident-{id}-report.xlsx"),
        bytes,
    ))
}

async fn refused(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    id: i32,
    e: AppError,
) -> AppResult<Response> {
    match e {
        AppError::Invalid(msg) => {
            incident_view(state, s, actor, id, "incident.html", (None, Some(msg))).await
        }
        e => Err(e),
    }
}

async fn act(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path((id, action)): Path<(i32, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    match inc::act(&state, &actor, id, &action, get("address"), get("hours")).await {
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{id}?done=1")).into_response()),
        Err(e) => refused(&state, &s, &actor, id, e).await,
    }
}

async fn note(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let status = form.get("status").filter(|v| !v.is_empty()).cloned();
    match inc::note(
        &state,
        &actor,
        id,
        form.get("text").map_or("", String::as_str),
        status.as_deref(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
        Err(e) => refused(&state, &s, &actor, id, e).await,
    }
}

async fn close(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    match inc::close(
        &state,
        &actor,
        id,
        form.get("postmortem").map_or("", String::as_str),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/incidents/{id}")).into_response()),
        Err(e) => refused(&state, &s, &actor, id, e).await,
    }
}

// ---- plans and drills -------------------------------------------------------------------------

async fn plans_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Response> {
    let status = super::page_status(&error);
    let names = site_names(state).await?;
    let sites: Vec<Value> = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|s| inc::may_handle(actor, Some(s.id)))
        .map(|s| context! { id => s.id, name => s.name })
        .collect();
    let can_group = inc::may_handle(actor, None);
    if sites.is_empty() && !can_group {
        return Err(AppError::Forbidden);
    }
    let (plans, drills) = inc::plans_and_drills(state, actor).await?;
    let site_of = |id: Option<i32>| {
        id.and_then(|i| names.get(&i).cloned())
            .unwrap_or_else(|| "全平台".into())
    };
    let page = render(
        state,
        "plans.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, sites, can_group,
            plans => plans.iter().map(|p| context! {
                id => p.id, site => site_of(p.site_id), title => p.title, contacts => p.contacts,
                steps => p.steps, documents => p.documents,
                updated => format!("{} {}", time(p.updated_at), p.updated_by),
            }).collect::<Vec<_>>(),
            drills => drills.iter().map(|d| context! {
                site => site_of(d.site_id), held_on => d.held_on, scenario => d.scenario,
                participants => d.participants, findings => d.findings, follow_ups => d.follow_ups,
                recorded_by => d.recorded_by,
            }).collect::<Vec<_>>(),
        },
    )?;
    Ok((status, page).into_response())
}

async fn plans_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let notice = match q.get("notice").map(String::as_str) {
        Some("plan") => Some("预案已保存。"),
        Some("drill") => Some("演练已记录。"),
        _ => None,
    };
    plans_view(&state, &s, &actor, notice, None).await
}

fn site_field(form: &HashMap<String, String>) -> Option<i32> {
    form.get("site_id")
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
}

async fn save_plan(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    let id = form.get("id").and_then(|v| v.parse().ok());
    let result = inc::save_plan(
        &state,
        &actor,
        id,
        site_field(&form),
        get("title"),
        get("contacts"),
        get("steps"),
        get("documents"),
    )
    .await;
    redirect_or_refused(result, "/incidents/plans?notice=plan", |msg| {
        plans_view(&state, &s, &actor, None, Some(msg))
    })
    .await
}

async fn record_drill(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    let result = inc::record_drill(
        &state,
        &actor,
        site_field(&form),
        get("held_on"),
        get("scenario"),
        get("participants"),
        get("findings"),
        get("follow_ups"),
    )
    .await;
    redirect_or_refused(result, "/incidents/plans?notice=drill", |msg| {
        plans_view(&state, &s, &actor, None, Some(msg))
    })
    .await
}
