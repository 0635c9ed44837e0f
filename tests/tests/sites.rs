//! Closing a site (网站关停) at the gateway: its content stays in the CMS, visitors get a
//! permanent redirect to the portal or, without one, the closure notice (410); reopening it
//! brings the pages back. Each change reaches the gateway within 5 seconds.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

const HEALTH: &str = "health.demo.localhost";

async fn settings(p: &Platform, c: &reqwest::Client, csrf: &str, status: &str, redirect: &str) {
    let r = c
        .post(p.url(ADMIN, "/sites/3/settings"))
        .form(&[
            ("csrf", csrf),
            ("name", "示范市卫生健康委员会"),
            ("review_levels", "0"),
            ("status", status),
            ("closed_redirect", redirect),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_site_redirects_or_shows_the_closure_notice() {
    let p = Platform::start().await;
    let c = p.client();
    let csrf = sign_in_first_time(&p, &c).await;
    let (status, _) = p
        .wait_for(HEALTH, "/", Duration::from_secs(10), |s, _| s == 200)
        .await;
    assert_eq!(status, 200);

    settings(&p, &c, &csrf, "已关停", "https://www.demo.localhost/").await;
    let (status, _) = p
        .wait_for(HEALTH, "/news/1.html", Duration::from_secs(5), |s, _| {
            s == 301
        })
        .await;
    assert_eq!(status, 301);
    let r = c.get(p.url(HEALTH, "/anything")).send().await.unwrap();
    assert_eq!(location(&r), "https://www.demo.localhost/");

    settings(&p, &c, &csrf, "已关停", "").await;
    let (status, body) = p
        .wait_for(HEALTH, "/", Duration::from_secs(5), |s, _| s == 410)
        .await;
    assert_eq!(status, 410);
    assert!(body.contains("网站已关停"), "{body}");

    settings(&p, &c, &csrf, "运行", "").await;
    let (status, body) = p
        .wait_for(HEALTH, "/", Duration::from_secs(5), |s, _| s == 200)
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("示范市卫生健康委员会"), "content kept");
    p.stop().await;
}

/// `sitegroup admin publish` re-renders every site (or one) from the database; the gateway
/// keeps serving, and the sitemap and feed are part of what it publishes.
#[tokio::test(flavor = "multi_thread")]
async fn the_rebuild_command_republishes_and_feeds_exist() {
    let p = Platform::start().await;
    for path in ["/sitemap.xml", "/rss.xml"] {
        let (status, body) = p
            .wait_for(PORTAL, path, Duration::from_secs(5), |s, _| s == 200)
            .await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains("www.demo.localhost"), "{path}: {body}");
    }
    let mut args = vec!["admin", "publish", "--site", "edu", "--data-dir"];
    let data = p.data_dir().display().to_string();
    args.push(&data);
    let url;
    if let Some(u) = &p.db.url {
        url = u.clone();
        args.push("--database-url");
        args.push(&url);
    }
    let run = Process::spawn(&args, p.dir.path());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !run.stdout().contains("files") {
        assert!(
            std::time::Instant::now() < deadline,
            "stdout: {} stderr: {}",
            run.stdout(),
            run.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        run.stdout().contains("示范市教育局（edu）"),
        "{}",
        run.stdout()
    );
    let (status, _) = p
        .wait_for("edu.demo.localhost", "/", Duration::from_secs(5), |s, _| {
            s == 200
        })
        .await;
    assert_eq!(status, 200);
    // An unknown site is a clear error.
    let bad = Process::spawn(
        &["admin", "publish", "--site", "nope", "--data-dir", &data],
        p.dir.path(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !bad.stderr().contains("no site") {
        assert!(std::time::Instant::now() < deadline, "{}", bad.stderr());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.stop().await;
}
