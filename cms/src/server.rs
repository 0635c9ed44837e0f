//! Running the control plane: first-start preparation, and the CMS as a pingora background
//! service so that `serve` runs control plane and gateway under one process lifecycle.

use std::net::TcpListener as StdTcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use sitegroup_contract::store::ObjectStore;
use tokio::sync::Mutex;

use crate::db;
use crate::db::entities::{site, site_hostname};
use crate::seed;
use crate::state::{AdminRoute, AppState, SharedState};
use crate::theme::Themes;

/// What the control plane needs to run.
#[derive(Debug, Clone)]
pub struct CmsOptions {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub gateway_token: String,
    pub admin: AdminRoute,
    /// Where detection probes the sites through a gateway when its settings name none
    /// (`serve`: this process's gateway), e.g. `http://127.0.0.1:80`; empty for none.
    pub probe_via: String,
}

impl CmsOptions {
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }
}

pub async fn build_state(opts: &CmsOptions, db: DatabaseConnection) -> anyhow::Result<SharedState> {
    Ok(Arc::new(AppState {
        store: ObjectStore::new(opts.store_dir()),
        data_dir: opts.data_dir.clone(),
        gateway_token: opts.gateway_token.clone(),
        admin: opts.admin.clone(),
        themes: Themes::load(Some(&opts.data_dir.join("themes")))
            .context("loading the built-in themes")?,
        admin_ui: crate::web::admin_templates().context("loading admin templates")?,
        snapshot_cache: Mutex::new(None),
        publish_lock: Mutex::new(()),
        render_cache: std::sync::Mutex::new(std::collections::HashMap::new()),
        search: crate::search::SearchService::open(&opts.data_dir, db.clone(), false),
        secrets: crate::secrets::Secrets::open(&opts.data_dir).context("opening the keyring")?,
        policy: std::sync::RwLock::new(crate::auth::policy::load(&db).await?),
        monitor_wake: tokio::sync::watch::channel(0).0,
        default_probe_via: opts.probe_via.clone(),
        db,
    }))
}

/// What a newcomer should be told after start-up.
pub struct Banner {
    /// (site name, hostnames)
    pub sites: Vec<(String, Vec<String>)>,
    /// Set on first start only: the three platform administrators (role label, username,
    /// one-time password).
    pub first_admins: Vec<(&'static str, String, String)>,
}

/// Connects, migrates and, on first start, seeds the demo group and publishes it. Runs before
/// any listener opens, so a bad database URL stops the program with a clear error.
pub async fn prepare(opts: &CmsOptions) -> anyhow::Result<Banner> {
    let db = db::connect(&opts.database_url)
        .await
        .with_context(|| format!("opening database {}", redact(&opts.database_url)))?;
    let state = build_state(opts, db.clone()).await?;
    let mut first_admins = Vec::new();
    if seed::is_empty(&db).await? {
        let seeded = seed::seed(&db)
            .await
            .context("seeding the demo site group")?;
        for id in &seeded.site_ids {
            crate::publish::publish_site(&state, *id)
                .await
                .map_err(|e| anyhow::anyhow!("publishing demo site {id}: {e}"))?;
        }
        let keyring = state.secrets.get();
        for (label, username, _) in &seeded.admins {
            crate::audit::append(
                &db,
                &keyring,
                &crate::audit::Who::system(),
                crate::audit::Entry::new(
                    crate::audit::Event::AdminCreate,
                    format!("user:{username}"),
                )
                .details(serde_json::json!({ "role": label, "bootstrap": true })),
            )
            .await?;
        }
        first_admins = seeded.admins;
    }
    let mut sites = Vec::new();
    let hostnames = site_hostname::Entity::find()
        .order_by_asc(site_hostname::Column::Id)
        .all(&db)
        .await?;
    for s in site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&db)
        .await?
    {
        let hosts = hostnames
            .iter()
            .filter(|h| h.site_id == s.id)
            .map(|h| h.hostname.clone())
            .collect();
        sites.push((s.name, hosts));
    }
    // The server opens the index again: let this copy finish its work and let go of it.
    state.search.close().await;
    drop(state);
    db.close().await?;
    Ok(Banner {
        sites,
        first_admins,
    })
}

/// Hides the password of a database URL in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The CMS (admin UI + internal API) as a pingora background service.
pub struct CmsService {
    opts: CmsOptions,
    listener: std::sync::Mutex<Option<StdTcpListener>>,
}

impl CmsService {
    /// `listener` is bound beforehand so that a port conflict is reported before start-up.
    pub fn new(opts: CmsOptions, listener: StdTcpListener) -> Self {
        CmsService {
            opts,
            listener: std::sync::Mutex::new(Some(listener)),
        }
    }

    async fn run(&self, mut shutdown: ShutdownWatch) -> anyhow::Result<()> {
        let listener = self
            .listener
            .lock()
            .map_err(|_| anyhow::anyhow!("listener lock poisoned"))?
            .take()
            .context("CMS service started twice")?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let db = db::connect(&self.opts.database_url).await?;
        let state = build_state(&self.opts, db.clone()).await?;
        tracing::info!("control plane listening on {}", listener.local_addr()?);
        let schedules = tokio::spawn(run_schedules(state.clone()));
        let retention = tokio::spawn(run_audit_retention(state.clone()));
        let detection = crate::monitor::spawn(state.clone());
        let state_for_close = state.clone();
        axum::serve(
            listener,
            crate::web::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        })
        .await?;
        schedules.abort();
        retention.abort();
        for task in detection {
            task.abort();
        }
        state_for_close.search.close().await;
        db.close().await?;
        Ok(())
    }
}

/// Scheduled publication and withdrawal, every 30 seconds. A failed round is logged and tried
/// again at the next tick (the items stay due).
async fn run_schedules(state: SharedState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::service::content::run_schedules(&state, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(items = n, "scheduled publication and withdrawal applied"),
            Err(e) => tracing::error!("scheduled publication failed: {e}"),
        }
    }
}

/// Audit retention, once a day (and shortly after start): records older than the policy's
/// retention are archived to `<data dir>/audit-archive/` (signed) and removed. A chain that does
/// not verify is never archived: the failure is logged, nothing is removed, and the next day's
/// run tries again.
async fn run_audit_retention(state: SharedState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let days = i64::from(state.policy().audit_retention_days);
        let dir = state.data_dir.join("audit-archive");
        match crate::audit::archive(
            &state.db,
            &state.secrets.get(),
            &crate::audit::Who::system(),
            days,
            &dir,
        )
        .await
        {
            Ok(Some((path, n))) => {
                tracing::info!(records = n, file = %path.display(), "audit records archived")
            }
            Ok(None) => {}
            Err(e) => tracing::error!("audit archival failed: {e:#}"),
        }
    }
}

#[async_trait]
impl BackgroundService for CmsService {
    async fn start(&self, shutdown: ShutdownWatch) {
        if let Err(e) = self.run(shutdown).await {
            tracing::error!("control plane stopped: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/sg"),
            "postgres://app:***@db:5432/sg"
        );
        assert_eq!(redact("postgres://app@db/sg"), "postgres://app@db/sg");
        assert_eq!(
            redact("sqlite:///tmp/x.db?mode=rwc"),
            "sqlite:///tmp/x.db?mode=rwc"
        );
    }
}
