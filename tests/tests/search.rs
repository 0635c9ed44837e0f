//! Site search through the gateway: every site's `/search/` reaches the control plane and
//! answers in the site's theme, the JSON endpoint too; the search box is on every published
//! page; an attack in the query is stopped by the WAF before it reaches the control plane.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_site_searches_through_the_gateway() {
    let p = Platform::start().await;
    let c = p.client();
    // 工作 (every demo article mentions it). The demo content is indexed in the background
    // after start, so the first answers may honestly say 0 results: wait for the hits.
    let (status, page) = p
        .wait_for(
            PORTAL,
            "/search/?q=%E5%B7%A5%E4%BD%9C",
            Duration::from_secs(30),
            |s, b| s == 200 && b.contains("<em>工作</em>"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<em>工作</em>"), "{page}");
    assert!(page.contains("示范市人民政府门户网站"));

    // The whole group from the education site, as JSON.
    let (status, body) = p
        .wait_for(
            EDU,
            "/search/api?q=%E5%B7%A5%E4%BD%9C&scope=all",
            Duration::from_secs(30),
            |s, b| {
                s == 200
                    && serde_json::from_str::<serde_json::Value>(b)
                        .is_ok_and(|v| v["total"].as_u64().is_some_and(|t| t >= 20))
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let sites: std::collections::BTreeSet<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["site"].as_str().unwrap())
        .collect();
    assert!(v["total"].as_u64().unwrap() >= 20, "{v}");
    assert!(!sites.is_empty());

    // The published pages carry the search box.
    let home = text_of(&c, p.url(PORTAL, "/")).await;
    assert!(home.contains("action=\"/search/\""), "{home}");

    // An injection attempt in the query is the WAF's business.
    let r = c
        .get(p.url(
            PORTAL,
            "/search/?q=1%27%20UNION%20SELECT%20password%20FROM%20app_user--",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    p.stop().await;
}
