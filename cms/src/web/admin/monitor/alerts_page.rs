//! 告警 (alerts): the list, with deliveries; closing one by hand.

use super::*;

// ---- alerts -------------------------------------------------------------------------------

pub(super) async fn alert_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:alerts",
    )
    .await?;
    let show_all = q.get("all").is_some_and(|v| v == "1");
    let mut query = alert::Entity::find().order_by_desc(alert::Column::Id);
    if !show_all {
        query = query.filter(alert::Column::ResolvedAt.is_null());
    }
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut rows = Vec::new();
    for a in query.limit(500).all(&state.db).await? {
        if !alerts::visible_to(&actor, &a) {
            continue;
        }
        let deliveries: Vec<Value> = alert_delivery::Entity::find()
            .filter(alert_delivery::Column::AlertId.eq(a.id))
            .order_by_asc(alert_delivery::Column::Id)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|d| context! {
                channel => d.channel, event => if d.event == "opened" { "告警" } else { "恢复" },
                ok => d.ok, error => d.error, at => time(d.sent_at),
            })
            .collect();
        rows.push(context! {
            id => a.id, kind => alerts::kind_label(&a.kind), severity => a.severity.clone(),
            severity_label => alerts::severity_label(&a.severity),
            site => a.site_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| "全平台".into()),
            title => a.title, detail => a.detail, opened_at => time(a.opened_at),
            last_seen_at => time(a.last_seen_at), occurrences => a.occurrences,
            resolved_at => a.resolved_at.map(time), resolution => a.resolution,
            deliveries,
        });
    }
    render(
        &state,
        "monitor_alerts.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q),
            alerts => rows, show_all,
            can_close => actor.is_sysadmin() || actor.is_secadmin(),
        },
    )
}

pub(super) async fn close_alert(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    require(
        &state,
        &actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "alert:close",
    )
    .await?;
    let a = alert::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if a.resolved_at.is_none() {
        let txn = state.db.begin().await?;
        let key = a.dedup_key.clone();
        let mut active: alert::ActiveModel = a.into();
        active.resolved_at = Set(Some(Utc::now()));
        active.resolution = Set(format!("由 {} 手动关闭", actor.user.username));
        active.update(&txn).await?;
        state
            .audit_in(
                &txn,
                &Who::actor(&actor),
                Entry::new(Event::AlertClose, format!("alert:{id}"))
                    .details(serde_json::json!({ "key": key })),
            )
            .await?;
        txn.commit().await?;
    }
    Ok(Redirect::to("/monitor/alerts?notice=closed").into_response())
}

/// The navigation's badge: how many alerts this actor sees are open (critical ones in red).
/// Loaded once with each page, never polled, so that an idle session still ends on time.
/// Not an access check: whoever sees no alerts gets an empty badge (and no audit record).
/// Never a redirect either: a session that still has to change its password (whose pages
/// show the navigation too) gets a 401, which htmx does not swap in — not the password page
/// swapped into the navigation, which would load the badge again, and again.
pub(super) async fn alert_badge(
    State(state): State<SharedState>,
    authed: Result<Authed, AppError>,
) -> AppResult<Html<String>> {
    let Ok(Authed(_, actor)) = authed else {
        return Err(AppError::Unauthorized);
    };
    if actor.is_auditor() {
        return Ok(Html(String::new()));
    }
    let open: Vec<alert::Model> = alert::Entity::find()
        .filter(alert::Column::ResolvedAt.is_null())
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|a| alerts::visible_to(&actor, a))
        .collect();
    if open.is_empty() {
        return Ok(Html(String::new()));
    }
    let critical = open.iter().any(|a| a.severity == "critical");
    Ok(Html(format!(
        r#"<span class="badge{}" title="未恢复的告警 {n} 条">{n}</span>"#,
        if critical { " critical" } else { "" },
        n = open.len()
    )))
}
