//! Gateway throughput and latency beside nginx, in one run:
//!
//! ```text
//! cargo bench -p sitegroup-cms --bench gateway            # needs wrk; nginx rows when installed
//! SITEGROUP_BENCH_SECONDS=10 SITEGROUP_BENCH_CONNECTIONS=64 cargo bench -p sitegroup-cms --bench gateway
//! ```
//!
//! Rows (every one served the same 4 KiB HTML page, keep-alive, `wrk --latency`):
//!
//! * direct to the backend (a small axum server);
//! * nginx as a reverse proxy to the backend;
//! * the sitegroup gateway proxying to the backend (WAF off, then the built-in WAF blocking);
//! * the same without the access log (what logging costs);
//! * the gateway serving the page published in its store (hash-verified, built-in WAF);
//! * nginx serving the same file statically.
//!
//! The table (requests/s, p50, p99, ratio to the nginx row of the same kind) is printed and
//! written to `target/bench/gateway.md`. On a 2-core machine wrk, the backend and the server
//! under test share the cores: compare rows with each other, not with other machines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn installed(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The page every row serves: 4 KiB of Chinese HTML, like a small article.
fn page() -> Vec<u8> {
    let mut html = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>通知公告</title></head><body><main>",
    );
    while html.len() < 4000 {
        html.push_str("<p>为进一步加强政府网站集约化建设，统一管理、统一防护、统一检测。</p>");
    }
    html.push_str("</main></body></html>");
    html.into_bytes()
}

/// The backend: one fixed page, on its own single-threaded runtime thread.
fn start_backend(body: Vec<u8>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let body = axum::body::Bytes::from(body);
            let app = axum::Router::new().fallback(move || {
                let body = body.clone();
                async move { ([("content-type", "text/html; charset=utf-8")], body) }
            });
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

fn wait_until_up(url: &str, host: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
            .arg(format!("Host: {host}"))
            .arg(url)
            .output()
            .is_ok_and(|o| o.stdout == b"200");
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} ({host}) never answered 200"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A gateway serving from a configuration written as its last good snapshot (the control
/// plane it is pointed at does not exist, as in an outage).
fn start_gateway(dir: &Path, backend: SocketAddr, page: &[u8], access_log: bool) -> (Kill, u16) {
    let sha = hex::encode(sha2::Sha256::digest(page));
    let object = dir.join("store/objects").join(&sha[..2]).join(&sha);
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::write(&object, page).unwrap();
    let site = |id: i64, host: &str, target: serde_json::Value, waf: &str| {
        serde_json::json!({
            "id": id, "name": host, "hostnames": [host],
            "routes": [{"path_prefix": "/", "target": target}],
            "manifest": {"/index.html": {"sha256": sha, "content_type": "text/html; charset=utf-8"}},
            "waf": {"mode": waf},
        })
    };
    let proxy = serde_json::json!({"kind": "proxy", "upstreams": [backend.to_string()]});
    let published = serde_json::json!({"kind": "published"});
    let snapshot = serde_json::json!({
        "contract_version": sitegroup_contract::config::CONTRACT_VERSION,
        "generation": 1, "generated_at": "bench",
        "sites": [
            site(1, "proxy.bench", proxy.clone(), "off"),
            site(2, "waf.bench", proxy, "block"),
            site(3, "published.bench", published, "block"),
        ],
    });
    std::fs::create_dir_all(dir.join("gateway")).unwrap();
    std::fs::write(dir.join("gateway/last-good.json"), snapshot.to_string()).unwrap();
    std::fs::write(dir.join("token"), "b".repeat(43)).unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sitegroup"));
    cmd.args(["gateway", "--data-dir"])
        .arg(dir)
        .args(["--http-listen", &format!("127.0.0.1:{port}")])
        .args(["--control-plane", "http://127.0.0.1:9"])
        .arg("--token-file")
        .arg(dir.join("token"))
        .env("SITEGROUP_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !access_log {
        cmd.arg("--no-access-log");
    }
    let child = Kill(cmd.spawn().unwrap());
    wait_until_up(&format!("http://127.0.0.1:{port}/"), "proxy.bench");
    (child, port)
}

fn start_nginx(dir: &Path, backend: SocketAddr, page: &[u8]) -> (Kill, u16) {
    let root = dir.join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), page).unwrap();
    let port = free_port();
    let conf = format!(
        r#"worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
events {{ worker_connections 4096; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream backend {{ server {backend}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    server_name proxy.bench;
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }}
  }}
  server {{
    listen 127.0.0.1:{port};
    server_name static.bench;
    root {root};
    location / {{ default_type text/html; }}
  }}
}}
"#,
        dir = dir.display(),
        root = root.display(),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Kill(
        Command::new("nginx")
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_up(&format!("http://127.0.0.1:{port}/"), "proxy.bench");
    (child, port)
}

struct Row {
    name: &'static str,
    kind: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `wrk` against `url` with `host`; (requests/s, p50 ms, p99 ms).
fn wrk(url: &str, host: &str, seconds: u64, connections: u32) -> (f64, f64, f64) {
    let run = |secs: u64| {
        Command::new("wrk")
            .args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s")])
            .arg("--latency")
            .args(["-H", &format!("Host: {host}")])
            .arg(url)
            .output()
            .unwrap()
    };
    let _ = run(1); // warm-up
    let out = String::from_utf8_lossy(&run(seconds).stdout).into_owned();
    let field = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("wrk output without {prefix:?}:\n{out}"))
    };
    let ms = |v: String| {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            _ => f64::NAN,
        }
    };
    assert!(
        !out.contains("Non-2xx"),
        "{url} ({host}) answered errors:\n{out}"
    );
    (
        field("Requests/sec:").parse().unwrap_or(f64::NAN),
        ms(field("50%")),
        ms(field("99%")),
    )
}

fn main() {
    if !installed("wrk") || !installed("curl") {
        eprintln!("NOTICE: wrk and curl are needed (apt-get install wrk curl); benchmark skipped");
        return;
    }
    let seconds: u64 = std::env::var("SITEGROUP_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let connections: u32 = std::env::var("SITEGROUP_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let dir = tempfile::tempdir().unwrap();
    let body = page();
    let backend = start_backend(body.clone());
    wait_until_up(&format!("http://{backend}/"), "backend");

    let mut rows = Vec::new();
    let mut measure = |name: &'static str, kind: &'static str, url: String, host: &str| {
        let (rps, p50_ms, p99_ms) = wrk(&url, host, seconds, connections);
        eprintln!("{name}: {rps:.0} req/s, p50 {p50_ms:.2} ms, p99 {p99_ms:.2} ms");
        rows.push(Row {
            name,
            kind,
            rps,
            p50_ms,
            p99_ms,
        });
    };
    measure(
        "direct to the backend",
        "direct",
        format!("http://{backend}/"),
        "backend",
    );
    let nginx = if installed("nginx") {
        let n = start_nginx(&dir.path().join("nginx"), backend, &body);
        Some(n)
    } else {
        eprintln!("NOTICE: nginx is not installed; its rows are left out");
        None
    };
    if let Some((_, port)) = &nginx {
        measure(
            "nginx → backend",
            "proxy",
            format!("http://127.0.0.1:{port}/"),
            "proxy.bench",
        );
    }
    {
        let (_gw, port) = start_gateway(&dir.path().join("gw"), backend, &body, true);
        let url = format!("http://127.0.0.1:{port}/");
        measure(
            "sitegroup → backend (WAF off)",
            "proxy",
            url.clone(),
            "proxy.bench",
        );
        measure(
            "sitegroup → backend (built-in WAF)",
            "proxy",
            url.clone(),
            "waf.bench",
        );
        measure(
            "sitegroup published page (built-in WAF)",
            "static",
            url,
            "published.bench",
        );
    }
    {
        let (_gw, port) = start_gateway(&dir.path().join("gw-nolog"), backend, &body, false);
        measure(
            "sitegroup → backend (WAF off, no access log)",
            "proxy-nolog",
            format!("http://127.0.0.1:{port}/"),
            "proxy.bench",
        );
    }
    if let Some((_, port)) = &nginx {
        measure(
            "nginx static file",
            "static",
            format!("http://127.0.0.1:{port}/index.html"),
            "static.bench",
        );
    }
    drop(nginx);

    let nginx_rps = |kind: &str| {
        rows.iter()
            .find(|r| r.name.starts_with("nginx") && r.kind == kind)
            .map(|r| r.rps)
    };
    let mut table = format!(
        "Gateway benchmark: {seconds} s per row, {connections} connections, wrk -t1, 4 KiB page, {} cores\n\n\
         | row | requests/s | p50 ms | p99 ms | vs nginx |\n|---|---:|---:|---:|---:|\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for r in &rows {
        let kind = if r.kind == "proxy-nolog" {
            "proxy"
        } else {
            r.kind
        };
        let ratio = nginx_rps(kind)
            .filter(|_| !r.name.starts_with("nginx") && r.kind != "direct")
            .map_or_else(|| "—".to_string(), |n| format!("{:.2}×", r.rps / n));
        table.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} |\n",
            r.name, r.rps, r.p50_ms, r.p99_ms, ratio
        ));
    }
    let with_log = rows
        .iter()
        .find(|r| r.name == "sitegroup → backend (WAF off)")
        .map(|r| r.rps);
    let without = rows.iter().find(|r| r.kind == "proxy-nolog").map(|r| r.rps);
    if let (Some(a), Some(b)) = (with_log, without) {
        table.push_str(&format!(
            "\nAccess log cost: {:.1} % of throughput ({a:.0} with, {b:.0} without).\n",
            (1.0 - a / b) * 100.0
        ));
    }
    println!("\n{table}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::File::create(out.join("gateway.md"))
        .unwrap()
        .write_all(table.as_bytes())
        .unwrap();
}
