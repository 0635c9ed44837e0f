//! HTTPS at the gateway: a certificate from files, the public sites and the admin over TLS,
//! HSTS and CSP on the way out, and the admin's cookies marked Secure when the visitor came over
//! HTTPS (the gateway tells the control plane with X-Forwarded-Proto).

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;

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
