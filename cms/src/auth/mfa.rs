//! The second factor: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of clock
//! skew either way) and one-time recovery codes.
//!
//! A code is accepted once: the step it matched is remembered, and codes of that step or older
//! are refused afterwards. The secret is stored sealed (`crate::secrets`); the enrolment page
//! shows it as a QR code rendered here, as SVG, and as Base32 text for manual entry. Recovery
//! codes carry 50 random bits each and are stored as SHA-256 hashes.

use rand::Rng as _;
use rand::rngs::OsRng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use sitegroup_contract::store::sha256_hex;
use totp_rs::{Algorithm, TOTP};

use crate::db::entities::{app_user, recovery_code};

pub const ISSUER: &str = "sitegroup";
const STEP: u64 = 30;
/// How many recovery codes an account gets.
pub const RECOVERY_CODES: usize = 10;

/// 160 random bits, the size RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    OsRng.fill(&mut bytes[..]);
    bytes
}

fn totp(secret: &[u8], account: &str) -> Option<TOTP> {
    // totp-rs refuses ':' in account names; ours never contain one, but a stored name must not
    // turn into a panic.
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some(ISSUER.into()),
        account.replace(':', "_"),
    )
    .ok()
}

/// The `otpauth://` URL authenticator apps read from the QR code.
pub fn otpauth_url(secret: &[u8], account: &str) -> String {
    totp(secret, account)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// The secret in Base32, in groups of four, for typing into an app.
pub fn secret_text(secret: &[u8]) -> String {
    let b32 = totp(secret, "x")
        .map(|t| t.get_secret_base32())
        .unwrap_or_default();
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The secret back from its Base32 text (spaces ignored), as a person would type it.
pub fn parse_secret_text(text: &str) -> Option<Vec<u8>> {
    let b32: String = text.split_whitespace().collect();
    totp_rs::Secret::Encoded(b32).to_bytes().ok()
}

/// A QR code of `text` as an SVG document (rendered on the server; no script, no network).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// The code of a time (seconds since 1970) — used by tests and by nothing else.
pub fn code_at(secret: &[u8], unix: u64) -> String {
    totp(secret, "x")
        .map(|t| t.generate(unix))
        .unwrap_or_default()
}

/// Checks `code` at `unix` seconds; accepts the current step and one either side, but only
/// steps after `last_step`. Returns the step that matched.
pub fn check(secret: &[u8], code: &str, unix: u64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "x")?;
    let now = (unix / STEP) as i64;
    let mut matched = None;
    for step in [now - 1, now, now + 1] {
        if step < 0 || last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let expected = t.generate(step as u64 * STEP);
        if crate::auth::constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    matched
}

/// Fresh recovery codes, `xxxxx-xxxxx` from an alphabet without look-alikes.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..10)
                .map(|_| char::from(ALPHABET[OsRng.gen_range(0..ALPHABET.len())]))
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// The stored form of a recovery code (dashes, spaces and case do not matter).
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha256_hex(norm.as_bytes())
}

/// Removes a user's authenticator and recovery codes.
pub async fn remove(db: &impl ConnectionTrait, user_id: i32) -> Result<(), sea_orm::DbErr> {
    app_user::Entity::update_many()
        .col_expr(app_user::Column::TotpEnabled, Expr::value(false))
        .col_expr(
            app_user::Column::TotpSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            app_user::Column::TotpLastStep,
            Expr::value(Option::<i64>::None),
        )
        .filter(app_user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes `user`'s authenticator (a lost phone), ends their sessions and records `who` did
/// it; they enrol again at their next sign-in.
pub async fn reset_user(
    db: &sea_orm::DatabaseConnection,
    keyring: &crate::secrets::Keyring,
    who: &crate::audit::Who,
    user: &app_user::Model,
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    remove(&txn, user.id).await?;
    super::end_all_sessions(&txn, user.id).await?;
    crate::audit::append_in(
        &txn,
        keyring,
        who,
        crate::audit::Entry::new(
            crate::audit::Event::MfaReset,
            format!("user:{}", user.username),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The command line's reset of `username`'s authenticator.
pub async fn reset(
    db: &sea_orm::DatabaseConnection,
    keyring: &crate::secrets::Keyring,
    username: &str,
) -> anyhow::Result<()> {
    let user = super::user_named(db, username).await?;
    reset_user(db, keyring, &crate::audit::Who::console(), &user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 → 94287082 (8
        // digits); the 6-digit code is its last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(code_at(secret, 1111111109), "081804");
    }

    #[test]
    fn codes_are_accepted_once_and_within_one_step() {
        let secret = new_secret();
        let now = 1_800_000_000u64;
        let code = code_at(&secret, now);
        let step = check(&secret, &code, now, None).expect("current code");
        assert_eq!(step, (now / 30) as i64);
        assert_eq!(check(&secret, &code, now, Some(step)), None, "replayed");
        assert!(check(&secret, &code_at(&secret, now - 30), now, None).is_some());
        assert!(check(&secret, &code_at(&secret, now - 90), now, None).is_none());
        assert!(check(&secret, "12345", now, None).is_none());
        assert!(check(&secret, "abcdef", now, None).is_none());
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(check(&secret, &spaced, now, None).is_some());
    }

    #[test]
    fn enrolment_material() {
        let secret = new_secret();
        let url = otpauth_url(&secret, "alice");
        assert!(url.starts_with("otpauth://totp/sitegroup:alice?"), "{url}");
        assert!(qr_svg(&url).starts_with("<?xml"));
        assert_eq!(secret_text(&secret).replace(' ', "").len(), 32);
        assert_eq!(
            parse_secret_text(&secret_text(&secret)),
            Some(secret.clone())
        );
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), 11);
        assert_eq!(
            recovery_hash(&codes[0]),
            recovery_hash(&codes[0].to_uppercase())
        );
        assert_ne!(codes[0], codes[1]);
    }
}
