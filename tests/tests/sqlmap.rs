//! sqlmap against a deliberately injectable origin: found injectable directly, and not found
//! injectable through the gateway with only the built-in rules. The origin is a legacy site the
//! gateway proxies; its configuration comes from a stand-in control plane.
//!
//! Runs when `SITEGROUP_TEST_SQLMAP` is set (`.ci/run` sets it and installs Debian's sqlmap);
//! otherwise prints a notice and passes. sqlmap runs with `--random-agent`, so the WAF has to
//! recognise the injections themselves, not sqlmap's User-Agent.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const HOST: &str = "legacy.test.localhost";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves the snapshot on `/internal/v1/config`, accepts events, for as long as the test runs.
fn stand_in_control_plane(origin_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let snapshot = serde_json::json!({
        "contract_version": 2,
        "generation": 1,
        "generated_at": "2026-11-25T00:00:00Z",
        "sites": [{
            "id": 1,
            "name": "旧系统",
            "hostnames": [HOST],
            "routes": [{"path_prefix": "/", "target": {"kind": "proxy", "upstreams": [format!("127.0.0.1:{origin_port}")]}}]
        }]
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let snapshot = snapshot.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let (status, payload) = if line.starts_with("GET /internal/v1/config") {
                    ("200 OK", snapshot)
                } else {
                    ("204 No Content", String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                    payload.len()
                );
            });
        }
    });
    port
}

fn sqlmap(url: &str, extra: &[&str], dir: &Path) -> String {
    let out = Command::new("sqlmap")
        .args([
            "-u",
            url,
            "-p",
            "id",
            "--batch",
            "--random-agent",
            "--flush-session",
        ])
        .args([
            "--technique=BEU",
            "--level=1",
            "--risk=1",
            "--timeout=5",
            "--retries=0",
        ])
        .arg(format!("--output-dir={}", dir.display()))
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run sqlmap");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn sqlmap_finds_the_origin_injectable_but_not_through_the_gateway() {
    if std::env::var_os("SITEGROUP_TEST_SQLMAP").is_none() {
        eprintln!("NOTICE: SITEGROUP_TEST_SQLMAP not set; skipping the sqlmap test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let origin_port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/injectable_origin.py");
    let mut origin = Kill(
        Command::new("python3")
            .arg(&script)
            .arg(origin_port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3"),
    );
    let mut ready = String::new();
    BufReader::new(origin.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");

    let cp_port = stand_in_control_plane(origin_port);
    let token = dir.path().join("token");
    std::fs::write(&token, "t".repeat(43)).unwrap();
    let gw_port = free_port();
    let data = dir.path().join("gw");
    let gw = Process::spawn(
        &[
            "gateway",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-listen",
            &format!("127.0.0.1:{gw_port}"),
            "--control-plane",
            &format!("http://127.0.0.1:{cp_port}"),
            "--token-file",
            token.to_str().unwrap(),
        ],
        dir.path(),
    );
    let client = reqwest::blocking::Client::new();
    let through = format!("http://127.0.0.1:{gw_port}/item?id=1");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = client
            .get(&through)
            .header("host", HOST)
            .send()
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateway never proxied: {}",
            gw.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let direct = sqlmap(
        &format!("http://127.0.0.1:{origin_port}/item?id=1"),
        &[],
        &dir.path().join("direct"),
    );
    assert!(
        direct.contains("identified the following injection point"),
        "sqlmap must find the origin injectable (else this test proves nothing):\n{direct}"
    );

    let protected = sqlmap(
        &through,
        &["--headers", &format!("Host: {HOST}")],
        &dir.path().join("protected"),
    );
    assert!(
        !protected.contains("identified the following injection point"),
        "sqlmap found an injection through the gateway:\n{protected}"
    );
    assert!(
        protected.contains("do not appear to be injectable")
            || protected.contains("not injectable")
            || protected.contains("WAF/IPS"),
        "{protected}"
    );
    eprintln!(
        "--- sqlmap, direct ---\n{}\n--- sqlmap, through the gateway ---\n{}",
        tail(&direct),
        tail(&protected)
    );
    // The gateway recorded what it blocked.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(data.join("logs/security.log"))
        .unwrap_or_default()
        .contains("waf_blocked")
    {
        assert!(Instant::now() < deadline, "no blocks logged");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(gw);
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}
