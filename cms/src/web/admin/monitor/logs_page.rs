//! 安全态势 (the dashboard) and 日志检索 (central log search, CSV export).

use super::*;

// ---- dashboard ----------------------------------------------------------------------------

pub(super) async fn dashboard(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    use monitor::dashboard::{self as d, Count};
    logs_guard(&state, &actor).await?;
    let days: i64 = if q.get("days").is_some_and(|v| v == "7") {
        7
    } else {
        1
    };
    let now = Utc::now();
    let since = now - Duration::days(days);
    let db = &state.db;
    let sites = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(db)
        .await?;
    let name_of = |label: &str| match label.parse::<i32>() {
        Ok(0) => "管理后台".to_string(),
        Ok(id) => sites
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| format!("#{id}"), |s| s.name.clone()),
        Err(_) => "未知网站".to_string(),
    };
    let traffic = d::hourly(&d::traffic(db, since).await?, since, now);
    let blocks = d::hourly(&d::blocks(db, since).await?, since, now);
    let every = if days == 7 { 24 } else { 3 };
    let attacked: Vec<Count> = d::attacked_sites(db, since)
        .await?
        .into_iter()
        .map(|c| Count {
            label: name_of(&c.label),
            n: c.n,
        })
        .collect();
    let mut uptime = Vec::new();
    for site in &sites {
        let (ok, n) = probe::uptime(&state, site.id, now - Duration::days(7)).await?;
        if n > 0 {
            uptime.push(Count {
                label: format!("{}（{:.2}%）", site.name, ok as f64 * 100.0 / n as f64),
                n: i64::try_from(ok * 10_000 / n).unwrap_or(0),
            });
        }
    }
    let open = alert::Entity::find()
        .filter(alert::Column::ResolvedAt.is_null())
        .all(db)
        .await?;
    let safe = Value::from_safe_string;
    render(
        &state,
        "monitor_dashboard.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), days,
            requests => traffic.iter().map(|c| c.n).sum::<i64>(),
            blocked => blocks.iter().map(|c| c.n).sum::<i64>(),
            critical => open.iter().filter(|a| a.severity == "critical").count(),
            warnings => open.iter().filter(|a| a.severity != "critical").count(),
            bans => bans::active(db, now).await?.len(),
            traffic_chart => safe(d::columns_svg("每小时请求数", &traffic, "#0969da", every)),
            blocks_chart => safe(d::columns_svg("每小时 WAF 拦截数", &blocks, "#cf222e", every)),
            rules_chart => safe(d::bars_svg("拦截最多的规则", &d::top_rules(db, since).await?, "#bc4c00")),
            sources_chart => safe(d::bars_svg("攻击最多的来源地址", &d::top_sources(db, since).await?, "#8250df")),
            sites_chart => safe(d::bars_svg("受攻击最多的网站", &attacked, "#cf222e")),
            uptime_chart => safe(d::bars_svg("近 7 天可用率", &uptime, "#1a7f37")),
        },
    )
}

// ---- log search ---------------------------------------------------------------------------

pub(super) async fn logs_guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(
        state,
        actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "section:logs",
    )
    .await
}

/// The search form's fields as typed (to fill the form again and build links).
const LOG_FIELDS: &[&str] = &[
    "kind",
    "from",
    "to",
    "site",
    "ip",
    "path",
    "status",
    "request_id",
    "rule",
    "event",
];

fn query_string(q: &HashMap<String, String>, before: Option<i64>) -> String {
    let mut pairs: Vec<(String, String)> = LOG_FIELDS
        .iter()
        .filter_map(|k| {
            q.get(*k)
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    if let Some(b) = before {
        pairs.push(("before".into(), b.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub(super) async fn log_search(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    logs_guard(&state, &actor).await?;
    let started = std::time::Instant::now();
    let security = q.get("kind").is_some_and(|k| k == "security");
    let parsed = monitor::logs::parse(|k| q.get(k).cloned().unwrap_or_default(), Utc::now());
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let site_name = |id: Option<i32>| match id {
        Some(0) => "管理后台".to_string(),
        Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
        None => "—".to_string(),
    };
    let (rows, next, error): (Vec<Value>, Option<i64>, Option<String>) = match &parsed {
        Err(problems) => (Vec::new(), None, Some(problems.join(" "))),
        Ok(query) if security => {
            let rows = monitor::logs::events(&state.db, query, None, monitor::logs::PAGE).await?;
            let next = (rows.len() as u64 == monitor::logs::PAGE)
                .then(|| rows.last().map(|r| i64::from(r.id)))
                .flatten();
            (
                rows.into_iter()
                    .map(|e| context! {
                        time => time(e.received_at), site => site_name(e.site_id), kind => e.kind,
                        ip => e.client_ip, host => e.host, path => e.path, detail => e.detail,
                        request_id => e.request_id, node => e.node,
                    })
                    .collect(),
                next,
                None,
            )
        }
        Ok(query) => {
            let rows = monitor::logs::access(&state.db, query, None, monitor::logs::PAGE).await?;
            let next = (rows.len() as u64 == monitor::logs::PAGE)
                .then(|| rows.last().map(|r| r.id))
                .flatten();
            (
                rows.into_iter()
                    .map(|a| {
                        context! {
                            time => time(a.time), site => site_name(a.site_id), ip => a.client_ip,
                            method => a.method, host => a.host, path => a.path, query => a.query,
                            status => a.status, ms => a.duration_us / 1000, waf => a.waf,
                            request_id => a.request_id, node => a.node, served_by => a.served_by,
                        }
                    })
                    .collect(),
                next,
                None,
            )
        }
    };
    let form: HashMap<&str, String> = LOG_FIELDS
        .iter()
        .map(|k| (*k, q.get(*k).cloned().unwrap_or_default()))
        .collect();
    let page = render(
        &state,
        "monitor_logs.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), error => error.clone(),
            security, rows, form,
            sites => names.iter().map(|(id, n)| context! { id => id, name => n }).collect::<Vec<_>>(),
            next => next.map(|b| query_string(&q, Some(b))),
            csv => query_string(&q, None),
            millis => started.elapsed().as_millis() as u64,
        },
    )?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// The search's rows (up to `EXPORT_MAX`) as CSV.
pub(super) async fn log_csv(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    logs_guard(&state, &actor).await?;
    let query = monitor::logs::parse(|k| q.get(k).cloned().unwrap_or_default(), Utc::now())
        .map_err(|p| AppError::Invalid(p.join(" ")))?;
    let mut out = String::from("\u{feff}");
    let name;
    if q.get("kind").is_some_and(|k| k == "security") {
        name = "security-events.csv";
        out.push_str("时间,网站编号,类型,客户端地址,主机,路径,详情,请求编号,网关\r\n");
        for e in monitor::logs::events(&state.db, &query, None, monitor::logs::EXPORT_MAX).await? {
            let f = [
                e.received_at.to_rfc3339(),
                e.site_id.map(|i| i.to_string()).unwrap_or_default(),
                e.kind,
                e.client_ip,
                e.host,
                e.path,
                e.detail,
                e.request_id,
                e.node,
            ];
            out.push_str(&f.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
    } else {
        name = "access-log.csv";
        out.push_str(
            "时间,网站编号,客户端地址,方法,主机,路径,查询,状态,耗时(ms),WAF,请求编号,网关\r\n",
        );
        for a in monitor::logs::access(&state.db, &query, None, monitor::logs::EXPORT_MAX).await? {
            let f = [
                a.time.to_rfc3339(),
                a.site_id.map(|i| i.to_string()).unwrap_or_default(),
                a.client_ip,
                a.method,
                a.host,
                a.path,
                a.query.unwrap_or_default(),
                a.status.to_string(),
                (a.duration_us / 1000).to_string(),
                a.waf,
                a.request_id,
                a.node,
            ];
            out.push_str(&f.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
    }
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out,
    )
        .into_response())
}
