//! Certificates from an ACME CA (Let's Encrypt, or a private CA) through rustls-acme.
//!
//! [`AcmeService`] is a background service: for every site that asks for it (`tls.acme` in the
//! snapshot) it keeps one rustls-acme state machine for the site's hostnames (wildcards
//! excepted: HTTP-01 cannot prove them). The state loads the certificate and the ACME account
//! from the [`AcmeCache`] — the control plane's store first, so every gateway of a cluster
//! shares them, then a copy in the data directory for when the control plane is away — orders
//! a new one when there is none, and renews it when a third of its lifetime is left.
//!
//! The challenge is HTTP-01, answered by the gateway on its plain-HTTP listener
//! ([`Registry::http01`] is called before routing); TLS-ALPN-01 cannot work because pingora's
//! rustls listener fixes its ALPN list.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use futures_util::StreamExt;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use rustls_acme::AccountCache;
use rustls_acme::{AcmeConfig, CertCache, ResolvesServerCertAcme, UseChallenge};
use sha2::{Digest, Sha256};

use crate::routing::RoutingTable;
use crate::sync::ControlPlane;

/// The ACME CA a gateway orders from.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// Directory URL, e.g. `https://acme-v02.api.letsencrypt.org/directory`.
    pub directory: String,
    /// Contacts for the account (`mailto:…`).
    pub contacts: Vec<String>,
    /// Extra root certificates (PEM) to trust for the CA's own HTTPS, for a private CA.
    pub ca_roots: Option<PathBuf>,
}

/// The running ACME states by hostname, shared with the certificate resolver and the HTTP-01
/// responder.
#[derive(Clone, Default)]
pub struct Registry {
    by_host: Arc<ArcSwap<HashMap<String, Arc<ResolvesServerCertAcme>>>>,
}

impl Registry {
    /// The ACME state of `host`'s site, if it wants ACME (with or without a certificate yet).
    pub fn resolver(&self, host: &str) -> Option<Arc<ResolvesServerCertAcme>> {
        self.by_host.load().get(host).cloned()
    }

    /// The key authorization for an HTTP-01 challenge token on `host`, while its order runs.
    pub fn http01(&self, host: &str, token: &str) -> Option<String> {
        self.by_host.load().get(host)?.get_http_01_key_auth(token)
    }
}

/// Keeps one ACME state machine per site that wants one.
pub struct AcmeService {
    pub settings: AcmeSettings,
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub registry: Registry,
    pub cache: AcmeCache,
}

impl AcmeService {
    fn client_config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.settings.ca_roots {
            use rustls_pki_types::pem::PemObject;
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("ACME CA roots {}: {e}", path.display()))?;
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.map_err(|e| anyhow::anyhow!("ACME CA roots {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("ACME CA roots {}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth(),
        ))
    }

    /// Hostname sets of the sites that want ACME certificates now.
    fn wanted(&self) -> BTreeSet<Vec<String>> {
        self.table
            .load()
            .acme_domains()
            .into_iter()
            .filter(|d| !d.is_empty())
            .collect()
    }

    fn start(
        &self,
        domains: &[String],
        client: &Arc<rustls::ClientConfig>,
    ) -> (Arc<ResolvesServerCertAcme>, tokio::task::JoinHandle<()>) {
        let mut state = AcmeConfig::new_with_client_config(domains, client.clone())
            .contact(&self.settings.contacts)
            .directory(&self.settings.directory)
            .challenge_type(UseChallenge::Http01)
            .cache(self.cache.clone())
            .state();
        let resolver = state.resolver();
        let names = domains.join(",");
        let task = tokio::spawn(async move {
            while let Some(event) = state.next().await {
                match event {
                    Ok(ok) => tracing::info!("ACME [{names}]: {ok:?}"),
                    Err(e) => tracing::warn!("ACME [{names}]: {e}"),
                }
            }
        });
        (resolver, task)
    }
}

#[async_trait]
impl BackgroundService for AcmeService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let client = match self.client_config() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("ACME disabled: {e}");
                return;
            }
        };
        let mut running: HashMap<
            Vec<String>,
            (Arc<ResolvesServerCertAcme>, tokio::task::JoinHandle<()>),
        > = HashMap::new();
        let mut generation = u64::MAX;
        loop {
            let now = self.table.load().generation;
            if now != generation {
                generation = now;
                let wanted = self.wanted();
                running.retain(|domains, (_, task)| {
                    let keep = wanted.contains(domains);
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for domains in wanted {
                    if let std::collections::hash_map::Entry::Vacant(slot) = running.entry(domains)
                    {
                        tracing::info!("ACME: certificate wanted for {}", slot.key().join(", "));
                        let started = self.start(slot.key(), &client);
                        slot.insert(started);
                    }
                }
                let mut by_host = HashMap::new();
                for (domains, (resolver, _)) in &running {
                    for d in domains {
                        by_host.insert(d.clone(), resolver.clone());
                    }
                }
                self.registry.by_host.store(Arc::new(by_host));
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        for (_, (_, task)) in running {
            task.abort();
        }
    }
}

/// Where ACME accounts and certificates are kept: the control plane's store (shared by every
/// gateway of the group), with a copy in the gateway's data directory.
#[derive(Clone)]
pub struct AcmeCache {
    pub local: PathBuf,
    pub control_plane: Option<ControlPlane>,
    client: reqwest::Client,
}

impl AcmeCache {
    pub fn new(local: PathBuf, control_plane: Option<ControlPlane>) -> Self {
        Self {
            local,
            control_plane,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// The store's name for an item: kind and a digest of what identifies it.
    fn name(kind: &str, parts: &[String], directory: &str) -> String {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0]);
        }
        h.update(directory.as_bytes());
        format!("{kind}-{}", hex::encode(h.finalize()))
    }

    async fn load(&self, name: &str) -> Result<Option<Vec<u8>>, std::io::Error> {
        if let Some(cp) = &self.control_plane {
            let url = format!("{}/internal/v1/acme/{name}", cp.url.trim_end_matches('/'));
            match self.client.get(&url).bearer_auth(&cp.token).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {}
                Ok(r) if r.status().is_success() => match r.bytes().await {
                    Ok(b) => {
                        self.save_local(name, &b).await;
                        return Ok(Some(b.to_vec()));
                    }
                    Err(e) => tracing::warn!("ACME store: reading {name}: {e}"),
                },
                Ok(r) => {
                    tracing::warn!("ACME store: {name}: control plane answered {}", r.status())
                }
                Err(e) => tracing::warn!("ACME store: {name}: {e}; using the local copy"),
            }
        }
        match tokio::fs::read(self.local.join(name)).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn store(&self, name: &str, value: &[u8]) -> Result<(), std::io::Error> {
        self.save_local(name, value).await;
        if let Some(cp) = &self.control_plane {
            let url = format!("{}/internal/v1/acme/{name}", cp.url.trim_end_matches('/'));
            let r = self
                .client
                .put(&url)
                .bearer_auth(&cp.token)
                .body(value.to_vec())
                .send()
                .await
                .map_err(std::io::Error::other)?;
            if !r.status().is_success() {
                return Err(std::io::Error::other(format!(
                    "control plane answered {} storing {name}",
                    r.status()
                )));
            }
        }
        Ok(())
    }

    async fn save_local(&self, name: &str, value: &[u8]) {
        let dir = self.local.clone();
        let path = dir.join(name);
        let value = value.to_vec();
        let written = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            sitegroup_contract::store::write_atomic(&dir, &path, &value)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        })
        .await;
        if let Ok(Err(e)) | Err(e) = written.map_err(std::io::Error::other) {
            tracing::warn!("ACME store: local copy of {name}: {e}");
        }
    }
}

#[async_trait]
impl CertCache for AcmeCache {
    type EC = std::io::Error;
    async fn load_cert(
        &self,
        domains: &[String],
        directory_url: &str,
    ) -> Result<Option<Vec<u8>>, Self::EC> {
        self.load(&Self::name("cert", domains, directory_url)).await
    }
    async fn store_cert(
        &self,
        domains: &[String],
        directory_url: &str,
        cert: &[u8],
    ) -> Result<(), Self::EC> {
        self.store(&Self::name("cert", domains, directory_url), cert)
            .await
    }
}

#[async_trait]
impl AccountCache for AcmeCache {
    type EA = std::io::Error;
    async fn load_account(
        &self,
        contact: &[String],
        directory_url: &str,
    ) -> Result<Option<Vec<u8>>, Self::EA> {
        self.load(&Self::name("account", contact, directory_url))
            .await
    }
    async fn store_account(
        &self,
        contact: &[String],
        directory_url: &str,
        account: &[u8],
    ) -> Result<(), Self::EA> {
        self.store(&Self::name("account", contact, directory_url), account)
            .await
    }
}
