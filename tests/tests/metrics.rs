//! Prometheus metrics on their own listener: requests by site and status, security events by
//! kind, the configuration generation in force.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_and_blocks() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let p = Platform::start_with(&["--metrics-listen", &metrics]).await;
    let c = p.client();
    for _ in 0..3 {
        assert_eq!(
            c.get(p.url(PORTAL, "/")).send().await.unwrap().status(),
            200
        );
    }
    let r = c.get(p.url(PORTAL, "/.git/config")).send().await.unwrap();
    assert_eq!(r.status(), 403);

    let plain = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = plain
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Logging runs after the response; wait until the last request is counted.
        if text.contains(r#"sitegroup_requests_total{site="1",status="403"} 1"#) {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.lines()
            .any(|l| l.starts_with(r#"sitegroup_requests_total{site="1",status="200"}"#)),
        "{text}"
    );
    assert!(
        text.contains(r#"sitegroup_security_events_total{kind="waf_blocked",site="1"} 1"#),
        "{text}"
    );
    assert!(text.contains("sitegroup_request_duration_seconds_bucket"));
    let generation: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sitegroup_config_generation "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(generation >= 1, "{text}");
    let r = plain
        .get(format!("http://{metrics}/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    p.stop().await;
}
