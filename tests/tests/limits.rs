//! Rate limits at the gateway: the admin's sign-in page takes 20 attempts a minute per
//! address; the 21st gets the branded 429 page with Retry-After, and one security event.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_attempts_are_rate_limited() {
    let p = Platform::start().await;
    let c = p.client();
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let r = c
            .post(p.url(ADMIN, "/login"))
            .form(&[("username", "admin"), ("password", "wrong"), ("csrf", "x")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "60");
            let body = r.text().await.unwrap();
            assert!(body.contains("访问过于频繁"), "{body}");
        }
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(limited, 5, "{statuses:?}");
    assert!(statuses[..20].iter().all(|s| *s != 429), "{statuses:?}");

    // The published sites are not limited.
    for _ in 0..30 {
        let r = c.get(p.url(PORTAL, "/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    // One event for the burst, not one per refused request.
    let log = p.data_dir().join("logs/security.log");
    log_line(&log, "rate_limited");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.contains("rate_limited")).count(),
        1,
        "{text}"
    );
    p.stop().await;
}

/// `admin_networks` keeps the admin UI to configured networks; the public sites stay open.
#[tokio::test(flavor = "multi_thread")]
async fn admin_is_reachable_only_from_admin_networks() {
    let cfg = tempfile::tempdir().unwrap();
    let file = cfg.path().join("sitegroup.toml");
    std::fs::write(
        &file,
        "admin_networks = [\"10.9.9.0/24\", \"2001:db8::/32\"]\n",
    )
    .unwrap();
    let p = Platform::start_with(&["--config", file.to_str().unwrap()]).await;
    let c = p.client();
    let r = c.get(p.url(ADMIN, "/login")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("禁止访问"));
    // X-Forwarded-For from an untrusted peer changes nothing.
    let r = c
        .get(p.url(ADMIN, "/login"))
        .header("x-forwarded-for", "10.9.9.1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c.get(p.url(PORTAL, "/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    p.stop().await;
}

/// Behind a trusted proxy, the visitor's address comes from X-Forwarded-For.
#[tokio::test(flavor = "multi_thread")]
async fn trusted_proxies_supply_the_client_address() {
    let cfg = tempfile::tempdir().unwrap();
    let file = cfg.path().join("sitegroup.toml");
    std::fs::write(
        &file,
        "admin_networks = [\"10.9.9.0/24\"]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
    )
    .unwrap();
    let p = Platform::start_with(&["--config", file.to_str().unwrap()]).await;
    let c = p.client();
    let r = c
        .get(p.url(ADMIN, "/login"))
        .header("x-forwarded-for", "198.51.100.7, 10.9.9.1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(p.url(ADMIN, "/login")).send().await.unwrap();
    assert_eq!(r.status(), 403, "the proxy itself is not in admin_networks");
    p.stop().await;
}
