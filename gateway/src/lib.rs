//! The sitegroup data plane: one pingora gateway in front of every site of the group.
//!
//! * [`routing`]: the configuration snapshot compiled into a routing table (host → site,
//!   path → route, published manifest).
//! * [`proxy`]: the `ProxyHttp` implementation (serving published pages with an integrity
//!   check, proxying legacy sites and the admin UI, access logs).
//! * [`sync`]: pulling snapshots from the control plane, last-good copy on disk.
//! * [`logs`]: access and security logs.
//!
//! The gateway never reads the control plane's database: everything it knows arrives as a
//! [`sitegroup_contract::config::ConfigSnapshot`] and as objects in the content-addressed store.

pub mod health;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod pages;
pub mod proxy;
pub mod routing;
pub mod sync;
pub mod waf;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use pingora::services::background::background_service;
use sitegroup_contract::config::ConfigSnapshot;
use sitegroup_contract::store::ObjectStore;

use crate::routing::RoutingTable;
use crate::sync::{ConfigSync, ControlPlane};

/// Everything needed to run a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Plain-HTTP listen addresses (`127.0.0.1:8080`, `[::]:80`).
    pub http_listen: Vec<String>,
    /// HTTPS listeners, each with its certificate (TLS 1.2 and 1.3, rustls).
    pub https_listen: Vec<TlsListen>,
    /// The gateway's own state: `gateway/last-good.json`, `logs/`.
    pub data_dir: PathBuf,
    /// The content-addressed store (shared with the control plane in `serve` mode).
    pub store_dir: PathBuf,
    pub control_plane: ControlPlane,
    pub poll_interval: Duration,
    /// Name of this node in logs and events.
    pub node: String,
    /// The WAF rule set every site is inspected with (per-site policy comes with the
    /// configuration snapshot).
    pub waf: sitegroup_waf::Engine,
    /// Where Prometheus metrics are served (`/metrics`); none: not served.
    pub metrics_listen: Option<String>,
    /// Proxies in front of the gateway whose `X-Forwarded-For` is believed (IPs or CIDR).
    pub trusted_proxies: Vec<String>,
}

/// An HTTPS listen address with its certificate chain and private key (PEM files).
#[derive(Debug, Clone)]
pub struct TlsListen {
    pub addr: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A pingora server configured for sitegroup: worker threads from the machine, short graceful
/// shutdown so that Ctrl-C and SIGTERM finish within a few seconds.
pub fn new_server() -> anyhow::Result<Server> {
    let conf = ServerConf {
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(2),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    Ok(server)
}

/// Adds the gateway's services (the HTTP proxy and the configuration sync) to `server`. Loads
/// the last good snapshot from disk first, so the gateway serves before it reaches the control
/// plane.
pub fn add_gateway(server: &mut Server, opts: &GatewayOptions) -> anyhow::Result<()> {
    let last_good = opts.data_dir.join("gateway").join("last-good.json");
    let initial = match sync::load_last_good(&last_good) {
        Some(snapshot) => {
            tracing::info!(
                "starting from last good configuration, generation {}",
                snapshot.generation
            );
            snapshot
        }
        None => ConfigSnapshot::empty(),
    };
    let compiled = RoutingTable::compile(&initial).or_else(|e| {
        tracing::warn!("last good configuration not usable ({e}); starting empty");
        RoutingTable::compile(&ConfigSnapshot::empty())
    });
    let table = Arc::new(ArcSwap::from_pointee(
        compiled.map_err(|e| anyhow::anyhow!("empty configuration: {e}"))?,
    ));
    let store = ObjectStore::new(&opts.store_dir);
    let logs = logs::LogSink::start(&opts.data_dir.join("logs"))
        .with_context(|| format!("opening logs under {}", opts.data_dir.display()))?;

    let metrics = metrics::Metrics::new();
    if let Some(addr) = &opts.metrics_listen {
        let mut svc = pingora::services::listening::Service::new(
            "metrics".to_string(),
            metrics::MetricsApp(metrics.clone()),
        );
        svc.add_tcp(addr);
        server.add_service(svc);
    }
    let gateway = proxy::Gateway {
        table: table.clone(),
        store: store.clone(),
        logs,
        node: opts.node.clone(),
        waf: opts.waf.clone(),
        limits: limits::RateLimiters::default(),
        metrics: metrics.clone(),
        trusted_proxies: limits::TrustedProxies::parse(&opts.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
    };
    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        gateway,
        "sitegroup gateway",
    );
    for addr in &opts.http_listen {
        proxy.add_tcp(addr);
    }
    for t in &opts.https_listen {
        let path = |p: &PathBuf| {
            p.to_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("TLS file path {} is not UTF-8", p.display()))
        };
        proxy
            .add_tls(&t.addr, &path(&t.cert)?, &path(&t.key)?)
            .map_err(|e| anyhow::anyhow!("HTTPS listener {}: {e}", t.addr))?;
    }
    server.add_service(proxy);

    let health = health::HealthCheck {
        table: table.clone(),
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
    };
    let sync = ConfigSync::new(
        opts.control_plane.clone(),
        table,
        store,
        last_good,
        opts.poll_interval,
        opts.data_dir.join("logs").join("security.log"),
    )?;
    server.add_service(background_service("config sync", sync));
    server.add_service(background_service("upstream health checks", health));
    Ok(())
}

/// SIGINT (Ctrl-C) and SIGTERM both shut down gracefully: listeners close, requests in flight
/// get the grace period, background services see the shutdown watch.
struct Signals;

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers; stop with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = int.recv() => tracing::info!("interrupt received, shutting down"),
        }
        ShutdownSignal::GracefulTerminate
    }
}

/// Runs `server` until SIGINT or SIGTERM, then returns after a graceful shutdown.
pub fn run(server: Server) {
    server.run(RunArgs {
        shutdown_signal: Box::new(Signals),
    });
}
