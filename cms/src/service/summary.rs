//! The period summary report (总结报告) for the whole group: sites by status, consolidation
//! progress, protections in force, attacks blocked, incidents, and the inspection scores —
//! for a period the platform administrators choose, printable and as XLSX.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;

use crate::db::entities::{
    health_score, incident, ip_ban, page_baseline, security_event, site, site_registry,
};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::service::registry::consolidation::{self, Standing};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Beijing dates, inclusive.
    pub from: String,
    pub to: String,
    /// CMS sites by status.
    pub sites_by_status: Vec<(String, u64)>,
    pub registered: u64,
    /// Consolidation standing of the registered sites.
    pub consolidation: Vec<(String, u64)>,
    pub https_sites: u64,
    pub legacy_proxied: u64,
    pub watched_pages: u64,
    pub bans_in_force: u64,
    /// Requests the WAF blocked in the period, and by attack type (most first).
    pub blocked: u64,
    pub blocked_by_type: Vec<(String, u64)>,
    pub distinct_sources: u64,
    pub incidents_opened: u64,
    pub incidents_closed: u64,
    pub incidents_by_severity: Vec<(String, u64)>,
    /// Emergency drills held in the period, and plans in force.
    pub drills: u64,
    pub plans: u64,
    /// Per site: (name, average score over the period's days, days vetoed).
    pub scores: Vec<(String, f64, u64)>,
}

/// Beijing midnight of `d` as UTC.
fn start_of(d: NaiveDate) -> DateTime<Utc> {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    offset
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("a fixed offset has one local time")
        .with_timezone(&Utc)
}

/// Parses the period (`YYYY-MM-DD`, Beijing dates, inclusive).
pub fn period(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let f = NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d")
        .map_err(|_| format!("开始日期“{from}”无效。"))?;
    let t = NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d")
        .map_err(|_| format!("结束日期“{to}”无效。"))?;
    if f > t {
        return Err("开始日期晚于结束日期。".into());
    }
    if (t - f).num_days() > 3660 {
        return Err("统计期最长 10 年。".into());
    }
    Ok((f, t))
}

pub fn may_read(actor: &Actor) -> bool {
    actor.is_sysadmin() || actor.is_secadmin()
}

pub async fn build(
    state: &AppState,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Summary> {
    if !may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let db = &state.db;
    let since = start_of(from);
    let until = start_of(to + chrono::Duration::days(1));
    let now = Utc::now();
    let sites = site::Entity::find().all(db).await?;
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for s in &sites {
        *by_status.entry(s.status.clone()).or_default() += 1;
    }
    let order = crate::service::sites::SITE_STATUSES;
    let sites_by_status = order
        .iter()
        .map(|st| ((*st).to_string(), by_status.get(*st).copied().unwrap_or(0)))
        .collect();
    let records = site_registry::Entity::find().all(db).await?;
    let pairs: Vec<_> = records
        .iter()
        .map(|r| {
            let s = r
                .site_id
                .and_then(|id| sites.iter().find(|s| s.id == id).cloned());
            (r.clone(), s)
        })
        .collect();
    let consolidation = consolidation::counts(&pairs)
        .into_iter()
        .map(|(st, n): (Standing, usize)| (st.label().to_string(), n as u64))
        .collect();

    // Attacks blocked in the period, by type.
    let events = security_event::Entity::find()
        .filter(security_event::Column::Kind.eq("waf_blocked"))
        .filter(security_event::Column::ReceivedAt.gte(since))
        .filter(security_event::Column::ReceivedAt.lt(until))
        .all(db)
        .await?;
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut sources = std::collections::BTreeSet::new();
    for e in &events {
        let d = crate::monitor::siem::parse_detail(&e.detail);
        *by_type
            .entry(crate::monitor::siem::event_attack(&e.kind, &d))
            .or_default() += 1;
        sources.insert(e.client_ip.clone());
    }
    let mut blocked_by_type: Vec<(String, u64)> = by_type.into_iter().collect();
    blocked_by_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let incidents = incident::Entity::find().all(db).await?;
    let opened: Vec<&incident::Model> = incidents
        .iter()
        .filter(|i| i.opened_at >= since && i.opened_at < until)
        .collect();
    let incidents_closed = incidents
        .iter()
        .filter(|i| i.closed_at.is_some_and(|c| c >= since && c < until))
        .count() as u64;
    let incidents_by_severity = crate::service::incidents::SEVERITIES
        .iter()
        .map(|(c, l)| {
            (
                (*l).to_string(),
                opened.iter().filter(|i| i.severity == *c).count() as u64,
            )
        })
        .collect();

    let (f, t) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let score_rows = health_score::Entity::find()
        .filter(health_score::Column::Day.gte(f.clone()))
        .filter(health_score::Column::Day.lte(t.clone()))
        .all(db)
        .await?;
    let mut scores = Vec::new();
    for s in &sites {
        let mine: Vec<&health_score::Model> =
            score_rows.iter().filter(|r| r.site_id == s.id).collect();
        if mine.is_empty() {
            continue;
        }
        let avg = mine.iter().map(|r| r.score).sum::<f64>() / mine.len() as f64;
        let vetoed = mine.iter().filter(|r| r.veto != "[]").count() as u64;
        scores.push((s.name.clone(), (avg * 10.0).round() / 10.0, vetoed));
    }

    let drills = crate::db::entities::drill::Entity::find()
        .filter(crate::db::entities::drill::Column::HeldOn.gte(f.clone()))
        .filter(crate::db::entities::drill::Column::HeldOn.lte(t.clone()))
        .count(db)
        .await?;
    let plans = crate::db::entities::emergency_plan::Entity::find()
        .count(db)
        .await?;
    Ok(Summary {
        drills,
        plans,
        from: f,
        to: t,
        sites_by_status,
        registered: records.len() as u64,
        consolidation,
        https_sites: sites.iter().filter(|s| s.https_redirect).count() as u64,
        legacy_proxied: sites
            .iter()
            .filter(|s| !s.origin_upstreams.trim().is_empty() && s.status != "已关停")
            .count() as u64,
        watched_pages: page_baseline::Entity::find().count(db).await?,
        bans_in_force: ip_ban::Entity::find()
            .filter(ip_ban::Column::ExpiresAt.gt(now))
            .filter(ip_ban::Column::LiftedAt.is_null())
            .count(db)
            .await?,
        blocked: events.len() as u64,
        blocked_by_type,
        distinct_sources: sources.len() as u64,
        incidents_opened: opened.len() as u64,
        incidents_closed,
        incidents_by_severity,
        scores,
    })
}

/// The report as XLSX: one sheet of figures, one of scores.
pub fn xlsx(s: &Summary) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("总结报告")?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 14)?;
    sheet.write_string_with_format(
        0,
        0,
        format!("网站群工作总结（{} 至 {}）", s.from, s.to),
        &bold,
    )?;
    let mut r = 2;
    let mut section = |sheet: &mut rust_xlsxwriter::Worksheet,
                       title: &str,
                       rows: &[(String, u64)]|
     -> anyhow::Result<()> {
        sheet.write_string_with_format(r, 0, title, &bold)?;
        r += 1;
        for (k, v) in rows {
            sheet.write_string(r, 0, k)?;
            sheet.write_number(r, 1, *v as f64)?;
            r += 1;
        }
        r += 1;
        Ok(())
    };
    section(sheet, "网站状态", &s.sites_by_status)?;
    let mut cons = vec![("登记网站".to_string(), s.registered)];
    cons.extend(s.consolidation.iter().cloned());
    section(sheet, "整合进度", &cons)?;
    section(
        sheet,
        "防护措施",
        &[
            ("强制 HTTPS 的网站".into(), s.https_sites),
            ("经网关代理防护的旧网站".into(), s.legacy_proxied),
            ("页面基线监测的页面".into(), s.watched_pages),
            ("生效中的封禁".into(), s.bans_in_force),
        ],
    )?;
    let mut attacks = vec![
        ("拦截攻击（次）".to_string(), s.blocked),
        ("攻击来源地址（个）".to_string(), s.distinct_sources),
    ];
    attacks.extend(
        s.blocked_by_type
            .iter()
            .map(|(k, v)| (format!("其中 {k}"), *v)),
    );
    section(sheet, "攻击拦截", &attacks)?;
    let mut inc = vec![
        ("新发生事件".to_string(), s.incidents_opened),
        ("结案事件".to_string(), s.incidents_closed),
    ];
    inc.extend(
        s.incidents_by_severity
            .iter()
            .map(|(k, v)| (format!("其中{k}"), *v)),
    );
    inc.push(("应急演练（次）".to_string(), s.drills));
    inc.push(("应急预案（份）".to_string(), s.plans));
    section(sheet, "安全事件与应急", &inc)?;
    let scores = book.add_worksheet();
    scores.set_name("检查评分")?;
    scores.set_column_width(0, 28)?;
    for (c, h) in ["网站", "平均得分", "单项否决天数"].iter().enumerate() {
        scores.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, (name, avg, vetoed)) in s.scores.iter().enumerate() {
        let row = 1 + i as u32;
        scores.write_string(row, 0, name)?;
        scores.write_number(row, 1, *avg)?;
        scores.write_number(row, 2, *vetoed as f64)?;
    }
    Ok(book.save_to_buffer()?)
}
