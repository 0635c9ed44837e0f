//! A development certificate authority for `localhost` names.
//!
//! `serve --https-listen` without a certificate still answers HTTPS for `*.localhost`: a CA
//! key and certificate are created once in `<data dir>/tls/` (`dev-ca.pem` is the one to
//! trust in a browser or with `curl --cacert`), and a certificate for each `localhost` name is
//! issued on the first handshake that asks for it. Never used for any other name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::sign::CertifiedKey;

/// The CA of a data directory, and the certificates it has issued in this process.
#[derive(Clone)]
pub struct DevCa {
    inner: Arc<Inner>,
}

struct Inner {
    cert: rcgen::Certificate,
    key: KeyPair,
    cert_path: PathBuf,
    issued: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl DevCa {
    /// Loads the CA from `dir` (`dev-ca.pem`, `dev-ca.key`), creating it when missing.
    pub fn open(dir: &Path) -> anyhow::Result<DevCa> {
        let cert_path = dir.join("dev-ca.pem");
        let key_path = dir.join("dev-ca.key");
        let (cert, key) = if cert_path.exists() && key_path.exists() {
            let key_pem = std::fs::read_to_string(&key_path)
                .with_context(|| format!("reading {}", key_path.display()))?;
            let key = KeyPair::from_pem(&key_pem)
                .with_context(|| format!("{} is not a private key", key_path.display()))?;
            let cert_pem = std::fs::read_to_string(&cert_path)
                .with_context(|| format!("reading {}", cert_path.display()))?;
            let params = CertificateParams::from_ca_cert_pem(&cert_pem)
                .with_context(|| format!("{} is not a CA certificate", cert_path.display()))?;
            // Re-signing the same name and key gives an issuer equal to the one on disk.
            let cert = params.self_signed(&key)?;
            (cert, key)
        } else {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::default();
            let mut name = DistinguishedName::new();
            name.push(DnType::CommonName, "sitegroup development CA");
            name.push(DnType::OrganizationName, "sitegroup (localhost only)");
            params.distinguished_name = name;
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params.not_before = time_now() - std::time::Duration::from_secs(3600);
            params.not_after = time_now() + std::time::Duration::from_secs(10 * 365 * 86400);
            let cert = params.self_signed(&key)?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, cert.pem())
                .with_context(|| format!("writing {}", cert_path.display()))?;
            tracing::info!(
                "created a development CA for *.localhost: trust {} to browse without warnings",
                cert_path.display()
            );
            (cert, key)
        };
        Ok(DevCa {
            inner: Arc::new(Inner {
                cert,
                key,
                cert_path,
                issued: Mutex::default(),
            }),
        })
    }

    /// The CA certificate file to trust.
    pub fn cert_path(&self) -> &Path {
        &self.inner.cert_path
    }

    /// A certificate for `host` (a `localhost` name), issued once per process.
    pub fn issue(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        let mut issued = self.inner.issued.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = issued.get(host) {
            return Some(key.clone());
        }
        match self.make(host) {
            Ok(key) => {
                issued.insert(host.to_string(), key.clone());
                Some(key)
            }
            Err(e) => {
                tracing::warn!("development CA: cannot issue for {host}: {e}");
                None
            }
        }
    }

    fn make(&self, host: &str) -> anyhow::Result<Arc<CertifiedKey>> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![host.to_string()])?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, host);
        params.distinguished_name = name;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = time_now() - std::time::Duration::from_secs(3600);
        params.not_after = time_now() + std::time::Duration::from_secs(90 * 86400);
        let cert = params.signed_by(&key, &self.inner.cert, &self.inner.key)?;
        let chain = format!("{}{}", cert.pem(), self.inner.cert.pem());
        let bundle = super::parse_bundle(&chain, &key.serialize_pem())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(bundle.key)
    }
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Writes a private key readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_localhost_certificates_that_chain_to_the_ca_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::open(dir.path()).unwrap();
        let key = ca.issue("www.demo.localhost").unwrap();
        assert_eq!(key.cert.len(), 2, "leaf and CA");
        assert!(std::ptr::eq(
            Arc::as_ptr(&key),
            Arc::as_ptr(&ca.issue("www.demo.localhost").unwrap())
        ));
        // Reopened from disk: same CA (the leaf's issuer verifies against the file).
        let again = DevCa::open(dir.path()).unwrap();
        let leaf = again.issue("admin.localhost").unwrap();
        let ca_pem = std::fs::read_to_string(dir.path().join("dev-ca.pem")).unwrap();
        let ca_der = rustls_pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap();
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        let (_, leaf_cert) = x509_parser::parse_x509_certificate(&leaf.cert[0]).unwrap();
        leaf_cert
            .verify_signature(Some(ca_cert.public_key()))
            .unwrap();
        let mode = std::fs::metadata(dir.path().join("dev-ca.key"))
            .unwrap()
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    use rustls_pki_types::pem::PemObject;
}
