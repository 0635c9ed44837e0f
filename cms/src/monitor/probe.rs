//! Availability probes (可用性监测): each site's homepage through the gateway (as a visitor
//! reaches it: its hostname, the gateway's address) and, for a legacy site, straight at each of
//! its origins — so a down site can be told apart from a down gateway. A probe fails when no
//! answer below 400 arrives within the timeout (the inspection's 15 s). Sites that are not
//! meant to be served (under construction, maintenance, closed) are not probed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::Settings;
use super::alerts::{self, NewAlert, Severity};
use crate::db::entities::{monitor_probe, site, site_hostname};
use crate::state::SharedState;

/// Statuses of sites that are deliberately not served.
pub const NOT_SERVED: &[&str] = &["建设中", "维护", "已关停"];

/// `http://127.0.0.1:8080` → (`http`, `127.0.0.1:8080`).
pub fn parse_via(via: &str) -> Option<(&'static str, String)> {
    let url = reqwest::Url::parse(via).ok()?;
    let scheme = match url.scheme() {
        "http" => "http",
        "https" => "https",
        _ => return None,
    };
    if url.path() != "/" || url.query().is_some() {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some((scheme, format!("{host}:{port}")))
}

/// The legacy origins of a site, as typed in its settings (`10.0.0.5:8080`, one per line or
/// comma-separated).
pub fn origins(site: &site::Model) -> Vec<String> {
    site.origin_upstreams
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

struct Outcome {
    ok: bool,
    status: Option<i32>,
    latency_ms: Option<i32>,
    error: String,
}

async fn fetch(client: &reqwest::Client, url: &str, host: Option<&str>) -> Outcome {
    let started = Instant::now();
    let mut request = client.get(url);
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    let result = request.send().await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match result {
        Ok(r) => {
            let status = r.status().as_u16();
            // The page must arrive whole within the timeout too.
            let body = r.bytes().await;
            let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
            match body {
                Ok(_) if status < 400 => Outcome {
                    ok: true,
                    status: Some(i32::from(status)),
                    latency_ms: Some(latency_ms),
                    error: String::new(),
                },
                Ok(_) => Outcome {
                    ok: false,
                    status: Some(i32::from(status)),
                    latency_ms: Some(latency_ms),
                    error: format!("HTTP {status}"),
                },
                Err(e) => Outcome {
                    ok: false,
                    status: Some(i32::from(status)),
                    latency_ms: None,
                    error: describe(&e),
                },
            }
        }
        Err(e) => Outcome {
            ok: false,
            status: None,
            latency_ms: (!e.is_timeout()).then_some(latency_ms),
            error: describe(&e),
        },
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "超时 timeout".into()
    } else if e.is_connect() {
        "无法连接 connection refused or unreachable".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}

/// A way to the sites through a gateway: a client on which every site's hostname resolves to
/// the gateway (so TLS gets the right SNI), and the scheme and port to use.
pub struct ThroughGateway {
    pub client: reqwest::Client,
    /// None when there is no gateway to go through.
    pub base: Option<(&'static str, u16)>,
    /// Each site's first hostname.
    pub hostnames: HashMap<i32, String>,
}

impl ThroughGateway {
    /// `scheme://host:port` of a site through the gateway.
    pub fn origin_of(&self, site_id: i32) -> Option<String> {
        let (scheme, port) = self.base?;
        let host = self.hostnames.get(&site_id)?;
        Some(format!("{scheme}://{host}:{port}"))
    }
}

pub async fn through_gateway(
    state: &SharedState,
    settings: &Settings,
    timeout: Duration,
    user_agent: &str,
) -> anyhow::Result<ThroughGateway> {
    let via = if settings.probe_via.is_empty() {
        state.default_probe_via.clone()
    } else {
        settings.probe_via.clone()
    };
    let via = parse_via(&via);
    let mut hostnames: HashMap<i32, String> = HashMap::new();
    for h in site_hostname::Entity::find()
        .order_by_desc(site_hostname::Column::Id)
        .all(&state.db)
        .await?
    {
        // the first hostname of each site (rows come newest first)
        hostnames.insert(h.site_id, h.hostname);
    }
    // The gateway's certificate is not judged here (the exposure check does that); a
    // development CA must not make a site look down.
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .user_agent(user_agent);
    let mut base = None;
    if let Some((scheme, addr)) = &via {
        match tokio::net::lookup_host(addr.as_str())
            .await
            .ok()
            .and_then(|mut a| a.next())
        {
            Some(sock) => {
                for host in hostnames.values() {
                    builder = builder.resolve(host, sock);
                }
                base = Some((*scheme, sock.port()));
            }
            None => tracing::warn!(%addr, "detection: the gateway address does not resolve"),
        }
    }
    Ok(ThroughGateway {
        client: builder.build()?,
        base,
        hostnames,
    })
}

/// One probe round over every served site; then each site's state is evaluated.
pub async fn round(state: &SharedState, settings: &Settings) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(settings.probe_timeout_secs.max(1));
    let sites = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?;
    let gw = through_gateway(
        state,
        settings,
        timeout,
        "sitegroup-monitor/1 (availability probe)",
    )
    .await?;
    let client = gw.client.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for s in sites
        .iter()
        .filter(|s| !NOT_SERVED.contains(&s.status.as_str()))
    {
        let Some(host) = gw.hostnames.get(&s.id).cloned() else {
            continue;
        };
        if let Some(origin) = gw.origin_of(s.id) {
            let client = client.clone();
            let url = format!("{origin}/");
            let id = s.id;
            tasks.spawn(async move {
                let o = fetch(&client, &url, None).await;
                (id, "gateway", url, o)
            });
        }
        for origin in origins(s) {
            let client = client.clone();
            let host = host.clone();
            let id = s.id;
            tasks.spawn(async move {
                let url = format!("http://{origin}/");
                let o = fetch(&client, &url, Some(&host)).await;
                (id, "origin", origin, o)
            });
        }
    }
    let checked_at = Utc::now();
    let mut rows = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (site_id, target, address, o) = done?;
        rows.push(monitor_probe::ActiveModel {
            site_id: Set(site_id),
            target: Set(target.to_string()),
            address: Set(address),
            checked_at: Set(checked_at),
            ok: Set(o.ok),
            status: Set(o.status),
            latency_ms: Set(o.latency_ms),
            error: Set(o.error),
            ..Default::default()
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    monitor_probe::Entity::insert_many(rows)
        .exec(&state.db)
        .await?;
    for s in &sites {
        evaluate(state, s, settings).await?;
    }
    Ok(())
}

/// Opens the site's down alert when its last `down_after_failures` probes through the gateway
/// failed (or, with no gateway to probe through, those at its origins), closes it at the first
/// success.
async fn evaluate(state: &SharedState, s: &site::Model, settings: &Settings) -> anyhow::Result<()> {
    let n = u64::from(settings.down_after_failures.max(1));
    let key = format!("site_down:{}", s.id);
    if NOT_SERVED.contains(&s.status.as_str()) {
        alerts::resolve(state, &key, "网站已停止对外服务，不再探测").await?;
        return Ok(());
    }
    let recent = monitor_probe::Entity::find()
        .filter(monitor_probe::Column::SiteId.eq(s.id))
        .order_by_desc(monitor_probe::Column::Id)
        .limit(n * 8)
        .all(&state.db)
        .await?;
    let target = if recent.iter().any(|p| p.target == "gateway") {
        "gateway"
    } else {
        "origin"
    };
    // The newest probe per round of the chosen target (origins: a round fails when all did).
    let mut rounds: Vec<(DateTime<Utc>, bool, String)> = Vec::new();
    for p in recent.iter().filter(|p| p.target == target) {
        match rounds.last_mut() {
            Some(last) if last.0 == p.checked_at => {
                last.1 |= p.ok;
                if !p.ok {
                    last.2 = format!("{}；{}：{}", last.2, p.address, p.error);
                }
            }
            _ => rounds.push((p.checked_at, p.ok, format!("{}：{}", p.address, p.error))),
        }
    }
    let Some(latest) = rounds.first() else {
        return Ok(());
    };
    if latest.1 {
        alerts::resolve(state, &key, "探测恢复正常 probes succeed again").await?;
        return Ok(());
    }
    let failed = rounds.iter().take_while(|r| !r.1).count() as u64;
    if failed >= n {
        let origin_note = origin_summary(&recent, latest.0);
        alerts::raise(
            state,
            NewAlert {
                site_id: Some(s.id),
                kind: "site_down",
                key,
                severity: Severity::Critical,
                title: format!("{}无法访问", s.name),
                detail: format!(
                    "连续 {failed} 次探测失败（每 {} 秒一次，超时 {} 秒）；最近一次：{}{origin_note}",
                    settings.probe_interval_secs, settings.probe_timeout_secs, latest.2
                ),
            },
        )
        .await?;
    }
    Ok(())
}

/// For a legacy site probed through the gateway: how its origins answered in the same round.
fn origin_summary(recent: &[monitor_probe::Model], at: DateTime<Utc>) -> String {
    let parts: Vec<String> = recent
        .iter()
        .filter(|p| p.target == "origin" && p.checked_at == at)
        .map(|p| {
            if p.ok {
                format!("源站 {} 正常", p.address)
            } else {
                format!("源站 {}：{}", p.address, p.error)
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("；{}", parts.join("；"))
    }
}

/// Uptime of a site's gateway probes since `since`: (successful, total).
pub async fn uptime(
    state: &SharedState,
    site_id: i32,
    since: DateTime<Utc>,
) -> Result<(u64, u64), sea_orm::DbErr> {
    use sea_orm::PaginatorTrait;
    let base = || {
        monitor_probe::Entity::find()
            .filter(monitor_probe::Column::SiteId.eq(site_id))
            .filter(monitor_probe::Column::Target.eq("gateway"))
            .filter(monitor_probe::Column::CheckedAt.gte(since))
    };
    let total = base().count(&state.db).await?;
    let ok = base()
        .filter(monitor_probe::Column::Ok.eq(true))
        .count(&state.db)
        .await?;
    Ok((ok, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_addresses() {
        assert_eq!(
            parse_via("http://127.0.0.1:8080"),
            Some(("http", "127.0.0.1:8080".into()))
        );
        assert_eq!(
            parse_via("https://[::1]"),
            Some(("https", "[::1]:443".into()))
        );
        assert_eq!(parse_via("ftp://x"), None);
        assert_eq!(parse_via("http://x/path"), None);
        assert_eq!(parse_via("not a url"), None);
    }
}
