//! Rate limits shared by the group's gateways through Redis: a client spreading requests over
//! two gateways is limited as if it used one; with Redis unreachable each gateway still
//! enforces the limit alone, and says so with a security event.
//!
//! The two-gateway test needs a Redis: `SITEGROUP_TEST_REDIS_URL=redis://127.0.0.1:6379/`
//! (`.ci/run` sets it); the fail-open test needs none.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

const HOST: &str = "limits.test.localhost";

/// A legacy site whose `/limited` path allows 10 requests a minute per address. The site id is
/// random so that runs sharing one Redis do not count into each other.
fn limited_snapshot(origin_port: u16) -> (String, i64) {
    let id = 10_000 + i64::from(rand_u16());
    let mut snap: serde_json::Value =
        serde_json::from_str(&legacy_snapshot(HOST, origin_port, false, "reject")).unwrap();
    snap["sites"][0]["id"] = id.into();
    snap["sites"][0]["rate_limits"] =
        serde_json::json!([{"path_prefix": "/limited", "requests": 10, "per_seconds": 60}]);
    (snap.to_string(), id)
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (nanos % 50_000) as u16 + u16::try_from(std::process::id() % 10_000).unwrap()
}

fn statuses(port: u16, n: usize) -> Vec<u16> {
    let client = reqwest::blocking::Client::new();
    (0..n)
        .map(|i| {
            client
                .get(format!("http://127.0.0.1:{port}/limited?n={i}"))
                .header("host", HOST)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect()
}

#[test]
fn two_gateways_share_one_limit_through_redis() {
    let Ok(redis) = std::env::var("SITEGROUP_TEST_REDIS_URL") else {
        eprintln!("NOTICE: SITEGROUP_TEST_REDIS_URL not set; shared rate-limit test skipped");
        return;
    };
    if python3_missing("the shared rate-limit test") {
        return;
    }
    // Counts are kept per clock minute: start well inside one.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 45 {
        std::thread::sleep(Duration::from_secs(61 - second));
    }
    let (_origin, origin_port) = injectable_origin();
    let (snapshot, _) = limited_snapshot(origin_port);
    let cp = stand_in_control_plane(snapshot);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let extra = ["--redis-url", redis.as_str()];
    let (_ga, port_a) = gateway_with(a.path(), cp, HOST, "/item?id=1", &extra);
    let (_gb, port_b) = gateway_with(b.path(), cp, HOST, "/item?id=1", &extra);

    // Six through the first gateway: all under the limit.
    assert!(statuses(port_a, 6).iter().all(|&s| s != 429));
    std::thread::sleep(Duration::from_millis(1200)); // a few sync rounds
    // Then through the second: its first request of this client and window teaches it, at the
    // next sync, what the first gateway counted; alone it would allow ten, together the 11th
    // request overall is refused.
    let mut b = statuses(port_b, 1);
    std::thread::sleep(Duration::from_millis(1200));
    b.extend(statuses(port_b, 5));
    let first_refused = b.iter().position(|&s| s == 429);
    assert!(
        first_refused.is_some_and(|i| i <= 5),
        "the second gateway counted the first one's requests: {b:?}"
    );
}

#[test]
fn without_redis_each_gateway_still_limits_and_reports_it() {
    if python3_missing("the rate-limit fail-open test") {
        return;
    }
    let (_origin, origin_port) = injectable_origin();
    let (snapshot, _) = limited_snapshot(origin_port);
    let cp = stand_in_control_plane(snapshot);
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("redis://127.0.0.1:{}/", dead_port());
    let (_gw, port) = gateway_with(dir.path(), cp, HOST, "/item?id=1", &["--redis-url", &dead]);
    let s = statuses(port, 12);
    assert!(s[..10].iter().all(|&s| s != 429), "{s:?}");
    assert_eq!(s[10], 429, "{s:?}");
    let line = log_line(
        &dir.path().join("gw/logs/security.log"),
        "shared_limits_unavailable",
    );
    assert!(line.contains("per gateway"), "{line}");
}
