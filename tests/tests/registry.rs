//! The registry's consolidation through real processes: a registered site not in the platform
//! is closed from the consolidation page, and within seconds every request for its domain at
//! the gateway answers with a 301 to the unit's portal.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ADMIN, Platform, csrf_of, sign_in_first_time, text_of};

#[tokio::test]
async fn closing_a_registered_site_redirects_its_domain_at_the_gateway() {
    let p = Platform::start().await;
    let admin = p.client();
    let csrf = sign_in_first_time(&p, &admin).await;
    // Before: the gateway does not know the domain.
    let (status, _) = p
        .wait_for("old.demo.localhost", "/", Duration::from_secs(5), |_, _| {
            true
        })
        .await;
    assert_ne!(status, 301);
    let r = admin
        .post(p.url(ADMIN, "/registry/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("org_id", "1"),
            ("site_name", "示范市旧专题网站"),
            ("domains", "old.demo.localhost"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let id = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/registry/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = admin
        .post(p.url(ADMIN, &format!("/registry/{id}/plan")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "close"),
            ("progress", "in_progress"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = text_of(&admin, p.url(ADMIN, "/registry/consolidation")).await;
    // The unit's portal is offered as where visitors go.
    assert!(
        page.contains("value=\"https://www.demo.localhost/\""),
        "{page}"
    );
    let r = admin
        .post(p.url(ADMIN, &format!("/registry/{id}/close")))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("redirect", "https://www.demo.localhost/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let closed = Instant::now();
    let visitor = p.client();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = visitor
            .get(p.url("old.demo.localhost", "/any/page.html"))
            .send()
            .await
            .unwrap();
        if r.status() == 301 {
            assert_eq!(r.headers()["location"], "https://www.demo.localhost/");
            // With the closure notice, for clients that show the page.
            let body = r.text().await.unwrap();
            assert!(
                body.contains("本网站已关停，相关内容请访问 https://www.demo.localhost/"),
                "{body}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "still {} after 5 s", r.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("closed at the gateway after {:?}", closed.elapsed());
    p.stop().await;
}
