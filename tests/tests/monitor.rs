//! Unified detection, fault injection through real processes: a legacy site's origin stopped
//! (reported down, alert by mail and webhook within two probe intervals, recovery notice when
//! it returns); a published file altered on disk (withheld at once, restored by re-rendering,
//! alerted); an address that keeps attacking (banned at the gateway, released after the ban).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    ADMIN, PORTAL, Platform, SmtpSink, WebhookSink, save_monitor_settings, save_portal_settings,
    sign_in_first_time, sign_in_first_time_as, text_of,
};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORIGIN_PAGE: &str = "<h1>旧网站 legacy origin</h1>";

/// A legacy site's own server on `port`; aborting the task closes the port.
async fn origin(port: u16) -> tokio::task::JoinHandle<()> {
    origin_serving(port, Arc::new(Mutex::new(ORIGIN_PAGE.to_string()))).await
}

/// A legacy site's server whose pages are whatever `page` holds at the time.
async fn origin_serving(port: u16, page: Arc<Mutex<String>>) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            let page = page.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                // An old server: version banners, its repository left in the web root, and
                // every other path answered with the homepage.
                let (ct, body) = if got.starts_with(b"GET /.git/HEAD ") {
                    ("text/plain", "ref: refs/heads/master\n")
                } else {
                    ("text/html; charset=utf-8", page.as_str())
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nserver: Apache/2.4.49 (Unix)\r\nx-powered-by: PHP/5.6.40\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    })
}

/// The 系统管理员's client, signed in, having made the portal a legacy site served by the
/// server on `port`.
async fn portal_served_by(p: &Platform, port: u16) -> reqwest::Client {
    let admin = p.client();
    let csrf = sign_in_first_time(p, &admin).await;
    let upstream = format!("127.0.0.1:{port}");
    save_portal_settings(p, &admin, &csrf, "运行", &[("origin_upstreams", &upstream)]).await;
    admin
}

async fn secadmin(p: &Platform) -> reqwest::Client {
    let sec = p.client();
    sign_in_first_time_as(p, &sec, "secadmin").await;
    sec
}

fn is(kind: &'static str, event: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |b| b["event"] == event && b["alert"]["kind"] == kind
}

#[tokio::test]
async fn a_stopped_origin_is_reported_down_by_mail_and_webhook_then_recovers() {
    let p = Platform::start().await;
    let smtp = SmtpSink::smtp();
    let hook = WebhookSink::webhook();
    let smtp_port = smtp.port.to_string();
    let hook_line = format!("json {}", hook.url());
    let sec = secadmin(&p).await;
    save_monitor_settings(
        &p,
        &sec,
        &[
            ("probe_interval_secs", "2"),
            ("probe_timeout_secs", "2"),
            ("down_after_failures", "2"),
            ("email_enabled", "on"),
            ("smtp_host", "127.0.0.1"),
            ("smtp_port", &smtp_port),
            ("smtp_security", "none"),
            ("email_from", "网站群监测 <monitor@demo.localhost>"),
            ("email_to", "ops@demo.localhost"),
            ("webhooks", &hook_line),
        ],
    )
    .await;

    // The portal becomes a legacy site behind the gateway, served by its own server.
    let port = common::free_port();
    let server = origin(port).await;
    let admin = portal_served_by(&p, port).await;
    let upstream = format!("127.0.0.1:{port}");
    p.wait_for(PORTAL, "/", Duration::from_secs(10), |s, body| {
        s == 200 && body.contains("legacy origin")
    })
    .await;
    // Probes see it up (the overview shows the origin probed directly as well).
    common::wait_with(
        &admin,
        &p.url(ADMIN, "/monitor"),
        Duration::from_secs(15),
        |_, page| page.contains("（旧网站，反向代理）") && page.contains("class=\"ok\">正常"),
    )
    .await;

    // The origin stops: within two probe intervals (plus one probe's timeout) the site is
    // reported down, by webhook and by mail.
    server.abort();
    let stopped = Instant::now();
    let opened = hook
        .wait_for(
            "site_down opened",
            Duration::from_secs(20),
            is("site_down", "opened"),
        )
        .await;
    let took = stopped.elapsed();
    println!("site reported down {took:?} after its origin stopped");
    assert!(took <= Duration::from_secs(2 * 2 + 2 + 1), "took {took:?}");
    assert_eq!(opened["alert"]["site_id"], 1);
    assert_eq!(opened["alert"]["severity"], "critical");
    let detail = opened["alert"]["detail"].as_str().unwrap();
    assert!(detail.contains("连续 2 次探测失败"), "{detail}");
    assert!(
        detail.contains(&format!("源站 {upstream}")),
        "origin probed directly: {detail}"
    );
    let mail = smtp
        .wait_for("无法访问", Duration::from_secs(10), |m| {
            m.contains("无法访问")
        })
        .await;
    assert!(mail.starts_with("Subject: [sitegroup] 【严重】"), "{mail}");
    assert!(mail.contains("网站：示范市人民政府门户网站"), "{mail}");

    // It comes back: one recovery notice on each channel, and the alert is closed.
    let _server = origin(port).await;
    hook.wait_for(
        "site_down resolved",
        Duration::from_secs(20),
        is("site_down", "resolved"),
    )
    .await;
    let mail = smtp
        .wait_for("【已恢复】", Duration::from_secs(10), |m| {
            // (other checks may close alerts of their own meanwhile)
            m.contains("【已恢复】") && m.contains("无法访问")
        })
        .await;
    assert!(mail.contains("探测恢复正常"), "{mail}");
    let downs = hook
        .items()
        .iter()
        .filter(|b| b["alert"]["kind"] == "site_down")
        .count();
    assert_eq!(downs, 2, "deduplicated: one alert, one recovery");
    let page = text_of(&admin, p.url(ADMIN, "/monitor/alerts?all=1")).await;
    assert!(page.contains("示范市人民政府门户网站无法访问"), "{page}");
    assert!(page.contains("恢复 · email · 已送达"), "{page}");
    p.stop().await;
}

#[tokio::test]
async fn a_published_file_altered_on_disk_is_restored_and_alerted() {
    let p = Platform::start().await;
    let hook = WebhookSink::webhook();
    let hook_line = format!("json {}", hook.url());
    let sec = secadmin(&p).await;
    save_monitor_settings(
        &p,
        &sec,
        &[("tamper_interval_secs", "1"), ("webhooks", &hook_line)],
    )
    .await;
    let visitor = p.client();
    let original = text_of(&visitor, p.url(PORTAL, "/")).await;
    let hash = hex::encode(sha2::Sha256::digest(original.as_bytes()));
    let file = p
        .data_dir()
        .join("store/objects")
        .join(&hash[..2])
        .join(&hash);
    assert!(file.is_file(), "the homepage is {}", file.display());
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, "<h1>defaced</h1>").unwrap();
    let altered = Instant::now();

    // Never served altered; back to the published page once restored.
    let (status, body) = p
        .wait_for(PORTAL, "/", Duration::from_secs(15), |s, body| {
            assert!(!body.contains("defaced"), "an altered page was served");
            s == 200
        })
        .await;
    println!(
        "homepage restored {:?} after it was altered",
        altered.elapsed()
    );
    assert_eq!((status, body), (200, original));
    let opened = hook
        .wait_for(
            "tamper opened",
            Duration::from_secs(10),
            is("tamper", "opened"),
        )
        .await;
    let detail = opened["alert"]["detail"].as_str().unwrap();
    assert!(detail.contains("已自动恢复：/index.html"), "{detail}");
    hook.wait_for(
        "tamper resolved",
        Duration::from_secs(10),
        is("tamper", "resolved"),
    )
    .await;
    // The altered copy is kept as evidence.
    let kept: Vec<String> = std::fs::read_dir(p.data_dir().join("quarantine"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(kept, ["<h1>defaced</h1>"]);

    // The tamper alert opened an incident; from it, the site goes to its maintenance notice at
    // the gateway within 5 s, and the action is in the incident's timeline.
    // (By its title: other alerts of the run, such as a failed availability probe, open
    // incidents of their own.)
    let list = text_of(&sec, p.url(ADMIN, "/incidents")).await;
    let at = list
        .find("网页被篡改</a><br><small>由告警自动登记")
        .unwrap_or_else(|| panic!("no incident from the alert: {list}"));
    let id: String = list[..at]
        .rsplit("href=\"/incidents/")
        .next()
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let page = text_of(&sec, p.url(ADMIN, &format!("/incidents/{id}"))).await;
    assert!(page.contains("告警：示范市人民政府门户网站"), "{page}");
    assert!(
        page.contains("告警恢复："),
        "the recovery is in the timeline: {page}"
    );
    let r = sec
        .post(p.url(ADMIN, &format!("/incidents/{id}/action/maintenance")))
        .form(&[("csrf", common::csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let acted = Instant::now();
    p.wait_for(PORTAL, "/", Duration::from_secs(5), |s, _| s == 503)
        .await;
    println!(
        "maintenance notice at the gateway {:?} after the action",
        acted.elapsed()
    );
    let page = text_of(&sec, p.url(ADMIN, &format!("/incidents/{id}"))).await;
    assert!(page.contains("网站状态：运行 → 维护"), "{page}");
    let r = sec
        .post(p.url(ADMIN, &format!("/incidents/{id}/action/normal")))
        .form(&[("csrf", common::csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    p.wait_for(PORTAL, "/", Duration::from_secs(5), |s, _| s == 200)
        .await;
    p.stop().await;
}

#[tokio::test]
async fn an_address_that_keeps_attacking_is_banned_then_released() {
    let p = Platform::start().await;
    let hook = WebhookSink::webhook();
    let hook_line = format!("json {}", hook.url());
    // The security team's SIEM, receiving syslog over UDP.
    let siem = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let siem_url = format!("syslog+udp://{}", siem.local_addr().unwrap());
    let sec = secadmin(&p).await;
    save_monitor_settings(
        &p,
        &sec,
        &[
            ("ban_threshold", "3"),
            ("ban_window_secs", "60"),
            ("ban_secs", "6"),
            ("webhooks", &hook_line),
            ("siem_targets", &siem_url),
        ],
    )
    .await;
    let visitor = p.client();
    for _ in 0..3 {
        let r = visitor
            .get(p.url(PORTAL, "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "the WAF blocks the attack");
    }
    // Soon even a clean request is refused, on every site of the group.
    p.wait_for(PORTAL, "/", Duration::from_secs(10), |s, _| s == 403)
        .await;
    let banned = Instant::now();
    let r = visitor.get(p.url(common::EDU, "/")).send().await.unwrap();
    assert_eq!(r.status(), 403, "banned on the other sites too");
    // The security team still reaches the admin, and sees the ban.
    let page = text_of(&sec, p.url(ADMIN, "/monitor/bans")).await;
    assert!(
        page.contains("<td>127.0.0.1</td>") && page.contains("<td>自动</td>"),
        "{page}"
    );
    let opened = hook
        .wait_for(
            "attack_ban opened",
            Duration::from_secs(10),
            is("attack_ban", "opened"),
        )
        .await;
    assert!(
        opened["alert"]["detail"]
            .as_str()
            .unwrap()
            .contains("被 WAF 拦截 3 次")
    );

    // Released when the ban ends (6 s after it began), by the gateway itself.
    p.wait_for(PORTAL, "/", Duration::from_secs(15), |s, _| s == 200)
        .await;
    let lasted = banned.elapsed();
    println!("ban observed for {lasted:?}");
    assert!(
        lasted >= Duration::from_secs(3),
        "released too early: {lasted:?}"
    );
    hook.wait_for(
        "attack_ban resolved",
        Duration::from_secs(10),
        is("attack_ban", "resolved"),
    )
    .await;
    // Each block reaches the SIEM as RFC 5424 syslog: attack type, rule ids, masked payload.
    let mut buf = vec![0u8; 9000];
    let mut blocks = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while blocks < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, siem.recv(&mut buf))
            .await
            .expect("three blocks forwarded to the SIEM")
            .unwrap();
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !m.contains(" waf_blocked [") {
            continue;
        }
        blocks += 1;
        assert!(m.starts_with("<132>1 "), "{m}");
        assert!(m.contains(" attack=\"xss\" "), "{m}");
        assert!(m.contains(" client=\"127.0.0.1\" "), "{m}");
        assert!(
            m.contains(" rules=\"100300\" blocking_rule=\"100300\""),
            "{m}"
        );
        assert!(
            m.contains(" payload=\"ARGS:q = <script>alert(*)</script>\""),
            "{m}"
        );
    }
    p.stop().await;
}

#[tokio::test]
async fn a_planted_broken_link_is_reported_with_its_page_and_text() {
    let p = Platform::start().await;
    let admin = p.client();
    let csrf = sign_in_first_time(&p, &admin).await;
    // Published without review on the portal, with one dead internal and one dead external
    // link among the live ones.
    save_portal_settings(&p, &admin, &csrf, "运行", &[]).await;
    let r = admin
        .post(p.url(ADMIN, "/sites/1/articles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("column_id", "1"),
            ("kind", "article"),
            ("title", "链接检查示例"),
            (
                "body",
                "<p>截止目前，见<a href=\"/no-such-page.html\">失效的内部链接</a>、\
                 <a href=\"/\">首页</a>和<a href=\"http://gone.invalid/page\">失效的外部链接</a>。</p>",
            ),
            ("action", "publish"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    p.wait_for(PORTAL, "/", Duration::from_secs(10), |s, body| {
        s == 200 && body.contains("链接检查示例")
    })
    .await;
    let sec = secadmin(&p).await;
    save_monitor_settings(&p, &sec, &[("probe_timeout_secs", "3")]).await;
    let page = text_of(&sec, p.url(ADMIN, "/monitor/links")).await;
    let r = sec
        .post(p.url(ADMIN, "/monitor/links/check"))
        .form(&[("csrf", common::csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let deadline = Instant::now() + Duration::from_secs(90);
    let page = loop {
        let page = text_of(&sec, p.url(ADMIN, "/monitor/links")).await;
        if page.contains("no-such-page.html") && page.contains("gone.invalid") {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "links page: {page}\nlog: {}",
            p.process
                .stderr()
                .lines()
                .chain(p.process.stdout().lines())
                .filter(|l| l.contains("link") || l.contains("WARN") || l.contains("ERROR"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        page.contains("失效的内部链接") && page.contains("HTTP 404"),
        "{page}"
    );
    assert!(page.contains("失效的外部链接"), "{page}");
    // Found on the article's page; the live links are not listed.
    let csv = text_of(&sec, p.url(ADMIN, "/monitor/links.csv")).await;
    let internal = csv
        .lines()
        .find(|l| l.contains("no-such-page.html"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        internal.starts_with("示范市人民政府门户网站,"),
        "{internal}"
    );
    assert!(
        internal.contains(",HTTP 404,") && internal.contains(".html,失效的内部链接,"),
        "{internal}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.contains("gone.invalid")).count(),
        1,
        "{csv}"
    );
    assert!(
        !csv.contains(",首页,"),
        "a live link is not reported: {csv}"
    );
    let alerts = text_of(&sec, p.url(ADMIN, "/monitor/alerts")).await;
    assert!(alerts.contains("发现 2 个失效链接"), "{alerts}");
    // The same crawl read the published pages for wrong and sensitive words (the word was
    // only warned about when saved): on the article's page, highlighted, with its suggestion.
    let words = text_of(&sec, p.url(ADMIN, "/monitor/word-findings")).await;
    assert!(
        words.contains("<mark>截止目前</mark>，见失效的内部链接"),
        "{words}"
    );
    assert!(words.contains("<td>截至目前</td>"), "{words}");
    p.stop().await;
}

#[tokio::test]
async fn what_a_legacy_origin_gives_away_is_reported() {
    let p = Platform::start().await;
    let port = common::free_port();
    let _server = origin(port).await;
    portal_served_by(&p, port).await;
    let upstream = format!("127.0.0.1:{port}");
    // Saving the detection settings starts every check anew.
    let sec = secadmin(&p).await;
    save_monitor_settings(&p, &sec, &[("probe_timeout_secs", "3")]).await;
    let (_, page) = common::wait_with(
        &sec,
        &p.url(ADMIN, "/monitor"),
        Duration::from_secs(30),
        |_, page| page.contains("/.git/HEAD"),
    )
    .await;
    assert!(
        page.contains(&format!("源站 {upstream} 可直接下载 /.git/HEAD")),
        "{page}"
    );
    assert!(page.contains("x-powered-by: PHP/5.6.40"), "{page}");
    assert!(page.contains("server: Apache/2.4.49 (Unix)"), "{page}");
    // Every other probed path answered with the homepage: no evidence, no finding.
    assert!(
        !page.contains("/.env") && !page.contains("backup.zip") && !page.contains("可列目录"),
        "{page}"
    );
    // Visitors get the gateway's headers and no banner; nothing is missing there.
    assert!(!page.contains("访问者收到的页面缺少"), "{page}");
    let alerts = text_of(&sec, p.url(ADMIN, "/monitor/alerts")).await;
    assert!(
        alerts.contains("示范市人民政府门户网站存在 1 项暴露面问题"),
        "{alerts}"
    );
    p.stop().await;
}

#[tokio::test]
async fn a_defaced_legacy_page_is_caught_against_its_baseline() {
    const PAGE: &str = "<html><body><h1>示范县人民政府</h1><p>访问量：<span id=\"n\">1000</span></p>\
        <ul><li>关于做好防汛工作的通知</li><li>2026年预算公开</li><li>政府信息公开年度报告</li></ul>\
        <p>版权所有 示范县人民政府办公室</p></body></html>";
    let p = Platform::start().await;
    let port = common::free_port();
    let page = Arc::new(Mutex::new(PAGE.to_string()));
    let _server = origin_serving(port, page.clone()).await;
    portal_served_by(&p, port).await;
    // Once the gateways serve the portal from its own server:
    p.wait_for(PORTAL, "/", Duration::from_secs(15), |s, body| {
        s == 200 && body.contains("示范县人民政府")
    })
    .await;
    let sec = secadmin(&p).await;
    save_monitor_settings(
        &p,
        &sec,
        &[("probe_timeout_secs", "3"), ("tamper_interval_secs", "1")],
    )
    .await;
    // A bad ignore-region is refused with the line named, nothing saved.
    let form = text_of(&sec, p.url(ADMIN, "/monitor/baselines")).await;
    let csrf = common::csrf_of(&form);
    let r = sec
        .post(p.url(ADMIN, "/monitor/baselines"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("site_id", "1"),
            ("path", "/"),
            ("ignore_regions", "<span id=\"n\">.*?</span>\n(unclosed"),
            ("threshold_pct", "10"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("忽略区域第 2 行“(unclosed”不是有效的正则表达式"),
        "{body}"
    );
    assert!(body.contains("尚未设置监测页面"), "{body}");
    // The homepage watched, the visit counter left out; its baseline taken at once.
    let r = sec
        .post(p.url(ADMIN, "/monitor/baselines"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("site_id", "1"),
            ("path", "/"),
            ("ignore_regions", "<span id=\"n\">.*?</span>"),
            ("threshold_pct", "10"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(
        r.headers()["location"],
        "/monitor/baselines?notice=baseline",
        "saved, baseline taken"
    );
    let list = text_of(&sec, p.url(ADMIN, "/monitor/baselines")).await;
    assert!(list.contains("基线采集于 20"), "{list}");
    // The counter moves: no change at all.
    *page.lock().unwrap() = PAGE.replace(">1000<", ">1042<");
    let (_, list) = common::wait_with(
        &sec,
        &p.url(ADMIN, "/monitor/baselines"),
        Duration::from_secs(15),
        |_, page| page.contains("<td>0.0%"),
    )
    .await;
    assert!(!list.contains("class=\"bad\""), "{list}");
    // Defaced: the tamper alert, with what changed.
    *page.lock().unwrap() =
        "<html><body><h1>Hacked by nobody</h1><p>your site is mine</p></body></html>".into();
    let started = Instant::now();
    let (_, alerts) = common::wait_with(
        &sec,
        &p.url(ADMIN, "/monitor/alerts"),
        Duration::from_secs(20),
        |_, page| page.contains("与基线相比变化"),
    )
    .await;
    println!("defacement alerted after {:?}", started.elapsed());
    assert!(alerts.contains("新增“"), "{alerts}");
    let health = text_of(&sec, p.url(ADMIN, "/monitor/health/1")).await;
    assert!(health.contains("网页篡改未及时处置"), "{health}");
    // The unit put the page back: the alert closes by itself.
    *page.lock().unwrap() = PAGE.to_string();
    common::wait_with(
        &sec,
        &p.url(ADMIN, "/monitor/alerts?all=1"),
        Duration::from_secs(20),
        |_, page| page.contains("低于阈值"),
    )
    .await;
    let open = text_of(&sec, p.url(ADMIN, "/monitor/alerts")).await;
    assert!(!open.contains("与基线相比变化"), "{open}");
    // A genuine change: taken as the new baseline, audited.
    *page.lock().unwrap() = PAGE.replace(
        "<li>2026年预算公开</li>",
        "<li>2027年预算公开</li><li>招聘公告</li><li>人事任免</li><li>重大项目进展</li>",
    );
    common::wait_with(
        &sec,
        &p.url(ADMIN, "/monitor/alerts"),
        Duration::from_secs(20),
        |_, page| page.contains("与基线相比变化"),
    )
    .await;
    let list = text_of(&sec, p.url(ADMIN, "/monitor/baselines")).await;
    let r = sec
        .post(p.url(ADMIN, "/monitor/baselines/1/retake"))
        .form(&[("csrf", common::csrf_of(&list))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/monitor/baselines?notice=retaken");
    let open = text_of(&sec, p.url(ADMIN, "/monitor/alerts")).await;
    assert!(!open.contains("与基线相比变化"), "{open}");
    let all = text_of(&sec, p.url(ADMIN, "/monitor/alerts?all=1")).await;
    assert!(all.contains("已重新采集页面基线"), "{all}");
    p.stop().await;
}
