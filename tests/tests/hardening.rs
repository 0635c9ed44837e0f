//! Hardening at the gateway: compression of text responses, request size limits.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// Text responses are compressed for clients that accept it, published and proxied alike —
/// except the admin's pages, which carry CSRF tokens (BREACH).
#[tokio::test(flavor = "multi_thread")]
async fn text_responses_are_compressed() {
    let p = Platform::start().await;
    let c = p.client();
    let r = c
        .get(p.url(ADMIN, "/login"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none(), "admin pages");
    for (host, path) in [(PORTAL, "/"), (ADMIN, "/static/admin.css")] {
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

/// A client that trickles its request head (one byte a second, never finishing) is cut off at
/// the header deadline, though every single read arrives well within pingora's read timeout;
/// a client that sends its head in time on the same kept-alive connection is unaffected, and
/// connections beyond the per-address cap are closed at once.
#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_and_connection_floods_are_cut_off() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let conf = tempfile::tempdir().unwrap();
    let file = conf.path().join("sitegroup.toml");
    std::fs::write(
        &file,
        "[connections]\nheader_timeout_secs = 2\nkeepalive_secs = 30\nmax_per_ip = 20\n",
    )
    .unwrap();
    let p = Platform::start_with(&["--config", file.to_str().unwrap()]).await;

    // Slowloris: the head never ends.
    let mut s = std::net::TcpStream::connect(p.http).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let started = Instant::now();
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {PORTAL}\r\n").as_bytes())
        .unwrap();
    let cut_after = loop {
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "a trickling client was still connected after 8 s"
        );
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(0) => break started.elapsed(),
            Ok(_) => panic!("an unfinished head was answered"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break started.elapsed(), // reset
        }
        std::thread::sleep(Duration::from_millis(950));
        if s.write_all(b"X").is_err() {
            break started.elapsed();
        }
    };
    assert!(
        cut_after >= Duration::from_millis(1900) && cut_after < Duration::from_secs(4),
        "cut off after {cut_after:?}, deadline 2 s"
    );

    // A kept-alive connection whose heads arrive in time serves several requests, with pauses
    // between them longer than the header deadline.
    let mut s = std::net::TcpStream::connect(p.http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..2 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(2500));
        }
        s.write_all(format!("HEAD / HTTP/1.1\r\nHost: {PORTAL}\r\n\r\n").as_bytes())
            .unwrap();
        let mut buf = [0u8; 2048];
        let n = s.read(&mut buf).unwrap();
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(head.starts_with("HTTP/1.1 200"), "request {i}: {head}");
    }
    drop(s);

    // The per-address cap: 20 open connections are kept, the next ones are closed unanswered.
    let held: Vec<_> = (0..20)
        .map(|_| std::net::TcpStream::connect(p.http).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = std::net::TcpStream::connect(p.http).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = extra.write_all(format!("GET / HTTP/1.1\r\nHost: {PORTAL}\r\n\r\n").as_bytes());
    let mut buf = [0u8; 64];
    let answered = matches!(extra.read(&mut buf), Ok(n) if n > 0);
    assert!(!answered, "the 21st connection from one address was served");
    drop(held);
    drop(extra);
    // Both kinds of refusal are access-log lines, though no request was ever routed.
    let access = p.data_dir().join("logs/access.log");
    let line = log_line(&access, "\"header_deadline\"");
    assert!(line.contains("\"http.response.status_code\":408"), "{line}");
    log_line(&access, "\"connection_limit\"");
    // Their slots are given back once the gateway has seen them close.
    p.wait_for(PORTAL, "/", Duration::from_secs(3), |status, _| {
        status == 200
    })
    .await;
    p.stop().await;
}
