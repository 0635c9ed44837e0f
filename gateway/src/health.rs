//! Active health checks of proxied upstreams: every few seconds each upstream of the table in
//! force gets a TCP connection attempt; one that fails is taken out of rotation until a later
//! check succeeds. (Failed proxy connections also take an upstream out, see `proxy`.)

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::routing::{RouteTarget, RoutingTable};

pub struct HealthCheck {
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub interval: Duration,
    pub timeout: Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl HealthCheck {
    async fn check_all(&self) {
        let table = self.table.load_full();
        for site in table.sites() {
            for route in site.routes() {
                let RouteTarget::Proxy(pool) = &route.target else {
                    continue;
                };
                for addr in pool.addrs() {
                    let ok = matches!(
                        tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr))
                            .await,
                        Ok(Ok(_))
                    );
                    self.metrics.upstream(site.id, addr, ok);
                    if ok {
                        pool.mark_up(addr);
                    } else {
                        // Until the next check can say otherwise.
                        pool.mark_down(
                            addr,
                            u64::try_from((self.interval * 2).as_millis()).unwrap_or(u64::MAX),
                        );
                        tracing::debug!(
                            "upstream {addr} of site {} failed its health check",
                            site.id
                        );
                    }
                }
            }
        }
    }
}

#[async_trait]
impl BackgroundService for HealthCheck {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            self.check_all().await;
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}
