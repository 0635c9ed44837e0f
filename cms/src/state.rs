//! Shared state of the control plane.

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use sitegroup_contract::store::ObjectStore;
use tokio::sync::Mutex;

use crate::theme::Themes;

/// How the admin UI is reached through the gateway.
#[derive(Debug, Clone)]
pub struct AdminRoute {
    /// Hostnames the gateway sends to the admin UI (default `admin.localhost`).
    pub hosts: Vec<String>,
    /// Address the gateway proxies admin requests to (the CMS listener).
    pub upstream: String,
    /// Networks the admin UI is reachable from through the gateway (empty: anywhere).
    pub networks: Vec<String>,
    /// Plain-HTTP requests to the admin UI are redirected to HTTPS.
    pub https_only: bool,
}

pub struct AppState {
    pub db: DatabaseConnection,
    pub store: ObjectStore,
    pub data_dir: PathBuf,
    /// Shared secret of the internal API (gateways present it as a bearer token).
    pub gateway_token: String,
    pub admin: AdminRoute,
    /// Installed public site themes (built-in and from `<data dir>/themes/`).
    pub themes: Themes,
    pub admin_ui: minijinja::Environment<'static>,
    /// Serialized snapshot of the last generation built: (generation, JSON).
    pub snapshot_cache: Mutex<Option<(i64, Arc<Vec<u8>>)>>,
    /// Publishing one site at a time keeps manifests consistent.
    pub publish_lock: Mutex<()>,
    /// Article pages of the last publishes: a page whose inputs are unchanged is not rendered
    /// again.
    pub render_cache: std::sync::Mutex<RenderCache>,
    /// The full-text index of every item (public and staff views).
    pub search: crate::search::SearchService,
    /// The keyring (outside the database): sealed secrets, audit MACs, archive signatures.
    pub secrets: crate::secrets::Secrets,
    /// The security policy, read at start and replaced when the 安全管理员 saves it.
    pub policy: std::sync::RwLock<crate::auth::policy::SecurityPolicy>,
    /// Bumped when the detection settings change: each detection loop starts its next round
    /// (a change made while a round runs is not lost).
    pub monitor_wake: tokio::sync::watch::Sender<u64>,
    /// See `CmsOptions::probe_via`.
    pub default_probe_via: String,
}

impl AppState {
    pub fn policy(&self) -> crate::auth::policy::SecurityPolicy {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Appends an audit record in its own transaction.
    pub async fn audit(
        &self,
        who: &crate::audit::Who,
        entry: crate::audit::Entry,
    ) -> Result<i64, sea_orm::DbErr> {
        crate::audit::append(&self.db, &self.secrets.get(), who, entry).await
    }

    /// Appends an audit record inside the caller's transaction.
    pub async fn audit_in(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        who: &crate::audit::Who,
        entry: crate::audit::Entry,
    ) -> Result<i64, sea_orm::DbErr> {
        crate::audit::append_in(txn, &self.secrets.get(), who, entry).await
    }
}

pub type SharedState = Arc<AppState>;

/// (site, path) → (fingerprint of the page's inputs, object hash).
pub type RenderCache = std::collections::HashMap<(i32, String), ([u8; 32], String)>;
