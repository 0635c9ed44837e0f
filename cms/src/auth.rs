//! Passwords and sessions.
//!
//! Passwords are stored as argon2id PHC strings. Sessions are random 256-bit tokens in an
//! HttpOnly, SameSite=Strict cookie; the database keeps only their SHA-256, so a leaked
//! database does not leak live sessions. Each session carries its own CSRF token, checked on
//! every state-changing form.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration, Utc};
use rand::Rng;
use rand::rngs::OsRng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sitegroup_contract::store::sha256_hex;

use crate::db::entities::{app_user, user_session};

pub const SESSION_COOKIE: &str = "sg_session";
/// A session unused for this long ends (等保: idle-session timeout).
pub const IDLE_TIMEOUT: Duration = Duration::minutes(15);
/// No session lives longer than this.
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(12);

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password nobody knows, verified against when a username does not exist,
/// so that a failed login takes the same time whether or not the account exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

/// A random password for one-time use: 16 characters from an alphabet without look-alikes
/// (no 0/O, 1/l/I), about 90 bits.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = OsRng;
    (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill(&mut bytes);
    hex::encode(bytes)
}

/// The password rules of this version: at least 10 characters with letters and digits, and
/// not the one-time password being replaced.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 10 {
        return Err("新密码至少 10 个字符");
    }
    if !password.chars().any(|c| c.is_alphabetic()) || !password.chars().any(|c| c.is_ascii_digit())
    {
        return Err("新密码须同时包含字母和数字");
    }
    Ok(())
}

/// A signed-in user and their session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: app_user::Model,
    pub session_id: i32,
    pub csrf: String,
}

/// Starts a session; returns the cookie value.
pub async fn create_session(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<String, sea_orm::DbErr> {
    let token = random_token();
    let now = Utc::now();
    user_session::ActiveModel {
        token_hash: Set(sha256_hex(token.as_bytes())),
        user_id: Set(user_id),
        csrf_token: Set(random_token()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + ABSOLUTE_LIFETIME),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Looks up a session by cookie value, enforcing idle and absolute timeouts, and touches it.
pub async fn lookup_session(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<Session>, sea_orm::DbErr> {
    let Some(row) = user_session::Entity::find()
        .filter(user_session::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if row.expires_at <= now || row.last_seen_at + IDLE_TIMEOUT <= now {
        user_session::Entity::delete_by_id(row.id).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = app_user::Entity::find_by_id(row.user_id).one(db).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    // Touch at most once a minute to spare the database a write per request.
    if now - row.last_seen_at > Duration::minutes(1) {
        let mut active: user_session::ActiveModel = row.clone().into();
        active.last_seen_at = Set(now);
        active.update(db).await?;
    }
    Ok(Some(Session {
        user,
        session_id: row.id,
        csrf: row.csrf_token,
    }))
}

/// Ends one session.
pub async fn end_session(db: &impl ConnectionTrait, session_id: i32) -> Result<(), sea_orm::DbErr> {
    user_session::Entity::delete_by_id(session_id)
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (password change).
pub async fn end_all_sessions(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<(), sea_orm::DbErr> {
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives `username` a new one-time password and ends their sessions. Returns the password.
pub async fn reset_password(
    db: &sea_orm::DatabaseConnection,
    username: &str,
) -> anyhow::Result<String> {
    use sea_orm::TransactionTrait;
    let user = app_user::Entity::find()
        .filter(app_user::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))?;
    let password = generate_password();
    let txn = db.begin().await?;
    let id = user.id;
    let mut active: app_user::ActiveModel = user.into();
    active.password_hash = Set(hash_password(&password)?);
    active.must_change_password = Set(true);
    active.update(&txn).await?;
    end_all_sessions(&txn, id).await?;
    txn.commit().await?;
    Ok(password)
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("正确的密码abc123").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("正确的密码abc123", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn generated_passwords_are_random_and_unambiguous() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']));
        assert_eq!(random_token().len(), 64);
    }

    #[test]
    fn password_rules() {
        assert!(check_new_password("short1").is_err());
        assert!(check_new_password("onlyletters").is_err());
        assert!(check_new_password("1234567890").is_err());
        assert!(check_new_password("letters1234").is_ok());
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
