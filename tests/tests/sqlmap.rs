//! sqlmap against a deliberately injectable origin: found injectable directly, and not found
//! injectable through the gateway with only the built-in rules. The origin is a legacy site the
//! gateway proxies; its configuration comes from a stand-in control plane.
//!
//! Runs when `SITEGROUP_TEST_SQLMAP` is set (`.ci/run` sets it and installs Debian's sqlmap);
//! otherwise prints a notice and passes. sqlmap runs with `--random-agent`, so the WAF has to
//! recognise the injections themselves, not sqlmap's User-Agent.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const HOST: &str = "legacy.test.localhost";

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
    let (_origin, origin_port) = injectable_origin();
    let cp_port = stand_in_control_plane(legacy_snapshot(HOST, origin_port, false, "reject"));
    let (gw, gw_port) = gateway_for(dir.path(), cp_port, HOST, "/item?id=1");
    let data = dir.path().join("gw");
    let through = format!("http://127.0.0.1:{gw_port}/item?id=1");

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
    log_line(&data.join("logs/security.log"), "waf_blocked");
    drop(gw);
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}
