//! Hardening at the gateway: compression of text responses, request size limits.

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

/// A declared body above the site's limit is refused with 413 before anything is read or
/// forwarded; oversized headers get 431.
#[tokio::test(flavor = "multi_thread")]
async fn size_limits() {
    use std::io::{Read, Write};
    let p = Platform::start().await;
    let raw = |request: String| {
        let mut s = std::net::TcpStream::connect(p.http).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let head = raw(format!(
        "POST /login HTTP/1.1\r\nHost: {ADMIN}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000000\r\n\r\n"
    ));
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let cookie = "a".repeat(40 * 1024);
    let head = raw(format!(
        "GET / HTTP/1.1\r\nHost: {PORTAL}\r\nCookie: big={cookie}\r\n\r\n"
    ));
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    p.stop().await;
}
