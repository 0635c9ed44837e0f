//! Edge mode: one control plane (`sitegroup cms`) and two edge gateways (`sitegroup gateway`)
//! on their own data directories. Both follow the control plane (an emergency switch reaches
//! both within 5 s); while the control plane is stopped they keep serving their last good
//! configuration, and every access-log line written meanwhile reaches the control plane's
//! central log once it is back — none lost, none twice. The second edge listens on IPv6.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use sea_orm::Database;

fn start_cms(dir: &std::path::Path, cms: SocketAddr, db: &TestDb) -> Process {
    let data = dir.join("cp");
    let mut args = vec![
        "cms".to_string(),
        "--data-dir".into(),
        data.display().to_string(),
        "--cms-listen".into(),
        cms.to_string(),
    ];
    if let Some(url) = &db.url {
        args.push("--database-url".into());
        args.push(url.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::spawn(&args, dir)
}

fn start_edge(
    dir: &std::path::Path,
    cms: SocketAddr,
    name: &str,
    ip: &str,
) -> (Process, SocketAddr) {
    let port = std::net::TcpListener::bind(format!("{ip}:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http: SocketAddr = format!("{ip}:{port}").parse().unwrap();
    let token = dir.join("cp/secrets/gateway-token");
    let process = Process::spawn(
        &[
            "gateway",
            "--data-dir",
            dir.join(name).to_str().unwrap(),
            "--http-listen",
            &http.to_string(),
            "--control-plane",
            &format!("http://{cms}"),
            "--token-file",
            token.to_str().unwrap(),
            "--node-name",
            name,
        ],
        dir,
    );
    process.wait_stdout("gateway is running", Duration::from_secs(30));
    (process, http)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_edges_follow_one_control_plane_and_lose_no_log_line_in_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let cms: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cp = start_cms(dir.path(), cms, &db);
    let banner = cp.wait_stdout("shown once", Duration::from_secs(60));
    let one_time = one_time_passwords(&banner);
    let (edge1, http1) = start_edge(dir.path(), cms, "edge-1", "127.0.0.1");
    // The second edge listens on IPv6 (loopback), where the machine has it.
    let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    if !v6 {
        eprintln!("NOTICE: no IPv6 loopback here; the second edge listens on IPv4");
    }
    let (edge2, http2) = start_edge(
        dir.path(),
        cms,
        "edge-2",
        if v6 { "[::1]" } else { "127.0.0.1" },
    );
    for http in [http1, http2] {
        wait_for(http, PORTAL, "/", Duration::from_secs(30), |s, _| s == 200).await;
    }

    // The admin is reached through the first edge, like any visitor would.
    let mut p = Platform {
        dir,
        http: http1,
        cms,
        process: cp,
        db,
        admin_password: one_time
            .iter()
            .find(|(u, _)| u == "admin")
            .unwrap()
            .1
            .clone(),
        one_time,
    };
    let admin = p.client();
    let csrf = sign_in_first_time(&p, &admin).await;
    save_portal_settings(&p, &admin, &csrf, "维护", &[]).await;
    let set = Instant::now();
    for http in [http1, http2] {
        wait_for(http, PORTAL, "/", Duration::from_secs(5), |s, _| s == 503).await;
    }
    assert!(
        set.elapsed() < Duration::from_secs(5),
        "{:?}",
        set.elapsed()
    );

    // The control plane goes away; both edges keep answering from their last good snapshot.
    let (_, status) = p.process.stop_with("TERM");
    assert!(status.success());
    let mut paths = Vec::new();
    for (node, http) in [("edge-1", http1), ("edge-2", http2)] {
        let c = client_for(http);
        for i in 0..25 {
            let path = format!("/outage/{node}/{i}");
            let r = c
                .get(format!("http://{PORTAL}:{}{path}", http.port()))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                503,
                "maintenance notice from the last good snapshot"
            );
            paths.push(path);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // several failed delivery rounds

    // Back again: every line arrives, once.
    p.process = start_cms(p.dir.path(), cms, &p.db);
    p.process.wait_stdout("is running", Duration::from_secs(60));
    let url = p.db.effective_url(&p.dir.path().join("cp"));
    let conn = Database::connect(url).await.unwrap();
    let rows = query_until(
        &conn,
        "SELECT node, path, status FROM access_log WHERE path LIKE '/outage/%'",
        Duration::from_secs(20),
        |rows| rows.len() >= paths.len(),
    )
    .await;
    let mut got: Vec<(String, String, i32)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "node").unwrap(),
                r.try_get("", "path").unwrap(),
                r.try_get("", "status").unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, i32)> = paths
        .iter()
        .map(|p| (p.split('/').nth(2).unwrap().to_string(), p.clone(), 503))
        .collect();
    want.sort();
    assert_eq!(
        got, want,
        "every line written during the outage, exactly once"
    );
    conn.close().await.unwrap();
    drop((edge1, edge2));
    p.stop().await;
}
