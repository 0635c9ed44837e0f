//! End-to-end checks of the walking skeleton: the real program, real sockets, real database.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use sea_orm::{Database, EntityTrait};
use sitegroup_cms::db::entities::security_event;

#[tokio::test(flavor = "multi_thread")]
async fn portal_unknown_host_and_admin_through_the_gateway() {
    let p = Platform::start().await;
    let c = p.client();

    let r = c.get(p.url(PORTAL, "/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("etag").is_some());
    // Hardening headers on published pages.
    assert_eq!(r.headers()["x-frame-options"], "SAMEORIGIN");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        r.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains("<title>示范市人民政府门户网站</title>"),
        "{body}"
    );
    assert!(body.contains("市政府召开常务会议研究部署冬季安全生产工作"));

    // Column page, article page and the trailing-slash redirect.
    let r = c.get(p.url(PORTAL, "/zwyw")).send().await.unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(location(&r), "/zwyw/");
    let column = text_of(&c, p.url(PORTAL, "/zwyw/")).await;
    assert!(column.contains(r#"<meta name="ColumnName" content="政务要闻">"#));

    // The other sites answer on their own hostnames.
    let edu = text_of(&c, p.url(EDU, "/")).await;
    assert!(edu.contains("<title>示范市教育局</title>"));

    // A page the site does not have: the site's own 404 page.
    let r = c
        .get(p.url(PORTAL, "/no/such/page.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("示范市人民政府门户网站"));

    // Unknown Host: the gateway's branded 404, not a pingora default.
    let r = c
        .get(p.url("unknown.example.localhost", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("x-request-id").is_some());
    let body = r.text().await.unwrap();
    assert!(
        body.contains("网站不存在") && body.contains("网站群统一平台"),
        "{body}"
    );

    // Published pages are read-only.
    let r = c.post(p.url(PORTAL, "/")).body("x").send().await.unwrap();
    assert_eq!(r.status(), 405);

    // The admin UI answers on admin.localhost through the same gateway.
    let r = c.get(p.url(ADMIN, "/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");
    let login = c.get(p.url(ADMIN, "/login")).send().await.unwrap();
    // The admin UI (proxied) gets its site policy: never framed.
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("<h1>登录</h1>"));

    // The gateways' internal API is not reachable through the public gateway...
    let r = c
        .get(p.url(ADMIN, "/internal/v1/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // ...and needs the token on the control plane's own listener.
    let direct = reqwest::get(format!("http://{}/internal/v1/config", p.cms))
        .await
        .unwrap();
    assert_eq!(direct.status(), 401);

    // A wrong password gives one message for every failure.
    let r = post_login(&p, &c, "admin", "wrong-password").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let r = post_login(&p, &c, "nobody", "wrong-password").await;
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    // The admin pages carry a strict Content-Security-Policy through the gateway.
    let r = c.get(p.url(ADMIN, "/login")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"),
        "{csp}"
    );

    // Access log lines are written.
    let log = p.data_dir().join("logs/access.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("\"url.domain\":\"unknown.example.localhost\"") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "access log: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_file_is_refused_with_503_and_an_event() {
    let p = Platform::start().await;
    let c = p.client();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.data_dir().join("store/manifests/site-1.json")).unwrap(),
    )
    .unwrap();
    let hash = manifest["/zcwj/index.html"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let object = p
        .data_dir()
        .join("store/objects")
        .join(&hash[..2])
        .join(&hash);
    let original = std::fs::read(&object).unwrap();
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&original)),
        hash
    );
    assert_eq!(
        c.get(p.url(PORTAL, "/zcwj/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // An attacker rewrites the published file on disk.
    std::fs::write(&object, "<h1>被篡改的页面 defaced</h1>").unwrap();
    let r = c.get(p.url(PORTAL, "/zcwj/")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("defaced"),
        "tampered content must never be served"
    );
    assert!(body.contains("完整性校验"));
    // A conditional request must not turn the tampered file into a 304 either.
    let r = c
        .get(p.url(PORTAL, "/zcwj/"))
        .header("if-none-match", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    // Other pages are unaffected.
    assert_eq!(
        c.get(p.url(PORTAL, "/")).send().await.unwrap().status(),
        200
    );

    // The security event is in the gateway's log and reaches the control plane's intake.
    let security_log =
        std::fs::read_to_string(p.data_dir().join("logs/security.log")).unwrap_or_default();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let db = Database::connect(p.db.effective_url(&p.data_dir()))
        .await
        .unwrap();
    loop {
        let events = security_event::Entity::find().all(&db).await.unwrap();
        if let Some(e) = events.iter().find(|e| e.kind == "integrity_violation") {
            assert_eq!(e.site_id, Some(1));
            assert_eq!(e.path, "/zcwj/");
            assert!(e.detail.contains(&hash), "{}", e.detail);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no integrity event in the control plane"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    db.close().await.unwrap();
    let security_log = if security_log.is_empty() {
        std::fs::read_to_string(p.data_dir().join("logs/security.log")).unwrap()
    } else {
        security_log
    };
    assert!(
        security_log.contains("\"kind\":\"integrity_violation\""),
        "{security_log}"
    );

    // Restoring the file restores service.
    std::fs::write(&object, &original).unwrap();
    assert_eq!(
        c.get(p.url(PORTAL, "/zcwj/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn login_create_publish_and_see_it_through_the_gateway() {
    let p = Platform::start().await;
    let c = p.client();
    let csrf = sign_in_first_time(&p, &c).await;

    // A form without the session's CSRF token changes nothing.
    let r = c
        .post(p.url(ADMIN, "/sites/1/articles"))
        .form(&[
            ("csrf", "forged"),
            ("title", "伪造"),
            ("column_id", "1"),
            ("action", "publish"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Bad input comes back with the reasons and what was typed.
    let r = c
        .post(p.url(ADMIN, "/sites/1/articles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "  "),
            ("column_id", "999"),
            ("body", "保留的正文"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("标题不能为空") && page.contains("请选择本站点的栏目"),
        "{page}"
    );
    assert!(page.contains("保留的正文"));

    let title = "示范市召开网站群平台上线发布会";
    let r = c
        .post(p.url(ADMIN, "/sites/1/articles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", title),
            ("column_id", "1"),
            ("source", "市政务服务数据管理局"),
            ("author", "张三"),
            (
                "body",
                "第一段正文。\n\n第二段<script>alert(1)</script>正文。",
            ),
            ("action", "publish"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let id: i32 = to
        .strip_prefix("/articles/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redirect {to}"));

    // Visible through the gateway within 5 s, on its own page and on the homepage.
    let (_, page) = p
        .wait_for(
            PORTAL,
            &format!("/zwyw/{id}.html"),
            Duration::from_secs(5),
            |s, _| s == 200,
        )
        .await;
    assert!(page.contains(&format!("<h1>{title}</h1>")), "{page}");
    assert!(page.contains("市政务服务数据管理局"));
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "script must be cleaned on save"
    );
    let (_, home) = p
        .wait_for(PORTAL, "/", Duration::from_secs(5), |_, b| {
            b.contains(title)
        })
        .await;
    assert!(home.contains(&format!("/zwyw/{id}.html")));

    // Editing and saving without publishing leaves the public page as it was.
    let r = c
        .post(p.url(ADMIN, &format!("/articles/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "草稿中的新标题"),
            ("column_id", "1"),
            ("body", "修改中"),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let edit = text_of(&c, p.url(ADMIN, &format!("/articles/{id}"))).await;
    assert!(edit.contains("有未发布的修改"), "{edit}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let page = text_of(&c, p.url(PORTAL, &format!("/zwyw/{id}.html"))).await;
    assert!(page.contains(title) && !page.contains("草稿中的新标题"));

    // Logging out ends the session.
    let r = c
        .post(p.url(ADMIN, "/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login");
    let r = c.get(p.url(ADMIN, "/")).send().await.unwrap();
    assert_eq!(location(&r), "/login");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostname_change_propagates_to_the_gateway() {
    let p = Platform::start().await;
    let c = p.client();
    let csrf = sign_in_first_time(&p, &c).await;

    // Invalid or taken hostnames are refused and nothing changes.
    let r = c
        .post(p.url(ADMIN, "/sites/2/hostnames"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("hostnames", "Bad Host!\nwww.demo.localhost"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("不是有效的域名") && page.contains("已被其他站点使用"),
        "{page}"
    );
    assert_eq!(c.get(p.url(EDU, "/")).send().await.unwrap().status(), 200);

    let r = c
        .post(p.url(ADMIN, "/sites/2/hostnames"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("hostnames", "jiaoyu.demo.localhost"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let started = std::time::Instant::now();
    let (_, body) = p
        .wait_for(
            "jiaoyu.demo.localhost",
            "/",
            Duration::from_secs(5),
            |s, _| s == 200,
        )
        .await;
    assert!(body.contains("<title>示范市教育局</title>"));
    let took = started.elapsed();
    let r = c.get(p.url(EDU, "/")).send().await.unwrap();
    assert_eq!(r.status(), 404, "the old hostname no longer answers");
    eprintln!("hostname change visible at the gateway after {took:?}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_keeps_serving_when_the_control_plane_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let cms_addr = format!("127.0.0.1:{}", free_port());
    let gw_addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cms_data = dir.path().join("cms");
    let gw_data = dir.path().join("edge");

    // The control plane alone (no gateway in its process).
    let mut cms_args = vec![
        "cms".to_string(),
        "--data-dir".into(),
        cms_data.display().to_string(),
        "--cms-listen".into(),
        cms_addr.clone(),
    ];
    if let Some(url) = &db.url {
        cms_args.extend(["--database-url".into(), url.clone()]);
    }
    let cms_args: Vec<&str> = cms_args.iter().map(String::as_str).collect();
    let mut cms = Process::spawn(&cms_args, dir.path());
    cms.wait_stdout("控制面 Control plane", Duration::from_secs(60));

    // An edge gateway with its own data dir, pulling from the control plane.
    let token_file = cms_data.join("secrets/gateway-token");
    let gw_args = [
        "gateway",
        "--data-dir",
        gw_data.to_str().unwrap(),
        "--http-listen",
        &gw_addr.to_string(),
        "--control-plane",
        &format!("http://{cms_addr}"),
        "--token-file",
        token_file.to_str().unwrap(),
        "--node-name",
        "edge-1",
    ]
    .map(str::to_string);
    let gw_args: Vec<&str> = gw_args.iter().map(String::as_str).collect();
    let mut gateway = Process::spawn(&gw_args, dir.path());
    let (_, home) = wait_for(gw_addr, PORTAL, "/", Duration::from_secs(30), |s, _| {
        s == 200
    })
    .await;
    assert!(home.contains("示范市人民政府门户网站"));
    // The edge fetched the published objects into its own store.
    assert!(gw_data.join("store/objects").is_dir());
    assert!(gw_data.join("gateway/last-good.json").is_file());

    // Control plane down: the gateway keeps serving, page after page.
    let (took, status) = cms.stop_with("TERM");
    assert!(
        status.success() && took < Duration::from_secs(5),
        "{status} after {took:?}"
    );
    let client = client_for(gw_addr);
    for _ in 0..15 {
        for (host, path) in [(PORTAL, "/"), (EDU, "/"), (PORTAL, "/zcwj/")] {
            let r = client
                .get(format!("http://{host}:{}{path}", gw_addr.port()))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "{host}{path} while the control plane is down"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // And a gateway restarted while the control plane is still down starts from its last good
    // configuration.
    let (took, status) = gateway.stop_with("INT");
    assert!(
        status.success() && took < Duration::from_secs(5),
        "{status} after {took:?}"
    );
    let gateway = Process::spawn(&gw_args, dir.path());
    let (_, home) = wait_for(gw_addr, PORTAL, "/", Duration::from_secs(30), |s, _| {
        s == 200
    })
    .await;
    assert!(home.contains("示范市人民政府门户网站"));
    assert!(
        gateway
            .stderr()
            .contains("starting from last good configuration")
    );
    assert_eq!(
        client
            .get(format!("http://{ADMIN}:{}/login", gw_addr.port()))
            .send()
            .await
            .unwrap()
            .status(),
        502,
        "the admin UI is down with its control plane, and says so"
    );
    drop(gateway);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "http_lisen = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let p = Process::spawn(&["--config", "bad.toml", "serve"], dir.path());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !p.stderr().contains("unknown field") {
        assert!(
            std::time::Instant::now() < deadline,
            "stderr: {}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(p.stderr().contains("bad.toml"), "{}", p.stderr());
    // Nothing was created for a refused configuration.
    assert!(!dir.path().join("sitegroup-data").exists());
    drop(p);

    // A port already taken is reported before anything starts.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("d");
    let p = Process::spawn(
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--cms-listen",
            &addr,
        ],
        dir.path(),
    );
    while !p.stderr().contains("cannot listen on") {
        assert!(
            std::time::Instant::now() < deadline,
            "stderr: {}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
