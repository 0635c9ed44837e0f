//! Exposure checks (暴露面检查), per site: the security headers visitors get through the
//! gateway; for a legacy site, what its own servers give to anyone who reaches them directly —
//! version control metadata, configuration files, backup archives, directory listings, server
//! banners. Each finding needs evidence in the answer itself (a `.git/HEAD` that reads like one,
//! an archive's magic bytes, a listing's title), so a site answering every path with its
//! homepage reports nothing. Uploaded certificates expiring within 14 days are alerted here too.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::Settings;
use super::alerts::{self, NewAlert, Severity};
use super::probe::{NOT_SERVED, origins, through_gateway};
use crate::db::entities::{exposure_finding, site, tls_certificate};
use crate::state::SharedState;

/// How often the checks run.
pub const INTERVAL_SECS: u64 = 86_400;

/// A finding before it is stored: (check, severity, detail).
pub type Finding = (&'static str, &'static str, String);

/// Paths probed on legacy origins, and what the answer must show to count.
const SENSITIVE: &[(&str, Evidence)] = &[
    ("/.git/HEAD", Evidence::GitHead),
    ("/.git/config", Evidence::Text("[core]")),
    ("/.svn/entries", Evidence::SvnEntries),
    ("/.env", Evidence::EnvFile),
    ("/WEB-INF/web.xml", Evidence::Text("<web-app")),
    ("/phpinfo.php", Evidence::Text("phpinfo()")),
    ("/backup.zip", Evidence::Archive),
    ("/www.zip", Evidence::Archive),
    ("/wwwroot.zip", Evidence::Archive),
    ("/web.rar", Evidence::Archive),
    ("/backup.tar.gz", Evidence::Archive),
    ("/db.sql", Evidence::Text("CREATE TABLE")),
    ("/.DS_Store", Evidence::DsStore),
];

/// Directories often left listable.
const LISTABLE: &[&str] = &[
    "/",
    "/uploads/",
    "/upload/",
    "/files/",
    "/images/",
    "/backup/",
];

#[derive(Clone, Copy)]
enum Evidence {
    GitHead,
    SvnEntries,
    EnvFile,
    Archive,
    DsStore,
    Text(&'static str),
}

impl Evidence {
    fn shows(self, content_type: &str, body: &[u8]) -> bool {
        let html = content_type.starts_with("text/html");
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
        match self {
            Evidence::GitHead => {
                let t = text.trim();
                t.starts_with("ref: refs/")
                    || (t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            }
            Evidence::SvnEntries => {
                let t = text.trim_start();
                !html && (t.starts_with("10\n") || t.starts_with("12\n") || t.starts_with("<?xml"))
            }
            Evidence::EnvFile => {
                !html
                    && text
                        .lines()
                        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                        .take(3)
                        .all(|l| {
                            l.split_once('=').is_some_and(|(k, _)| {
                                !k.is_empty()
                                    && k.trim().bytes().all(|b| {
                                        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
                                    })
                            })
                        })
                    && text.contains('=')
            }
            Evidence::Archive => {
                !html
                    && (body.starts_with(b"PK\x03\x04")
                        || body.starts_with(b"Rar!")
                        || body.starts_with(&[0x1f, 0x8b])
                        || body.starts_with(b"7z\xbc\xaf"))
            }
            Evidence::DsStore => body.len() > 8 && &body[4..8] == b"Bud1",
            // phpinfo() answers HTML, with its title
            Evidence::Text("phpinfo()") => {
                text.contains("phpinfo()") && text.contains("PHP Version")
            }
            Evidence::Text(needle) => !html && text.contains(needle),
        }
    }
}

/// Whether an answer is a generated directory listing.
pub fn is_listing(body: &str) -> bool {
    let head = &body[..body.len().min(2048)];
    head.contains("<title>Index of /")
        || head.contains("Directory listing for /")
        || head.contains("<h1>Index of /")
}

/// A version in a banner (`Apache/2.4.49`, `PHP/5.6.40`, `Microsoft-IIS/8.5`).
fn has_version(v: &str) -> bool {
    v.split('/')
        .nth(1)
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    host: &str,
) -> Option<(u16, String, reqwest::header::HeaderMap, Vec<u8>)> {
    let r = client
        .get(url)
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let ct = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = r.bytes().await.ok()?;
    Some((
        status,
        ct,
        headers,
        body[..body.len().min(64 * 1024)].to_vec(),
    ))
}

/// What a legacy origin gives away when reached directly.
pub async fn check_origin(client: &reqwest::Client, origin: &str, host: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    for (path, evidence) in SENSITIVE {
        let url = format!("http://{origin}{path}");
        if let Some((200, ct, _, body)) = get(client, &url, host).await
            && evidence.shows(&ct, &body)
        {
            found.push((
                "sensitive_path",
                "critical",
                format!("源站 {origin} 可直接下载 {path}"),
            ));
        }
    }
    for path in LISTABLE {
        let url = format!("http://{origin}{path}");
        if let Some((200, _, _, body)) = get(client, &url, host).await
            && is_listing(&String::from_utf8_lossy(&body))
        {
            found.push((
                "directory_listing",
                "warning",
                format!("源站 {origin} 的 {path} 可列目录"),
            ));
        }
    }
    if let Some((_, _, headers, _)) = get(client, &format!("http://{origin}/"), host).await {
        for name in ["server", "x-powered-by", "x-aspnet-version"] {
            if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok())
                && (name != "server" || has_version(v))
            {
                found.push((
                    "server_banner",
                    "info",
                    format!(
                        "源站 {origin} 暴露 {name}: {v}（网关已对访问者隐藏，直接访问源站仍可见）"
                    ),
                ));
            }
        }
    }
    found
}

/// Security headers missing from what visitors get through the gateway.
pub fn missing_headers(headers: &reqwest::header::HeaderMap, https: bool) -> Vec<Finding> {
    let has = |n: &str| headers.get(n).is_some_and(|v| !v.is_empty());
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut found = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            found.push((
                "security_header",
                "warning",
                format!("访问者收到的页面缺少 {what}"),
            ));
        }
    };
    need(
        headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok())
            == Some("nosniff"),
        "X-Content-Type-Options: nosniff",
    );
    need(
        has("x-frame-options") || csp.contains("frame-ancestors"),
        "X-Frame-Options（或 CSP frame-ancestors）",
    );
    need(!csp.is_empty(), "Content-Security-Policy");
    need(has("referrer-policy"), "Referrer-Policy");
    if https {
        need(
            has("strict-transport-security"),
            "Strict-Transport-Security",
        );
    }
    found
}

pub async fn round(state: &SharedState, settings: &Settings) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(settings.probe_timeout_secs.clamp(1, 30));
    let gw = through_gateway(state, settings, timeout, "sitegroup-exposure/1").await?;
    let direct = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("sitegroup-exposure/1")
        .build()?;
    for s in site::Entity::find().all(&state.db).await? {
        if NOT_SERVED.contains(&s.status.as_str()) {
            continue;
        }
        let mut found = Vec::new();
        if let Some(origin_url) = gw.origin_of(s.id)
            && let Ok(r) = gw.client.get(format!("{origin_url}/")).send().await
        {
            found.extend(missing_headers(
                r.headers(),
                origin_url.starts_with("https:"),
            ));
        }
        let host = gw.hostnames.get(&s.id).cloned().unwrap_or_default();
        for origin in origins(&s) {
            found.extend(check_origin(&direct, &origin, &host).await);
        }
        store(state, &s, found).await?;
    }
    certificates(state).await
}

async fn store(state: &SharedState, s: &site::Model, found: Vec<Finding>) -> anyhow::Result<()> {
    let now = Utc::now();
    let txn = state.db.begin().await?;
    exposure_finding::Entity::delete_many()
        .filter(exposure_finding::Column::SiteId.eq(s.id))
        .exec(&txn)
        .await?;
    if !found.is_empty() {
        exposure_finding::Entity::insert_many(found.iter().map(|(check, severity, detail)| {
            exposure_finding::ActiveModel {
                site_id: Set(s.id),
                check: Set((*check).to_string()),
                severity: Set((*severity).to_string()),
                detail: Set(detail.clone()),
                checked_at: Set(now),
                ..Default::default()
            }
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    let key = format!("exposure:{}", s.id);
    let serious: Vec<&String> = found
        .iter()
        .filter(|(_, sev, _)| *sev != "info")
        .map(|(_, _, d)| d)
        .collect();
    if serious.is_empty() {
        alerts::resolve(state, &key, "暴露面检查未发现问题").await?;
    } else {
        let critical = found.iter().any(|(_, sev, _)| *sev == "critical");
        alerts::raise(
            state,
            NewAlert {
                site_id: Some(s.id),
                kind: "exposure",
                key,
                severity: if critical {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                title: format!("{}存在 {} 项暴露面问题", s.name, serious.len()),
                detail: serious
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join("；"),
            },
        )
        .await?;
    }
    Ok(())
}

/// Uploaded certificates that expire within 14 days (or have): one alert each, closed when the
/// certificate is replaced or removed.
async fn certificates(state: &SharedState) -> anyhow::Result<()> {
    let now = Utc::now();
    let certs = tls_certificate::Entity::find().all(&state.db).await?;
    for c in &certs {
        let key = format!("cert_expiring:{}", c.id);
        let days = (c.not_after - now).num_days();
        if days < crate::service::certificates::EXPIRY_WARNING_DAYS {
            alerts::raise(
                state,
                NewAlert {
                    site_id: None,
                    kind: "cert_expiring",
                    key,
                    severity: if days < 3 {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    title: if days < 0 {
                        format!("证书“{}”已过期", c.name)
                    } else {
                        format!("证书“{}”将在 {days} 天后到期", c.name)
                    },
                    detail: format!(
                        "域名：{}；到期时间：{}。请在“证书管理”中上传新证书。",
                        c.hostnames.replace(',', "、"),
                        crate::publish::beijing(c.not_after).format("%Y-%m-%d %H:%M")
                    ),
                },
            )
            .await?;
        } else {
            alerts::resolve(state, &key, "证书已更新").await?;
        }
    }
    // Alerts of certificates that were deleted.
    for a in crate::db::entities::alert::Entity::find()
        .filter(crate::db::entities::alert::Column::Kind.eq("cert_expiring"))
        .filter(crate::db::entities::alert::Column::ResolvedAt.is_null())
        .all(&state.db)
        .await?
    {
        let id: Option<i32> = a
            .dedup_key
            .trim_start_matches("cert_expiring:")
            .parse()
            .ok();
        if !certs.iter().any(|c| Some(c.id) == id) {
            alerts::resolve(state, &a.dedup_key, "证书已删除").await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_required() {
        let html = "text/html; charset=utf-8";
        assert!(Evidence::GitHead.shows("text/plain", b"ref: refs/heads/main\n"));
        assert!(!Evidence::GitHead.shows(html, b"<html>home</html>"));
        assert!(Evidence::EnvFile.shows("application/octet-stream", b"DB_PASSWORD=x\nAPP_KEY=y\n"));
        assert!(!Evidence::EnvFile.shows(html, b"<p>a=b</p>"));
        assert!(Evidence::Archive.shows("application/zip", b"PK\x03\x04rest"));
        assert!(!Evidence::Archive.shows(html, b"PK\x03\x04rest"));
        assert!(is_listing("<html><head><title>Index of /uploads</title>"));
        assert!(!is_listing("<html><head><title>首页</title>"));
        assert!(has_version("Apache/2.4.49 (Unix)") && !has_version("nginx"));
    }

    #[test]
    fn missing_security_headers_are_named() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-content-type-options", "nosniff".parse().unwrap());
        h.insert(
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'self'"
                .parse()
                .unwrap(),
        );
        let found = missing_headers(&h, true);
        let names: Vec<&str> = found.iter().map(|f| f.2.as_str()).collect();
        assert_eq!(
            names,
            [
                "访问者收到的页面缺少 Referrer-Policy",
                "访问者收到的页面缺少 Strict-Transport-Security"
            ]
        );
    }
}
