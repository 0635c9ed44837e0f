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

pub mod conn;
pub mod health;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod objects;
pub mod pages;
pub mod proxy;
pub mod routing;
pub mod shared_limits;
pub mod sync;
pub mod tls;
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
    /// HTTPS listeners (TLS 1.2 and 1.3, rustls, HTTP/2 by ALPN); certificates by SNI.
    pub https_listen: Vec<TlsListen>,
    /// The ACME CA for sites that want automatic certificates; none: ACME off.
    pub acme: Option<tls::acme::AcmeSettings>,
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
    /// Header deadline, keep-alive and connections per address.
    pub connections: conn::ConnectionSettings,
    /// Write the access log (off only to measure its cost).
    pub access_log: bool,
    /// Redis through which the group's gateways share rate-limit counts; none: per gateway.
    pub redis_url: Option<String>,
}

/// An HTTPS listen address, optionally with a certificate chain and private key (PEM files)
/// used for every name no uploaded or ACME certificate covers.
#[derive(Debug, Clone)]
pub struct TlsListen {
    pub addr: String,
    pub cert: Option<(PathBuf, PathBuf)>,
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
    let logs = logs::LogSink::start(&opts.data_dir.join("logs"), opts.access_log)
        .with_context(|| format!("opening logs under {}", opts.data_dir.display()))?;

    let metrics = metrics::Metrics::new();
    let acme_registry = tls::acme::Registry::default();
    let shared_counts = opts
        .redis_url
        .as_ref()
        .map(|_| Arc::new(shared_limits::SharedCounts::default()));
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
        objects: Arc::new(objects::VerifiedObjects::new(
            store.clone(),
            objects::DEFAULT_BUDGET,
        )),
        logs: logs.clone(),
        node: opts.node.clone(),
        waf: opts.waf.clone(),
        limits: match &shared_counts {
            Some(counts) => limits::RateLimiters::shared(counts.clone()),
            None => limits::RateLimiters::default(),
        },
        keepalive_secs: opts.connections.keepalive.as_secs().max(1),
        metrics: metrics.clone(),
        acme: acme_registry.clone(),
        https_port: opts
            .https_listen
            .first()
            .and_then(|t| t.addr.rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok()),
        trusted_proxies: limits::TrustedProxies::parse(&opts.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
    };
    let mut http = pingora::proxy::http_proxy(&server.configuration, gateway);
    let mut server_options = pingora::apps::HttpServerOptions::default();
    // HTTP/2 over plain connections (h2c, prior knowledge); HTTPS offers h2 through ALPN.
    server_options.h2c = true;
    server_options.h2_idle_timeout = Some(opts.connections.keepalive);
    http.server_options = Some(server_options);
    let mut proxy = pingora::services::listening::Service::new(
        "sitegroup gateway".to_string(),
        conn::Connections {
            app: Arc::new(http),
            header_deadline: opts.connections.header_deadline,
            limit: conn::ConnectionLimit::new(opts.connections.max_per_ip),
            metrics: metrics.clone(),
            logs: logs.clone(),
            node: opts.node.clone(),
        },
    );
    for addr in &opts.http_listen {
        proxy.add_tcp(addr);
    }
    if !opts.https_listen.is_empty() {
        let dev_ca = tls::devca::DevCa::open(&opts.data_dir.join("tls"))
            .context("development CA for *.localhost")?;
        for t in &opts.https_listen {
            let default = match &t.cert {
                Some((cert, key)) => Some(tls::load_files(cert, key)?.key),
                None => None,
            };
            let resolver = Arc::new(tls::Certificates {
                table: table.clone(),
                acme: acme_registry.clone(),
                default,
                dev_ca: Some(dev_ca.clone()),
            });
            let mut settings = pingora::listeners::tls::TlsSettings::intermediate("", "")
                .map_err(|e| anyhow::anyhow!("HTTPS listener {}: {e}", t.addr))?;
            settings.set_cert_resolver(resolver);
            settings.enable_h2();
            proxy.add_tls_with_settings(&t.addr, None, settings);
        }
    }
    server.add_service(proxy);
    if let Some(settings) = &opts.acme {
        server.add_service(background_service(
            "ACME certificates",
            tls::acme::AcmeService {
                settings: settings.clone(),
                table: table.clone(),
                registry: acme_registry,
                cache: tls::acme::AcmeCache::new(
                    opts.data_dir.join("tls").join("acme"),
                    Some(opts.control_plane.clone()),
                ),
            },
        ));
    }

    let health = health::HealthCheck {
        table: table.clone(),
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
        metrics: metrics.clone(),
    };
    let sync = ConfigSync::new(
        opts.control_plane.clone(),
        table,
        store,
        last_good,
        opts.poll_interval,
        opts.data_dir.join("logs"),
    )?
    .with_log_sink(logs.clone());
    server.add_service(background_service("config sync", sync));
    server.add_service(background_service("upstream health checks", health));
    if let (Some(url), Some(counts)) = (&opts.redis_url, shared_counts) {
        server.add_service(background_service(
            "shared rate limits",
            shared_limits::SharedLimitsSync {
                url: url.clone(),
                counts,
                logs,
                node: opts.node.clone(),
            },
        ));
    }
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
