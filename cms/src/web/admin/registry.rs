//! 网站登记 (the survey form): the registry list with each record's completeness, the form by
//! sections with its change history, XLSX export in both layouts, and bulk import. The
//! service layer (`service::registry`) decides who reads and edits what.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{EntityTrait, QueryOrder};

use super::{redirect_or_refused, render, user_ctx};
use crate::auth::Session;
use crate::db::entities::{organization, site, site_registry};
use crate::error::{AppError, AppResult};
use crate::publish::beijing;
use crate::service::authz::Actor;
use crate::service::registry::fields::{FIELDS, Kind, SECTIONS, missing};
use crate::service::registry::io::{self as rio, Names};
use crate::service::registry::{self, Save, Values, values_of};
use crate::state::SharedState;
use crate::web::session::Authed;

/// Largest import file.
const MAX_IMPORT: usize = 10 << 20;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/registry", get(list_page))
        .route("/registry/new", get(new_page).post(create))
        .route("/registry/export.xlsx", get(export))
        .route("/registry/consolidation", get(consolidation_page))
        .route(
            "/registry/deadlines",
            get(deadlines_page).post(save_deadline),
        )
        .route("/registry/deadlines/{id}/done", post(deadline_done))
        .route("/registry/deadlines/{id}/delete", post(deadline_delete))
        .route("/registry/{id}/plan", post(save_plan))
        .route("/registry/{id}/close", post(close_site))
        .route("/registry/{id}", get(record_page).post(update))
        // Uploads live under /registry/import so that the gateway's large-body allowance
        // (`large_body_paths`) covers exactly this.
        .route("/registry/import", post(import))
        .layer(DefaultBodyLimit::max(MAX_IMPORT + (1 << 20)))
}

use crate::service::content::format_beijing as time;

/// Who may read the registry at all: the system administrators and the units' people.
fn guard(actor: &Actor) -> AppResult<()> {
    if actor.is_secadmin() || actor.is_auditor() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

async fn orgs_ctx(state: &SharedState, actor: &Actor) -> AppResult<Vec<Value>> {
    let editable = registry::editable_orgs(state, actor).await?;
    Ok(organization::Entity::find()
        .order_by_asc(organization::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|o| editable.as_ref().is_none_or(|e| e.contains(&o.id)))
        .map(|o| context! { id => o.id, name => o.name })
        .collect())
}

async fn list_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    notice: Option<String>,
    error: Option<String>,
    import_errors: Vec<String>,
) -> AppResult<Response> {
    let status = super::page_status(&error);
    guard(actor)?;
    let records = registry::list(state, actor).await?;
    let names = Names::load(state).await?;
    let rows: Vec<Value> = records
        .iter()
        .map(|r| {
            let v = values_of(r);
            let miss = missing(&v);
            context! {
                id => r.id, org => names.orgs.get(&r.org_id).cloned().unwrap_or_default(),
                site_name => v.get("site_name").cloned().unwrap_or_else(|| "（未填写网站名称）".into()),
                domains => v.get("domains").cloned().unwrap_or_default().replace('\n', " "),
                in_cms => r.site_id.is_some(),
                complete => miss.is_empty(), missing => miss.len(),
                grade => v.get("dengbao_grade").cloned().unwrap_or_default(),
                updated => time(r.updated_at),
            }
        })
        .collect();
    let can_add = !orgs_ctx(state, actor).await?.is_empty();
    let page = render(
        state,
        "registry.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, import_errors,
            records => rows, can_add,
            total => records.len(),
            complete => records.iter().filter(|r| r.complete).count(),
        },
    )?;
    Ok((status, page).into_response())
}

async fn list_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let notice = match q.get("notice").map(String::as_str) {
        Some("saved") => Some("已保存。".to_string()),
        Some("imported") => Some(format!(
            "导入完成：新增 {} 条，更新 {} 条，无变化 {} 条。",
            q.get("created").map_or("0", String::as_str),
            q.get("updated").map_or("0", String::as_str),
            q.get("unchanged").map_or("0", String::as_str),
        )),
        _ => None,
    };
    list_view(&state, &s, &actor, notice, None, Vec::new()).await
}

/// The form: sections of fields, the values, and the problems of a refused save.
#[allow(clippy::too_many_arguments)]
async fn form_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    record: Option<&site_registry::Model>,
    org_id: Option<i32>,
    site_id: Option<i32>,
    values: &Values,
    (notice, error): (Option<&str>, Option<String>),
) -> AppResult<Response> {
    let status = super::page_status(&error);
    let editable = match record {
        Some(r) => registry::may_edit(state, actor, r.org_id).await?,
        None => true,
    };
    let sections: Vec<Value> = SECTIONS
        .iter()
        .map(|sec| {
            let fields: Vec<Value> = FIELDS
                .iter()
                .filter(|f| f.section == *sec)
                .map(|f| {
                    let (kind, options): (&str, Vec<&str>) = match f.kind {
                        Kind::Choice(o) => ("choice", o.to_vec()),
                        Kind::YesNo => ("choice", vec!["是", "否"]),
                        Kind::LongText | Kind::Domains | Kind::Ips => ("long", Vec::new()),
                        Kind::Date => ("date", Vec::new()),
                        Kind::Phone | Kind::Mobile => ("tel", Vec::new()),
                        Kind::Text => ("text", Vec::new()),
                    };
                    context! {
                        key => f.key, label => f.label, required => f.required, kind, options,
                        value => values.get(f.key).cloned().unwrap_or_default(),
                        hint => match f.kind {
                            Kind::Domains => "多个域名每行一个",
                            Kind::Ips => "多个地址每行一个，IPv4 或 IPv6",
                            Kind::Phone => "如 010-12345678 或手机号",
                            Kind::Mobile => "11 位手机号",
                            _ => "",
                        },
                    }
                })
                .collect();
            context! { name => sec, fields }
        })
        .collect();
    let names = Names::load(state).await?;
    let labels = rio::labels();
    let history: Vec<Value> = match record {
        Some(r) => registry::history(state, r.id)
            .await?
            .into_iter()
            .map(|c| {
                let changes: std::collections::BTreeMap<String, (String, String)> =
                    serde_json::from_str(&c.changes).unwrap_or_default();
                context! {
                    at => time(c.changed_at), by => c.actor_name,
                    source => if c.source == "import" { "导入" } else { "表单" },
                    changes => changes.into_iter().map(|(k, (a, b))| {
                        use crate::service::registry::consolidation::{DECISIONS, PROGRESS, label};
                        // Codes read as their labels.
                        let shown = |v: String| match k.as_str() {
                            "decision" if !v.is_empty() => label(DECISIONS, &v).to_string(),
                            "progress" if !v.is_empty() => label(PROGRESS, &v).to_string(),
                            _ => v,
                        };
                        context! {
                            label => labels.get(k.as_str()).copied().unwrap_or("?"),
                            old => shown(a), new => shown(b),
                        }
                    }).collect::<Vec<_>>(),
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let sites: Vec<Value> = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| context! { id => s.id, name => s.name, org_id => s.org_id })
        .collect();
    let miss = missing(values);
    let page = render(
        state,
        "registry_form.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            id => record.map(|r| r.id), editable, sections, history,
            orgs => orgs_ctx(state, actor).await?,
            org_id => org_id.or(record.map(|r| r.org_id)),
            org_name => record.and_then(|r| names.orgs.get(&r.org_id).cloned()),
            sites, site_id,
            missing => miss,
        },
    )?;
    Ok((status, page).into_response())
}

async fn new_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
) -> AppResult<Response> {
    guard(&actor)?;
    if orgs_ctx(&state, &actor).await?.is_empty() {
        return Err(AppError::Forbidden);
    }
    form_view(
        &state,
        &s,
        &actor,
        None,
        None,
        None,
        &Values::new(),
        (None, None),
    )
    .await
}

async fn record_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    guard(&actor)?;
    let r = registry::get(&state, &actor, id).await?;
    let values = values_of(&r);
    form_view(
        &state,
        &s,
        &actor,
        Some(&r),
        Some(r.org_id),
        r.site_id,
        &values,
        (
            q.get("notice")
                .filter(|n| *n == "saved")
                .map(|_| "已保存。"),
            None,
        ),
    )
    .await
}

/// The form's fields out of the posted form.
fn posted(form: &HashMap<String, String>) -> (Option<i32>, Option<i32>, Values) {
    let org = form.get("org_id").and_then(|v| v.parse().ok());
    let site = form
        .get("site_id")
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok());
    let values = FIELDS
        .iter()
        .filter_map(|f| form.get(f.key).map(|v| (f.key.to_string(), v.clone())))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    (org, site, values)
}

async fn save_form(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    record: Option<site_registry::Model>,
    form: HashMap<String, String>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    guard(actor)?;
    let (org, site_id, values) = posted(&form);
    let org_id = match (org, &record) {
        (Some(o), _) => o,
        (None, Some(r)) => r.org_id,
        (None, None) => {
            return form_view(
                state,
                s,
                actor,
                None,
                None,
                site_id,
                &values,
                (None, Some("请选择所属单位。".into())),
            )
            .await;
        }
    };
    let save = Save {
        id: record.as_ref().map(|r| r.id),
        org_id,
        site_id,
        values: values.clone(),
    };
    match registry::save(state, actor, &save).await {
        Ok(row) => Ok(Redirect::to(&format!("/registry/{}?notice=saved", row.id)).into_response()),
        Err(AppError::Invalid(msg)) => {
            form_view(
                state,
                s,
                actor,
                record.as_ref(),
                Some(org_id),
                site_id,
                &values,
                (None, Some(msg)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn create(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    save_form(&state, &s, &actor, None, form).await
}

async fn update(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    guard(&actor)?;
    let r = registry::get(&state, &actor, id).await?;
    save_form(&state, &s, &actor, Some(r), form).await
}

/// The visible records as XLSX: `?layout=form` one sheet per site in the form's layout,
/// otherwise the summary table (the import's layout).
async fn export(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    guard(&actor)?;
    let records = registry::list(&state, &actor).await?;
    let names = Names::load(&state).await?;
    let now = chrono::Utc::now();
    let form = q.get("layout").is_some_and(|l| l == "form");
    let bytes = if form {
        rio::form_xlsx(&records, &names, now)?
    } else {
        rio::summary_xlsx(&records, &names)?
    };
    let name = format!(
        "site-registry-{}-{}.xlsx",
        if form { "forms" } else { "summary" },
        beijing(now).format("%Y%m%d")
    );
    Ok(super::xlsx_download(&name, bytes))
}

/// Bulk registration from XLSX or CSV: all or nothing, unless `only_good` is ticked.
async fn import(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut csrf = String::new();
    let mut only_good = false;
    let mut file: Option<(String, Vec<u8>)> = None;
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
            ("only_good", _) => only_good = true,
            ("file", Some(f)) if !f.is_empty() => file = Some((f, bytes.to_vec())),
            _ => {}
        }
    }
    s.check_csrf(&csrf)?;
    guard(&actor)?;
    if orgs_ctx(&state, &actor).await?.is_empty() {
        return Err(AppError::Forbidden);
    }
    let refused = |error: String, errors: Vec<String>| {
        list_view(&state, &s, &actor, None, Some(error), errors)
    };
    let Some((name, bytes)) = file else {
        return refused("请选择要导入的文件。".into(), Vec::new()).await;
    };
    if bytes.len() > MAX_IMPORT {
        return refused("文件超过 10 MB。".into(), Vec::new()).await;
    }
    let table = match rio::read_table(&bytes, &name) {
        Ok(t) => t,
        Err(e) => return refused(e, Vec::new()).await,
    };
    let report = rio::import(&state, &actor, table, only_good).await?;
    if !report.applied {
        let n = report.errors.len();
        return refused(
            format!(
                "文件有 {n} 处问题，未导入任何记录。请修改后重新导入，或勾选“只导入无误的行”。"
            ),
            report.errors,
        )
        .await;
    }
    if !report.errors.is_empty() {
        let msg = format!(
            "已导入无误的行：新增 {} 条，更新 {} 条，无变化 {} 条；以下 {} 行未导入。",
            report.created,
            report.updated,
            report.unchanged,
            report.errors.len()
        );
        return list_view(&state, &s, &actor, Some(msg), None, report.errors).await;
    }
    Ok(Redirect::to(&format!(
        "/registry?notice=imported&created={}&updated={}&unchanged={}",
        report.created, report.updated, report.unchanged
    ))
    .into_response())
}

// ---- consolidation --------------------------------------------------------------------------

async fn consolidation_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Response> {
    use crate::service::registry::consolidation::{self as c, DECISIONS, PROGRESS};
    let status = super::page_status(&error);
    guard(actor)?;
    let records = registry::list(state, actor).await?;
    let sites: HashMap<i32, site::Model> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let names = Names::load(state).await?;
    let pairs: Vec<(site_registry::Model, Option<site::Model>)> = records
        .into_iter()
        .map(|r| {
            let s = r.site_id.and_then(|id| sites.get(&id).cloned());
            (r, s)
        })
        .collect();
    let counts = c::counts(&pairs);
    let total = pairs.len();
    let chart: Vec<crate::monitor::dashboard::Count> = counts
        .iter()
        .map(|(st, n)| crate::monitor::dashboard::Count {
            label: st.label().to_string(),
            n: *n as i64,
        })
        .collect();
    let mut rows = Vec::new();
    for (r, site) in &pairs {
        let v = values_of(r);
        let editable = registry::may_edit(state, actor, r.org_id).await?;
        let standing = c::standing(r, site.as_ref());
        rows.push(context! {
            id => r.id,
            site_name => v.get("site_name").cloned().unwrap_or_else(|| "（未填写网站名称）".into()),
            org => names.orgs.get(&r.org_id).cloned().unwrap_or_default(),
            domains => v.get("domains").cloned().unwrap_or_default().replace('\n', " "),
            decision => r.decision, decision_label => c::label(DECISIONS, &r.decision),
            progress => r.progress, progress_label => c::label(PROGRESS, &r.progress),
            note => r.plan_note, due => r.due_date,
            standing => standing.label(), standing_code => standing,
            can_close => editable && r.decision == "close" && standing != c::Standing::Closed,
            redirect => if r.decision == "close" { c::default_redirect(state, r.org_id).await? } else { String::new() },
            editable,
        });
    }
    let page = render(
        state,
        "registry_consolidation.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, rows, total,
            counts => counts.iter().map(|(st, n)| context! { label => st.label(), code => st, n }).collect::<Vec<_>>(),
            done_pct => (counts.iter().filter(|(st, _)| *st != c::Standing::Pending).map(|(_, n)| n).sum::<usize>() * 100)
                .checked_div(total)
                .unwrap_or(0),
            chart => Value::from_safe_string(crate::monitor::dashboard::bars_svg("网站整合情况", &chart, "#0969da")),
            decisions => DECISIONS.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
            progresses => PROGRESS.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
        },
    )?;
    Ok((status, page).into_response())
}

async fn consolidation_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let notice = match q.get("notice").map(String::as_str) {
        Some("plan") => Some("已保存。"),
        Some("closed") => {
            Some("已关停：各网关将在 5 秒内对该网站的访问返回 301 跳转（或关停公告）。")
        }
        _ => None,
    };
    consolidation_view(&state, &s, &actor, notice, None).await
}

async fn save_plan(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    use crate::service::registry::consolidation::{self as c, Plan};
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    guard(&actor)?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let plan = Plan {
        decision: field("decision"),
        progress: field("progress"),
        note: field("note"),
        due_date: field("due_date"),
    };
    let result = c::set_plan(&state, &actor, id, &plan).await;
    redirect_or_refused(result, "/registry/consolidation?notice=plan", |msg| {
        consolidation_view(&state, &s, &actor, None, Some(msg))
    })
    .await
}

async fn close_site(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    use crate::service::registry::consolidation as c;
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    guard(&actor)?;
    let redirect = form.get("redirect").cloned().unwrap_or_default();
    let result = c::close(&state, &actor, id, &redirect).await;
    redirect_or_refused(result, "/registry/consolidation?notice=closed", |msg| {
        consolidation_view(&state, &s, &actor, None, Some(msg))
    })
    .await
}

// ---- compliance: report deadlines and assessments ---------------------------------------------

async fn deadlines_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Response> {
    use crate::service::registry::compliance::{self as c, REPEATS};
    let status = super::page_status(&error);
    if !c::may_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let today = beijing(chrono::Utc::now()).date_naive();
    let rows: Vec<Value> = c::list(state)
        .await?
        .into_iter()
        .map(|d| {
            let left = chrono::NaiveDate::parse_from_str(&d.due_date, "%Y-%m-%d")
                .ok()
                .map(|due| (due - today).num_days());
            context! {
                id => d.id, title => d.title, due => d.due_date,
                // (computed here: the template engine refuses arithmetic on these values)
                overdue => left.filter(|l| *l < 0).map(|l| -l),
                due_in => left.filter(|l| (0..=i64::from(d.remind_days)).contains(l)),
                repeat => crate::service::registry::consolidation::label(REPEATS, &d.repeat),
                remind => d.remind_days,
                last_done => d.last_done_at.map(|t| format!("{} {}", time(t), d.last_done_by)),
            }
        })
        .collect();
    let names = Names::load(state).await?;
    let mut assessments: Vec<(String, Value)> = registry::list(state, actor)
        .await?
        .into_iter()
        .filter_map(|r| {
            let v = values_of(&r);
            let next = v.get("dengbao_next")?.clone();
            Some((
                next.clone(),
                context! {
                    id => r.id,
                    site_name => v.get("site_name").cloned().unwrap_or_default(),
                    org => names.orgs.get(&r.org_id).cloned().unwrap_or_default(),
                    grade => v.get("dengbao_grade").cloned().unwrap_or_default(),
                    filing => v.get("dengbao_filing").cloned().unwrap_or_default(),
                    last => v.get("dengbao_assessed").cloned().unwrap_or_default(),
                    next => next.clone(),
                    soon => chrono::NaiveDate::parse_from_str(&next, "%Y-%m-%d")
                        .is_ok_and(|n| (n - today).num_days() <= c::ASSESSMENT_REMIND_DAYS),
                },
            ))
        })
        .collect();
    assessments.sort_by(|a, b| a.0.cmp(&b.0));
    let page = render(
        state,
        "registry_deadlines.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, deadlines => rows,
            assessments => assessments.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            repeats => REPEATS.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
        },
    )?;
    Ok((status, page).into_response())
}

async fn deadlines_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let notice = q.get("notice").map(|_| "已保存。");
    deadlines_view(&state, &s, &actor, notice, None).await
}

async fn save_deadline(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    use crate::service::registry::compliance as c;
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    let id = form.get("id").and_then(|v| v.parse().ok());
    let result = c::save(
        &state,
        &actor,
        id,
        get("title"),
        get("due_date"),
        get("repeat"),
        get("remind_days"),
    )
    .await;
    if result.is_ok() {
        // A deadline already within its window is reminded of at once.
        let _ = c::round(&state).await;
    }
    redirect_or_refused(result, "/registry/deadlines?notice=saved", |msg| {
        deadlines_view(&state, &s, &actor, None, Some(msg))
    })
    .await
}

async fn deadline_done(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    use crate::service::registry::compliance as c;
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let result = c::done(&state, &actor, id).await;
    redirect_or_refused(result, "/registry/deadlines?notice=done", |msg| {
        deadlines_view(&state, &s, &actor, None, Some(msg))
    })
    .await
}

async fn deadline_delete(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> AppResult<Response> {
    use crate::service::registry::compliance as c;
    s.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    c::delete(&state, &actor, id).await?;
    Ok(Redirect::to("/registry/deadlines?notice=deleted").into_response())
}
