//! HTTPS at the gateway: a certificate from files, the public sites and the admin over TLS,
//! HSTS and CSP on the way out, and the admin's cookies marked Secure when the visitor came over
//! HTTPS (the gateway tells the control plane with X-Forwarded-Proto).

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn sites_and_the_admin_are_served_over_https_with_secure_cookies() {
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls");
    let (cert, key) = (tls.join("cert.pem"), tls.join("key.pem"));
    let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Platform::start_with(&[
        "--https-listen",
        &https.to_string(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .resolve(PORTAL, https)
        .resolve(ADMIN, https)
        .no_proxy()
        .build()
        .unwrap();
    let url = |host: &str, path: &str| format!("https://{host}:{}{path}", https.port());

    // A published page over TLS, with HSTS and the public CSP.
    let r = client.get(url(PORTAL, "/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    assert!(r.text().await.unwrap().contains("示范市人民政府"));

    // The admin over TLS: every cookie it sets is Secure, and the sign-in works end to end.
    let page = client.get(url(ADMIN, "/login")).send().await.unwrap();
    let set = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("; Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    let csrf = csrf_of(&page.text().await.unwrap());
    let r = client
        .post(url(ADMIN, "/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", p.admin_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/password");
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("sg_session="))
        .unwrap()
        .to_string();
    assert!(set.contains("; Secure"), "{set}");
    let r = client.get(url(ADMIN, "/password")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the Secure cookie comes back over HTTPS");

    // Plain HTTP still answers (an operator may redirect it), without Secure cookies.
    let r = p.client().get(p.url(ADMIN, "/login")).send().await.unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(!set.contains("Secure"), "{set}");
    p.stop().await;
}

/// A CA made for the test, and a certificate it issues for `names`: (CA PEM, chain PEM, key PEM).
fn issue(ca_name: &str, names: &[&str]) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, names[0]);
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), leaf.pem(), key.serialize_pem())
}

/// A client that trusts only `ca_pem` and sends every demo host to `https`.
fn trusting(ca_pem: &[u8], https: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .resolve(PORTAL, https)
        .resolve("edu.demo.localhost", https)
        .resolve(ADMIN, https)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// `curl` over HTTP/2 (TLS with ALPN, or h2c with prior knowledge): the protocol version it
/// used, or none when curl is not installed.
fn curl_http_version(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .args(args)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Without any certificate configured, `--https-listen` serves `*.localhost` from the data
/// directory's development CA; a certificate the 安全管理员 uploads is picked by SNI for the
/// names in it within seconds, without a restart, while other names keep theirs; a site set
/// to HTTPS only redirects plain HTTP; HTTP/2 works over TLS (ALPN) and in clear text (h2c).
#[tokio::test(flavor = "multi_thread")]
async fn sni_picks_uploaded_certificates_at_runtime_and_sites_redirect_to_https() {
    let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Platform::start_with(&["--https-listen", &https.to_string()]).await;
    let dev_ca = std::fs::read(p.data_dir().join("tls/dev-ca.pem")).unwrap();
    let url = |host: &str, path: &str| format!("https://{host}:{}{path}", https.port());
    let dev = trusting(&dev_ca, https);
    let r = dev.get(url(PORTAL, "/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("示范市人民政府"));
    // A name no site has gets no certificate (nothing is minted for invented names).
    let invented = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&dev_ca).unwrap())
        .resolve("invented.localhost", https)
        .no_proxy()
        .build()
        .unwrap();
    assert!(
        invented
            .get(url("invented.localhost", "/"))
            .send()
            .await
            .is_err()
    );

    // HTTP/2: ALPN on the HTTPS listener, prior knowledge on the plain one.
    let ca_file = p.data_dir().join("tls/dev-ca.pem");
    let resolve = format!("{PORTAL}:{}:127.0.0.1", https.port());
    match curl_http_version(&[
        "--http2",
        "--cacert",
        ca_file.to_str().unwrap(),
        "--resolve",
        &resolve,
        &url(PORTAL, "/"),
    ]) {
        Some(v) => {
            assert_eq!(v, "2 200", "HTTP/2 over TLS");
            let h2c = curl_http_version(&[
                "--http2-prior-knowledge",
                "-H",
                &format!("Host: {PORTAL}"),
                &format!("http://{}/", p.http),
            ])
            .unwrap();
            assert_eq!(h2c, "2 200", "h2c");
        }
        None => eprintln!("NOTICE: curl is not installed; HTTP/2 not checked"),
    }

    // The 安全管理员 uploads a certificate for www.demo.localhost signed by another CA.
    let c = p.client();
    let landing = sign_in_first_time_as(&p, &c, "secadmin").await;
    let csrf = csrf_of(&landing);
    let (upload_ca, chain, key) = issue("Test Upload CA", &[PORTAL]);
    let (_, _, other_key) = issue("Other", &[PORTAL]);
    let upload = |key_pem: String| {
        c.post(p.url(ADMIN, "/security/certificates"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "门户"),
                ("chain_pem", chain.as_str()),
                ("key_pem", key_pem.as_str()),
            ])
            .send()
    };
    // A key that does not belong to the certificate is refused, with the reason.
    let r = upload(other_key).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("does not belong"));
    let r = upload(key.clone()).await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let listing = text_of(&c, p.url(ADMIN, "/security/certificates")).await;
    assert!(listing.contains(PORTAL) && listing.contains("Test Upload CA"));
    let key_body = key.lines().nth(1).unwrap();
    assert!(!listing.contains(key_body), "the key is never shown");

    let uploaded = trusting(upload_ca.as_bytes(), https);
    let start = std::time::Instant::now();
    loop {
        if let Ok(r) = uploaded.get(url(PORTAL, "/")).send().await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "uploaded certificate not offered within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Other names keep the development CA's certificates.
    assert!(
        uploaded
            .get(url("edu.demo.localhost", "/"))
            .send()
            .await
            .is_err()
    );
    let r = dev
        .get(url("edu.demo.localhost", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The 系统管理员 makes the portal HTTPS-only: plain HTTP is redirected, HTTPS serves.
    let admin = p.client();
    let csrf = sign_in_first_time(&p, &admin).await;
    save_portal_settings(&p, &admin, &csrf, "运行", &[("https_redirect", "on")]).await;
    let (status, _) = p
        .wait_for(PORTAL, "/news/?page=2", Duration::from_secs(5), |s, _| {
            s == 301
        })
        .await;
    assert_eq!(status, 301);
    let r = p
        .client()
        .get(p.url(PORTAL, "/news/?page=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&r),
        format!("https://{PORTAL}:{}/news/?page=2", https.port())
    );
    let r = uploaded.get(url(PORTAL, "/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Another site is untouched.
    let r = p
        .client()
        .get(p.url("edu.demo.localhost", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    p.stop().await;
}
