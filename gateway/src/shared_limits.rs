//! Rate limits shared by every gateway of the group through Redis.
//!
//! The request path never waits for Redis. Each gateway counts locally (the fast path,
//! [`crate::limits::RateLimiters`]) and also notes, per limit, client and window, how many
//! requests it saw. A background task pushes those increments to Redis every
//! [`SYNC_INTERVAL`] (`INCRBY` on a key per fixed window, which expires with it) and learns from
//! the replies how many the *other* gateways counted; a request is over the limit when the
//! local count plus the others' goes over it. So a client spreading its requests over several
//! gateways is limited as if it used one, give or take one sync interval.
//!
//! When Redis cannot be reached the limits stay in force per gateway (fail-open to local
//! counting, not to no limits), with one security event when that starts and a log line when
//! it ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use sitegroup_contract::log::{SecurityEvent, SecurityEventKind};

/// How often local counts are pushed and the others' pulled.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);

/// One counter: site, limit index, client address, window length, window number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    site: i64,
    limit: usize,
    client: String,
    window: u32,
    epoch: u64,
}

impl Key {
    fn redis(&self) -> String {
        format!(
            "sg:rl:{}:{}:{}:{}:{}",
            self.site, self.limit, self.window, self.epoch, self.client
        )
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Counts to push, and what the other gateways counted.
#[derive(Default)]
pub struct SharedCounts {
    pending: Mutex<HashMap<Key, i64>>,
    /// Per key: (this gateway's total pushed, the others' total).
    known: Mutex<HashMap<Key, (i64, i64)>>,
    available: AtomicBool,
}

impl SharedCounts {
    /// Notes one request and returns what the other gateways counted for it in this window.
    pub fn observe(&self, site: i64, limit: usize, client: &str, window: u32) -> i64 {
        let key = Key {
            site,
            limit,
            client: client.to_string(),
            window,
            epoch: now_secs() / u64::from(window.max(1)),
        };
        let others = {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            known.get(&key).map_or(0, |(_, others)| *others)
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        *pending.entry(key).or_insert(0) += 1;
        others
    }

    fn take_pending(&self) -> HashMap<Key, i64> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records Redis' totals after pushing `pushed`, and forgets windows that have ended.
    fn learn(&self, pushed: Vec<(Key, i64)>, totals: Vec<i64>) {
        let now = now_secs();
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        for ((key, delta), total) in pushed.into_iter().zip(totals) {
            let entry = known.entry(key).or_insert((0, 0));
            entry.0 += delta;
            entry.1 = (total - entry.0).max(0);
        }
        known.retain(|k, _| k.epoch + 1 >= now / u64::from(k.window.max(1)));
    }

    /// Keys whose others' counts are not refreshed by our own pushes (we saw no request in the
    /// last interval) are refreshed by reading them.
    fn stale_keys(&self, pushed: &HashMap<Key, i64>) -> Vec<Key> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .keys()
            .filter(|k| !pushed.contains_key(*k))
            .cloned()
            .collect()
    }

    fn refresh(&self, keys: Vec<Key>, totals: Vec<Option<i64>>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        for (key, total) in keys.into_iter().zip(totals) {
            if let Some(entry) = known.get_mut(&key) {
                entry.1 = (total.unwrap_or(0) - entry.0).max(0);
            }
        }
    }
}

/// The background task that talks to Redis.
pub struct SharedLimitsSync {
    pub url: String,
    pub counts: std::sync::Arc<SharedCounts>,
    pub logs: crate::logs::LogSink,
    pub node: String,
}

impl SharedLimitsSync {
    async fn round(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
    ) -> Result<(), redis::RedisError> {
        let pending = self.counts.take_pending();
        let stale = self.counts.stale_keys(&pending);
        if !pending.is_empty() {
            let mut pipe = redis::pipe();
            let pushed: Vec<(Key, i64)> = pending.into_iter().collect();
            for (key, delta) in &pushed {
                let k = key.redis();
                pipe.cmd("INCRBY").arg(&k).arg(*delta);
                pipe.cmd("EXPIRE")
                    .arg(&k)
                    .arg(u64::from(key.window) * 2)
                    .ignore();
            }
            match pipe.query_async::<Vec<i64>>(conn).await {
                Ok(totals) => self.counts.learn(pushed, totals),
                Err(e) => {
                    // Not counted in Redis: keep them for the next round.
                    let mut p = self
                        .counts
                        .pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    for (key, delta) in pushed {
                        *p.entry(key).or_insert(0) += delta;
                    }
                    return Err(e);
                }
            }
        }
        if !stale.is_empty() {
            let mut pipe = redis::pipe();
            for key in &stale {
                pipe.cmd("GET").arg(key.redis());
            }
            let totals: Vec<Option<i64>> = pipe.query_async(conn).await?;
            self.counts.refresh(stale, totals);
        }
        Ok(())
    }

    fn unavailable(&self, why: &str) {
        if self.counts.available.swap(false, Ordering::Relaxed) {
            self.logs.security(SecurityEvent {
                time: chrono::Utc::now().to_rfc3339(),
                kind: SecurityEventKind::SharedLimitsUnavailable,
                node: self.node.clone(),
                request_id: String::new(),
                site_id: None,
                host: String::new(),
                path: String::new(),
                client_ip: String::new(),
                detail: format!(
                    "Redis for shared rate limits unreachable ({why}); limits are counted per gateway until it returns"
                ),
            });
        }
    }
}

#[async_trait]
impl BackgroundService for SharedLimitsSync {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let client = match redis::Client::open(self.url.as_str()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("shared rate limits off: redis URL: {e}");
                return;
            }
        };
        // Start as "available" so that a Redis that is down from the start is reported.
        self.counts.available.store(true, Ordering::Relaxed);
        let mut conn = None;
        loop {
            if conn.is_none() {
                match tokio::time::timeout(
                    Duration::from_secs(2),
                    client.get_multiplexed_async_connection(),
                )
                .await
                {
                    Ok(Ok(c)) => conn = Some(c),
                    Ok(Err(e)) => self.unavailable(&e.to_string()),
                    Err(_) => self.unavailable("connect timed out"),
                }
            }
            if let Some(c) = conn.as_mut() {
                match tokio::time::timeout(Duration::from_secs(2), self.round(c)).await {
                    Ok(Ok(())) => {
                        if !self.counts.available.swap(true, Ordering::Relaxed) {
                            tracing::info!("shared rate limits: Redis is back");
                        }
                    }
                    Ok(Err(e)) => {
                        self.unavailable(&e.to_string());
                        conn = None;
                    }
                    Err(_) => {
                        self.unavailable("timed out");
                        conn = None;
                    }
                }
            } else {
                // Nothing reaches Redis: do not let the increments pile up.
                self.counts.take_pending();
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(SYNC_INTERVAL) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn others_are_what_redis_counted_minus_our_own() {
        let counts = SharedCounts::default();
        for _ in 0..3 {
            assert_eq!(counts.observe(1, 0, "192.0.2.1", 60), 0);
        }
        let pending = counts.take_pending();
        let pushed: Vec<(Key, i64)> = pending.into_iter().collect();
        assert_eq!(pushed[0].1, 3);
        // Redis says 10: the other gateways saw 7.
        counts.learn(pushed, vec![10]);
        assert_eq!(counts.observe(1, 0, "192.0.2.1", 60), 7);
        assert_eq!(counts.observe(1, 0, "192.0.2.2", 60), 0);
    }
}
