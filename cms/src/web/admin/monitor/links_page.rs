//! 失效链接: the link checker's findings, CSV export, a crawl on demand.

use super::*;

// ---- links --------------------------------------------------------------------------------

/// The broken links of the sites this actor sees: (site name, issue).
async fn visible_links(
    state: &SharedState,
    actor: &Actor,
) -> AppResult<Vec<(String, link_issue::Model)>> {
    let scope = scope(actor);
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    Ok(link_issue::Entity::find()
        .order_by_asc(link_issue::Column::SiteId)
        .order_by_asc(link_issue::Column::Url)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|l| scope.as_ref().is_none_or(|ids| ids.contains(&l.site_id)))
        .map(|l| (names.get(&l.site_id).cloned().unwrap_or_default(), l))
        .collect())
}

pub(super) async fn link_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:links",
    )
    .await?;
    let rows: Vec<Value> = visible_links(&state, &actor)
        .await?
        .into_iter()
        .map(|(site, l)| context! {
            site, url => l.url, found_on => l.found_on, anchor => l.anchor,
            problem => match l.status { Some(st) if l.error.is_empty() => format!("HTTP {st}"), _ => l.error },
            first_seen => time(l.first_seen_at), checked => time(l.checked_at),
        })
        .collect();
    render(
        &state,
        "monitor_links.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q), links => rows,
            can_check => actor.is_sysadmin() || actor.is_secadmin(),
        },
    )
}

/// The broken links as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese).
pub(super) async fn link_csv(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
) -> AppResult<Response> {
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:links",
    )
    .await?;
    let mut out =
        String::from("\u{feff}网站,失效链接,状态,所在页面,链接文字,首次发现,最近检查\r\n");
    for (site, l) in visible_links(&state, &actor).await? {
        let problem = match l.status {
            Some(st) if l.error.is_empty() => format!("HTTP {st}"),
            _ => l.error.clone(),
        };
        let fields = [
            site,
            l.url,
            problem,
            l.found_on,
            l.anchor,
            time(l.first_seen_at),
            time(l.checked_at),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"broken-links.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

pub(super) async fn check_links_now(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    require(
        &state,
        &actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "links:check",
    )
    .await?;
    let settings = monitor::load(&state.db).await?;
    let st = state.clone();
    tokio::spawn(async move {
        if let Err(e) = monitor::links::round(&st, &settings).await {
            tracing::error!("link check failed: {e:#}");
        }
    });
    Ok(Redirect::to("/monitor/links?notice=checking").into_response())
}
