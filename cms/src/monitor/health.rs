//! Health reports (网站健康度), scored the way the national inspection scores a site: first the
//! veto items (单项否决) — any one fails the site whatever its score — then deductions from
//! 100 points. Everything is read from what detection already found:
//!
//! - veto: unreachable (≥ 5 % of a week's probes failed), the freshness veto items (homepage
//!   idle 2 weeks; ≥ 5 idle columns; ≥ 10 columns with nothing; ≥ 5 empty columns), serious
//!   wording errors left open (wrong names of leaders, bodies, places; banned phrases; secret
//!   markings), tampering not yet dealt with (an open tamper alert);
//! - deductions: failed probes, broken links (on the homepage, elsewhere), idle and empty
//!   columns below the veto counts, items without a publish date, other wrong words left open,
//!   exposure findings (sensitive files, missing security headers, banners).
//!
//! The hourly [`round`] stores each site's score for the day (its latest of the day wins) —
//! the trend — and keeps the site's `veto` alert open while any veto item holds.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

use super::alerts::{self, NewAlert, Severity};
use super::{freshness, probe};
use crate::db::entities::{alert, exposure_finding, health_score, link_issue, site, word_finding};
use crate::publish::beijing;
use crate::state::SharedState;

/// How often the scores are computed.
pub const INTERVAL_SECS: u64 = 3600;

/// Word categories whose findings are 严重表述错误 (a veto item) when left open.
pub const SERIOUS_WORDS: &[&str] = &[
    "leader",
    "body",
    "place",
    "political",
    "disgraced",
    "secret",
];

/// Score from which a site without veto items passes (合格).
pub const PASS_SCORE: f64 = 60.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deduction {
    /// The indicator, e.g. `首页可用性`.
    pub item: String,
    pub points: f64,
    /// What was found, in words.
    pub detail: String,
}

/// One site's health at a moment.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub site_id: i32,
    pub site_name: String,
    pub score: f64,
    pub veto: Vec<String>,
    pub deductions: Vec<Deduction>,
    /// `优秀` (≥ 90), `良好` (≥ 80), `合格` (≥ 60), `不合格` (below, or any veto item).
    pub grade: &'static str,
    pub passed: bool,
    /// Facts shown with the score.
    pub uptime_week: Option<f64>,
    pub probes_week: u64,
    pub broken_links: usize,
    pub open_words: usize,
    pub exposure: usize,
    pub last_update: Option<DateTime<Utc>>,
}

pub fn grade(score: f64, veto: bool) -> &'static str {
    if veto || score < PASS_SCORE {
        "不合格"
    } else if score >= 90.0 {
        "优秀"
    } else if score >= 80.0 {
        "良好"
    } else {
        "合格"
    }
}

/// `per` points for each of `n`, at most `cap`; no deduction for none.
fn capped(
    deductions: &mut Vec<Deduction>,
    item: &str,
    n: usize,
    per: f64,
    cap: f64,
    detail: String,
) {
    if n == 0 {
        return;
    }
    deductions.push(Deduction {
        item: item.to_string(),
        points: (n as f64 * per).min(cap),
        detail,
    });
}

/// Whether a page address is the site's homepage.
fn is_homepage(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| matches!(u.path(), "/" | "/index.html" | "/index.htm"))
}

/// The site's health now.
pub async fn evaluate(
    state: &SharedState,
    s: &site::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<Health> {
    let db = &state.db;
    let mut veto = Vec::new();
    let mut deductions = Vec::new();

    // Availability.
    let (ok, n) = probe::uptime(state, s.id, now - Duration::days(7)).await?;
    let failed = n - ok;
    let uptime_week = (n > 0).then(|| ok as f64 * 100.0 / n as f64);
    if n > 0 && failed * 100 >= n * 5 {
        veto.push(format!(
            "网站不可访问：一周 {n} 次探测中 {failed} 次失败（≥ 5%）"
        ));
    } else if failed > 0 {
        // 2 points per failed percent, below the veto line.
        deductions.push(Deduction {
            item: "首页可用性".into(),
            points: ((failed as f64 * 100.0 / n as f64) * 2.0).min(10.0),
            detail: format!("一周 {n} 次探测中 {failed} 次失败"),
        });
    }

    // Freshness.
    let fresh = freshness::evaluate(db, s.id, now).await?;
    veto.extend(fresh.veto.iter().cloned());
    let idle: Vec<&str> = fresh
        .columns
        .iter()
        .filter(|c| c.idle && c.items > 0)
        .map(|c| c.name.as_str())
        .collect();
    let empty: Vec<&str> = fresh
        .columns
        .iter()
        .filter(|c| c.empty)
        .map(|c| c.name.as_str())
        .collect();
    if idle.len() < 5 {
        capped(
            &mut deductions,
            "栏目更新",
            idle.len(),
            2.0,
            10.0,
            format!("超过更新周期未更新：{}", idle.join("、")),
        );
    }
    if empty.len() < 5 {
        capped(
            &mut deductions,
            "空白栏目",
            empty.len(),
            2.0,
            10.0,
            format!("无内容的栏目：{}", empty.join("、")),
        );
    }
    capped(
        &mut deductions,
        "发布日期",
        fresh.undated,
        0.5,
        5.0,
        format!("{} 条已发布信息没有发布日期", fresh.undated),
    );

    // Broken links, each link once per kind of page.
    let links = link_issue::Entity::find()
        .filter(link_issue::Column::SiteId.eq(s.id))
        .all(db)
        .await?;
    let mut on_home = std::collections::BTreeSet::new();
    let mut elsewhere = std::collections::BTreeSet::new();
    for l in &links {
        if is_homepage(&l.found_on) {
            on_home.insert(l.url.as_str());
        } else {
            elsewhere.insert(l.url.as_str());
        }
    }
    elsewhere.retain(|u| !on_home.contains(u));
    capped(
        &mut deductions,
        "首页链接可用性",
        on_home.len(),
        1.0,
        5.0,
        format!("首页 {} 个失效链接", on_home.len()),
    );
    capped(
        &mut deductions,
        "其他页面链接可用性",
        elsewhere.len(),
        0.2,
        10.0,
        format!("其他页面 {} 个失效链接", elsewhere.len()),
    );

    // Wording.
    let words = word_finding::Entity::find()
        .filter(word_finding::Column::SiteId.eq(s.id))
        .filter(word_finding::Column::Status.eq("open"))
        .all(db)
        .await?;
    let (serious, minor): (Vec<_>, Vec<_>) = words
        .iter()
        .partition(|w| SERIOUS_WORDS.contains(&w.category.as_str()));
    if !serious.is_empty() {
        let mut named: Vec<String> = serious.iter().map(|w| format!("“{}”", w.word)).collect();
        named.dedup();
        named.truncate(5);
        veto.push(format!(
            "严重表述错误 {} 处未处理：{}",
            serious.len(),
            named.join("、")
        ));
    }
    capped(
        &mut deductions,
        "错别字与敏感词",
        minor.len(),
        1.0,
        10.0,
        format!("{} 处错别字或敏感词未处理", minor.len()),
    );

    // Tampering not dealt with.
    let tamper = alert::Entity::find()
        .filter(alert::Column::SiteId.eq(s.id))
        .filter(alert::Column::Kind.eq("tamper"))
        .filter(alert::Column::ResolvedAt.is_null())
        .all(db)
        .await?;
    if !tamper.is_empty() {
        veto.push(format!(
            "网页篡改未及时处置：{}",
            tamper
                .iter()
                .map(|a| a.title.as_str())
                .collect::<Vec<_>>()
                .join("；")
        ));
    }

    // Exposure.
    let exposure = exposure_finding::Entity::find()
        .filter(exposure_finding::Column::SiteId.eq(s.id))
        .all(db)
        .await?;
    let critical = exposure.iter().filter(|f| f.severity == "critical").count();
    let warning = exposure.iter().filter(|f| f.severity == "warning").count();
    let mut security = Vec::new();
    if critical > 0 {
        security.push(Deduction {
            item: "安全防护".into(),
            points: (critical as f64 * 5.0).min(15.0),
            detail: format!("{critical} 项严重暴露（敏感文件、目录列表等）"),
        });
    }
    if warning > 0 {
        security.push(Deduction {
            item: "安全配置".into(),
            points: (warning as f64 * 1.0).min(5.0),
            detail: format!("{warning} 项安全配置问题（安全响应头、服务器标识等）"),
        });
    }
    deductions.extend(security);

    let lost: f64 = deductions.iter().map(|d| d.points).sum();
    let score = ((100.0 - lost).max(0.0) * 10.0).round() / 10.0;
    Ok(Health {
        site_id: s.id,
        site_name: s.name.clone(),
        score,
        grade: grade(score, !veto.is_empty()),
        passed: veto.is_empty() && score >= PASS_SCORE,
        veto,
        deductions,
        uptime_week,
        probes_week: n,
        broken_links: on_home.len() + elsewhere.len(),
        open_words: words.len(),
        exposure: exposure.len(),
        last_update: fresh.last_update,
    })
}

/// Sites a report covers: those meant to be served.
pub async fn served_sites(db: &impl ConnectionTrait) -> Result<Vec<site::Model>, sea_orm::DbErr> {
    Ok(site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|s| !probe::NOT_SERVED.contains(&s.status.as_str()))
        .collect())
}

/// Stores `h` as the site's score of the day `now` falls on (Beijing time).
pub async fn record(
    db: &impl ConnectionTrait,
    h: &Health,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let row = health_score::ActiveModel {
        site_id: Set(h.site_id),
        day: Set(beijing(now).format("%Y-%m-%d").to_string()),
        score: Set(h.score),
        veto: Set(serde_json::to_string(&h.veto).unwrap_or_else(|_| "[]".into())),
        deductions: Set(serde_json::to_string(&h.deductions).unwrap_or_else(|_| "[]".into())),
        computed_at: Set(now),
        ..Default::default()
    };
    health_score::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([health_score::Column::SiteId, health_score::Column::Day])
                .update_columns([
                    health_score::Column::Score,
                    health_score::Column::Veto,
                    health_score::Column::Deductions,
                    health_score::Column::ComputedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Scores every site in service, stores the day's score, and keeps each site's `veto` alert
/// open while a veto item holds.
pub async fn round(state: &SharedState) -> anyhow::Result<()> {
    let now = Utc::now();
    for s in site::Entity::find().all(&state.db).await? {
        let key = format!("veto:{}", s.id);
        if probe::NOT_SERVED.contains(&s.status.as_str()) {
            alerts::resolve(state, &key, "网站未在运行，不再检查").await?;
            continue;
        }
        let h = evaluate(state, &s, now).await?;
        record(&state.db, &h, now).await?;
        if h.veto.is_empty() {
            alerts::resolve(state, &key, "单项否决指标已消除").await?;
        } else {
            alerts::raise(
                state,
                NewAlert {
                    site_id: Some(s.id),
                    kind: "veto",
                    key,
                    severity: Severity::Warning,
                    title: format!("{}触发单项否决指标", s.name),
                    detail: h.veto.join("；"),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Daily scores of the sites since `since` (Beijing dates): site → day → score.
pub async fn trend(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<BTreeMap<i32, BTreeMap<String, (f64, bool)>>, sea_orm::DbErr> {
    let from = beijing(since).format("%Y-%m-%d").to_string();
    let mut out: BTreeMap<i32, BTreeMap<String, (f64, bool)>> = BTreeMap::new();
    for r in health_score::Entity::find()
        .filter(health_score::Column::Day.gte(from))
        .order_by_asc(health_score::Column::Day)
        .all(db)
        .await?
    {
        let vetoed = r.veto != "[]";
        out.entry(r.site_id)
            .or_default()
            .insert(r.day, (r.score, vetoed));
    }
    Ok(out)
}

/// The days from `since` to `now` (Beijing dates), oldest first.
pub fn days(since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = beijing(since).date_naive();
    let last = beijing(now).date_naive();
    while d <= last {
        out.push(d.format("%Y-%m-%d").to_string());
        d += Duration::days(1);
    }
    out
}

/// A line chart of scores (0–100) over `days`; a day without a score leaves a gap, a vetoed
/// day is a red dot.
pub fn trend_svg(title: &str, days: &[String], scores: &BTreeMap<String, (f64, bool)>) -> String {
    let (w, h, left, bottom, top) = (720.0_f64, 200.0_f64, 40.0_f64, 30.0_f64, 12.0_f64);
    let esc = super::dashboard::escape;
    let n = days.len().max(2) as f64;
    let x_of = |i: usize| left + (w - left - 16.0) * i as f64 / (n - 1.0);
    let y_of = |v: f64| h - bottom - (h - bottom - top) * v / 100.0;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg" class="chart"><title>{t}</title>"#,
        t = esc(title)
    );
    for v in [0.0, 60.0, 100.0] {
        let y = y_of(v);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="{c}" stroke-width="1"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#57606a">{v}</text>"##,
            x2 = w - 16.0,
            c = if v == 60.0 { "#cf222e" } else { "#d0d7de" },
            tx = left - 6.0,
            ty = y + 4.0,
        );
    }
    let mut path = String::new();
    let mut pen_down = false;
    for (i, d) in days.iter().enumerate() {
        match scores.get(d) {
            Some((v, _)) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x_of(i),
                    y_of(*v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            r##"<path d="{p}" fill="none" stroke="#0969da" stroke-width="2"/>"##,
            p = path.trim_end()
        );
    }
    let every = (days.len() / 6).max(1);
    for (i, d) in days.iter().enumerate() {
        if let Some((v, vetoed)) = scores.get(d) {
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"><title>{d}：{v}{veto}</title></circle>"##,
                x = x_of(i),
                y = y_of(*v),
                c = if *vetoed { "#cf222e" } else { "#0969da" },
                veto = if *vetoed { "（单项否决）" } else { "" },
            );
        }
        if i % every == 0 || i + 1 == days.len() {
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{y}" font-size="11" text-anchor="middle" fill="#57606a">{l}</text>"##,
                x = x_of(i),
                y = h - bottom + 16.0,
                l = esc(d.get(5..).unwrap_or(d)),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The group's and each site's report as an XLSX workbook: a summary sheet (one row per site)
/// and a sheet of every veto item and deduction.
pub fn xlsx(reports: &[Health], at: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let when = beijing(at).format("%Y-%m-%d %H:%M").to_string();
    let summary = book.add_worksheet();
    summary.set_name("健康度汇总")?;
    summary.write_string_with_format(0, 0, format!("网站群健康度报告（{when}）"), &bold)?;
    let head = [
        "网站",
        "得分",
        "等级",
        "单项否决",
        "一周可用率",
        "失效链接",
        "未处理错敏词",
        "暴露面问题",
        "最近更新",
    ];
    for (c, t) in head.iter().enumerate() {
        summary.write_string_with_format(2, c as u16, *t, &bold)?;
    }
    for (i, h) in reports.iter().enumerate() {
        let r = 3 + i as u32;
        summary.write_string(r, 0, &h.site_name)?;
        summary.write_number(r, 1, h.score)?;
        summary.write_string(r, 2, h.grade)?;
        summary.write_string(r, 3, h.veto.join("；"))?;
        match h.uptime_week {
            Some(u) => summary.write_number(r, 4, (u * 100.0).round() / 100.0)?,
            None => summary.write_string(r, 4, "—")?,
        };
        summary.write_number(r, 5, h.broken_links as f64)?;
        summary.write_number(r, 6, h.open_words as f64)?;
        summary.write_number(r, 7, h.exposure as f64)?;
        summary.write_string(
            r,
            8,
            h.last_update
                .map(|t| beijing(t).format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "—".into()),
        )?;
    }
    summary.set_column_width(0, 24)?;
    summary.set_column_width(3, 60)?;
    let detail = book.add_worksheet();
    detail.set_name("扣分明细")?;
    for (c, t) in ["网站", "类型", "指标", "扣分", "说明"].iter().enumerate() {
        detail.write_string_with_format(0, c as u16, *t, &bold)?;
    }
    let mut r = 1;
    for h in reports {
        for v in &h.veto {
            detail.write_string(r, 0, &h.site_name)?;
            detail.write_string(r, 1, "单项否决")?;
            detail.write_string(r, 2, "")?;
            detail.write_string(r, 3, "")?;
            detail.write_string(r, 4, v)?;
            r += 1;
        }
        for d in &h.deductions {
            detail.write_string(r, 0, &h.site_name)?;
            detail.write_string(r, 1, "扣分")?;
            detail.write_string(r, 2, &d.item)?;
            detail.write_number(r, 3, d.points)?;
            detail.write_string(r, 4, &d.detail)?;
            r += 1;
        }
    }
    detail.set_column_width(0, 24)?;
    detail.set_column_width(2, 18)?;
    detail.set_column_width(4, 70)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_follow_the_inspection() {
        assert_eq!(grade(95.0, false), "优秀");
        assert_eq!(grade(85.0, false), "良好");
        assert_eq!(grade(60.0, false), "合格");
        assert_eq!(grade(59.9, false), "不合格");
        assert_eq!(grade(100.0, true), "不合格");
        assert!(is_homepage("http://a.example/"));
        assert!(is_homepage("https://a.example/index.html"));
        assert!(!is_homepage("https://a.example/news/1.html"));
    }

    #[test]
    fn the_trend_leaves_gaps_for_missing_days() {
        let days: Vec<String> = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
            .map(String::from)
            .to_vec();
        let scores = BTreeMap::from([
            ("2026-11-01".to_string(), (90.0, false)),
            ("2026-11-02".to_string(), (80.0, false)),
            ("2026-11-04".to_string(), (40.0, true)),
        ]);
        let svg = trend_svg("趋势", &days, &scores);
        // Two pieces of line: the first two days joined, the fourth on its own.
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(
            (d.matches('M').count(), d.matches('L').count()),
            (2, 1),
            "{d}"
        );
        assert!(svg.contains("11-04：40（单项否决）"));
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
