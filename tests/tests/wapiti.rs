//! wapiti (Debian's web vulnerability scanner) against the platform through the gateway over
//! HTTPS: the admin host signed in as the 系统管理员 (every page and form it has), the admin host
//! as a stranger, and a demo site. Every scan must report no vulnerability and no anomaly.
//!
//! Runs when `SITEGROUP_TEST_WAPITI` is set (`.ci/run` sets it and installs wapiti); otherwise
//! prints a notice and passes. The reports (JSON) and a summary go to `target/wapiti/`.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;

const WAPITI_SHIM: &str = r#"
import re, sys
import wapitiCore.net.crawler as crawler
def wildcard_translate(pattern):
    body = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
    return re.compile("(?ms)" + body + r"\Z")
crawler.wildcard_translate = wildcard_translate
from wapitiCore.main.wapiti import wapiti_main
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
"#;

/// Runs one scan; returns (summary line, findings).
fn scan(
    name: &str,
    https: SocketAddr,
    host: &str,
    path: &str,
    cookie: Option<&str>,
    out_dir: &Path,
) -> (String, Vec<String>) {
    let report = out_dir.join(format!("{name}.json"));
    let started = std::time::Instant::now();
    // Debian's wapiti 3.0.4 builds its `-x` patterns with a trailing `(?ms)`, which Python 3.11
    // rejects; this runs the same program with that one function corrected.
    // The interpreter wapiti is installed for (Debian's, whatever else is first on PATH).
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.args(["-c", WAPITI_SHIM]);
    cmd.args(["-u", &format!("https://{https}{path}")])
        .args(["-H", &format!("Host: {host}")])
        .args([
            "--flush-session",
            "--scope",
            "folder",
            "--max-scan-time",
            "900",
        ])
        .args(["--max-links-per-page", "200", "-t", "10", "-v", "1"])
        // Signing out, or ending one's own session, would end the signed-in scan's session.
        .args(["-x", &format!("https://{https}/logout")])
        .args(["-x", &format!("https://{https}/account")])
        .args(["-x", &format!("https://{https}/account/sessions/*")])
        .args(["-f", "json", "-o"])
        .arg(&report)
        .stdin(Stdio::null());
    if let Some(c) = cookie {
        // Signed in, the injection, file, command, redirect and header modules, on at most
        // 8 links per directory (the admin has hundreds of list and filter URLs that are the
        // same handlers with other parameters); the server-probing modules (nikto, buster,
        // backup, brute force) already ran on the same host as a stranger.
        cmd.args(["-H", c, "--max-files-per-dir", "8", "-m"]).arg(
            "sql,blindsql,xss,permanentxss,exec,file,crlf,redirect,ssrf,xxe,csrf,\
             http_headers,csp,cookieflags,methods,shellshock,htaccess",
        );
    }
    let out = cmd.output().expect("run wapiti");
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    std::fs::write(out_dir.join(format!("{name}.log")), &log).unwrap();
    assert!(out.status.success(), "wapiti {name} failed:\n{log}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let mut findings = Vec::new();
    for section in ["vulnerabilities", "anomalies"] {
        for (kind, items) in json[section].as_object().unwrap() {
            for item in items.as_array().unwrap() {
                findings.push(format!(
                    "{section}: {kind}: {} {} {}",
                    item["method"].as_str().unwrap_or(""),
                    item["path"].as_str().unwrap_or(""),
                    item["info"].as_str().unwrap_or("")
                ));
            }
        }
    }
    let urls = log
        .lines()
        .find(|l| l.contains("URLs and forms during the scan"))
        .unwrap_or("")
        .trim()
        .to_string();
    let summary = format!(
        "{name}: {host}{path} — {urls}; {} finding(s) in {:.0} s",
        findings.len(),
        started.elapsed().as_secs_f64()
    );
    (summary, findings)
}

#[tokio::test(flavor = "multi_thread")]
async fn wapiti_finds_nothing_on_the_admin_or_a_site() {
    if std::env::var_os("SITEGROUP_TEST_WAPITI").is_none() {
        eprintln!("NOTICE: SITEGROUP_TEST_WAPITI not set; skipping the wapiti scans");
        return;
    }
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls");
    let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Platform::start_with(&[
        "--https-listen",
        &https.to_string(),
        "--tls-cert",
        tls.join("cert.pem").to_str().unwrap(),
        "--tls-key",
        tls.join("key.pem").to_str().unwrap(),
    ])
    .await;

    // The 系统管理员 signs in (password changed, authenticator bound); wapiti gets the session.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .resolve(ADMIN, p.http)
        .no_proxy()
        .build()
        .unwrap();
    sign_in_first_time(&p, &client).await;
    let cookies =
        reqwest::cookie::CookieStore::cookies(jar.as_ref(), &p.url(ADMIN, "/").parse().unwrap())
            .unwrap();
    let session = cookies
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix("sg_session="))
        .unwrap()
        .to_string();
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wapiti");
    std::fs::create_dir_all(&out_dir).unwrap();
    // As a header: wapiti's cookie file keys cookies by the URL's address, while the requests
    // library matches them against the Host header, so a cookie file never applies here.
    let cookie = format!("Cookie: sg_session={session}");

    let mut summaries = Vec::new();
    let mut all = Vec::new();
    // The signed-in scan goes last: its attacks really submit the admin's forms (hostnames,
    // settings…), which may leave the demo group changed.
    for (name, host, path, cookie) in [
        ("portal", PORTAL, "/", None),
        ("admin-stranger", ADMIN, "/login", None),
        ("admin-signed-in", ADMIN, "/", Some(cookie.as_str())),
    ] {
        let (summary, findings) = scan(name, https, host, path, cookie, &out_dir);
        eprintln!("{summary}");
        for f in &findings {
            eprintln!("  {f}");
        }
        summaries.push(summary);
        all.extend(findings.into_iter().map(|f| format!("{name}: {f}")));
    }
    std::fs::write(out_dir.join("summary.txt"), summaries.join("\n") + "\n").unwrap();
    // The scan's session lasted: the signed-in scan really was signed in.
    let r = client.get(p.url(ADMIN, "/")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the scan's session was ended");
    if !all.is_empty() {
        // The server's own account of what went wrong, for the report.
        let log = p.process.stderr();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains(" 500"))
            .collect();
        std::fs::write(out_dir.join("server-errors.log"), errors.join("\n")).unwrap();
        panic!(
            "wapiti found:\n{}\nserver errors (target/wapiti/server-errors.log):\n{}",
            all.join("\n"),
            errors
                .iter()
                .rev()
                .take(20)
                .rev()
                .copied()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    p.stop().await;
}
