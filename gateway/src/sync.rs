//! Keeping the gateway's configuration in step with the control plane.
//!
//! [`ConfigSync`] runs as a pingora background service. Every poll interval it asks the control
//! plane for the current snapshot (`GET /internal/v1/config`, bearer token, `If-None-Match` with
//! the generation it has). A new snapshot is applied only when it
//!
//! 1. parses (unknown fields are refused) and passes [`ConfigSnapshot::validate`],
//! 2. has every published object it names present in the local store (missing ones are fetched
//!    from `GET /internal/v1/objects/{sha256}` and verified), and
//! 3. has been written to `gateway/last-good.json` atomically,
//!
//! and then it replaces the routing table in one atomic pointer swap: requests in flight keep the
//! table they started with, no connection is dropped. When the control plane is unreachable the
//! gateway keeps serving what it has, and at start it loads `last-good.json` before the first
//! poll, so it serves even if the control plane never comes back.
//!
//! The same loop ships queued security events to `POST /internal/v1/events`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use sitegroup_contract::config::ConfigSnapshot;
use sitegroup_contract::log::{AccessBatch, AccessLine, AccessRecord, EventBatch, SecurityEvent};
use sitegroup_contract::store::{self, ObjectStore};

use crate::routing::RoutingTable;

/// Where and how to reach the control plane.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    /// Base URL, e.g. `http://127.0.0.1:8081`.
    pub url: String,
    /// The shared secret sent as `Authorization: Bearer …`.
    pub token: String,
}

/// Why a poll did not change the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("control plane unreachable: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("control plane answered {0}")]
    Status(reqwest::StatusCode),
    #[error("snapshot is not valid JSON for this contract: {0}")]
    Parse(#[from] serde_json::Error),
    #[error(transparent)]
    Invalid(#[from] sitegroup_contract::config::InvalidSnapshot),
    #[error("snapshot rejected: {0}")]
    Policy(String),
    #[error("object {0} fetched from the control plane does not match its hash")]
    BadObject(String),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct ConfigSync {
    client: reqwest::Client,
    control_plane: ControlPlane,
    table: Arc<ArcSwap<RoutingTable>>,
    store: ObjectStore,
    last_good: PathBuf,
    interval: Duration,
    /// The security and access logs, shipped to the control plane.
    spools: Vec<Spool>,
    /// The writer of those logs, flushed before the last delivery at shutdown.
    log_sink: Option<crate::logs::LogSink>,
}

/// Loads the last good snapshot written by an earlier run, if any. A file that does not parse or
/// validate is ignored with an error in the log (the gateway then starts empty).
pub fn load_last_good(path: &std::path::Path) -> Option<ConfigSnapshot> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::error!("reading {}: {e}", path.display());
            return None;
        }
    };
    match serde_json::from_slice::<ConfigSnapshot>(&bytes) {
        Ok(snapshot) => match snapshot.validate() {
            Ok(()) => Some(snapshot),
            Err(e) => {
                tracing::error!("ignoring {}: {e}", path.display());
                None
            }
        },
        Err(e) => {
            tracing::error!("ignoring {}: {e}", path.display());
            None
        }
    }
}

impl ConfigSync {
    pub fn new(
        control_plane: ControlPlane,
        table: Arc<ArcSwap<RoutingTable>>,
        store: ObjectStore,
        last_good: PathBuf,
        interval: Duration,
        logs: PathBuf,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("sitegroup-gateway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ConfigSync {
            client,
            control_plane,
            table,
            store,
            last_good,
            interval,
            spools: vec![
                Spool::new(SpoolKind::Security, logs.join("security.log")),
                Spool::new(SpoolKind::Access, logs.join("access.log")),
            ],
            log_sink: None,
        })
    }

    /// Flushes `sink` at shutdown, before the last delivery.
    pub fn with_log_sink(mut self, sink: crate::logs::LogSink) -> Self {
        self.log_sink = Some(sink);
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.control_plane.url.trim_end_matches('/'), path)
    }

    /// One poll. Returns the generation now in force when it changed.
    pub async fn poll_once(&self) -> Result<Option<u64>, SyncError> {
        let current = self.table.load().generation;
        let response = self
            .client
            .get(self.url("/internal/v1/config"))
            .bearer_auth(&self.control_plane.token)
            .header(http::header::IF_NONE_MATCH, format!("\"{current}\""))
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(SyncError::Status(response.status()));
        }
        let body = response.bytes().await?;
        let snapshot: ConfigSnapshot = serde_json::from_slice(&body)?;
        snapshot.validate()?;
        if snapshot.generation == current && current != 0 {
            return Ok(None);
        }
        // Compile before anything is written: a policy that does not compile leaves the
        // running configuration (and the last good copy) untouched.
        let table = RoutingTable::compile(&snapshot).map_err(SyncError::Policy)?;
        self.fetch_missing_objects(&snapshot).await?;
        let dir = self
            .last_good
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        store::write_atomic(&dir, &self.last_good, &body).map_err(|source| SyncError::Io {
            path: self.last_good.clone(),
            source,
        })?;
        self.table.store(Arc::new(table));
        Ok(Some(snapshot.generation))
    }

    async fn fetch_missing_objects(&self, snapshot: &ConfigSnapshot) -> Result<(), SyncError> {
        for site in &snapshot.sites {
            for file in site.manifest.values() {
                if self.store.contains(&file.sha256) {
                    continue;
                }
                let response = self
                    .client
                    .get(self.url(&format!("/internal/v1/objects/{}", file.sha256)))
                    .bearer_auth(&self.control_plane.token)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err(SyncError::Status(response.status()));
                }
                let bytes = response.bytes().await?;
                if store::sha256_hex(&bytes) != file.sha256 {
                    return Err(SyncError::BadObject(file.sha256.clone()));
                }
                self.store
                    .put_with_hash(&file.sha256, &bytes)
                    .map_err(|source| SyncError::Io {
                        path: self.store.path_for(&file.sha256),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Delivers the security log and the access log from where the last delivery of each
    /// ended, in batches; each offset is saved after an acknowledged batch, so nothing is lost
    /// while the control plane is down or either side restarts. (A batch may be sent twice
    /// after a crash, never skipped; access lines carry their offsets and are stored once.)
    async fn ship_logs(&self) {
        for spool in &self.spools {
            self.ship(spool).await;
        }
    }

    async fn ship(&self, spool: &Spool) {
        loop {
            let offset = spool.shipped_offset();
            let (next, delivered) = match spool.kind {
                SpoolKind::Security => {
                    let (lines, next) = match read_spool::<SecurityEvent>(&spool.log, offset) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!("reading {}: {e}", spool.log.display());
                            return;
                        }
                    };
                    let batch = EventBatch {
                        events: lines.into_iter().map(|(_, e)| e).collect(),
                    };
                    let empty = batch.events.is_empty();
                    (
                        next,
                        self.deliver("/internal/v1/events", &batch, empty).await,
                    )
                }
                SpoolKind::Access => {
                    let (lines, next) = match read_spool::<AccessRecord>(&spool.log, offset) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!("reading {}: {e}", spool.log.display());
                            return;
                        }
                    };
                    let batch = AccessBatch {
                        spool: spool.id(),
                        lines: lines
                            .into_iter()
                            .map(|(offset, record)| AccessLine { offset, record })
                            .collect(),
                    };
                    let empty = batch.lines.is_empty();
                    (
                        next,
                        self.deliver("/internal/v1/access", &batch, empty).await,
                    )
                }
            };
            if next == offset || !delivered {
                return;
            }
            let dir = spool
                .shipped
                .parent()
                .map(PathBuf::from)
                .unwrap_or_default();
            if let Err(e) = store::write_atomic(&dir, &spool.shipped, next.to_string().as_bytes()) {
                tracing::warn!("saving {}: {e}", spool.shipped.display());
                return;
            }
        }
    }

    /// Posts one batch; true when the control plane took it (or there was nothing to send).
    async fn deliver<T: serde::Serialize + Sync>(
        &self,
        path: &'static str,
        batch: &T,
        empty: bool,
    ) -> bool {
        if empty {
            return true;
        }
        let result = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.control_plane.token)
            .json(batch)
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                tracing::warn!("log intake {path} answered {}; will retry", r.status());
                false
            }
            Err(e) => {
                tracing::debug!("log intake unreachable: {e}; will retry");
                false
            }
        }
    }
}

/// What a spool holds.
#[derive(Debug, Clone, Copy)]
enum SpoolKind {
    Security,
    Access,
}

/// A log file that doubles as the shipping spool, and the file holding how far it has been
/// delivered (a byte offset).
#[derive(Debug)]
struct Spool {
    kind: SpoolKind,
    log: PathBuf,
    shipped: PathBuf,
}

impl Spool {
    fn new(kind: SpoolKind, log: PathBuf) -> Self {
        Spool {
            kind,
            shipped: log.with_extension("log.shipped"),
            log,
        }
    }

    fn shipped_offset(&self) -> u64 {
        let saved = std::fs::read_to_string(&self.shipped)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        // A log that was truncated or rotated starts over.
        let len = std::fs::metadata(&self.log).map_or(0, |m| m.len());
        if saved > len { 0 } else { saved }
    }

    /// The file's identity (its inode): a replaced file is a new spool whose offsets start
    /// again at 0.
    fn id(&self) -> String {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.log).map_or_else(|_| "0".into(), |m| m.ino().to_string())
    }
}

/// Reads up to [`SHIP_BATCH`] complete lines of a spool from `offset`: the records that parse,
/// each with its own offset (a damaged line is skipped, with a warning), and the offset after
/// the last line read.
fn read_spool<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    offset: u64,
) -> std::io::Result<(Vec<(u64, T)>, u64)> {
    use std::io::{BufRead, Seek, SeekFrom};
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => return Err(e),
    };
    let mut reader = std::io::BufReader::new(file);
    reader.seek(SeekFrom::Start(offset))?;
    let mut records = Vec::new();
    let mut next = offset;
    let mut line = Vec::new();
    let mut lines = 0;
    while lines < SHIP_BATCH {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break; // end, or a line still being written
        }
        let at = next;
        next += n as u64;
        lines += 1;
        match serde_json::from_slice::<T>(&line) {
            Ok(r) => records.push((at, r)),
            Err(e) => tracing::warn!("skipping a damaged line of {}: {e}", path.display()),
        }
    }
    Ok((records, next))
}

/// Lines per intake request (keeps each request well under the intake's body limit).
pub const SHIP_BATCH: usize = 500;

#[async_trait]
impl BackgroundService for ConfigSync {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut failing = false;
        loop {
            match self.poll_once().await {
                Ok(Some(generation)) => {
                    tracing::info!("configuration generation {generation} applied");
                    failing = false;
                }
                Ok(None) => failing = false,
                Err(e) => {
                    // Log the first failure loudly and the rest quietly, until it recovers.
                    if failing {
                        tracing::debug!("configuration poll failed: {e}");
                    } else {
                        tracing::warn!(
                            "configuration poll failed, serving generation {}: {e}",
                            self.table.load().generation
                        );
                    }
                    failing = true;
                }
            }
            self.ship_logs().await;
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
        // Last chance to deliver what is spooled (the rest goes at the next start).
        if let Some(sink) = &self.log_sink {
            sink.flush();
        }
        self.ship_logs().await;
    }
}
