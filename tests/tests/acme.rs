//! ACME end to end against Debian's `pebble` (a test ACME CA) and `pebble-challtestsrv` (its
//! DNS, pointing every name at 127.0.0.1): the 系统管理员 switches a site to automatic
//! certificates; the gateway orders one, pebble validates the HTTP-01 challenge *through the
//! gateway's own HTTP listener*, and the gateway then serves the issued certificate by SNI.
//! The ACME account and certificate end up in the control plane's store (sealed), where every
//! gateway of the group finds them.
//!
//! Skipped with a notice when pebble is not installed (`apt-get install pebble`).

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use sea_orm::{Database, QueryResult};

fn installed(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_is_obtained_from_pebble_through_the_gateway() {
    if !installed("pebble") || !installed("pebble-challtestsrv") {
        eprintln!("NOTICE: pebble is not installed; ACME end-to-end test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Pebble's own HTTPS certificate, from a CA the gateway is told to trust for the ACME API.
    let (api_ca, api_chain, api_key) = {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, "pebble API test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (ca.pem(), leaf.pem(), key.serialize_pem())
    };
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let api_ca_file = file("api-ca.pem", &api_ca);
    let api_cert_file = file("api-cert.pem", &api_chain);
    let api_key_file = file("api-key.pem", &api_key);

    let (acme_port, mgmt_port, dns_port, chall_mgmt) =
        (free_port(), free_port(), free_port(), free_port());
    let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Platform::start_with(&[
        "--https-listen",
        &https.to_string(),
        "--acme-directory",
        &format!("https://127.0.0.1:{acme_port}/dir"),
        "--acme-contact",
        "mailto:security@example.gov.cn",
        "--acme-ca-roots",
        api_ca_file.to_str().unwrap(),
    ])
    .await;

    let _dns = Kill(
        std::process::Command::new("pebble-challtestsrv")
            .args([
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                &format!("127.0.0.1:{dns_port}"),
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &format!("127.0.0.1:{chall_mgmt}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // HTTP-01 validation connects to the gateway's plain-HTTP port.
    let config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{acme_port}"),
        "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
        "certificate": api_cert_file,
        "privateKey": api_key_file,
        "httpPort": p.http.port(),
        "tlsPort": free_port(),
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
    }});
    let config_file = file("pebble.json", &config.to_string());
    let pebble_log = std::fs::File::create(dir.path().join("pebble.log")).unwrap();
    let _pebble = Kill(
        std::process::Command::new("pebble")
            .args([
                "-config",
                config_file.to_str().unwrap(),
                "-dnsserver",
                &format!("127.0.0.1:{dns_port}"),
            ])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(pebble_log.try_clone().unwrap())
            .stderr(pebble_log)
            .spawn()
            .unwrap(),
    );
    // Pebble's issuing root (a new one each start), from its management API.
    let api = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(api_ca.as_bytes()).unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let issuing_root = loop {
        if let Ok(r) = api
            .get(format!("https://127.0.0.1:{mgmt_port}/roots/0"))
            .send()
            .await
            && r.status() == 200
        {
            break r.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "pebble did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // The 系统管理员 asks for an automatic certificate for the portal.
    let admin = p.client();
    let csrf = sign_in_first_time(&p, &admin).await;
    save_portal_settings(&p, &admin, &csrf, "运行", &[("acme", "on")]).await;

    // Within a minute the gateway serves a certificate issued by pebble.
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(issuing_root.as_bytes()).unwrap())
        .resolve(PORTAL, https)
        .no_proxy()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client
            .get(format!("https://{PORTAL}:{}/", https.port()))
            .send()
            .await
        {
            Ok(r) => {
                assert_eq!(r.status(), 200);
                break;
            }
            Err(e) => assert!(
                Instant::now() < deadline,
                "no ACME certificate after 60 s ({e});\npebble: {}\ngateway: {}",
                std::fs::read_to_string(dir.path().join("pebble.log")).unwrap_or_default(),
                p.process.stderr()
            ),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The account and the certificate are in the control plane's store, sealed. The gateway
    // may serve a new certificate a moment before its copy reaches the store (the cache write
    // goes through the control plane), so the store is read until both are there.
    let db = Database::connect(p.db.effective_url(&p.data_dir()))
        .await
        .unwrap();
    let keys = |rows: &[QueryResult]| -> Vec<String> {
        rows.iter()
            .map(|r| r.try_get::<String>("", "key").unwrap())
            .collect()
    };
    let stored = |rows: &[QueryResult]| {
        let keys = keys(rows);
        ["acme:cert-", "acme:account-"]
            .iter()
            .all(|prefix| keys.iter().any(|k| k.starts_with(prefix)))
    };
    let rows = query_until(
        &db,
        "SELECT key, value FROM platform_setting WHERE key LIKE 'acme:%'",
        Duration::from_secs(30),
        stored,
    )
    .await;
    assert!(
        stored(&rows),
        "no ACME account and certificate in the store after 30 s: {:?}",
        keys(&rows)
    );
    for r in &rows {
        let v: String = r.try_get("", "value").unwrap();
        assert!(
            v.starts_with("sg1:") && !v.contains("PRIVATE"),
            "sealed: {v:.40}"
        );
    }
    db.close().await.unwrap();
    p.stop().await;
}
