//! Secrets at rest: the keyring kept outside the database.
//!
//! `<data dir>/secrets/keyring.json` (mode 0600) holds numbered 256-bit master keys; the newest
//! is current. From each master key three keys are derived with HMAC-SHA256 and a label:
//!
//! * the **encryption key** (ChaCha20-Poly1305): secrets stored in the database (TOTP secrets;
//!   every later secret column — uploaded private keys, ACME account keys, upstream credentials
//!   — goes through [`Keyring::seal`] too) are kept as `sg1:<key id>:<base64(nonce ‖ ciphertext)>`,
//!   bound to what they belong to by associated data (`totp:<user id>`), so a sealed value copied
//!   to another row does not open;
//! * the **audit MAC key**: each audit record's hash is an HMAC, so whoever can write to the
//!   database but cannot read this file cannot forge the chain;
//! * the **archive signing key** (Ed25519): audit archives and exports are signed; the public key
//!   is printed in them.
//!
//! `sitegroup admin rotate-key` adds a key and re-encrypts every sealed value with it. Retired
//! keys stay in the file: they open nothing new but still verify the audit records they made.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

const PREFIX: &str = "sg1";
const LABEL_ENCRYPT: &[u8] = b"sitegroup secrets v1";
const LABEL_AUDIT: &[u8] = b"sitegroup audit chain v1";
const LABEL_SIGN: &[u8] = b"sitegroup audit archive v1";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("key {0} is not in the keyring")]
    UnknownKey(i32),
    #[error("sealed value does not open (wrong key, wrong owner, or altered)")]
    Open,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct KeyEntry {
    id: i32,
    created_at: String,
    key: String,
}

#[derive(Clone)]
struct Key {
    id: i32,
    created_at: String,
    master: [u8; 32],
}

impl Key {
    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.master);
        let tag = ring::hmac::sign(&k, label);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    fn aead(&self) -> LessSafeKey {
        let bytes = self.derive(LABEL_ENCRYPT);
        // A 32-byte key is always valid for ChaCha20-Poly1305.
        LessSafeKey::new(
            UnboundKey::new(&aead::CHACHA20_POLY1305, &bytes).expect("32-byte ChaCha20 key"),
        )
    }

    fn signing(&self) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&self.derive(LABEL_SIGN)).expect("32-byte seed")
    }
}

/// The loaded keyring. Cheap to clone (keys are small); see [`Secrets`] for the shared handle.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    /// The path of the keyring under a data directory.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("secrets").join("keyring.json")
    }

    /// Reads the keyring, creating it with one key on first use.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Keyring> {
        if !path.exists() {
            let ring = Keyring {
                keys: vec![new_key(1)?],
            };
            ring.save(path)?;
            return Ok(ring);
        }
        Keyring::load(path)
    }

    pub fn load(path: &Path) -> anyhow::Result<Keyring> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading keyring {}: {e}", path.display()))?;
        let file: KeyFile = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("keyring {} is not valid: {e}", path.display()))?;
        let mut keys = Vec::new();
        for e in file.keys {
            let bytes = B64.decode(e.key.as_bytes()).map_err(|_| {
                anyhow::anyhow!("keyring {}: key {} is not base64", path.display(), e.id)
            })?;
            let master: [u8; 32] = bytes.try_into().map_err(|_| {
                anyhow::anyhow!("keyring {}: key {} is not 32 bytes", path.display(), e.id)
            })?;
            keys.push(Key {
                id: e.id,
                created_at: e.created_at,
                master,
            });
        }
        keys.sort_by_key(|k| k.id);
        anyhow::ensure!(!keys.is_empty(), "keyring {} has no key", path.display());
        Ok(Keyring { keys })
    }

    /// Writes the keyring atomically (temporary file, fsync, rename), readable by the owner
    /// only.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let file = KeyFile {
            version: 1,
            keys: self
                .keys
                .iter()
                .map(|k| KeyEntry {
                    id: k.id,
                    created_at: k.created_at.clone(),
                    key: B64.encode(k.master),
                })
                .collect(),
        };
        let tmp = path.with_extension("json.tmp");
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp)?;
            f.write_all(serde_json::to_string_pretty(&file)?.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    fn current(&self) -> &Key {
        self.keys.last().expect("a keyring has a key")
    }

    pub fn current_id(&self) -> i32 {
        self.current().id
    }

    pub fn ids(&self) -> Vec<i32> {
        self.keys.iter().map(|k| k.id).collect()
    }

    fn key(&self, id: i32) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Adds a new current key (the old ones are kept, see the module comment).
    pub fn rotate(&mut self) -> anyhow::Result<i32> {
        let id = self.current_id() + 1;
        self.keys.push(new_key(id)?);
        Ok(id)
    }

    /// Encrypts `plaintext` for the row named by `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let key = self.current();
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random source works");
        let mut buf = plaintext.to_vec();
        key.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("sealing cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{PREFIX}:{}:{}", key.id, B64.encode(out))
    }

    /// Decrypts a value made by [`Keyring::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SecretError> {
        let (id, body) = parse_sealed(sealed)?;
        let key = self.key(id).ok_or(SecretError::UnknownKey(id))?;
        let bytes = B64.decode(body).map_err(|_| SecretError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(12);
        let mut buf = ct.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Malformed)?;
        let plain = key
            .aead()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SecretError::Open)?;
        Ok(plain.to_vec())
    }

    /// Whether a sealed value was made with the current key.
    pub fn is_current(&self, sealed: &str) -> bool {
        parse_sealed(sealed).is_ok_and(|(id, _)| id == self.current_id())
    }

    /// HMAC-SHA256 of `data` with the audit MAC key of key `id`, hex.
    pub fn audit_mac(&self, id: i32, data: &[u8]) -> Option<String> {
        let key = self.key(id)?;
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.derive(LABEL_AUDIT));
        Some(hex::encode(ring::hmac::sign(&k, data).as_ref()))
    }

    /// Signs with the current key's Ed25519 key: (key id, public key base64, signature base64).
    pub fn sign(&self, data: &[u8]) -> (i32, String, String) {
        let key = self.current();
        let pair = key.signing();
        (
            key.id,
            B64.encode(pair.public_key().as_ref()),
            B64.encode(pair.sign(data).as_ref()),
        )
    }

    /// The Ed25519 public key of key `id`, base64.
    pub fn public_key(&self, id: i32) -> Option<String> {
        self.key(id)
            .map(|k| B64.encode(k.signing().public_key().as_ref()))
    }
}

/// Checks an Ed25519 signature made by [`Keyring::sign`] (needs only the public key).
pub fn verify_signature(public_key_b64: &str, data: &[u8], signature_b64: &str) -> bool {
    let (Ok(pk), Ok(sig)) = (B64.decode(public_key_b64), B64.decode(signature_b64)) else {
        return false;
    };
    UnparsedPublicKey::new(&ring::signature::ED25519, pk)
        .verify(data, &sig)
        .is_ok()
}

fn parse_sealed(sealed: &str) -> Result<(i32, &str), SecretError> {
    let mut parts = sealed.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(PREFIX), Some(id), Some(body)) => {
            Ok((id.parse().map_err(|_| SecretError::Malformed)?, body))
        }
        _ => Err(SecretError::Malformed),
    }
}

fn new_key(id: i32) -> anyhow::Result<Key> {
    let mut master = [0u8; 32];
    SystemRandom::new()
        .fill(&mut master)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    Ok(Key {
        id,
        created_at: chrono::Utc::now().to_rfc3339(),
        master,
    })
}

/// The keyring shared by the running control plane. A key id it does not know (a rotation made
/// by the CLI while the server runs) makes it read the file again.
pub struct Secrets {
    path: PathBuf,
    ring: RwLock<Arc<Keyring>>,
}

impl Secrets {
    pub fn open(data_dir: &Path) -> anyhow::Result<Secrets> {
        let path = Keyring::path_in(data_dir);
        let ring = Keyring::load_or_create(&path)?;
        Ok(Secrets {
            path,
            ring: RwLock::new(Arc::new(ring)),
        })
    }

    pub fn get(&self) -> Arc<Keyring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The keyring as it is on disk now (the command line may have added a key while the
    /// server runs); the one held when the file cannot be read.
    pub fn reloaded(&self) -> Arc<Keyring> {
        if let Ok(ring) = Keyring::load(&self.path) {
            *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
        }
        self.get()
    }

    /// Opens a sealed value, reloading the keyring once if the value names an unknown key.
    pub fn open_value(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SecretError> {
        match self.get().open(sealed, context) {
            Err(SecretError::UnknownKey(_)) => self.reloaded().open(sealed, context),
            other => other,
        }
    }
}

/// Adds a key to the keyring of `data_dir` and re-encrypts every sealed value in the database
/// with it, in one transaction. The new key is written to disk first, so no value is ever
/// sealed with a key that is not on disk; if re-encryption fails, nothing in the database
/// changed. Returns (new key id, values re-encrypted).
pub async fn rotate(
    db: &sea_orm::DatabaseConnection,
    data_dir: &Path,
) -> anyhow::Result<(i32, u64)> {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

    use crate::db::entities::app_user;

    let path = Keyring::path_in(data_dir);
    let mut ring = Keyring::load_or_create(&path)?;
    let id = ring.rotate()?;
    ring.save(&path)?;
    let txn = db.begin().await?;
    let mut n = 0u64;
    for user in app_user::Entity::find()
        .filter(app_user::Column::TotpSecret.is_not_null())
        .all(&txn)
        .await?
    {
        let Some(sealed) = user.totp_secret.clone() else {
            continue;
        };
        let context = format!("totp:{}", user.id);
        let plain = ring.open(&sealed, &context).map_err(|e| {
            anyhow::anyhow!(
                "the TOTP secret of user {} does not open: {e}",
                user.username
            )
        })?;
        let mut active: app_user::ActiveModel = user.into();
        active.totp_secret = Set(Some(ring.seal(&plain, &context)));
        active.update(&txn).await?;
        n += 1;
    }
    n += crate::service::certificates::reseal(&txn, &ring).await?;
    n += crate::acme_store::reseal(&txn, &ring).await?;
    crate::audit::append_in(
        &txn,
        &ring,
        &crate::audit::Who::console(),
        crate::audit::Entry::new(crate::audit::Event::KeyRotate, format!("key:{id}"))
            .details(serde_json::json!({ "reencrypted": n })),
    )
    .await?;
    txn.commit().await?;
    Ok((id, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_context_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = Keyring::path_in(dir.path());
        let mut ring = Keyring::load_or_create(&path).unwrap();
        let sealed = ring.seal(b"JBSWY3DPEHPK3PXP", "totp:7");
        assert!(sealed.starts_with("sg1:1:"));
        assert!(!sealed.contains("JBSWY3DP"));
        assert_eq!(ring.open(&sealed, "totp:7").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(matches!(
            ring.open(&sealed, "totp:8"),
            Err(SecretError::Open)
        ));
        let mut altered = sealed.clone();
        altered.pop();
        altered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(ring.open(&altered, "totp:7").is_err());
        assert!(matches!(
            ring.open("plain", "x"),
            Err(SecretError::Malformed)
        ));

        // Rotation: new values use key 2, old ones still open, the file keeps both.
        assert_eq!(ring.rotate().unwrap(), 2);
        ring.save(&path).unwrap();
        let again = Keyring::load(&path).unwrap();
        assert_eq!(again.ids(), vec![1, 2]);
        assert!(again.seal(b"x", "c").starts_with("sg1:2:"));
        assert_eq!(again.open(&sealed, "totp:7").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(!again.is_current(&sealed));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn signatures_and_macs() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::load_or_create(&Keyring::path_in(dir.path())).unwrap();
        let (id, pk, sig) = ring.sign(b"archive bytes");
        assert_eq!(id, 1);
        assert!(verify_signature(&pk, b"archive bytes", &sig));
        assert!(!verify_signature(&pk, b"archive bytez", &sig));
        assert_eq!(ring.public_key(1).unwrap(), pk);
        let mac = ring.audit_mac(1, b"record").unwrap();
        assert_eq!(mac.len(), 64);
        assert_ne!(mac, ring.audit_mac(1, b"recorc").unwrap());
        assert!(ring.audit_mac(9, b"record").is_none());
    }
}
