//! HTTPS: which certificate a TLS handshake gets, chosen by SNI at handshake time.
//!
//! [`Certificates`] is the rustls certificate resolver of every HTTPS listener. In order:
//!
//! 1. a certificate uploaded through the control plane whose names include the exact hostname
//!    (they arrive with the configuration snapshot and are compiled with the routing table, so a
//!    new one is in force with the next generation — no restart, no dropped connection);
//! 2. the ACME certificate of a site that asked for one ([`acme`]), once obtained;
//! 3. an uploaded certificate for the matching wildcard (`*.example.gov.cn`);
//! 4. the listener's own certificate (`--tls-cert`), for any name;
//! 5. for `localhost` and `*.localhost` names of the group's sites, a certificate issued on the
//!    spot by the development CA of the data directory ([`devca`]), so
//!    `serve --https-listen` works out of the box.
//!
//! TLS 1.2 and 1.3 only, rustls' default (strong, forward-secret) suites; HTTP/2 through ALPN.

pub mod acme;
pub mod devca;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::ring::sign::any_supported_type;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sitegroup_contract::config::TlsCertificate;

use crate::routing::RoutingTable;

/// A parsed certificate: the key rustls signs with, and what the certificate says.
#[derive(Clone)]
pub struct Bundle {
    pub key: Arc<CertifiedKey>,
    /// DNS names of the leaf (subjectAltName, else the common name), lowercase.
    pub names: Vec<String>,
    /// Validity of the leaf, Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Subject and issuer of the leaf, as text.
    pub subject: String,
    pub issuer: String,
}

impl fmt::Debug for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bundle")
            .field("names", &self.names)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Parses a PEM certificate chain (leaf first) and its PEM private key, checking that the key
/// belongs to the leaf. The error says what is wrong, in words an operator can act on.
pub fn parse_bundle(chain_pem: &str, key_pem: &str) -> Result<Bundle, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the certificate chain is not valid PEM ({e})"))?;
    let Some(leaf) = chain.first() else {
        return Err("no certificate (-----BEGIN CERTIFICATE-----) in the chain".into());
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("no usable private key in the key PEM ({e})"))?;
    let signing = any_supported_type(&key)
        .map_err(|e| format!("the private key is not an RSA, ECDSA or Ed25519 key ({e})"))?;
    let (_, x509) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("the first certificate does not parse ({e})"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push(dns.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        names.extend(
            x509.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_ascii_lowercase),
        );
    }
    if names.is_empty() {
        return Err("the certificate names no host (no subjectAltName DNS entry)".into());
    }
    let key = CertifiedKey::new(chain.clone(), signing);
    key.keys_match()
        .map_err(|_| "the private key does not belong to the first certificate".to_string())?;
    Ok(Bundle {
        names,
        not_before: x509.validity().not_before.timestamp(),
        not_after: x509.validity().not_after.timestamp(),
        subject: x509.subject().to_string(),
        issuer: x509.issuer().to_string(),
        key: Arc::new(key),
    })
}

/// Uploaded certificates by name, compiled with each routing table.
#[derive(Default)]
pub struct CertIndex {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.example.gov.cn` under `example.gov.cn`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl fmt::Debug for CertIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertIndex")
            .field("exact", &self.exact.keys().collect::<Vec<_>>())
            .field("wildcard", &self.wildcard.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CertIndex {
    /// Indexes `certs` by the names inside them; where two cover a name, the one valid longest
    /// wins. A certificate that does not parse is an error naming it.
    pub fn compile(certs: &[TlsCertificate]) -> Result<CertIndex, String> {
        let mut best: HashMap<(bool, String), (i64, Arc<CertifiedKey>)> = HashMap::new();
        for c in certs {
            let bundle = parse_bundle(&c.chain_pem, &c.key_pem)
                .map_err(|e| format!("certificate {:?}: {e}", c.name))?;
            for name in &bundle.names {
                let key = match name.strip_prefix("*.") {
                    Some(parent) => (true, parent.to_string()),
                    None => (false, name.clone()),
                };
                let better = best
                    .get(&key)
                    .is_none_or(|(not_after, _)| *not_after < bundle.not_after);
                if better {
                    best.insert(key, (bundle.not_after, bundle.key.clone()));
                }
            }
        }
        let mut index = CertIndex::default();
        for ((wildcard, name), (_, key)) in best {
            if wildcard {
                index.wildcard.insert(name, key);
            } else {
                index.exact.insert(name, key);
            }
        }
        Ok(index)
    }

    fn exact(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        self.exact.get(host).cloned()
    }

    fn wildcard(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        let (_, parent) = host.split_once('.')?;
        self.wildcard.get(parent).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty()
    }
}

/// The certificate resolver of the HTTPS listeners (see the module comment for the order).
pub struct Certificates {
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub acme: acme::Registry,
    /// The listener's own certificate, for any name.
    pub default: Option<Arc<CertifiedKey>>,
    pub dev_ca: Option<devca::DevCa>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("default", &self.default.is_some())
            .field("dev_ca", &self.dev_ca.is_some())
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // Without SNI (a client connecting by address) only the listener's own certificate
        // can be right.
        let Some(host) = hello.server_name().map(str::to_ascii_lowercase) else {
            return self.default.clone();
        };
        let table = self.table.load();
        if let Some(key) = table.certificates.exact(&host) {
            return Some(key);
        }
        if let Some(acme) = self.acme.resolver(&host)
            && let Some(key) = acme.resolve(hello)
        {
            return Some(key);
        }
        if let Some(key) = table.certificates.wildcard(&host) {
            return Some(key);
        }
        if let Some(key) = &self.default {
            return Some(key.clone());
        }
        let ca = self.dev_ca.as_ref()?;
        // Only names the group serves: a client inventing SNI names must not make the gateway
        // mint (and keep) a certificate for each.
        if (host == "localhost" || host.ends_with(".localhost"))
            && table.site_for_host(&host).is_some()
        {
            return ca.issue(&host);
        }
        None
    }
}

/// Reads a PEM certificate chain and key from files into a bundle (the listener's own
/// certificate).
pub fn load_files(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<Bundle> {
    let chain = std::fs::read_to_string(cert)
        .map_err(|e| anyhow::anyhow!("TLS certificate {}: {e}", cert.display()))?;
    let key_pem = std::fs::read_to_string(key)
        .map_err(|e| anyhow::anyhow!("TLS private key {}: {e}", key.display()))?;
    parse_bundle(&chain, &key_pem)
        .map_err(|e| anyhow::anyhow!("TLS certificate {}: {e}", cert.display()))
}
