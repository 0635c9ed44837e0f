//! The security policy the 安全管理员 sets: passwords, lockouts, sessions, second factors,
//! audit retention. Stored as JSON in `platform_setting` under `security_policy`; missing fields
//! take their defaults, so older rows keep working.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};

use crate::db::entities::{app_user, platform_setting};

pub const SETTING_KEY: &str = "security_policy";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityPolicy {
    /// Minimum password length in characters.
    pub min_length: u32,
    /// How many of the four classes (lower case, upper case, digits, other) a password needs.
    pub min_classes: u32,
    /// A new password may not be any of the last this many.
    pub history: u32,
    /// Days after which a password must be changed; 0: never.
    pub max_age_days: u32,
    /// Failed sign-ins of one account before it is locked.
    pub account_lock_threshold: u32,
    /// Failed sign-ins from one address before it is locked.
    pub address_lock_threshold: u32,
    /// How long a lock lasts.
    pub lock_minutes: u32,
    /// A session unused this long ends.
    pub idle_minutes: u32,
    /// No session lives longer than this.
    pub absolute_hours: u32,
    /// Unit users must use a second factor too (platform administrators always must).
    pub require_2fa_units: bool,
    /// Audit records are archived and pruned after this many days (at least 180).
    pub audit_retention_days: u32,
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        SecurityPolicy {
            min_length: 10,
            min_classes: 3,
            history: 5,
            max_age_days: 90,
            account_lock_threshold: 5,
            address_lock_threshold: 20,
            lock_minutes: 15,
            idle_minutes: 15,
            absolute_hours: 12,
            require_2fa_units: false,
            audit_retention_days: 180,
        }
    }
}

impl SecurityPolicy {
    /// Every out-of-range value, in words, for the policy form.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut range = |name: &str, v: u32, lo: u32, hi: u32| {
            if v < lo || v > hi {
                out.push(format!("{name}须在 {lo}–{hi} 之间。"));
            }
        };
        range("密码最小长度", self.min_length, 8, 128);
        range("字符类别数", self.min_classes, 2, 4);
        range("不得重复使用的历史密码个数", self.history, 0, 24);
        range("密码有效期（天）", self.max_age_days, 0, 365);
        range("账号锁定阈值", self.account_lock_threshold, 3, 20);
        range("地址锁定阈值", self.address_lock_threshold, 5, 1000);
        range("锁定时长（分钟）", self.lock_minutes, 1, 1440);
        range("空闲超时（分钟）", self.idle_minutes, 1, 60);
        range("会话最长时间（小时）", self.absolute_hours, 1, 24);
        range(
            "审计记录保存天数",
            self.audit_retention_days,
            crate::audit::MIN_RETENTION_DAYS as u32,
            3650,
        );
        out
    }

    pub fn idle(&self) -> Duration {
        Duration::minutes(i64::from(self.idle_minutes))
    }

    pub fn absolute(&self) -> Duration {
        Duration::hours(i64::from(self.absolute_hours))
    }

    pub fn lock(&self) -> Duration {
        Duration::minutes(i64::from(self.lock_minutes))
    }

    /// Whether this account must sign in with a second factor.
    pub fn requires_2fa(&self, user: &app_user::Model) -> bool {
        !user.platform_role.is_empty() || self.require_2fa_units
    }

    /// Whether the account's password is older than the policy allows.
    pub fn password_expired(&self, user: &app_user::Model, now: DateTime<Utc>) -> bool {
        self.max_age_days > 0
            && user.password_changed_at.unwrap_or(user.created_at)
                + Duration::days(i64::from(self.max_age_days))
                <= now
    }

    /// Checks a new password against length, classes and the account name. History is checked
    /// separately (it needs the stored hashes).
    pub fn check_password(&self, password: &str, username: &str) -> Result<(), String> {
        if password.chars().count() < self.min_length as usize {
            return Err(format!("新密码至少 {} 个字符。", self.min_length));
        }
        if password.chars().count() > 128 {
            return Err("新密码不能超过 128 个字符。".into());
        }
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password
                .chars()
                .any(|c| !c.is_lowercase() && !c.is_uppercase() && !c.is_ascii_digit()),
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if classes < self.min_classes as usize {
            return Err(format!(
                "新密码须包含小写字母、大写字母、数字、其他字符中的至少 {} 类。",
                self.min_classes
            ));
        }
        if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
            return Err("新密码不能包含用户名。".into());
        }
        Ok(())
    }
}

/// Reads the policy (defaults when none was saved).
pub async fn load(db: &impl ConnectionTrait) -> Result<SecurityPolicy, sea_orm::DbErr> {
    Ok(platform_setting::Entity::find_by_id(SETTING_KEY)
        .one(db)
        .await?
        .and_then(|row| serde_json::from_str(&row.value).ok())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        let p = SecurityPolicy::default();
        assert!(p.check_password("Short1!", "bob").is_err());
        assert!(p.check_password("onlylowercase", "bob").is_err());
        assert!(
            p.check_password("lowerand1234", "bob").is_err(),
            "two classes"
        );
        assert!(p.check_password("Lower-and-1234", "bob").is_ok());
        assert!(p.check_password("中文密码也可以Abc1", "bob").is_ok());
        assert!(
            p.check_password("Bob-is-1234567", "bob").is_err(),
            "contains the name"
        );
        let lax = SecurityPolicy {
            min_classes: 2,
            ..p.clone()
        };
        assert!(lax.check_password("lowerand1234", "bob").is_ok());
        assert!(p.problems().is_empty());
        let bad = SecurityPolicy {
            idle_minutes: 0,
            audit_retention_days: 30,
            ..p
        };
        assert_eq!(bad.problems().len(), 2);
    }

    #[test]
    fn stored_policies_keep_their_defaults_for_missing_fields() {
        let p: SecurityPolicy = serde_json::from_str(r#"{"min_length": 12}"#).unwrap();
        assert_eq!(p.min_length, 12);
        assert_eq!(p.idle_minutes, 15);
    }
}
