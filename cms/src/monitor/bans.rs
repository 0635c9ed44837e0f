//! Automatic bans (自动封禁): an address the WAF has blocked at least `ban_threshold` times within
//! `ban_window_secs` is refused at every gateway for `ban_secs`. The ban travels in the
//! configuration snapshot with its end time, so a gateway releases it on time by itself (also
//! while the control plane is away). The same round watches for attack spikes (blocks far above
//! the day's average). Only the WAF's blocks count — not the refusals of a banned
//! address, which would extend the ban forever — and only those after the address's last ban.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use super::Settings;
use super::alerts::{self, NewAlert, Severity};
use crate::audit::{Entry, Event, Who};
use crate::db::entities::{alert, ip_ban, security_event};
use crate::state::SharedState;

/// How often the security events are counted.
pub const INTERVAL_SECS: u64 = 2;

/// Security event kinds that count as attacks.
pub const ATTACK_KINDS: &[&str] = &["waf_blocked"];

/// Bans in force at `now`.
pub async fn active(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<ip_ban::Model>, sea_orm::DbErr> {
    ip_ban::Entity::find()
        .filter(ip_ban::Column::ExpiresAt.gt(now))
        .filter(ip_ban::Column::LiftedAt.is_null())
        .order_by_asc(ip_ban::Column::Id)
        .all(db)
        .await
}

/// Attack spikes: WAF blocks in the last [`SPIKE_WINDOW_MINUTES`] against the same span's
/// average over the day before.
pub const SPIKE_WINDOW_MINUTES: i64 = 5;
/// A spike needs at least this many blocks in the window …
pub const SPIKE_MIN_BLOCKS: u64 = 50;
/// … and this many times the day's average for the span.
pub const SPIKE_FACTOR: u64 = 5;

/// Whether `recent` blocks in the window are a spike over `day` blocks in the 24 hours before.
pub fn is_spike(recent: u64, day: u64) -> bool {
    let windows_per_day = (24 * 60 / SPIKE_WINDOW_MINUTES) as u64;
    // the day's average per window, in whole blocks, rounded up
    let average = day.div_ceil(windows_per_day);
    recent >= SPIKE_MIN_BLOCKS && recent >= SPIKE_FACTOR * average.max(1)
}

/// Opens the group's `attack_spike` alert while blocks spike, closes it when they calm down
/// (below half the minimum).
pub async fn spike(state: &SharedState, now: DateTime<Utc>) -> anyhow::Result<()> {
    use sea_orm::PaginatorTrait;
    let start = now - Duration::minutes(SPIKE_WINDOW_MINUTES);
    let blocks = |from: DateTime<Utc>, to: DateTime<Utc>| {
        security_event::Entity::find()
            .filter(security_event::Column::Kind.eq("waf_blocked"))
            .filter(security_event::Column::ReceivedAt.gte(from))
            .filter(security_event::Column::ReceivedAt.lt(to))
    };
    let recent = blocks(start, now + Duration::seconds(1))
        .count(&state.db)
        .await?;
    let key = "attack_spike";
    if recent < SPIKE_MIN_BLOCKS / 2 {
        alerts::resolve(state, key, "拦截数已回落 blocks back to normal").await?;
        return Ok(());
    }
    let day = blocks(start - Duration::hours(24), start)
        .count(&state.db)
        .await?;
    if is_spike(recent, day) {
        alerts::raise(
            state,
            NewAlert {
                site_id: None,
                kind: "attack_spike",
                key: key.to_string(),
                severity: Severity::Warning,
                title: "WAF 拦截激增".to_string(),
                detail: format!(
                    "最近 {SPIKE_WINDOW_MINUTES} 分钟拦截 {recent} 次，此前 24 小时同等时段平均 {:.1} 次。",
                    day as f64 / (24.0 * 60.0 / SPIKE_WINDOW_MINUTES as f64)
                ),
            },
        )
        .await?;
    }
    Ok(())
}

pub async fn round(state: &SharedState, settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
    release_expired(state, now).await?;
    spike(state, now).await?;
    if settings.ban_secs == 0 || settings.ban_threshold == 0 {
        return Ok(());
    }
    let window_start =
        now - Duration::seconds(i64::try_from(settings.ban_window_secs).unwrap_or(i64::MAX / 2));
    let events = security_event::Entity::find()
        .filter(security_event::Column::ReceivedAt.gte(window_start))
        .filter(security_event::Column::Kind.is_in(ATTACK_KINDS.iter().copied()))
        .all(&state.db)
        .await?;
    if events.is_empty() {
        return Ok(());
    }
    // The end of each address's latest ban: only attacks after it count.
    let mut last_ban: HashMap<String, DateTime<Utc>> = HashMap::new();
    for b in ip_ban::Entity::find()
        .filter(ip_ban::Column::ExpiresAt.gte(window_start))
        .all(&state.db)
        .await?
    {
        let end = b.lifted_at.unwrap_or(b.expires_at);
        let e = last_ban.entry(b.address).or_insert(end);
        *e = (*e).max(end);
    }
    let mut counts: HashMap<&str, (u32, Vec<&str>)> = HashMap::new();
    for e in &events {
        if e.client_ip.is_empty() {
            continue;
        }
        if last_ban
            .get(&e.client_ip)
            .is_some_and(|end| e.received_at < *end)
        {
            continue;
        }
        let c = counts.entry(e.client_ip.as_str()).or_default();
        c.0 += 1;
        if c.1.len() < 5 && !c.1.contains(&e.host.as_str()) {
            c.1.push(e.host.as_str());
        }
    }
    for (address, (n, hosts)) in counts {
        if n < settings.ban_threshold || address.parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        let expires = now + Duration::seconds(i64::try_from(settings.ban_secs).unwrap_or(3600));
        let reason = format!(
            "{} 秒内被 WAF 拦截 {n} 次（{}）",
            settings.ban_window_secs,
            hosts.join("、")
        );
        ban(state, address, &reason, expires, &Who::system(), "auto").await?;
        alerts::raise(
            state,
            NewAlert {
                site_id: None,
                kind: "attack_ban",
                key: format!("attack_ban:{address}"),
                severity: Severity::Warning,
                title: format!("攻击来源 {address} 已被自动封禁"),
                detail: format!(
                    "{reason}；全部网关拒绝该地址至 {}。",
                    crate::publish::beijing(expires).format("%Y-%m-%d %H:%M:%S")
                ),
            },
        )
        .await?;
    }
    Ok(())
}

/// Records a ban, audits it and tells the gateways (new generation), in one transaction.
pub async fn ban(
    state: &SharedState,
    address: &str,
    reason: &str,
    expires_at: DateTime<Utc>,
    who: &Who,
    created_by: &str,
) -> anyhow::Result<ip_ban::Model> {
    let txn = state.db.begin().await?;
    let row = ip_ban::ActiveModel {
        address: Set(address.to_string()),
        reason: Set(reason.to_string()),
        created_at: Set(Utc::now()),
        expires_at: Set(expires_at),
        created_by: Set(created_by.to_string()),
        lifted_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    state
        .audit_in(
            &txn,
            who,
            Entry::new(Event::IpBan, format!("address:{address}")).details(serde_json::json!({
                "reason": reason,
                "expires_at": expires_at.to_rfc3339(),
            })),
        )
        .await?;
    crate::snapshot::bump_generation(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// Lifts a ban before its time (the security team).
pub async fn lift(state: &SharedState, id: i32, who: &Who) -> anyhow::Result<bool> {
    let txn = state.db.begin().await?;
    let Some(row) = ip_ban::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(false);
    };
    if row.lifted_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(false);
    }
    let address = row.address.clone();
    let mut a: ip_ban::ActiveModel = row.into();
    a.lifted_at = Set(Some(Utc::now()));
    a.update(&txn).await?;
    state
        .audit_in(
            &txn,
            who,
            Entry::new(Event::IpUnban, format!("address:{address}")),
        )
        .await?;
    crate::snapshot::bump_generation(&txn).await?;
    txn.commit().await?;
    alerts::resolve(state, &format!("attack_ban:{address}"), "已手动解除封禁").await?;
    Ok(true)
}

/// Closes the alerts of bans that have run out. The gateways need no new snapshot for that:
/// they stop refusing at the ban's end time themselves.
async fn release_expired(state: &SharedState, now: DateTime<Utc>) -> anyhow::Result<()> {
    let open = alert::Entity::find()
        .filter(alert::Column::Kind.eq("attack_ban"))
        .filter(alert::Column::ResolvedAt.is_null())
        .all(&state.db)
        .await?;
    if open.is_empty() {
        return Ok(());
    }
    let active = active(&state.db, now).await?;
    for a in open {
        let address = a.dedup_key.trim_start_matches("attack_ban:");
        if !active.iter().any(|b| b.address == address) {
            alerts::resolve(state, &a.dedup_key, "封禁到期，已自动解除 ban ended").await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_is_many_blocks_far_above_the_days_average() {
        assert!(is_spike(50, 0), "a quiet day, then 50 blocks in 5 minutes");
        assert!(!is_spike(49, 0), "below the minimum");
        // 2,880 blocks a day = 10 per 5 minutes: 50 is 5×, 49 is not.
        assert!(is_spike(50, 2_880));
        assert!(!is_spike(49, 2_880));
        assert!(
            !is_spike(400, 288 * 100),
            "a steady 100 per window: 400 is no spike"
        );
    }
}
