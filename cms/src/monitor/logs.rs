//! Central log search (日志检索): the access lines and security events every gateway ships,
//! searched by time range, site, client address, path prefix, status, WAF rule and request ID,
//! newest first, a page at a time (keyset: "older than this row"); CSV export of the same; and
//! retention — rows older than `log_retention_days` are removed daily, in batches.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::db::entities::{access_log, monitor_probe, security_event};
use crate::service::content::parse_beijing;

/// Rows per page.
pub const PAGE: u64 = 100;
/// Rows in one CSV export.
pub const EXPORT_MAX: u64 = 100_000;

/// What to look for. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub site_id: Option<i32>,
    pub client_ip: String,
    /// Path prefix.
    pub path: String,
    /// An exact status (`404`) or a class (`4xx`).
    pub status: String,
    pub request_id: String,
    /// A rule id, matched in the WAF outcome (access) or the event detail (security).
    pub rule: String,
    /// Security events only: their kind (`waf_blocked`, …), form field `event`.
    pub kind: String,
    /// Keyset paging: rows older than this id.
    pub before: Option<i64>,
}

/// Reads a query from form fields (times in Beijing time, `YYYY-MM-DD HH:MM`); every problem
/// is named. Without a start time the last 24 hours are searched.
pub fn parse(get: impl Fn(&str) -> String, now: DateTime<Utc>) -> Result<LogQuery, Vec<String>> {
    let mut problems = Vec::new();
    let mut time = |field: &str, label: &str| {
        let v = get(field);
        if v.trim().is_empty() {
            return None;
        }
        let t = parse_beijing(v.trim());
        if t.is_none() {
            problems.push(format!(
                "{label}“{}”不是有效时间（YYYY-MM-DD HH:MM）。",
                v.trim()
            ));
        }
        t
    };
    let from = time("from", "开始时间").or(Some(now - Duration::hours(24)));
    let to = time("to", "结束时间");
    let site_id = match get("site").trim() {
        "" => None,
        s => match s.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push("网站编号须为整数。".into());
                None
            }
        },
    };
    let status = get("status").trim().to_ascii_lowercase();
    let status_ok = status.is_empty()
        || status
            .parse::<u16>()
            .is_ok_and(|s| (100..=599).contains(&s))
        || (status.len() == 3
            && status.ends_with("xx")
            && matches!(status.as_bytes()[0], b'1'..=b'5'));
    if !status_ok {
        problems.push(format!("状态码“{status}”须为三位数字或 4xx 这样的类别。"));
    }
    let client_ip = get("ip").trim().to_string();
    if !client_ip.is_empty() && client_ip.parse::<std::net::IpAddr>().is_err() {
        problems.push(format!("“{client_ip}”不是有效的 IP 地址。"));
    }
    let before = get("before").trim().parse::<i64>().ok();
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(LogQuery {
        from,
        to,
        site_id,
        client_ip,
        path: get("path").trim().to_string(),
        status,
        request_id: get("request_id").trim().to_string(),
        rule: get("rule").trim().to_string(),
        kind: get("event").trim().to_string(),
        before,
    })
}

/// The escape character of the search's `LIKE` patterns (not a backslash: PostgreSQL and
/// SQLite read backslashes in literals differently).
const LIKE_ESCAPE: char = '!';

/// `LIKE` pattern text with its wildcards escaped.
fn like_escape(s: &str) -> String {
    s.replace('!', "!!").replace('%', "!%").replace('_', "!_")
}

fn like(
    col: impl sea_orm::sea_query::IntoColumnRef,
    pattern: String,
) -> sea_orm::sea_query::SimpleExpr {
    Expr::col(col).like(LikeExpr::new(pattern).escape(LIKE_ESCAPE))
}

fn status_condition(status: &str) -> Option<Condition> {
    if status.is_empty() {
        return None;
    }
    if let Ok(n) = status.parse::<i32>() {
        return Some(Condition::all().add(access_log::Column::Status.eq(n)));
    }
    let class = i32::from(status.as_bytes()[0] - b'0') * 100;
    Some(
        Condition::all()
            .add(access_log::Column::Status.gte(class))
            .add(access_log::Column::Status.lt(class + 100)),
    )
}

/// Access lines, newest first. `scope`: the sites the reader may see (None: all).
pub async fn access(
    db: &impl ConnectionTrait,
    q: &LogQuery,
    scope: Option<&BTreeSet<i32>>,
    limit: u64,
) -> Result<Vec<access_log::Model>, sea_orm::DbErr> {
    let mut c = Condition::all();
    if let Some(t) = q.from {
        c = c.add(access_log::Column::Time.gte(t));
    }
    if let Some(t) = q.to {
        c = c.add(access_log::Column::Time.lt(t));
    }
    if let Some(id) = q.site_id {
        c = c.add(access_log::Column::SiteId.eq(id));
    }
    if let Some(ids) = scope {
        c = c.add(access_log::Column::SiteId.is_in(ids.iter().copied()));
    }
    if !q.client_ip.is_empty() {
        c = c.add(access_log::Column::ClientIp.eq(q.client_ip.as_str()));
    }
    if !q.path.is_empty() {
        c = c.add(like(
            access_log::Column::Path,
            format!("{}%", like_escape(&q.path)),
        ));
    }
    if let Some(s) = status_condition(&q.status) {
        c = c.add(s);
    }
    if !q.request_id.is_empty() {
        c = c.add(access_log::Column::RequestId.eq(q.request_id.as_str()));
    }
    if !q.rule.is_empty() {
        c = c.add(like(
            access_log::Column::Waf,
            format!("%{}%", like_escape(&q.rule)),
        ));
    }
    if let Some(b) = q.before {
        c = c.add(access_log::Column::Id.lt(b));
    }
    access_log::Entity::find()
        .filter(c)
        .order_by_desc(access_log::Column::Time)
        .order_by_desc(access_log::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Security events, newest first.
pub async fn events(
    db: &impl ConnectionTrait,
    q: &LogQuery,
    scope: Option<&BTreeSet<i32>>,
    limit: u64,
) -> Result<Vec<security_event::Model>, sea_orm::DbErr> {
    let mut c = Condition::all();
    if let Some(t) = q.from {
        c = c.add(security_event::Column::ReceivedAt.gte(t));
    }
    if let Some(t) = q.to {
        c = c.add(security_event::Column::ReceivedAt.lt(t));
    }
    if let Some(id) = q.site_id {
        c = c.add(security_event::Column::SiteId.eq(id));
    }
    if let Some(ids) = scope {
        c = c.add(security_event::Column::SiteId.is_in(ids.iter().copied()));
    }
    if !q.client_ip.is_empty() {
        c = c.add(security_event::Column::ClientIp.eq(q.client_ip.as_str()));
    }
    if !q.path.is_empty() {
        c = c.add(like(
            security_event::Column::Path,
            format!("{}%", like_escape(&q.path)),
        ));
    }
    if !q.request_id.is_empty() {
        c = c.add(security_event::Column::RequestId.eq(q.request_id.as_str()));
    }
    if !q.rule.is_empty() {
        c = c.add(like(
            security_event::Column::Detail,
            format!("%{}%", like_escape(&q.rule)),
        ));
    }
    if !q.kind.is_empty() {
        c = c.add(security_event::Column::Kind.eq(q.kind.as_str()));
    }
    if let Some(b) = q.before {
        c = c.add(security_event::Column::Id.lt(i32::try_from(b).unwrap_or(i32::MAX)));
    }
    security_event::Entity::find()
        .filter(c)
        .order_by_desc(security_event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Removes access lines and security events older than `days`, a batch at a time so that
/// the gateways' intake is never held up for long. Returns (access lines, events) removed.
pub async fn prune(
    db: &impl ConnectionTrait,
    days: u32,
    now: DateTime<Utc>,
) -> Result<(u64, u64), sea_orm::DbErr> {
    let cutoff = now - Duration::days(i64::from(days));
    let mut removed = (0, 0);
    loop {
        let ids: Vec<i64> = access_log::Entity::find()
            .select_only()
            .column(access_log::Column::Id)
            .filter(access_log::Column::Time.lt(cutoff))
            .limit(10_000)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            break;
        }
        removed.0 += access_log::Entity::delete_many()
            .filter(access_log::Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
    }
    removed.1 = security_event::Entity::delete_many()
        .filter(security_event::Column::ReceivedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    // Availability probes follow the same retention (uptime is reported per day and week).
    monitor_probe::Entity::delete_many()
        .filter(monitor_probe::Column::CheckedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_with_every_problem_named() {
        let now = Utc::now();
        let form = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default()
            }
        };
        let q = parse(
            form(&[("status", "4XX"), ("ip", "::1"), ("path", "/a_b")]),
            now,
        )
        .unwrap();
        assert_eq!(q.status, "4xx");
        assert_eq!(
            q.from,
            Some(now - Duration::hours(24)),
            "the last day by default"
        );
        let err = parse(
            form(&[
                ("from", "yesterday"),
                ("status", "42"),
                ("ip", "10.0.0"),
                ("site", "x"),
            ]),
            now,
        )
        .unwrap_err();
        assert_eq!(err.len(), 4, "{err:?}");
        assert_eq!(like_escape("50%_a!b"), "50!%!_a!!b");
    }
}
