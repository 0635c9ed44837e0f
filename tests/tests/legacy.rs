//! A legacy site behind the gateway: proxied to its own server, with response inspection on,
//! a database error leaking from it is replaced by the block page and recorded.
//!
//! Needs `python3` for the legacy origin; prints a notice and passes without it.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const HOST: &str = "old.test.localhost";

#[test]
fn leaking_responses_are_replaced_when_responses_are_inspected() {
    if python3_missing("the legacy-origin test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_origin, origin_port) = injectable_origin();
    let cp_port = stand_in_control_plane(legacy_snapshot(
        HOST,
        origin_port,
        true,
        "inspect_first_part",
    ));
    let (_gw, gw_port) = gateway_for(dir.path(), cp_port, HOST, "/item?id=1");
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| {
        client
            .get(format!("http://127.0.0.1:{gw_port}{path}"))
            .header("host", HOST)
            // The gateway compresses for clients that accept it; read plain text here.
            .header("accept-encoding", "identity")
            .send()
            .unwrap()
    };

    // A normal page passes through unchanged.
    let r = get("/item?id=2");
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("通知二"));

    // `id=2-` is no attack, but the legacy code turns it into an SQL syntax error that shows
    // the query. The origin answers 500 with the database's message; the visitor must not
    // see it.
    let r = get("/item?id=2-");
    let incident = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let body = r.text().unwrap();
    assert!(!body.contains("syntax error"), "leak passed: {body}");
    assert!(body.contains("访问已被拦截"), "{body}");
    assert!(body.contains(&incident));

    // A large upload is inspected on its first part and forwarded whole.
    let boundary = "sitegroupboundary";
    let upload = |content: &[u8]| {
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"report.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(content);
        body.resize(body.len() + 200 * 1024, b'x');
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let len = body.len();
        let r = client
            .post(format!("http://127.0.0.1:{gw_port}/upload"))
            .header("host", HOST)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap(), len)
    };
    let (status, text, len) = upload(b"%PDF-1.7 ");
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, format!("received {len} bytes"));
    let (status, text, _) = upload(b"<?php @eval($_POST['x']); ?>");
    assert_eq!(
        status, 403,
        "a webshell at the start of a large upload is caught: {text}"
    );

    let line = log_line(&dir.path().join("gw/logs/security.log"), &incident);
    assert!(line.contains("[101000]"), "{line}");
}

/// Emergency switches set at the control plane reach the gateway within 5 s: maintenance
/// (503 + Retry-After with the operator's notice), read-only (only GET/HEAD), offline, and the
/// group-wide switch.
#[test]
fn emergency_switches_take_effect_within_five_seconds() {
    if python3_missing("the emergency-switch test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_origin, origin_port) = injectable_origin();
    let base = legacy_snapshot(HOST, origin_port, false, "reject");
    let shared = std::sync::Arc::new(std::sync::Mutex::new(base.clone()));
    let cp_port = stand_in_control_plane_shared(shared.clone());
    let (_gw, gw_port) = gateway_for(dir.path(), cp_port, HOST, "/item?id=1");
    let client = reqwest::blocking::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{gw_port}{path}");
    let mut generation = 1;
    let mut set = |site_service: serde_json::Value, group: serde_json::Value| {
        generation += 1;
        let mut snap: serde_json::Value = serde_json::from_str(&base).unwrap();
        snap["generation"] = generation.into();
        snap["sites"][0]["service"] = site_service;
        snap["group_service"] = group;
        *shared.lock().unwrap() = snap.to_string();
    };
    let wait_for = |check: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !check() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "not applied within 5 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let normal = serde_json::json!({"mode": "normal"});

    set(
        serde_json::json!({"mode": "maintenance", "message": "系统升级，预计<30分钟>", "retry_after": 120}),
        normal.clone(),
    );
    wait_for(&|| {
        client
            .get(url("/item?id=1"))
            .header("host", HOST)
            .send()
            .is_ok_and(|r| r.status() == 503)
    });
    let r = client.get(url("/")).header("host", HOST).send().unwrap();
    assert_eq!(r.headers()["retry-after"], "120");
    let body = r.text().unwrap();
    assert!(body.contains("系统升级，预计&lt;30分钟&gt;"), "{body}");

    set(serde_json::json!({"mode": "read_only"}), normal.clone());
    wait_for(&|| {
        client
            .get(url("/item?id=1"))
            .header("host", HOST)
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let r = client
        .post(url("/upload"))
        .header("host", HOST)
        .body("x=1")
        .send()
        .unwrap();
    assert_eq!(r.status(), 405);

    set(normal.clone(), serde_json::json!({"mode": "offline"}));
    wait_for(&|| {
        client
            .get(url("/item?id=1"))
            .header("host", HOST)
            .send()
            .is_ok_and(|r| r.status() == 404)
    });

    set(normal.clone(), normal.clone());
    wait_for(&|| {
        client
            .get(url("/item?id=1"))
            .header("host", HOST)
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
}

/// A legacy site with two upstreams, one of them dead: every request is answered by the live
/// one (the failed connection is retried on the other and the dead one taken out of rotation),
/// without the old server's banners and with the hardening headers.
#[test]
fn one_dead_upstream_does_not_fail_requests() {
    if python3_missing("the dead-upstream test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_origin, origin_port) = injectable_origin();
    let dead = dead_port();
    let mut snap: serde_json::Value =
        serde_json::from_str(&legacy_snapshot(HOST, origin_port, false, "reject")).unwrap();
    snap["sites"][0]["routes"][0]["target"]["upstreams"] = serde_json::json!([
        format!("127.0.0.1:{dead}"),
        format!("127.0.0.1:{origin_port}")
    ]);
    let cp_port = stand_in_control_plane(snap.to_string());
    let (_gw, gw_port) = gateway_for(dir.path(), cp_port, HOST, "/item?id=1");
    let client = reqwest::blocking::Client::new();
    for i in 0..10 {
        let r = client
            .get(format!("http://127.0.0.1:{gw_port}/item?id=1"))
            .header("host", HOST)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "request {i}");
        // The old server's banners are stripped; the hardening headers are added.
        for banner in ["server", "x-powered-by", "x-aspnet-version"] {
            assert!(r.headers().get(banner).is_none(), "{banner} leaked");
        }
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(r.headers().contains_key("strict-transport-security"));
        assert!(r.headers().contains_key("x-request-id"));
    }
    // (The origin does send them.)
    let direct = client
        .get(format!("http://127.0.0.1:{origin_port}/item?id=1"))
        .send()
        .unwrap();
    assert_eq!(direct.headers()["x-powered-by"], "PHP/5.4.16");
    assert!(direct.headers().contains_key("server"));
}

/// Security events are spooled on disk: while the control plane's intake is down nothing is
/// lost, and after it returns every event arrives (also across a gateway restart).
#[test]
fn security_events_survive_an_intake_outage_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // No origin needed: probes for `.git/` are answered by the gateway itself.
    let snapshot = std::sync::Arc::new(std::sync::Mutex::new(legacy_snapshot(
        HOST,
        free_port(),
        false,
        "reject",
    )));
    let intake = std::sync::Arc::new(Intake::default());
    intake
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let cp_port = stand_in_control_plane_full(snapshot, intake.clone());
    let token = dir.path().join("token");
    std::fs::write(&token, "t".repeat(43)).unwrap();
    let start = || {
        let port = free_port();
        let gw = Process::spawn(
            &[
                "gateway",
                "--data-dir",
                dir.path().join("gw").to_str().unwrap(),
                "--http-listen",
                &format!("127.0.0.1:{port}"),
                "--control-plane",
                &format!("http://127.0.0.1:{cp_port}"),
                "--token-file",
                token.to_str().unwrap(),
            ],
            dir.path(),
        );
        (gw, port)
    };
    let client = reqwest::blocking::Client::new();
    let probe = |port: u16, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut sent = 0;
        while sent < n {
            let r = client
                .get(format!("http://127.0.0.1:{port}/.git/config?n={sent}"))
                .header("host", HOST)
                .send();
            if r.is_ok_and(|r| r.status() == 403) {
                sent += 1;
            } else {
                assert!(Instant::now() < deadline, "gateway not serving");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    let (mut gw, port) = start();
    probe(port, 5);
    std::thread::sleep(Duration::from_secs(2));
    gw.stop_with("TERM");
    let (_gw, port) = start();
    probe(port, 3);
    std::thread::sleep(Duration::from_secs(2));
    assert!(intake.batches.lock().unwrap().is_empty());

    // The intake comes back: all 8 events arrive.
    intake
        .refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let received: usize = intake
            .batches
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.matches("\"waf_blocked\"").count())
            .sum();
        if received >= 8 {
            assert_eq!(received, 8, "each event once");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {received} of 8 events arrived"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
