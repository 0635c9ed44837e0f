//! The security team's dashboard (安全态势): traffic and blocks per hour, the rules that block
//! most, the addresses that attack most, the sites attacked most, and each site's uptime —
//! aggregated in the database (one grouped query each), drawn as server-rendered SVG (no
//! script, nothing from outside).

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, Timelike, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};

/// One labelled count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    pub label: String,
    pub n: i64,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    label: Option<String>,
    n: i64,
}

async fn grouped(
    db: &impl ConnectionTrait,
    sql_sqlite: &str,
    sql_pg: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Count>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        sql_pg
    } else {
        sql_sqlite
    };
    let rows = Row::find_by_statement(Statement::from_sql_and_values(backend, sql, [since.into()]))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Count {
            label: r.label.unwrap_or_default(),
            n: r.n,
        })
        .collect())
}

/// Requests per hour since `since` (UTC hour labels `YYYY-MM-DD HH`).
pub async fn traffic(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<Count>, sea_orm::DbErr> {
    grouped(
        db,
        "SELECT strftime('%Y-%m-%d %H', time) AS label, COUNT(*) AS n FROM access_log \
         WHERE time >= ? GROUP BY label ORDER BY label",
        "SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') AS label, COUNT(*) AS n \
         FROM access_log WHERE time >= $1 GROUP BY label ORDER BY label",
        since,
    )
    .await
}

/// WAF blocks per hour.
pub async fn blocks(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<Count>, sea_orm::DbErr> {
    grouped(
        db,
        "SELECT strftime('%Y-%m-%d %H', received_at) AS label, COUNT(*) AS n FROM security_event \
         WHERE received_at >= ? AND kind = 'waf_blocked' GROUP BY label ORDER BY label",
        "SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') AS label, COUNT(*) AS n \
         FROM security_event WHERE received_at >= $1 AND kind = 'waf_blocked' GROUP BY label ORDER BY label",
        since,
    )
    .await
}

/// The rules that blocked most (from the access lines' WAF outcome).
pub async fn top_rules(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<Count>, sea_orm::DbErr> {
    grouped(
        db,
        "SELECT substr(waf, 9) AS label, COUNT(*) AS n FROM access_log WHERE time >= ? \
         AND waf LIKE 'blocked %' GROUP BY label ORDER BY n DESC, label LIMIT 10",
        "SELECT substr(waf, 9) AS label, COUNT(*) AS n FROM access_log WHERE time >= $1 \
         AND waf LIKE 'blocked %' GROUP BY label ORDER BY n DESC, label LIMIT 10",
        since,
    )
    .await
}

/// The addresses with most security events (blocks, rate limits, refusals).
pub async fn top_sources(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<Count>, sea_orm::DbErr> {
    grouped(
        db,
        "SELECT client_ip AS label, COUNT(*) AS n FROM security_event WHERE received_at >= ? \
         AND kind IN ('waf_blocked', 'rate_limited', 'address_refused', 'denied_path') \
         GROUP BY label ORDER BY n DESC, label LIMIT 10",
        "SELECT client_ip AS label, COUNT(*) AS n FROM security_event WHERE received_at >= $1 \
         AND kind IN ('waf_blocked', 'rate_limited', 'address_refused', 'denied_path') \
         GROUP BY label ORDER BY n DESC, label LIMIT 10",
        since,
    )
    .await
}

/// Blocks per site (site ids as labels).
pub async fn attacked_sites(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<Count>, sea_orm::DbErr> {
    grouped(
        db,
        "SELECT CAST(site_id AS TEXT) AS label, COUNT(*) AS n FROM security_event \
         WHERE received_at >= ? AND kind = 'waf_blocked' GROUP BY site_id ORDER BY n DESC LIMIT 10",
        "SELECT CAST(site_id AS TEXT) AS label, COUNT(*) AS n FROM security_event \
         WHERE received_at >= $1 AND kind = 'waf_blocked' GROUP BY site_id ORDER BY n DESC LIMIT 10",
        since,
    )
    .await
}

/// Hourly counts over the whole window, empty hours as 0, labelled in Beijing time (`HH时`).
pub fn hourly(counts: &[Count], since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Count> {
    let map: BTreeMap<&str, i64> = counts.iter().map(|c| (c.label.as_str(), c.n)).collect();
    let mut out = Vec::new();
    let mut t = since
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(since);
    while t <= now {
        let key = t.format("%Y-%m-%d %H").to_string();
        out.push(Count {
            label: crate::publish::beijing(t).format("%d日%H时").to_string(),
            n: map.get(key.as_str()).copied().unwrap_or(0),
        });
        t += Duration::hours(1);
    }
    out
}

/// Escapes text for SVG/HTML attributes and text.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A column chart of `series` (label under every `label_every`-th column), with a title for
/// screen readers.
pub fn columns_svg(title: &str, series: &[Count], color: &str, label_every: usize) -> String {
    let (w, h, left, bottom) = (720.0_f64, 220.0_f64, 48.0_f64, 36.0_f64);
    let max = series.iter().map(|c| c.n).max().unwrap_or(0).max(1) as f64;
    let n = series.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg" class="chart"><title>{t}</title>"#,
        t = escape(title)
    );
    for (i, frac) in [0.0, 0.5, 1.0].iter().enumerate() {
        let y = h - bottom - frac * (h - bottom - 12.0);
        let v = (max * frac).round() as i64;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d7de" stroke-width="1"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#57606a">{v}</text>"##,
            x2 = w - 8.0,
            tx = left - 6.0,
            ty = y + 4.0,
        );
        let _ = i;
    }
    for (i, c) in series.iter().enumerate() {
        let bh = (c.n as f64 / max) * (h - bottom - 12.0);
        let x = left + i as f64 * slot + slot * 0.15;
        let y = h - bottom - bh;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{color}"><title>{l}：{n}</title></rect>"#,
            bw = slot * 0.7,
            l = escape(&c.label),
            n = c.n
        );
        if label_every > 0 && i % label_every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{tx:.1}" y="{ty}" font-size="11" text-anchor="middle" fill="#57606a">{l}</text>"##,
                tx = x + slot * 0.35,
                ty = h - bottom + 16.0,
                l = escape(&c.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar chart for top-N lists.
pub fn bars_svg(title: &str, series: &[Count], color: &str) -> String {
    let row = 24.0_f64;
    let (w, left) = (720.0_f64, 220.0_f64);
    let h = (series.len().max(1) as f64) * row + 8.0;
    let max = series.iter().map(|c| c.n).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg" class="chart"><title>{t}</title>"#,
        t = escape(title)
    );
    if series.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="8" y="20" font-size="13" fill="#57606a">无数据</text>"##
        );
    }
    for (i, c) in series.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let bw = (c.n as f64 / max) * (w - left - 80.0);
        let _ = write!(
            svg,
            r##"<text x="{lx}" y="{ty:.1}" font-size="12" text-anchor="end" fill="#24292f">{l}</text><rect x="{left}" y="{y:.1}" width="{bw:.1}" height="{bh}" fill="{color}"/><text x="{nx:.1}" y="{ty:.1}" font-size="12" fill="#24292f">{n}</text>"##,
            lx = left - 8.0,
            ty = y + 15.0,
            bh = row - 8.0,
            nx = left + bw + 6.0,
            l = escape(&c.label),
            n = c.n
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_without_traffic_are_zero_and_labels_are_escaped() {
        let now = Utc::now();
        let since = now - Duration::hours(3);
        let key = now.format("%Y-%m-%d %H").to_string();
        let h = hourly(&[Count { label: key, n: 7 }], since, now);
        assert_eq!(h.len(), 4);
        assert_eq!(h.iter().map(|c| c.n).collect::<Vec<_>>(), [0, 0, 0, 7]);
        let svg = bars_svg(
            "来源",
            &[Count {
                label: "<script>".into(),
                n: 3,
            }],
            "#c00",
        );
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(columns_svg("流量", &h, "#06c", 2).matches("<rect").count() == 4);
    }
}
