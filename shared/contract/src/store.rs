//! The content-addressed store of published files.
//!
//! Layout under the store root: `objects/ab/abcdef…` where the file name is the lowercase hex
//! SHA-256 of the file's bytes. The control plane writes objects (never rewrites one in place);
//! the gateway reads them and refuses any whose bytes no longer hash to their name.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// True when `s` is 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why an object could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object is not in the store.
    #[error("object {0} is missing from the store")]
    Missing(String),
    /// The file's bytes do not hash to its name: it was altered after publishing.
    #[error("object {expected} failed its integrity check (content hashes to {actual})")]
    Tampered { expected: String, actual: String },
    #[error("reading object {hash}: {source}")]
    Io { hash: String, source: io::Error },
}

/// A content-addressed object store rooted at a directory.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    root: PathBuf,
}

impl ObjectStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ObjectStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the object with this hash lives. `hash` must be a valid SHA-256 hex string.
    pub fn path_for(&self, hash: &str) -> PathBuf {
        let fan = hash.get(..2).unwrap_or("00");
        self.root.join("objects").join(fan).join(hash)
    }

    pub fn contains(&self, hash: &str) -> bool {
        is_sha256_hex(hash) && self.path_for(hash).is_file()
    }

    /// Reads an object and checks that its bytes still hash to `hash`.
    pub fn read_verified(&self, hash: &str) -> Result<Vec<u8>, ObjectError> {
        if !is_sha256_hex(hash) {
            return Err(ObjectError::Missing(hash.to_string()));
        }
        let bytes = match fs::read(self.path_for(hash)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ObjectError::Missing(hash.to_string()));
            }
            Err(source) => {
                return Err(ObjectError::Io {
                    hash: hash.to_string(),
                    source,
                });
            }
        };
        let actual = sha256_hex(&bytes);
        if actual != hash {
            return Err(ObjectError::Tampered {
                expected: hash.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Stores `bytes` and returns their hash. Writing is atomic (temporary file, fsync, rename),
    /// so a reader never sees a half-written object; storing existing content is a no-op.
    pub fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = sha256_hex(bytes);
        self.put_with_hash(&hash, bytes)?;
        Ok(hash)
    }

    /// Stores `bytes` under `hash`, which the caller has already checked matches them.
    pub fn put_with_hash(&self, hash: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path_for(hash);
        if path.is_file() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        write_atomic(dir, &path, bytes)
    }
}

/// Writes `bytes` to `path` through a temporary file in `dir` and a rename, so that `path`
/// holds either its old content or the new one, never a partial write.
pub fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

static TMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_read_and_detect_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path());
        let hash = store.put("<h1>示范市</h1>".as_bytes()).unwrap();
        assert!(is_sha256_hex(&hash));
        assert!(store.contains(&hash));
        assert_eq!(
            store.read_verified(&hash).unwrap(),
            "<h1>示范市</h1>".as_bytes()
        );
        // Storing the same content again changes nothing.
        assert_eq!(store.put("<h1>示范市</h1>".as_bytes()).unwrap(), hash);

        fs::write(store.path_for(&hash), "<h1>hacked</h1>").unwrap();
        match store.read_verified(&hash) {
            Err(ObjectError::Tampered { expected, actual }) => {
                assert_eq!(expected, hash);
                assert_eq!(actual, sha256_hex(b"<h1>hacked</h1>"));
            }
            other => panic!("expected tampering to be detected, got {other:?}"),
        }
        let missing = "0".repeat(64);
        assert!(matches!(
            store.read_verified(&missing),
            Err(ObjectError::Missing(_))
        ));
        assert!(matches!(
            store.read_verified("../../etc/passwd"),
            Err(ObjectError::Missing(_))
        ));
    }

    #[test]
    fn atomic_write_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("file.json");
        write_atomic(dir.path(), &target, b"one").unwrap();
        write_atomic(dir.path(), &target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.json")]);
    }
}
