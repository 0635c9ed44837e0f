//! The control plane's store for what gateways obtain from the ACME CA (accounts and
//! certificates with their private keys), so that every gateway of a cluster uses the same
//! ones and a new gateway does not order again. Kept in `platform_setting` under `acme:<name>`,
//! sealed with the keyring; reached through `/internal/v1/acme/{name}`.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db::entities::platform_setting;
use crate::secrets::Keyring;

const PREFIX: &str = "acme:";

/// Names the gateways use: `cert-<sha256>` or `account-<sha256>`.
pub fn valid_name(name: &str) -> bool {
    let digest = name
        .strip_prefix("cert-")
        .or_else(|| name.strip_prefix("account-"));
    digest.is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

pub async fn get(
    db: &impl ConnectionTrait,
    ring: &Keyring,
    name: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(row) = platform_setting::Entity::find_by_id(key(name))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(ring.open(&row.value, &key(name)).map_err(|e| {
        anyhow::anyhow!("stored ACME item {name} does not open: {e}")
    })?))
}

pub async fn put(
    db: &impl ConnectionTrait,
    ring: &Keyring,
    name: &str,
    value: &[u8],
) -> anyhow::Result<()> {
    platform_setting::put(db, &key(name), ring.seal(value, &key(name))).await?;
    Ok(())
}

/// Re-seals every stored item with the keyring's current key (key rotation).
pub async fn reseal(txn: &impl ConnectionTrait, ring: &Keyring) -> anyhow::Result<u64> {
    let mut n = 0;
    for row in platform_setting::Entity::find()
        .filter(platform_setting::Column::Key.starts_with(PREFIX))
        .all(txn)
        .await?
    {
        let plain = ring
            .open(&row.value, &row.key)
            .map_err(|e| anyhow::anyhow!("stored ACME item {} does not open: {e}", row.key))?;
        let sealed = ring.seal(&plain, &row.key);
        let mut active: platform_setting::ActiveModel = row.into();
        active.value = Set(sealed);
        active.update(txn).await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_gateways_names_are_accepted() {
        let d = "a".repeat(64);
        assert!(valid_name(&format!("cert-{d}")));
        assert!(valid_name(&format!("account-{d}")));
        assert!(!valid_name(&format!("cert-{d}0")));
        assert!(!valid_name("security_policy"));
        assert!(!valid_name(&format!("cert-{}", "g".repeat(64))));
    }
}
