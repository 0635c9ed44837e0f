//! The link checker (链接可用性) and page scan: a polite crawler over every site in service — published and
//! legacy alike, through the gateway as visitors reach them. It follows the site's own pages
//! (same host) up to `link_max_pages`, one request at a time with a pause between, and checks
//! every link it finds: the site's own pages and files, and external links (HEAD, then GET
//! where HEAD is not allowed; a few at a time). A link is broken when it answers 4xx/5xx, times
//! out or does not connect (DNS failures included); a broken link is checked once more before
//! it is reported, with the page it is on and its anchor text. Each crawl replaces the site's
//! findings (a link broken since an earlier crawl keeps its first-seen time); the site's
//! `broken_links` alert opens while there are any. Every page read is also checked against the
//! wrong-and-sensitive word list ([`super::words::record_scan`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::Settings;
use super::alerts::{self, NewAlert, Severity};
use super::probe::{NOT_SERVED, ThroughGateway, through_gateway};
use super::words::{PageWord, WordList};
use crate::db::entities::{link_issue, site};
use crate::state::SharedState;

/// Pause between two requests to the same site.
const PAUSE: Duration = Duration::from_millis(50);
/// External links checked per site and crawl.
const MAX_EXTERNAL: usize = 300;
/// Pages larger than this are not read for links.
const MAX_PAGE_BYTES: usize = 4 << 20;
/// Where a link was found: (page, anchor text); the first few places are kept.
const PLACES_KEPT: usize = 5;

/// Links in an HTML page: (href or src as written, anchor text or alt text).
pub fn extract_links(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find('<') {
        let start = at + i;
        let Some(end) = lower[start..].find('>').map(|e| start + e) else {
            break;
        };
        let tag = &html[start + 1..end];
        let tag_lower = &lower[start + 1..end];
        at = end + 1;
        let name: String = tag_lower
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let attr = match name.as_str() {
            "a" | "link" | "area" => "href",
            "img" | "script" | "iframe" | "source" | "embed" => "src",
            _ => continue,
        };
        let Some(value) = attribute(tag, tag_lower, attr) else {
            continue;
        };
        let text = if name == "a" {
            // The anchor text: up to the closing tag, tags removed.
            let close = lower[at..].find("</a").map_or(lower.len(), |c| at + c);
            crate::search::text::html_to_text(&html[at..close])
        } else {
            attribute(tag, tag_lower, "alt").unwrap_or_default()
        };
        out.push((
            decode_entities(&value),
            text.trim().chars().take(100).collect(),
        ));
    }
    out
}

/// The value of attribute `name` in a tag's inside (quoted with " or ', or bare).
fn attribute(tag: &str, tag_lower: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = tag_lower[from..].find(name) {
        let i = from + i;
        from = i + name.len();
        let before_ok = i == 0 || tag_lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = tag_lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let v = tag[value_start..].trim_start();
        let (quote, body) = match v.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &v[1..]),
            _ => (None, v),
        };
        let end = match quote {
            Some(q) => body.find(q).unwrap_or(body.len()),
            None => body
                .find(|c: char| c.is_ascii_whitespace())
                .unwrap_or(body.len()),
        };
        return Some(body[..end].trim().to_string());
    }
    None
}

fn decode_entities(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// Whether a link is worth checking at all.
fn checkable(href: &str) -> bool {
    let h = href.trim().to_ascii_lowercase();
    !(h.is_empty()
        || h.starts_with('#')
        || ["javascript:", "mailto:", "tel:", "data:", "about:", "sms:"]
            .iter()
            .any(|p| h.starts_with(p)))
}

/// Files that are checked with HEAD (not read for links).
fn looks_like_file(url: &reqwest::Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    [
        ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".pdf", ".doc", ".docx", ".xls",
        ".xlsx", ".ppt", ".pptx", ".zip", ".rar", ".7z", ".mp4", ".mp3", ".css", ".js", ".woff",
        ".woff2", ".ttf", ".wps", ".ofd",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

#[derive(Debug, Clone)]
struct Checked {
    ok: bool,
    status: Option<i32>,
    error: String,
}

fn broken_status(status: u16) -> Checked {
    Checked {
        ok: status < 400,
        status: Some(i32::from(status)),
        error: if status < 400 {
            String::new()
        } else {
            format!("HTTP {status}")
        },
    }
}

fn failed(e: &reqwest::Error) -> Checked {
    let error = if e.is_timeout() {
        "超时 timeout".to_string()
    } else if e.is_connect() {
        // DNS failures surface as connect errors too; say which.
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        if s.contains("dns") || s.contains("resolve") || s.contains("lookup") {
            "域名无法解析 DNS failure".to_string()
        } else {
            "无法连接 connection failed".to_string()
        }
    } else {
        e.to_string()
    };
    Checked {
        ok: false,
        status: None,
        error,
    }
}

/// HEAD, or GET when the server does not allow HEAD.
async fn check_url(client: &reqwest::Client, url: &str) -> Checked {
    match client.head(url).send().await {
        Ok(r) if matches!(r.status().as_u16(), 405 | 501 | 403) => {
            match client.get(url).send().await {
                Ok(r) => broken_status(r.status().as_u16()),
                Err(e) => failed(&e),
            }
        }
        Ok(r) => broken_status(r.status().as_u16()),
        Err(e) => failed(&e),
    }
}

/// What one site's crawl found.
#[derive(Debug, Default)]
pub struct SiteReport {
    pub pages: usize,
    pub links: usize,
    /// (link, status, error, found on, anchor) of each broken link and place.
    pub broken: Vec<(String, Option<i32>, String, String, String)>,
    /// The pages read, and the listed words on each.
    pub words: Vec<(String, Vec<PageWord>)>,
}

/// Crawls one site from `origin` (`scheme://host:port` through the gateway).
async fn crawl(
    gw: &ThroughGateway,
    external: &reqwest::Client,
    origin: &str,
    max_pages: usize,
    word_list: &WordList,
) -> anyhow::Result<SiteReport> {
    let root = reqwest::Url::parse(&format!("{origin}/"))?;
    let same_site = |u: &reqwest::Url| {
        u.host_str() == root.host_str() && u.port_or_known_default() == root.port_or_known_default()
    };
    let mut queue = VecDeque::from([root.clone()]);
    let mut seen: HashSet<reqwest::Url> = HashSet::from([root.clone()]);
    let mut places: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut results: HashMap<String, Checked> = HashMap::new();
    let mut externals: Vec<String> = Vec::new();
    let mut report = SiteReport::default();
    while let Some(url) = queue.pop_front() {
        tokio::time::sleep(PAUSE).await;
        if looks_like_file(&url) {
            results.insert(url.to_string(), check_url(&gw.client, url.as_str()).await);
            continue;
        }
        let response = match gw.client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => {
                results.insert(url.to_string(), failed(&e));
                continue;
            }
        };
        let status = response.status().as_u16();
        let checked = broken_status(status);
        // A redirect inside the site is followed as a link of its own.
        if (300..400).contains(&status)
            && let Some(to) = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
            && same_site(&to)
            && seen.insert(to.clone())
        {
            places
                .entry(to.to_string())
                .or_default()
                .push((url.to_string(), "（跳转）".into()));
            queue.push_back(to);
        }
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        results.insert(url.to_string(), checked.clone());
        if !checked.ok || !html || report.pages >= max_pages {
            continue;
        }
        let body = response.bytes().await.unwrap_or_default();
        if body.len() > MAX_PAGE_BYTES {
            continue;
        }
        report.pages += 1;
        let text = String::from_utf8_lossy(&body);
        report
            .words
            .push((url.to_string(), word_list.find_on_page(&text)));
        for (href, anchor) in extract_links(&text) {
            if !checkable(&href) {
                continue;
            }
            let Ok(mut link) = url.join(href.trim()) else {
                continue;
            };
            link.set_fragment(None);
            if !matches!(link.scheme(), "http" | "https") {
                continue;
            }
            let key = link.to_string();
            let at = places.entry(key.clone()).or_default();
            if at.len() < PLACES_KEPT && !at.iter().any(|(p, _)| p == url.as_str()) {
                at.push((url.to_string(), anchor));
            }
            if same_site(&link) {
                if seen.insert(link.clone()) {
                    queue.push_back(link);
                }
            } else if !externals.contains(&key) && externals.len() < MAX_EXTERNAL {
                externals.push(key);
            }
        }
    }
    // External links, a few at a time.
    let mut pending = externals.into_iter();
    loop {
        let batch: Vec<String> = pending.by_ref().take(4).collect();
        if batch.is_empty() {
            break;
        }
        let mut checks = tokio::task::JoinSet::new();
        for u in batch {
            let client = external.clone();
            checks.spawn(async move {
                let c = check_url(&client, &u).await;
                (u, c)
            });
        }
        while let Some(done) = checks.join_next().await {
            let (u, c) = done?;
            results.insert(u, c);
        }
    }
    report.links = results.len();
    // Broken ones are checked once more before they are reported.
    let suspects: Vec<String> = results
        .iter()
        .filter(|(_, c)| !c.ok)
        .map(|(u, _)| u.clone())
        .collect();
    if !suspects.is_empty() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for u in suspects {
        let client = if u.starts_with(origin) {
            &gw.client
        } else {
            external
        };
        let again = check_url(client, &u).await;
        if again.ok {
            continue;
        }
        for (page, anchor) in places.get(&u).cloned().unwrap_or_default() {
            report
                .broken
                .push((u.clone(), again.status, again.error.clone(), page, anchor));
        }
    }
    report.broken.sort();
    Ok(report)
}

/// Crawls every site in service and stores what is broken; one site's failure does not stop
/// the others.
pub async fn round(state: &SharedState, settings: &Settings) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(settings.probe_timeout_secs.clamp(1, 30));
    let gw = through_gateway(state, settings, timeout, "sitegroup-linkcheck/1").await?;
    let external = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent("Mozilla/5.0 (compatible; sitegroup-linkcheck/1)")
        .build()?;
    let word_list = WordList::load(&state.db).await?;
    for s in site::Entity::find().all(&state.db).await? {
        if NOT_SERVED.contains(&s.status.as_str()) {
            continue;
        }
        let Some(origin) = gw.origin_of(s.id) else {
            continue;
        };
        match crawl(
            &gw,
            &external,
            &origin,
            settings.link_max_pages.max(1),
            &word_list,
        )
        .await
        {
            Ok(report) => {
                let words =
                    super::words::record_scan(&state.db, s.id, &report.words, Utc::now()).await?;
                tracing::info!(
                    site = s.id,
                    new = words.opened,
                    gone = words.gone,
                    open = words.open,
                    "wrong and sensitive words on the pages"
                );
                store(state, &s, report).await?
            }
            Err(e) => tracing::warn!(site = s.id, "link check failed: {e:#}"),
        }
    }
    Ok(())
}

async fn store(state: &SharedState, s: &site::Model, report: SiteReport) -> anyhow::Result<()> {
    let now = Utc::now();
    // Read before the transaction, which starts by writing (see `publish::publish_site`);
    // crawls of one site never overlap.
    let old: HashMap<(String, String), chrono::DateTime<Utc>> = link_issue::Entity::find()
        .filter(link_issue::Column::SiteId.eq(s.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| ((r.url, r.found_on), r.first_seen_at))
        .collect();
    let txn = state.db.begin().await?;
    link_issue::Entity::delete_many()
        .filter(link_issue::Column::SiteId.eq(s.id))
        .exec(&txn)
        .await?;
    let rows: Vec<link_issue::ActiveModel> = report
        .broken
        .iter()
        .map(
            |(url, status, error, page, anchor)| link_issue::ActiveModel {
                site_id: Set(s.id),
                url: Set(url.clone()),
                status: Set(*status),
                error: Set(error.clone()),
                found_on: Set(page.clone()),
                anchor: Set(anchor.clone()),
                first_seen_at: Set(old
                    .get(&(url.clone(), page.clone()))
                    .copied()
                    .unwrap_or(now)),
                checked_at: Set(now),
                ..Default::default()
            },
        )
        .collect();
    if !rows.is_empty() {
        link_issue::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    tracing::info!(
        site = s.id,
        pages = report.pages,
        links = report.links,
        broken = report.broken.len(),
        "link check done"
    );
    let key = format!("broken_links:{}", s.id);
    if report.broken.is_empty() {
        alerts::resolve(state, &key, "链接检查未发现失效链接").await?;
    } else {
        let distinct: HashSet<&str> = report.broken.iter().map(|b| b.0.as_str()).collect();
        let sample: Vec<String> = report
            .broken
            .iter()
            .take(5)
            .map(|(u, _, e, page, anchor)| format!("{u}（{e}，见 {page}“{anchor}”）"))
            .collect();
        alerts::raise(
            state,
            NewAlert {
                site_id: Some(s.id),
                kind: "broken_links",
                key,
                severity: Severity::Warning,
                title: format!("{}发现 {} 个失效链接", s.name, distinct.len()),
                detail: format!(
                    "检查页面 {} 个、链接 {} 个。{}",
                    report.pages,
                    report.links,
                    sample.join("；")
                ),
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_their_text_are_found() {
        let html = r##"<p>见<a class="x" href="/tzgg/1.html">关于<b>通知</b></a>和
            <A HREF='https://www.gov.cn/'>中国政府网</A><a href=/bare.html>裸</a>
            <img alt="徽标" src="/logo.png"><a href="#top">顶部</a><a href="mailto:a@b">信</a>
            <a data-href="/no">x</a><link rel="stylesheet" href="/s.css?v=1&amp;t=2"></p>"##;
        let links = extract_links(html);
        let found: Vec<(&str, &str)> = links
            .iter()
            .map(|(h, t)| (h.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/tzgg/1.html", "关于通知"),
                ("https://www.gov.cn/", "中国政府网"),
                ("/bare.html", "裸"),
                ("/logo.png", "徽标"),
                ("#top", "顶部"),
                ("mailto:a@b", "信"),
                ("/s.css?v=1&t=2", ""),
            ]
        );
        assert!(!checkable("#top") && !checkable("mailto:a@b") && !checkable("javascript:void(0)"));
        assert!(checkable("/tzgg/1.html"));
    }
}
