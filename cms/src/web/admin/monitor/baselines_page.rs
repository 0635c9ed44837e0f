//! 页面基线: the legacy sites' pages watched for tampering — added and changed by the security
//! team, the system administrators and each site's unit administrators; the baseline taken
//! again when a change is genuine.

use sea_orm::IntoActiveModel;

use super::*;
use crate::db::entities::page_baseline;
use crate::monitor::baseline;

fn can_manage(actor: &Actor, site_id: i32) -> bool {
    actor.is_secadmin() || actor.can_manage_site(site_id)
}

async fn baseline_view(
    state: &SharedState,
    s: &crate::auth::Session,
    actor: &Actor,
    notice: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let scope = scope(actor);
    require(
        state,
        actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:baselines",
    )
    .await?;
    let sites: Vec<site::Model> = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|s| scope.as_ref().is_none_or(|ids| ids.contains(&s.id)))
        .collect();
    let legacy: Vec<Value> = sites
        .iter()
        .filter(|s| !probe::origins(s).is_empty() && can_manage(actor, s.id))
        .map(|s| context! { id => s.id, name => s.name })
        .collect();
    let rows: Vec<Value> = page_baseline::Entity::find()
        .order_by_asc(page_baseline::Column::SiteId)
        .order_by_asc(page_baseline::Column::Path)
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|b| {
            let site = sites.iter().find(|s| s.id == b.site_id)?;
            Some(context! {
                id => b.id, site => site.name, path => b.path,
                ignore_regions => b.ignore_regions, threshold => b.threshold_pct,
                taken => b.taken_at.map(time), checked => b.checked_at.map(time),
                change => b.change_pct.map(|p| format!("{p:.1}%")),
                over => b.change_pct.is_some_and(|p| p >= f64::from(b.threshold_pct)),
                sample => b.diff_sample, error => b.last_error,
                can_manage => can_manage(actor, b.site_id),
            })
        })
        .collect();
    let page = render(
        state,
        "monitor_baselines.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            baselines => rows, legacy_sites => legacy,
            default_threshold => baseline::DEFAULT_THRESHOLD_PCT,
        },
    )?;
    Ok((status, page).into_response())
}

pub(super) async fn baseline_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    baseline_view(&state, &s, &actor, notice(&q), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct BaselineForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    ignore_regions: String,
    #[serde(default)]
    threshold_pct: String,
}

/// Adds a watched page, or changes one (same site and path); its baseline is taken at once.
pub(super) async fn save_baseline(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<BaselineForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = match form.site_id.trim().parse::<i32>() {
        Ok(id) => site::Entity::find_by_id(id).one(&state.db).await?,
        Err(_) => None,
    };
    let Some(site) = site else {
        return baseline_view(
            &state,
            &s,
            &actor,
            None,
            Some("请选择网站。".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    require(
        &state,
        &actor,
        can_manage(&actor, site.id),
        &format!("baseline:site:{}", site.id),
    )
    .await?;
    let path = form.path.trim();
    let mut problems = Vec::new();
    if probe::origins(&site).is_empty() {
        problems.push(format!(
            "“{}”不是旧网站（未设置源站地址）；本平台发布的网站由防篡改校验逐个文件核对。",
            site.name
        ));
    }
    if !path.starts_with('/') || path.contains(char::is_whitespace) || path.len() > 1000 {
        problems.push("页面路径须以 / 开头，不含空白，如 /index.html。".into());
    }
    if let Err(e) = baseline::compile(&form.ignore_regions) {
        problems.push(e);
    }
    let threshold = match form.threshold_pct.trim().parse::<i32>() {
        Ok(t) if (1..=100).contains(&t) => t,
        _ => {
            problems.push("变化阈值须为 1 到 100 之间的整数（百分比）。".into());
            baseline::DEFAULT_THRESHOLD_PCT
        }
    };
    if !problems.is_empty() {
        return baseline_view(
            &state,
            &s,
            &actor,
            None,
            Some(problems.join(" ")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let regions = form
        .ignore_regions
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let existing = page_baseline::Entity::find()
        .filter(page_baseline::Column::SiteId.eq(site.id))
        .filter(page_baseline::Column::Path.eq(path))
        .one(&state.db)
        .await?;
    let txn = state.db.begin().await?;
    let row = match existing {
        Some(b) => {
            let mut a = b.into_active_model();
            a.ignore_regions = Set(regions.clone());
            a.threshold_pct = Set(threshold);
            a.update(&txn).await?
        }
        None => {
            page_baseline::ActiveModel {
                site_id: Set(site.id),
                path: Set(path.to_string()),
                ignore_regions: Set(regions.clone()),
                threshold_pct: Set(threshold),
                baseline_text: Set(String::new()),
                taken_at: Set(None),
                checked_at: Set(None),
                change_pct: Set(None),
                last_error: Set(String::new()),
                diff_sample: Set(String::new()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::BaselineSave, format!("baseline:{}", row.id)).details(
                serde_json::json!({
                    "site_id": site.id, "path": path, "ignore_regions": regions,
                    "threshold_pct": threshold,
                }),
            ),
        )
        .await?;
    txn.commit().await?;
    // A changed ignore-region changes what is compared: the baseline is taken anew.
    let settings = monitor::load(&state.db).await?;
    let notice = match baseline::take(&state, &settings, row)
        .await
        .map_err(AppError::Internal)?
    {
        Ok(()) => "baseline",
        Err(_) => "baseline-later",
    };
    Ok(Redirect::to(&format!("/monitor/baselines?notice={notice}")).into_response())
}

async fn managed(state: &SharedState, actor: &Actor, id: i32) -> AppResult<page_baseline::Model> {
    let b = page_baseline::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        state,
        actor,
        can_manage(actor, b.site_id),
        &format!("baseline:{id}"),
    )
    .await?;
    Ok(b)
}

/// Takes the baseline again (the change was genuine).
pub(super) async fn retake_baseline(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let b = managed(&state, &actor, id).await?;
    let settings = monitor::load(&state.db).await?;
    let details =
        serde_json::json!({ "site_id": b.site_id, "path": b.path, "change_pct": b.change_pct });
    let result = baseline::take(&state, &settings, b)
        .await
        .map_err(AppError::Internal)?;
    let outcome = if result.is_ok() {
        crate::audit::Outcome::Success
    } else {
        crate::audit::Outcome::Failure
    };
    state
        .audit(
            &Who::actor(&actor),
            Entry::new(Event::BaselineRetake, format!("baseline:{id}"))
                .details(details)
                .outcome(outcome),
        )
        .await?;
    match result {
        Ok(()) => Ok(Redirect::to("/monitor/baselines?notice=retaken").into_response()),
        Err(e) => {
            baseline_view(
                &state,
                &s,
                &actor,
                None,
                Some(format!("未能采集基线：{e}")),
                StatusCode::BAD_GATEWAY,
            )
            .await
        }
    }
}

pub(super) async fn delete_baseline(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let b = managed(&state, &actor, id).await?;
    let txn = state.db.begin().await?;
    page_baseline::Entity::delete_by_id(id).exec(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::BaselineDelete, format!("baseline:{id}"))
                .details(serde_json::json!({ "site_id": b.site_id, "path": b.path })),
        )
        .await?;
    txn.commit().await?;
    alerts::resolve(&state, &format!("page_change:{id}"), "页面不再监测")
        .await
        .map_err(AppError::Internal)?;
    Ok(Redirect::to("/monitor/baselines?notice=baseline-deleted").into_response())
}
