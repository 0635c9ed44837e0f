//! HTTPS certificates the security team uploads (PEM chain + key), handed to every gateway
//! with the configuration snapshot; the gateways choose one by SNI from the names inside the
//! certificate. Only the 安全管理员 manages them. The private key is sealed with the keyring
//! at rest (associated data: a digest of its chain, so a key cannot be moved to another row);
//! every change is audited and bumps the configuration generation.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set, TransactionTrait};
use sitegroup_contract::config::TlsCertificate;
use sitegroup_contract::store::sha256_hex;

use super::authz::Actor;
use crate::audit::{Entry, Event, Who};
use crate::db::entities::tls_certificate;
use crate::error::{AppError, AppResult};
use crate::secrets::Keyring;
use crate::state::AppState;

/// Days before expiry from which a certificate is shown as expiring.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

fn key_context(chain_pem: &str) -> String {
    format!("tls:{}", sha256_hex(chain_pem.as_bytes()))
}

/// Checks and stores an uploaded certificate. Errors name what is wrong (in Chinese, with the
/// parser's reason).
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    name: &str,
    chain_pem: &str,
    key_pem: &str,
) -> AppResult<i32> {
    if !actor.is_secadmin() {
        return Err(AppError::NotFound);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::Invalid(
            "证书名称不能为空，且不超过 100 个字符。".into(),
        ));
    }
    let chain_pem = chain_pem.trim().replace("\r\n", "\n") + "\n";
    let key_pem = key_pem.trim().replace("\r\n", "\n") + "\n";
    let bundle = sitegroup_gateway::tls::parse_bundle(&chain_pem, &key_pem)
        .map_err(|e| AppError::Invalid(format!("证书无法使用：{e}")))?;
    let ts = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    let (not_before, not_after) = (ts(bundle.not_before), ts(bundle.not_after));
    if not_after <= Utc::now() {
        return Err(AppError::Invalid(format!(
            "证书已于 {} 过期。",
            crate::publish::beijing(not_after).format("%Y-%m-%d %H:%M")
        )));
    }
    let sealed = state
        .secrets
        .get()
        .seal(key_pem.as_bytes(), &key_context(&chain_pem));
    let txn = state.db.begin().await?;
    let row = tls_certificate::ActiveModel {
        name: Set(name.to_string()),
        hostnames: Set(bundle.names.join(",")),
        subject: Set(bundle.subject.clone()),
        issuer: Set(bundle.issuer.clone()),
        not_before: Set(not_before),
        not_after: Set(not_after),
        chain_pem: Set(chain_pem),
        key_sealed: Set(sealed),
        created_at: Set(Utc::now()),
        created_by: Set(actor.user.username.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::snapshot::bump_generation(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::CertificateUpload, format!("certificate:{}", row.id)).details(
                serde_json::json!({
                    "name": name, "hostnames": bundle.names,
                    "issuer": bundle.issuer, "not_after": not_after.to_rfc3339(),
                }),
            ),
        )
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Removes a certificate; gateways stop offering it with the next generation.
pub async fn delete(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    if !actor.is_secadmin() {
        return Err(AppError::NotFound);
    }
    let txn = state.db.begin().await?;
    let row = tls_certificate::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    tls_certificate::Entity::delete_by_id(id).exec(&txn).await?;
    crate::snapshot::bump_generation(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::CertificateDelete, format!("certificate:{id}"))
                .details(serde_json::json!({ "name": row.name, "hostnames": row.hostnames })),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Every uploaded certificate, soonest expiry first.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<tls_certificate::Model>> {
    Ok(tls_certificate::Entity::find()
        .order_by_asc(tls_certificate::Column::NotAfter)
        .all(db)
        .await?)
}

/// The certificates for the gateways' snapshot, keys opened. One whose key does not open (a
/// keyring that lost a key) is left out with an error in the log rather than failing every
/// gateway's configuration.
pub async fn for_snapshot(
    db: &impl ConnectionTrait,
    ring: &Keyring,
) -> Result<Vec<TlsCertificate>, sea_orm::DbErr> {
    let rows = tls_certificate::Entity::find()
        .order_by_asc(tls_certificate::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match ring.open(&row.key_sealed, &key_context(&row.chain_pem)) {
            Ok(key) => out.push(TlsCertificate {
                name: row.name,
                chain_pem: row.chain_pem,
                key_pem: String::from_utf8_lossy(&key).into_owned(),
            }),
            Err(e) => tracing::error!(
                "certificate {} ({}): the private key does not open ({e}); not sent to gateways",
                row.id,
                row.name
            ),
        }
    }
    Ok(out)
}

/// Re-seals every certificate key with the keyring's current key (key rotation).
pub async fn reseal(txn: &impl ConnectionTrait, ring: &Keyring) -> anyhow::Result<u64> {
    let mut n = 0;
    for row in tls_certificate::Entity::find().all(txn).await? {
        let context = key_context(&row.chain_pem);
        let plain = ring.open(&row.key_sealed, &context).map_err(|e| {
            anyhow::anyhow!("the key of certificate {} does not open: {e}", row.name)
        })?;
        let sealed = ring.seal(&plain, &context);
        let mut active: tls_certificate::ActiveModel = row.into();
        active.key_sealed = Set(sealed);
        active.update(txn).await?;
        n += 1;
    }
    Ok(n)
}
