//! Compliance records (合规): the deadlines of the reports the platform's owners must file —
//! the survey at month end, the emergency plan, the final summary, configurable — and the 等保
//! assessments each registered site has due. Reminders go out through the alert channels: a
//! deadline's alert opens `remind_days` before it is due and closes when it is marked done (a
//! repeating deadline then moves on); a site's assessment alert opens 30 days before the date
//! in its registry record.

use chrono::{Datelike, Months, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, QueryOrder, Set, TransactionTrait};

use crate::audit::{Entry, Event, Who};
use crate::db::entities::{report_deadline, site_registry};
use crate::error::{AppError, AppResult};
use crate::monitor::alerts::{self, NewAlert, Severity};
use crate::publish::beijing;
use crate::service::authz::Actor;
use crate::state::{AppState, SharedState};

pub const REPEATS: &[(&str, &str)] = &[
    ("none", "一次性"),
    ("monthly", "每月"),
    ("quarterly", "每季度"),
    ("yearly", "每年"),
];

/// Days before a 等保 assessment date its reminder opens.
pub const ASSESSMENT_REMIND_DAYS: i64 = 30;

/// Who keeps the deadlines: the 系统管理员 (the platform's owners' office).
pub fn may_manage(actor: &Actor) -> bool {
    actor.is_sysadmin()
}

/// The next due date of a repeating deadline.
pub fn next_due(due: NaiveDate, repeat: &str) -> Option<NaiveDate> {
    let months = match repeat {
        "monthly" => 1,
        "quarterly" => 3,
        "yearly" => 12,
        _ => return None,
    };
    // Month ends stay month ends (31 Jan → 28/29 Feb → 31 Mar).
    let last_day = due.succ_opt().is_none_or(|d| d.month() != due.month());
    let next = due.checked_add_months(Months::new(months))?;
    if last_day {
        let first_after = NaiveDate::from_ymd_opt(next.year(), next.month(), 1)?
            .checked_add_months(Months::new(1))?;
        first_after.pred_opt()
    } else {
        Some(next)
    }
}

pub async fn list(state: &AppState) -> AppResult<Vec<report_deadline::Model>> {
    Ok(report_deadline::Entity::find()
        .order_by_asc(report_deadline::Column::DueDate)
        .all(&state.db)
        .await?)
}

/// Adds a deadline (id none) or changes one.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    id: Option<i32>,
    title: &str,
    due: &str,
    repeat: &str,
    remind_days: &str,
) -> AppResult<()> {
    if !may_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let title = title.trim();
    let mut problems = Vec::new();
    if title.is_empty() || title.chars().count() > 200 {
        problems.push("名称须为 1 到 200 个字。".to_string());
    }
    let due = match super::fields::parse_date(due) {
        Some(d) => d,
        None => {
            problems.push(format!("期限“{due}”不是有效的日期。"));
            String::new()
        }
    };
    if !REPEATS.iter().any(|(c, _)| *c == repeat) {
        problems.push("请选择周期。".into());
    }
    let remind = match remind_days.trim().parse::<i32>() {
        Ok(d) if (0..=365).contains(&d) => d,
        _ => {
            problems.push("提前提醒天数须为 0 到 365。".into());
            0
        }
    };
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let txn = state.db.begin().await?;
    let row = match id {
        Some(id) => {
            let r = report_deadline::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            let mut a = r.into_active_model();
            a.title = Set(title.to_string());
            a.due_date = Set(due.clone());
            a.repeat = Set(repeat.to_string());
            a.remind_days = Set(remind);
            a.update(&txn).await?
        }
        None => {
            report_deadline::ActiveModel {
                title: Set(title.to_string()),
                due_date: Set(due.clone()),
                repeat: Set(repeat.to_string()),
                remind_days: Set(remind),
                last_done_at: Set(None),
                last_done_by: Set(String::new()),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::DeadlineSave, format!("deadline:{}", row.id)).details(
                serde_json::json!({ "title": title, "due": due, "repeat": repeat, "remind_days": remind }),
            ),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Marks the current due date done: its reminder closes; a repeating deadline moves on.
pub async fn done(state: &SharedState, actor: &Actor, id: i32) -> AppResult<()> {
    if !may_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let r = report_deadline::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.due_date.is_empty() {
        return Err(AppError::Invalid("该事项已完成。".into()));
    }
    let key = format!("deadline:{}:{}", r.id, r.due_date);
    let next = NaiveDate::parse_from_str(&r.due_date, "%Y-%m-%d")
        .ok()
        .and_then(|d| next_due(d, &r.repeat))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let txn = state.db.begin().await?;
    let old_due = r.due_date.clone();
    let mut a = r.into_active_model();
    a.due_date = Set(next.clone());
    a.last_done_at = Set(Some(Utc::now()));
    a.last_done_by = Set(actor.user.username.clone());
    a.update(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::DeadlineDone, format!("deadline:{id}"))
                .details(serde_json::json!({ "due": old_due, "next": next })),
        )
        .await?;
    txn.commit().await?;
    alerts::resolve(
        state,
        &key,
        &format!("已于 {} 完成报送", beijing(Utc::now()).format("%Y-%m-%d")),
    )
    .await
    .map_err(AppError::Internal)?;
    Ok(())
}

pub async fn delete(state: &SharedState, actor: &Actor, id: i32) -> AppResult<()> {
    if !may_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let r = report_deadline::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = state.db.begin().await?;
    report_deadline::Entity::delete_by_id(id).exec(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::DeadlineDelete, format!("deadline:{id}"))
                .details(serde_json::json!({ "title": r.title })),
        )
        .await?;
    txn.commit().await?;
    alerts::resolve(
        state,
        &format!("deadline:{}:{}", r.id, r.due_date),
        "事项已删除",
    )
    .await
    .map_err(AppError::Internal)?;
    Ok(())
}

/// Opens the reminders that are due on `today` (Beijing): deadlines within their reminder
/// window (overdue ones say so), and 等保 assessments within 30 days.
pub async fn remind(state: &SharedState, today: NaiveDate) -> anyhow::Result<usize> {
    let mut opened = 0;
    for d in report_deadline::Entity::find().all(&state.db).await? {
        let Ok(due) = NaiveDate::parse_from_str(&d.due_date, "%Y-%m-%d") else {
            continue;
        };
        let left = (due - today).num_days();
        if left > i64::from(d.remind_days) {
            continue;
        }
        let title = if left < 0 {
            format!("“{}”已逾期 {} 天（期限 {}）", d.title, -left, d.due_date)
        } else {
            format!("“{}”将于 {} 到期（还有 {left} 天）", d.title, d.due_date)
        };
        if alerts::raise(
            state,
            NewAlert {
                site_id: None,
                kind: "deadline",
                key: format!("deadline:{}:{}", d.id, d.due_date),
                severity: if left < 0 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                title,
                detail: "报送完成后请在“合规与报送”中标记完成。".into(),
            },
        )
        .await?
        .is_some()
        {
            opened += 1;
        }
    }
    for r in site_registry::Entity::find().all(&state.db).await? {
        let values = super::values_of(&r);
        let key = format!("dengbao_due:{}", r.id);
        let Some(next) = values
            .get("dengbao_next")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            alerts::resolve(state, &key, "登记表中已无待办测评").await?;
            continue;
        };
        let left = (next - today).num_days();
        if left > ASSESSMENT_REMIND_DAYS {
            alerts::resolve(state, &key, "测评日期已更新").await?;
            continue;
        }
        let name = values.get("site_name").cloned().unwrap_or_default();
        if alerts::raise(
            state,
            NewAlert {
                site_id: r.site_id,
                kind: "dengbao_due",
                key,
                severity: if left < 0 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                title: if left < 0 {
                    format!("{name}等级测评已逾期 {} 天", -left)
                } else {
                    format!("{name}等级测评将于 {next} 到期")
                },
                detail: format!(
                    "等保定级：{}；最近测评：{}。测评完成后请在网站登记中更新测评日期。",
                    values.get("dengbao_grade").map_or("未填写", String::as_str),
                    values
                        .get("dengbao_assessed")
                        .map_or("未填写", String::as_str)
                ),
            },
        )
        .await?
        .is_some()
        {
            opened += 1;
        }
    }
    Ok(opened)
}

/// How often reminders are looked at.
pub const INTERVAL_SECS: u64 = 3600;

/// The reminder round of the detection loops.
pub async fn round(state: &SharedState) -> anyhow::Result<()> {
    remind(state, beijing(Utc::now()).date_naive()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeating_deadlines_move_on_and_month_ends_stay_month_ends() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(next_due(d("2026-01-31"), "monthly"), Some(d("2026-02-28")));
        assert_eq!(next_due(d("2026-02-28"), "monthly"), Some(d("2026-03-31")));
        assert_eq!(
            next_due(d("2026-03-15"), "quarterly"),
            Some(d("2026-06-15"))
        );
        assert_eq!(next_due(d("2026-12-31"), "yearly"), Some(d("2027-12-31")));
        assert_eq!(next_due(d("2026-03-15"), "none"), None);
    }
}
