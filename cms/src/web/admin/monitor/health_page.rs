//! 健康度报告: each site's score the inspection's way and the group's, with the trend;
//! printable, and exported as XLSX.

use super::*;
use crate::monitor::health::{self, Health};

/// The served sites this actor sees, each scored now.
async fn visible_reports(
    state: &SharedState,
    actor: &Actor,
    only: Option<i32>,
) -> AppResult<Vec<Health>> {
    let scope = scope(actor);
    require(
        state,
        actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:health",
    )
    .await?;
    let now = Utc::now();
    let mut out = Vec::new();
    for s in health::served_sites(&state.db).await? {
        if scope.as_ref().is_some_and(|ids| !ids.contains(&s.id))
            || only.is_some_and(|id| id != s.id)
        {
            continue;
        }
        out.push(
            health::evaluate(state, &s, now)
                .await
                .map_err(AppError::Internal)?,
        );
    }
    Ok(out)
}

fn days_of(q: &HashMap<String, String>) -> i64 {
    match q.get("days").map(String::as_str) {
        Some("90") => 90,
        Some("7") => 7,
        _ => 30,
    }
}

fn health_ctx(h: &Health) -> Value {
    context! {
        site_id => h.site_id, name => h.site_name, score => format!("{:.1}", h.score),
        grade => h.grade, passed => h.passed, veto => h.veto,
        deductions => h.deductions.iter().map(|d| context! {
            item => d.item, points => format!("{:.1}", d.points), detail => d.detail,
        }).collect::<Vec<_>>(),
        uptime => h.uptime_week.map(|u| format!("{u:.2}%")),
        probes => h.probes_week, broken_links => h.broken_links, open_words => h.open_words,
        exposure => h.exposure, last_update => h.last_update.map(time),
    }
}

/// The group: every visible site's score now, and the trend of the group's average.
pub(super) async fn health_group(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let reports = visible_reports(&state, &actor, None).await?;
    let now = Utc::now();
    let days = days_of(&q);
    let since = now - Duration::days(days - 1);
    let stored = health::trend(&state.db, since).await?;
    let day_list = health::days(since, now);
    let today = day_list.last().cloned().unwrap_or_default();
    // The group's average per day over the visible sites that have a score that day; today
    // is the live score.
    let mut average = std::collections::BTreeMap::new();
    for d in &day_list {
        let scores: Vec<(f64, bool)> = reports
            .iter()
            .filter_map(|h| {
                if *d == today {
                    Some((h.score, !h.veto.is_empty()))
                } else {
                    stored.get(&h.site_id).and_then(|m| m.get(d)).copied()
                }
            })
            .collect();
        if !scores.is_empty() {
            let avg = scores.iter().map(|s| s.0).sum::<f64>() / scores.len() as f64;
            average.insert(
                d.clone(),
                ((avg * 10.0).round() / 10.0, scores.iter().any(|s| s.1)),
            );
        }
    }
    let n = reports.len();
    let group_avg = (n > 0).then(|| reports.iter().map(|h| h.score).sum::<f64>() / n as f64);
    let mut ranked: Vec<&Health> = reports.iter().collect();
    ranked.sort_by(|a, b| {
        a.veto
            .is_empty()
            .cmp(&b.veto.is_empty())
            .then(a.score.total_cmp(&b.score))
    });
    render(
        &state,
        "monitor_health.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q),
            sites => ranked.iter().map(|h| health_ctx(h)).collect::<Vec<_>>(),
            total => n,
            passed => reports.iter().filter(|h| h.passed).count(),
            vetoed => reports.iter().filter(|h| !h.veto.is_empty()).count(),
            average => group_avg.map(|a| format!("{a:.1}")),
            days, generated => time(now),
            trend => Value::from_safe_string(health::trend_svg(
                &format!("网站群平均得分（近 {days} 天）"),
                &day_list,
                &average,
            )),
        },
    )
}

/// One site's report: veto items, deductions, facts, and its trend.
pub(super) async fn health_site(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let mut reports = visible_reports(&state, &actor, Some(id)).await?;
    let Some(h) = reports.pop() else {
        return Err(AppError::NotFound);
    };
    let now = Utc::now();
    let days = days_of(&q);
    let since = now - Duration::days(days - 1);
    let day_list = health::days(since, now);
    let mut scores = health::trend(&state.db, since)
        .await?
        .remove(&id)
        .unwrap_or_default();
    if let Some(today) = day_list.last() {
        scores.insert(today.clone(), (h.score, !h.veto.is_empty()));
    }
    let history: Vec<Value> = day_list
        .iter()
        .rev()
        .filter_map(|d| {
            scores.get(d).map(|(score, vetoed)| {
                context! { day => d, score => format!("{score:.1}"), vetoed => vetoed }
            })
        })
        .collect();
    render(
        &state,
        "monitor_health_site.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q),
            h => health_ctx(&h), days, generated => time(now), history,
            trend => Value::from_safe_string(health::trend_svg(
                &format!("{}得分（近 {days} 天）", h.site_name),
                &day_list,
                &scores,
            )),
        },
    )
}

/// The report as an XLSX workbook: the group (the visible sites), or `?site=ID`.
pub(super) async fn health_xlsx(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let only = match q.get("site") {
        Some(v) => Some(v.parse::<i32>().map_err(|_| AppError::NotFound)?),
        None => None,
    };
    let reports = visible_reports(&state, &actor, only).await?;
    if only.is_some() && reports.is_empty() {
        return Err(AppError::NotFound);
    }
    let now = Utc::now();
    let bytes = health::xlsx(&reports, now).map_err(AppError::Internal)?;
    let name = format!("health-report-{}.xlsx", beijing(now).format("%Y%m%d"));
    Ok(super::super::xlsx_download(&name, bytes))
}
