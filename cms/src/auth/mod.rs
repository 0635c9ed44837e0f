//! Passwords, sessions, second factors and sign-in throttling.
//!
//! Passwords are stored as argon2id PHC strings; the policy ([`policy`]) decides length,
//! character classes, reuse and age. Sessions are random 256-bit tokens in an HttpOnly,
//! SameSite=Strict cookie (Secure behind HTTPS); the database keeps only their SHA-256, so a
//! leaked database does not leak live sessions. Each session carries its own CSRF token, checked
//! on every state-changing form, and a stage: `mfa` while the password was right and the second
//! factor ([`mfa`]) is still due, `ok` after. Sessions end after the policy's idle time and
//! absolute lifetime, on sign-out (here or remotely from the session list), and on any change of
//! the account's password, roles, grants or status.

pub mod mfa;
pub mod policy;
pub mod throttle;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration, Utc};
use rand::Rng;
use rand::rngs::OsRng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sitegroup_contract::store::sha256_hex;

use crate::db::entities::{app_user, password_history, user_session};
use policy::SecurityPolicy;

pub const SESSION_COOKIE: &str = "sg_session";
/// The cookie holding the sign-in form's CSRF token (there is no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "sg_login";

/// Session stages.
pub const STAGE_OK: &str = "ok";
pub const STAGE_MFA: &str = "mfa";

/// Where a request came from: the address the gateway saw (`X-Real-IP`, which it always
/// overwrites) or the peer, and the browser's User-Agent.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub addr: String,
    pub user_agent: String,
}

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

/// [`hash_password`] on the blocking pool (argon2 takes tens of milliseconds of CPU, which
/// must not stall the async runtime).
pub async fn hash_password_off_thread(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// [`verify_password`] on the blocking pool.
pub async fn verify_password_off_thread(password: String, phc: String) -> anyhow::Result<bool> {
    Ok(tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await?)
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

/// A signed-in user and their session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: app_user::Model,
    pub session_id: i32,
    pub csrf: String,
    pub stage: String,
}

/// Starts a session; returns the cookie value.
pub async fn create_session(
    db: &impl ConnectionTrait,
    user_id: i32,
    stage: &str,
    client: &Client,
    policy: &SecurityPolicy,
) -> Result<String, sea_orm::DbErr> {
    let token = random_token();
    let now = Utc::now();
    user_session::ActiveModel {
        token_hash: Set(sha256_hex(token.as_bytes())),
        user_id: Set(user_id),
        csrf_token: Set(random_token()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + policy.absolute()),
        stage: Set(stage.to_string()),
        client_addr: Set(client.addr.chars().take(100).collect()),
        user_agent: Set(client.user_agent.chars().take(300).collect()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Whether an account may be used now (not disabled, not expired).
pub fn account_usable(user: &app_user::Model, now: chrono::DateTime<Utc>) -> bool {
    !user.disabled && user.expires_at.is_none_or(|e| e > now)
}

/// Looks up a session by cookie value, enforcing the idle and absolute timeouts and the
/// account's status, and touches it.
pub async fn lookup_session(
    db: &impl ConnectionTrait,
    token: &str,
    policy: &SecurityPolicy,
) -> Result<Option<Session>, sea_orm::DbErr> {
    let Some(row) = user_session::Entity::find()
        .filter(user_session::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    // A second factor is due within five minutes of the password.
    let idle = if row.stage == STAGE_MFA {
        Duration::minutes(5)
    } else {
        policy.idle()
    };
    if row.expires_at <= now || row.last_seen_at + idle <= now {
        user_session::Entity::delete_by_id(row.id).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = app_user::Entity::find_by_id(row.user_id).one(db).await? else {
        return Ok(None);
    };
    if !account_usable(&user, now) {
        end_all_sessions(db, user.id).await?;
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
        stage: row.stage,
    }))
}

/// The live sessions of a user (or of everyone), most recently used first.
pub async fn sessions(
    db: &impl ConnectionTrait,
    user_id: Option<i32>,
) -> Result<Vec<user_session::Model>, sea_orm::DbErr> {
    let mut q = user_session::Entity::find()
        .filter(user_session::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(user_session::Column::LastSeenAt);
    if let Some(id) = user_id {
        q = q.filter(user_session::Column::UserId.eq(id));
    }
    q.all(db).await
}

/// Marks a session as past its second factor.
pub async fn complete_session(
    db: &impl ConnectionTrait,
    session_id: i32,
) -> Result<(), sea_orm::DbErr> {
    user_session::Entity::update_many()
        .col_expr(
            user_session::Column::Stage,
            sea_orm::sea_query::Expr::value(STAGE_OK),
        )
        .filter(user_session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether `password` is the current password or one of the last `n` of the account.
pub async fn reused(
    db: &impl ConnectionTrait,
    user: &app_user::Model,
    password: &str,
    n: u32,
) -> anyhow::Result<bool> {
    let mut hashes = vec![user.password_hash.clone()];
    if n > 0 {
        hashes.extend(
            password_history::Entity::find()
                .filter(password_history::Column::UserId.eq(user.id))
                .order_by_desc(password_history::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .take(n as usize)
                .map(|h| h.password_hash),
        );
    }
    let password = password.to_string();
    Ok(
        tokio::task::spawn_blocking(move || hashes.iter().any(|h| verify_password(&password, h)))
            .await?,
    )
}

/// Stores a new password hash: the old one goes into the history (kept to the policy's
/// length), the age starts now, and every session of the account ends.
pub async fn set_password(
    db: &impl ConnectionTrait,
    user: &app_user::Model,
    new_hash: String,
    must_change: bool,
    keep_history: u32,
) -> Result<(), sea_orm::DbErr> {
    password_history::ActiveModel {
        user_id: Set(user.id),
        password_hash: Set(user.password_hash.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let old: Vec<i32> = password_history::Entity::find()
        .filter(password_history::Column::UserId.eq(user.id))
        .order_by_desc(password_history::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .skip(keep_history.max(1) as usize)
        .map(|h| h.id)
        .collect();
    if !old.is_empty() {
        password_history::Entity::delete_many()
            .filter(password_history::Column::Id.is_in(old))
            .exec(db)
            .await?;
    }
    let mut active: app_user::ActiveModel = user.clone().into();
    active.password_hash = Set(new_hash);
    active.must_change_password = Set(must_change);
    active.password_changed_at = Set(Some(Utc::now()));
    active.update(db).await?;
    end_all_sessions(db, user.id).await
}

/// Ends one session.
pub async fn end_session(db: &impl ConnectionTrait, session_id: i32) -> Result<(), sea_orm::DbErr> {
    user_session::Entity::delete_by_id(session_id)
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (password, role, grant or status change).
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

/// The account named `username` (how the command line names one).
pub async fn user_named(
    db: &impl ConnectionTrait,
    username: &str,
) -> anyhow::Result<app_user::Model> {
    app_user::Entity::find()
        .filter(app_user::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))
}

/// Gives `user` a new one-time password, ends their sessions and records `who` did it.
/// Returns the password (to be shown once).
pub async fn give_one_time_password(
    db: &sea_orm::DatabaseConnection,
    keyring: &crate::secrets::Keyring,
    who: &crate::audit::Who,
    user: &app_user::Model,
    keep_history: u32,
) -> anyhow::Result<String> {
    use sea_orm::TransactionTrait;
    let password = generate_password();
    let hash = hash_password_off_thread(password.clone()).await?;
    let txn = db.begin().await?;
    set_password(&txn, user, hash, true, keep_history).await?;
    crate::audit::append_in(
        &txn,
        keyring,
        who,
        crate::audit::Entry::new(
            crate::audit::Event::PasswordReset,
            format!("user:{}", user.username),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(password)
}

/// The command line's reset: a new one-time password for `username`.
pub async fn reset_password(
    db: &sea_orm::DatabaseConnection,
    keyring: &crate::secrets::Keyring,
    username: &str,
) -> anyhow::Result<String> {
    let user = user_named(db, username).await?;
    let history = policy::load(db).await?.history;
    give_one_time_password(db, keyring, &crate::audit::Who::console(), &user, history).await
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
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
