//! Prometheus metrics on their own listener: requests by site and status, security events by
//! kind, upstream health, TLS connections, the configuration generation in force.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_and_blocks() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let https: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Platform::start_with(&[
        "--metrics-listen",
        &metrics,
        "--https-listen",
        &https.to_string(),
    ])
    .await;
    let c = p.client();
    let tls = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(p.data_dir().join("tls/dev-ca.pem")).unwrap(),
            )
            .unwrap(),
        )
        .resolve(PORTAL, https)
        .no_proxy()
        .build()
        .unwrap();
    let r = tls
        .get(format!("https://{PORTAL}:{}/", https.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
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
        let text = text_of(&plain, format!("http://{metrics}/metrics")).await;
        // Logging runs after the response; wait until the last request is counted.
        // The health checks run every 5 s.
        if text.contains(r#"sitegroup_requests_total{site="1",status="403"} 1"#)
            && text.contains("sitegroup_upstream_up{")
        {
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
    // The admin's upstream (the control plane) is checked and up; one TLS 1.3 connection.
    assert!(
        text.lines()
            .any(|l| l.starts_with(r#"sitegroup_upstream_up{site="0""#) && l.ends_with(" 1")),
        "{text}"
    );
    assert!(
        text.contains(r#"sitegroup_tls_connections_total{version="1.3"} 1"#),
        "{text}"
    );
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
