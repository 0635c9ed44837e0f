//! Response hardening at the gateway: compression of text responses.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// Text responses are compressed for clients that accept it, published and proxied alike.
#[tokio::test(flavor = "multi_thread")]
async fn text_responses_are_compressed() {
    let p = Platform::start().await;
    let c = p.client();
    for (host, path) in [(PORTAL, "/"), (ADMIN, "/login")] {
        let r = c
            .get(p.url(host, path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], "gzip", "{host}{path}");
        let r = c.get(p.url(host, path)).send().await.unwrap();
        assert!(r.headers().get("content-encoding").is_none());
    }
    p.stop().await;
}
