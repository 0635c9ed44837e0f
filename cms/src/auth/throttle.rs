//! Failed sign-ins, counted per account name and per client address.
//!
//! From the third failure in a row a key has to wait before its next attempt (1 s, 2 s, 4 s …
//! up to a minute); at the policy's threshold it is locked for the lock time. Counts are kept
//! for names whether or not such an account exists, so the answers never tell which usernames
//! are real. A key's count starts over once it has been quiet for the lock time; a successful
//! sign-in clears the account's count (not the address's).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::policy::SecurityPolicy;
use crate::db::entities::login_throttle;

/// The key of an account name (as typed, case-folded).
pub fn account_key(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    format!("u:{name}")
}

/// The key of a client address.
pub fn address_key(addr: &str) -> String {
    format!("a:{addr}")
}

fn threshold(policy: &SecurityPolicy, key: &str) -> i32 {
    if key.starts_with("a:") {
        policy.address_lock_threshold as i32
    } else {
        policy.account_lock_threshold as i32
    }
}

/// The wait after `failures` failures in a row (below the lock threshold).
fn backoff(failures: i32) -> Duration {
    if failures < 3 {
        Duration::zero()
    } else {
        Duration::seconds(1i64 << (failures - 3).min(6)).min(Duration::seconds(60))
    }
}

/// Until when a key may not try again, if it is waiting or locked now.
fn blocked_until(
    row: &login_throttle::Model,
    policy: &SecurityPolicy,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        return Some(until);
    }
    if row.last_failure_at + policy.lock() <= now {
        return None; // quiet long enough: starts over
    }
    let until = row.last_failure_at + backoff(row.failures);
    (until > now).then_some(until)
}

/// The latest moment any of `keys` is blocked until, if one is blocked now.
pub async fn blocked(
    db: &impl ConnectionTrait,
    policy: &SecurityPolicy,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sea_orm::DbErr> {
    let rows = login_throttle::Entity::find()
        .filter(login_throttle::Column::Key.is_in(keys.to_vec()))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| blocked_until(r, policy, now))
        .max())
}

/// Counts one failure; returns whether the key is now locked.
pub async fn fail(
    db: &impl ConnectionTrait,
    policy: &SecurityPolicy,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let row = login_throttle::Entity::find_by_id(key).one(db).await?;
    let failures = match &row {
        Some(r) if r.last_failure_at + policy.lock() > now => r.failures + 1,
        _ => 1,
    };
    let locked = failures >= threshold(policy, key);
    let model = login_throttle::ActiveModel {
        key: Set(key.to_string()),
        failures: Set(failures),
        last_failure_at: Set(now),
        locked_until: Set(locked.then(|| now + policy.lock())),
    };
    login_throttle::Entity::insert(model)
        .on_conflict(
            OnConflict::column(login_throttle::Column::Key)
                .update_columns([
                    login_throttle::Column::Failures,
                    login_throttle::Column::LastFailureAt,
                    login_throttle::Column::LockedUntil,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(locked)
}

/// Forgets a key's failures (successful sign-in, or the 安全管理员 lifting a lock).
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), sea_orm::DbErr> {
    login_throttle::Entity::delete_by_id(key).exec(db).await?;
    Ok(())
}

/// Keys locked now (for the security section), most recent first.
pub async fn locked(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<login_throttle::Model>, sea_orm::DbErr> {
    login_throttle::Entity::find()
        .filter(login_throttle::Column::LockedUntil.gt(now))
        .order_by_desc(login_throttle::Column::LastFailureAt)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_then_lock() {
        let p = SecurityPolicy::default();
        let now = Utc::now();
        let row = |failures, locked_until| login_throttle::Model {
            key: "u:bob".into(),
            failures,
            last_failure_at: now,
            locked_until,
        };
        assert_eq!(blocked_until(&row(2, None), &p, now), None);
        assert_eq!(
            blocked_until(&row(3, None), &p, now),
            Some(now + Duration::seconds(1))
        );
        assert_eq!(
            blocked_until(&row(4, None), &p, now),
            Some(now + Duration::seconds(2))
        );
        let lock = now + Duration::minutes(15);
        assert_eq!(blocked_until(&row(5, Some(lock)), &p, now), Some(lock));
        // After the lock time without failures, a key starts over.
        let later = now + Duration::minutes(16);
        assert_eq!(blocked_until(&row(5, Some(lock)), &p, later), None);
        assert_eq!(backoff(40), Duration::seconds(60));
        assert_eq!(account_key("  Bob "), "u:bob");
    }
}
