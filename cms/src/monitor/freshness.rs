//! Freshness (更新情况), judged like the inspection indicators: the homepage must show something
//! new within 2 weeks; each column that should update has a cadence (its own setting, or by
//! kind: 动态/要闻 2 weeks, 通知公告/政策文件 6 months); empty columns count. Veto items per site:
//! homepage idle; ≥ 5 columns idle past their cadence; ≥ 10 columns that should update but
//! have nothing; ≥ 5 empty columns. An item published without a date counts as not updated.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::db::entities::{article, site_column};

/// Days the homepage may go without a new item.
pub const HOMEPAGE_DAYS: i64 = 14;

/// The cadence a column is held to: its own, or the default for its kind.
pub fn cadence_days(c: &site_column::Model) -> Option<i64> {
    if let Some(d) = c.update_cadence_days {
        return (d > 0).then_some(i64::from(d));
    }
    let has = |words: &[&str]| words.iter().any(|w| c.name.contains(w));
    if c.column_type == "政策文件" || has(&["通知", "公告", "政策"]) {
        Some(180)
    } else if c.column_type == "工作动态" || has(&["动态", "要闻", "新闻"]) {
        Some(14)
    } else {
        None
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnState {
    pub id: i32,
    pub name: String,
    pub cadence_days: Option<i64>,
    pub last_update: Option<DateTime<Utc>>,
    pub items: usize,
    /// Has a cadence and nothing new within it.
    pub idle: bool,
    pub empty: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub last_update: Option<DateTime<Utc>>,
    pub homepage_idle: bool,
    pub columns: Vec<ColumnState>,
    /// Published items with no publish date.
    pub undated: usize,
    /// The veto items triggered, in words.
    pub veto: Vec<String>,
}

pub async fn evaluate(
    db: &impl ConnectionTrait,
    site_id: i32,
    now: DateTime<Utc>,
) -> Result<Report, sea_orm::DbErr> {
    let columns = site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(site_id))
        .order_by_asc(site_column::Column::SortOrder)
        .order_by_asc(site_column::Column::Id)
        .all(db)
        .await?;
    let items = article::Entity::find()
        .filter(article::Column::SiteId.eq(site_id))
        .filter(article::Column::Status.eq("published"))
        .filter(article::Column::DeletedAt.is_null())
        .all(db)
        .await?;
    let mut per_column: HashMap<i32, (usize, Option<DateTime<Utc>>)> = HashMap::new();
    let mut undated = 0;
    for a in &items {
        let e = per_column.entry(a.column_id).or_default();
        e.0 += 1;
        match a.published_at {
            Some(t) => e.1 = Some(e.1.map_or(t, |x| x.max(t))),
            None => undated += 1,
        }
    }
    let has_children: std::collections::HashSet<i32> =
        columns.iter().filter_map(|c| c.parent_id).collect();
    let last_update = items.iter().filter_map(|a| a.published_at).max();
    let homepage_idle = last_update.is_none_or(|t| now - t > Duration::days(HOMEPAGE_DAYS));
    let states: Vec<ColumnState> = columns
        .iter()
        .map(|c| {
            let (n, last) = per_column.get(&c.id).copied().unwrap_or_default();
            let cadence = cadence_days(c);
            ColumnState {
                id: c.id,
                name: c.name.clone(),
                cadence_days: cadence,
                last_update: last,
                items: n,
                idle: cadence.is_some_and(|d| last.is_none_or(|t| now - t > Duration::days(d))),
                // A column that only groups others is not empty.
                empty: n == 0 && !has_children.contains(&c.id),
            }
        })
        .collect();
    let idle = states.iter().filter(|c| c.idle && c.items > 0).count();
    let idle_empty = states.iter().filter(|c| c.idle && c.items == 0).count();
    let empty = states.iter().filter(|c| c.empty).count();
    let mut veto = Vec::new();
    if homepage_idle {
        veto.push(format!("首页超过 {HOMEPAGE_DAYS} 天未更新"));
    }
    if idle >= 5 {
        veto.push(format!("{idle} 个栏目超过更新周期未更新（≥ 5 个）"));
    }
    if idle_empty >= 10 {
        veto.push(format!("{idle_empty} 个应更新栏目无内容（≥ 10 个）"));
    }
    if empty >= 5 {
        veto.push(format!("{empty} 个空白栏目（≥ 5 个）"));
    }
    Ok(Report {
        last_update,
        homepage_idle,
        columns: states,
        undated,
        veto,
    })
}
