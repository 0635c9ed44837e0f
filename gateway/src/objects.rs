//! Published files in memory, verified.
//!
//! Reading a file and hashing it on every request made a published page cost more than a
//! proxied one. [`VerifiedObjects`] keeps the bytes of files that passed the SHA-256 check,
//! together with the identity of the file on disk (inode, size, modification and change
//! times). Each request still looks at the file (one `stat`): if anything about it changed —
//! any write changes its change time, which user space cannot set back — the bytes are read
//! and verified again, so a file tampered with on disk is refused at once, as before. Bounded
//! by a byte budget; files above [`MAX_OBJECT`] are not kept.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

use bytes::Bytes;
use sitegroup_contract::store::{ObjectError, ObjectStore};

/// Largest file kept in memory.
pub const MAX_OBJECT: u64 = 1024 * 1024;
/// Default memory budget.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity {
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }
}

/// Verified bytes by hash, with the file identity they were read from; and the bytes held.
type Cache = (HashMap<String, (Identity, Bytes)>, usize);

pub struct VerifiedObjects {
    store: ObjectStore,
    budget: usize,
    cached: Mutex<Cache>,
}

impl VerifiedObjects {
    pub fn new(store: ObjectStore, budget: usize) -> Self {
        Self {
            store,
            budget,
            cached: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// The bytes of `hash` if they are in memory and the file on disk is unchanged since they
    /// were verified (one `stat`).
    pub fn cached(&self, hash: &str) -> Option<Bytes> {
        let meta = std::fs::metadata(self.store.path_for(hash)).ok()?;
        let identity = Identity::of(&meta);
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        match cached.0.get(hash) {
            Some((seen, bytes)) if *seen == identity => Some(bytes.clone()),
            _ => None,
        }
    }

    /// The file's bytes if they hash to `hash`; the same errors as
    /// [`ObjectStore::read_verified`]. Blocking (a `stat`, and a read when not cached).
    pub fn read(&self, hash: &str) -> Result<Bytes, ObjectError> {
        let path = self.store.path_for(hash);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.forget(hash);
                return Err(ObjectError::Missing(hash.to_string()));
            }
            Err(source) => {
                return Err(ObjectError::Io {
                    hash: hash.to_string(),
                    source,
                });
            }
        };
        let identity = Identity::of(&meta);
        {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((seen, bytes)) = cached.0.get(hash)
                && *seen == identity
            {
                return Ok(bytes.clone());
            }
        }
        let bytes = match self.store.read_verified(hash) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                self.forget(hash);
                return Err(e);
            }
        };
        if identity.len <= MAX_OBJECT && identity.len == bytes.len() as u64 {
            let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            let (map, used) = &mut *cached;
            if let Some((_, old)) = map.remove(hash) {
                *used -= old.len();
            }
            while *used + bytes.len() > self.budget {
                let Some(victim) = map.keys().next().cloned() else {
                    break;
                };
                if let Some((_, old)) = map.remove(&victim) {
                    *used -= old.len();
                }
            }
            *used += bytes.len();
            map.insert(hash.to_string(), (identity, bytes.clone()));
        }
        Ok(bytes)
    }

    fn forget(&self, hash: &str) {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let (map, used) = &mut *cached;
        if let Some((_, old)) = map.remove(hash) {
            *used -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_on_disk_is_verified_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path());
        let hash = store.put(b"<p>published</p>").unwrap();
        let objects = VerifiedObjects::new(store.clone(), 1024);
        assert_eq!(&objects.read(&hash).unwrap()[..], b"<p>published</p>");
        assert_eq!(&objects.read(&hash).unwrap()[..], b"<p>published</p>");
        // Same length, other bytes: the change time moved, so it is read and refused.
        let path = store.path_for(&hash);
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).unwrap();
        std::fs::write(&path, b"<p>defaced!!</p>").unwrap();
        assert!(matches!(
            objects.read(&hash),
            Err(ObjectError::Tampered { .. })
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(objects.read(&hash), Err(ObjectError::Missing(_))));
    }

    #[test]
    fn the_budget_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path());
        let objects = VerifiedObjects::new(store.clone(), 100);
        for i in 0..10 {
            let hash = store.put(format!("{i:040}").as_bytes()).unwrap();
            objects.read(&hash).unwrap();
        }
        let cached = objects.cached.lock().unwrap();
        assert!(cached.1 <= 100 && cached.0.len() == 2, "{}", cached.1);
    }
}
