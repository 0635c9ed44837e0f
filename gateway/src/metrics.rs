//! Prometheus metrics on their own listener (`--metrics-listen`): requests by site and status,
//! latency, WAF blocks, rate-limited requests, upstream health, TLS connections by version,
//! the configuration generation in force.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The gateway's metrics, in their own registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    security: IntCounterVec,
    upstream_up: prometheus::IntGaugeVec,
    tls: IntCounterVec,
    pub generation: IntGauge,
}

impl Metrics {
    // Metric names and label sets are fixed here and valid; registration cannot fail.
    #[allow(clippy::expect_used)]
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sitegroup_requests_total",
                "Requests answered, by site and status",
            ),
            &["site", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "sitegroup_request_duration_seconds",
                "Time from request to the end of the response, by site",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["site"],
        )
        .expect("valid metric");
        let security = IntCounterVec::new(
            Opts::new(
                "sitegroup_security_events_total",
                "Security events (WAF blocks, rate limits, refused addresses, integrity failures), by site and kind",
            ),
            &["site", "kind"],
        )
        .expect("valid metric");
        let upstream_up = prometheus::IntGaugeVec::new(
            Opts::new(
                "sitegroup_upstream_up",
                "Result of the last active health check of a proxied upstream (1 up, 0 down)",
            ),
            &["site", "upstream"],
        )
        .expect("valid metric");
        let tls = IntCounterVec::new(
            Opts::new(
                "sitegroup_tls_connections_total",
                "Connections accepted after a completed TLS handshake, by protocol version",
            ),
            &["version"],
        )
        .expect("valid metric");
        let generation = IntGauge::new(
            "sitegroup_config_generation",
            "Generation of the configuration snapshot in force",
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(security.clone()),
            Box::new(upstream_up.clone()),
            Box::new(tls.clone()),
            Box::new(generation.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            security,
            upstream_up,
            tls,
            generation,
        })
    }

    pub fn request(&self, site: Option<i64>, status: u16, took: Duration) {
        let site = site.map_or_else(|| "none".to_string(), |s| s.to_string());
        self.requests
            .with_label_values(&[site.as_str(), &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[site.as_str()])
            .observe(took.as_secs_f64());
    }

    pub fn security(&self, site: Option<i64>, kind: &str) {
        let site = site.map_or_else(|| "none".to_string(), |s| s.to_string());
        self.security
            .with_label_values(&[site.as_str(), kind])
            .inc();
    }

    pub fn upstream(&self, site: i64, upstream: &str, up: bool) {
        self.upstream_up
            .with_label_values(&[site.to_string().as_str(), upstream])
            .set(i64::from(up));
    }

    pub fn tls_connection(&self, version: &str) {
        self.tls.with_label_values(&[version]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            out.clear();
        }
        out
    }
}

/// `GET /metrics` on the metrics listener.
pub struct MetricsApp(pub Arc<Metrics>);

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let (status, body, ct) = if session.req_header().uri.path() == "/metrics" {
            (200, self.0.render(), "text/plain; version=0.0.4")
        } else {
            (404, b"not found\n".to_vec(), "text/plain")
        };
        Response::builder()
            .status(status)
            .header("content-type", ct)
            .header("content-length", body.len())
            .body(body)
            .unwrap_or_default()
    }
}
