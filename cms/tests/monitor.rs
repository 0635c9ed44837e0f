//! Detection in the control plane: 错敏词 on save (warned with the suggestion, blocked
//! categories refused with nothing saved), freshness against column cadences and the veto
//! items, and the detection settings form (validated, audited).

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::http::{audit_count, csrf_of, get, post};
use common::{actor, setup, sign_in, site_by_code};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use sitegroup_cms::db::entities::{article, site_column};
use sitegroup_cms::monitor::{self, freshness};

#[tokio::test]
async fn sensitive_words_warn_with_their_suggestion_and_blocked_ones_are_refused() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, cols) = site_by_code(&env, "portal").await;
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let col = cols[0].id.to_string();
    let path = format!("/sites/{}/articles", portal.id);

    // A common wrong expression (starter list, category 常见错别字): saved, and the editor shows
    // where it is and what to write instead — also when typed with a space and full-width.
    let r = post(
        &env,
        &path,
        &cookie,
        &[
            ("csrf", &csrf),
            ("column_id", &col),
            ("kind", "article"),
            ("title", "关于年度工作进展的通报"),
            ("body", "<p>截 止目前，各项工作按步就班推进。</p>"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = get(&env, r.location(), &cookie).await;
    assert!(page.body.contains("错敏词提示（2 处）"), "{}", page.body);
    assert!(
        page.body
            .contains("<mark>截 止目前</mark>”，建议改为“截至目前”"),
        "{}",
        page.body
    );
    assert!(page.body.contains("建议改为“按部就班”"));

    // A classification marking (涉密标识, blocked by default): refused, nothing saved.
    let before = article::Entity::find().count(&env.state.db).await.unwrap();
    let r = post(
        &env,
        &path,
        &cookie,
        &[
            ("csrf", &csrf),
            ("column_id", &col),
            ("kind", "article"),
            ("title", "会议纪要"),
            ("body", "<p>绝密★ 一年</p>"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("内容含有禁止发布的词语：“绝密★”（涉密标识）"),
        "{}",
        r.body
    );
    assert_eq!(
        article::Entity::find().count(&env.state.db).await.unwrap(),
        before
    );

    // The platform administrators keep the list: a new word takes effect at the next save.
    let page = get(&env, "/monitor/words", &cookie).await;
    assert!(page.body.contains("再接再励"), "starter list shipped");
    let r = post(
        &env,
        "/monitor/words",
        &cookie,
        &[
            ("csrf", &csrf_of(&page.body)),
            ("category", "body"),
            ("word", "示范市政府办"),
            ("suggestion", "示范市人民政府办公室"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        audit_count(&env, "word.add", "word:示范市政府办", "success").await,
        1
    );
    let r = post(
        &env,
        "/monitor/words",
        &cookie,
        &[
            ("csrf", &csrf),
            ("category", "body"),
            ("word", "示范市政府办"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "a duplicate is refused");
    assert!(r.body.contains("已在词库中"));
    let r = post(
        &env,
        &path,
        &cookie,
        &[
            ("csrf", &csrf),
            ("column_id", &col),
            ("kind", "article"),
            ("title", "示范市政府办发布通知"),
            ("body", "<p>正文</p>"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    let page = get(&env, r.location(), &cookie).await;
    assert!(
        page.body.contains("建议改为“示范市人民政府办公室”"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn columns_idle_past_their_cadence_and_empty_columns_are_flagged() {
    let env = setup().await;
    let db = &env.state.db;
    let (portal, cols) = site_by_code(&env, "portal").await;
    let now = Utc::now();

    // Freshly seeded: the homepage was updated today; 政务要闻 (工作动态) is held to 2 weeks.
    let today = freshness::evaluate(db, portal.id, now).await.unwrap();
    assert!(!today.homepage_idle);
    let news = today.columns.iter().find(|c| c.name == "政务要闻").unwrap();
    assert_eq!(news.cadence_days, Some(14));
    assert!(!news.idle && news.items > 0, "{news:?}");

    // A column with its own cadence of 3 days, last updated 5 days ago: flagged, the others not.
    let col = cols.iter().find(|c| c.name == "政务要闻").unwrap().clone();
    let mut a: site_column::ActiveModel = col.clone().into();
    a.update_cadence_days = Set(Some(3));
    a.update(db).await.unwrap();
    let later = freshness::evaluate(db, portal.id, now + Duration::days(5))
        .await
        .unwrap();
    let news = later.columns.iter().find(|c| c.id == col.id).unwrap();
    assert!(news.idle, "{news:?}");
    assert!(
        later.veto.is_empty(),
        "one idle column is no veto: {:?}",
        later.veto
    );

    // Four weeks on, nothing new anywhere: the homepage veto item, every cadence column idle.
    let month = freshness::evaluate(db, portal.id, now + Duration::days(28))
        .await
        .unwrap();
    assert!(month.homepage_idle);
    assert!(
        month
            .veto
            .iter()
            .any(|v| v.contains("首页超过 14 天未更新")),
        "{:?}",
        month.veto
    );

    // Empty columns count: five new empty columns are a veto item of their own.
    for i in 0..5 {
        site_column::ActiveModel {
            site_id: Set(portal.id),
            parent_id: Set(None),
            name: Set(format!("空栏目{i}")),
            slug: Set(format!("empty{i}")),
            column_type: Set("办事服务".into()),
            description: Set(String::new()),
            sort_order: Set(100 + i),
            keywords: Set(String::new()),
            update_cadence_days: Set(None),
            page_size: Set(20),
            list_template: Set(String::new()),
            article_template: Set(String::new()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    let r = freshness::evaluate(db, portal.id, now).await.unwrap();
    assert!(r.columns.iter().filter(|c| c.empty).count() >= 5);
    assert!(
        r.veto.iter().any(|v| v.contains("空白栏目")),
        "{:?}",
        r.veto
    );
}

#[tokio::test]
async fn detection_settings_are_checked_and_audited() {
    let env = setup().await;
    let sec = actor(&env, "secadmin").await;
    let (cookie, _) = sign_in(&env, sec.id()).await;
    let page = get(&env, "/monitor/settings", &cookie).await;
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);
    let before = monitor::load(&env.state.db).await.unwrap();

    let r = post(
        &env,
        "/monitor/settings",
        &cookie,
        &[
            ("csrf", &csrf),
            ("probe_interval_secs", "often"),
            ("probe_timeout_secs", "15"),
            ("down_after_failures", "2"),
            ("probe_via", "ftp://gateway"),
            ("tamper_interval_secs", "600"),
            ("link_interval_secs", "86400"),
            ("link_max_pages", "500"),
            ("log_retention_days", "180"),
            ("ban_threshold", "20"),
            ("ban_window_secs", "300"),
            ("ban_secs", "3600"),
            ("email_enabled", "on"),
            ("smtp_host", ""),
            ("smtp_port", "25"),
            ("smtp_security", "none"),
            ("email_from", "not an address"),
            ("email_to", ""),
            (
                "webhooks",
                "teams https://example.invalid/hook\njson file:///etc/passwd",
            ),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    for msg in [
        "探测间隔须为整数",
        "网关探测地址须形如",
        "请填写 SMTP 服务器",
        "发件人地址“not an address”无效",
        "请至少填写一个收件人",
        "Webhook 格式“teams”未知",
        "Webhook 地址“file:///etc/passwd”须为 http(s) 网址",
    ] {
        assert!(
            r.body.contains(msg),
            "missing {msg:?} in {}",
            r.error().unwrap_or_default()
        );
    }
    assert_eq!(
        monitor::load(&env.state.db).await.unwrap(),
        before,
        "nothing saved"
    );

    let r = post(
        &env,
        "/monitor/settings",
        &cookie,
        &[
            ("csrf", &csrf),
            ("probe_interval_secs", "60"),
            ("probe_timeout_secs", "10"),
            ("down_after_failures", "3"),
            ("probe_via", "http://127.0.0.1:8080"),
            ("tamper_interval_secs", "300"),
            ("link_interval_secs", "3600"),
            ("link_max_pages", "200"),
            ("log_retention_days", "365"),
            ("ban_threshold", "10"),
            ("ban_window_secs", "120"),
            ("ban_secs", "600"),
            ("email_enabled", "on"),
            ("smtp_host", "smtp.example.gov.cn"),
            ("smtp_port", "587"),
            ("smtp_security", "starttls"),
            ("smtp_username", "monitor"),
            ("smtp_password", "s3cret-smtp"),
            ("email_from", "网站群监测 <monitor@example.gov.cn>"),
            ("email_to", "ops@example.gov.cn, sec@example.gov.cn"),
            (
                "webhooks",
                "wecom https://qyapi.example/hook?key=1\nhttps://siem.example/in",
            ),
            ("block_secret", "on"),
            ("block_sensitive", "on"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.error().unwrap_or_default());
    let s = monitor::load(&env.state.db).await.unwrap();
    assert_eq!(s.probe_interval_secs, 60);
    assert_eq!(s.email.to, ["ops@example.gov.cn", "sec@example.gov.cn"]);
    assert_eq!(s.webhooks.len(), 2);
    assert_eq!(s.webhooks[1].format, "json");
    assert_eq!(s.word_block_categories, ["sensitive", "secret"]);
    assert_eq!(
        monitor::alerts::smtp_password(&env.state).await.unwrap(),
        "s3cret-smtp",
        "kept sealed, opened for sending"
    );
    assert_eq!(
        audit_count(&env, "monitor.settings", "settings:monitor", "success").await,
        1
    );
    // The password is never shown back.
    let page = get(&env, "/monitor/settings", &cookie).await;
    assert!(!page.body.contains("s3cret-smtp") && page.body.contains("已设置，留空则不变"));

    // A unit's editor may not change them.
    let (portal, _) = site_by_code(&env, "portal").await;
    let admin = actor(&env, "admin").await;
    let editor = common::user(&env, &admin, "zhao", "", Some(portal.org_id)).await;
    let (ec, ecsrf) = sign_in(&env, editor).await;
    let r = post(&env, "/monitor/settings", &ec, &[("csrf", &ecsrf)]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn logs_are_searched_exported_and_kept_for_their_retention() {
    use sitegroup_cms::db::entities::{access_log, security_event};
    let env = setup().await;
    let db = &env.state.db;
    let now = Utc::now();
    let rows: Vec<access_log::ActiveModel> = (0..300i64)
        .map(|i| access_log::ActiveModel {
            node: Set("edge-1".into()),
            spool: Set("access.log".into()),
            spool_offset: Set(i * 100),
            // one line a minute, the oldest 20 kept past the retention
            time: Set(if i < 20 {
                now - Duration::days(200)
            } else {
                now - Duration::minutes(300 - i)
            }),
            request_id: Set(if i == 250 {
                "req-special".into()
            } else {
                format!("req-{i}")
            }),
            site_id: Set(Some(if i % 2 == 0 { 1 } else { 2 })),
            client_ip: Set(format!("10.0.0.{}", i % 10)),
            method: Set("GET".into()),
            host: Set("www.demo.localhost".into()),
            path: Set(if i % 3 == 0 {
                format!("/tzgg/{i}.html")
            } else {
                "/".into()
            }),
            query: Set(None),
            status: Set(if i % 7 == 0 { 404 } else { 200 }),
            bytes_in: Set(0),
            bytes_out: Set(1000),
            duration_us: Set(1500),
            served_by: Set("published".into()),
            upstream: Set(None),
            upstream_ms: Set(None),
            waf: Set(if i == 251 {
                "blocked 942100".into()
            } else {
                String::new()
            }),
            user_agent: Set("test".into()),
            referrer: Set(String::new()),
            tls_version: Set(None),
            ..Default::default()
        })
        .collect();
    access_log::Entity::insert_many(rows)
        .exec(db)
        .await
        .unwrap();
    security_event::ActiveModel {
        received_at: Set(now),
        occurred_at: Set(now.to_rfc3339()),
        kind: Set("waf_blocked".into()),
        node: Set("edge-1".into()),
        request_id: Set("req-251".into()),
        site_id: Set(Some(2)),
        host: Set("www.demo.localhost".into()),
        path: Set("/".into()),
        client_ip: Set("10.0.0.1".into()),
        detail: Set("rule 942100 SQL injection; payload: ' or 1=1 --".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();

    let sec = actor(&env, "secadmin").await;
    let (cookie, _) = sign_in(&env, sec.id()).await;
    let count = |body: &str| body.matches("<tr><td><small>").count();
    // By address: every tenth line of the last day.
    let r = get(&env, "/monitor/logs?ip=10.0.0.7", &cookie).await;
    assert_eq!(r.status, 200);
    assert_eq!(count(&r.body), 28, "{}", r.body);
    // By status class and path prefix together.
    let r = get(&env, "/monitor/logs?status=4xx&path=%2Ftzgg%2F", &cookie).await;
    let expected = (20..300).filter(|i| i % 7 == 0 && i % 3 == 0).count();
    assert_eq!(count(&r.body), expected);
    // By request ID and by WAF rule.
    let r = get(&env, "/monitor/logs?request_id=req-special", &cookie).await;
    assert_eq!(count(&r.body), 1);
    let r = get(&env, "/monitor/logs?rule=942100", &cookie).await;
    assert_eq!(count(&r.body), 1);
    assert!(r.body.contains("blocked 942100"));
    // Pages of 100, newest first, with a link to the older ones.
    let r = get(&env, "/monitor/logs", &cookie).await;
    assert_eq!(count(&r.body), 100);
    let link = &r.body[..r.body.find("\">更早的记录").unwrap()];
    let next = link[link.rfind("/monitor/logs?").unwrap() + "/monitor/logs?".len()..]
        .replace("&amp;", "&");
    assert!(next.contains("before="), "{next}");
    let older = get(&env, &format!("/monitor/logs?{next}"), &cookie).await;
    assert_eq!(count(&older.body), 100);
    // Security events, by rule.
    let r = get(
        &env,
        "/monitor/logs?kind=security&event=waf_blocked&rule=942100",
        &cookie,
    )
    .await;
    assert!(
        r.body.contains("waf_blocked") && r.body.contains("req-251"),
        "{}",
        r.body
    );
    // CSV of one site's lines of the last day.
    let csv = get(&env, "/monitor/logs.csv?site=2", &cookie).await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.body.lines().count(),
        1 + 140,
        "header and site 2's lines"
    );
    assert!(csv.body.starts_with("\u{feff}时间,网站编号,客户端地址"));
    // The dashboard draws the same data: the rule that blocked, the address that attacked.
    let r = get(&env, "/monitor/dashboard", &cookie).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.matches("<svg").count(), 6, "six charts");
    assert!(
        r.body.contains("<title>942100：1</title>") || r.body.contains(">942100</text>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(">10.0.0.1</text>"), "top sources");
    assert!(
        r.body.contains("请求 <strong>280</strong>"),
        "lines of the last day"
    );
    // A bad query is answered with what is wrong, not with everything.
    let r = get(&env, "/monitor/logs?status=42&ip=10.0.0", &cookie).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("状态码“42”") && r.body.contains("不是有效的 IP 地址"));
    // Retention: the lines older than 180 days go, the rest stay.
    let (a, e) = monitor::logs::prune(db, 180, now).await.unwrap();
    assert_eq!((a, e), (20, 0));
    assert_eq!(access_log::Entity::find().count(db).await.unwrap(), 280);
    // A unit's editor does not read the group's logs.
    let (portal, _) = site_by_code(&env, "portal").await;
    let admin = actor(&env, "admin").await;
    let editor = common::user(&env, &admin, "qian", "", Some(portal.org_id)).await;
    let (ec, _) = sign_in(&env, editor).await;
    assert_eq!(get(&env, "/monitor/logs", &ec).await.status, 403);
}

#[tokio::test]
async fn a_spike_of_blocks_opens_an_alert_and_calm_closes_it() {
    use sitegroup_cms::db::entities::{alert, security_event};
    let env = setup().await;
    let now = Utc::now();
    let rows: Vec<security_event::ActiveModel> = (0..60)
        .map(|i| security_event::ActiveModel {
            received_at: Set(now - Duration::seconds(i)),
            occurred_at: Set(now.to_rfc3339()),
            kind: Set("waf_blocked".into()),
            node: Set("edge-1".into()),
            request_id: Set(format!("r{i}")),
            site_id: Set(Some(1)),
            host: Set("www.demo.localhost".into()),
            path: Set("/".into()),
            client_ip: Set(format!("198.51.100.{}", i % 20)),
            detail: Set("rule 942100".into()),
            ..Default::default()
        })
        .collect();
    security_event::Entity::insert_many(rows)
        .exec(&env.state.db)
        .await
        .unwrap();
    monitor::bans::spike(&env.state, now).await.unwrap();
    let open = monitor::alerts::open_alert(&env.state, "attack_spike")
        .await
        .unwrap()
        .expect("a spike alert");
    assert!(
        open.detail.contains("最近 5 分钟拦截 60 次"),
        "{}",
        open.detail
    );
    // Ten minutes on, the window is quiet: closed.
    monitor::bans::spike(&env.state, now + Duration::minutes(10))
        .await
        .unwrap();
    let a = alert::Entity::find_by_id(open.id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(a.resolved_at.is_some() && a.resolution.contains("回落"));
}

/// A served site's health: veto items first (a serious wording error left open), then the
/// deductions, each the inspection's way; the day's score kept for the trend; the report
/// pages and the XLSX export, each unit seeing only its own sites.
#[tokio::test]
async fn health_reports_score_veto_items_then_deductions_with_a_trend() {
    use sitegroup_cms::db::entities::{health_score, link_issue, monitor_probe, word_finding};
    use sitegroup_cms::monitor::health;
    let env = setup().await;
    let db = &env.state.db;
    let (portal, _) = site_by_code(&env, "portal").await;
    let now = Utc::now();
    // A week of probes, 2 of 100 failed: 2 % (below the 5 % veto) costs 4 points.
    let probes: Vec<monitor_probe::ActiveModel> = (0..100)
        .map(|i| monitor_probe::ActiveModel {
            site_id: Set(portal.id),
            target: Set("gateway".into()),
            address: Set("http://www.demo.localhost/".into()),
            checked_at: Set(now - Duration::minutes(i * 60)),
            ok: Set(i >= 2),
            status: Set(Some(200)),
            latency_ms: Set(Some(20)),
            error: Set(String::new()),
            ..Default::default()
        })
        .collect();
    monitor_probe::Entity::insert_many(probes)
        .exec(db)
        .await
        .unwrap();
    // One broken link on the homepage, one elsewhere.
    for (url, on) in [
        ("http://x.invalid/a", "http://www.demo.localhost/"),
        (
            "http://www.demo.localhost/gone.html",
            "http://www.demo.localhost/news/1.html",
        ),
    ] {
        link_issue::ActiveModel {
            site_id: Set(portal.id),
            url: Set(url.into()),
            status: Set(Some(404)),
            error: Set(String::new()),
            found_on: Set(on.into()),
            anchor: Set("链接".into()),
            first_seen_at: Set(now),
            checked_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    // What the page scan found: a common typo, and a wrong name of a body (serious).
    let page = |w: &str, c: &str| monitor::words::PageWord {
        word: w.into(),
        category: c.into(),
        suggestion: String::new(),
        found: w.into(),
        context: format!("前文\u{2}{w}\u{3}后文"),
    };
    let scan = vec![(
        "http://www.demo.localhost/news/1.html".to_string(),
        vec![page("再接再励", "typo"), page("国务院总里", "body")],
    )];
    monitor::words::record_scan(db, portal.id, &scan, now)
        .await
        .unwrap();

    let h = health::evaluate(&env.state, &portal, now).await.unwrap();
    assert!(
        h.veto
            .iter()
            .any(|v| v.contains("严重表述错误 1 处未处理：“国务院总里”")),
        "{:?}",
        h.veto
    );
    assert_eq!(h.grade, "不合格");
    let points = |item: &str| {
        h.deductions
            .iter()
            .find(|d| d.item == item)
            .map(|d| d.points)
    };
    assert_eq!(points("首页可用性"), Some(4.0), "{:?}", h.deductions);
    assert_eq!(points("首页链接可用性"), Some(1.0));
    assert_eq!(points("其他页面链接可用性"), Some(0.2));
    assert_eq!(points("错别字与敏感词"), Some(1.0));
    let lost: f64 = h.deductions.iter().map(|d| d.points).sum();
    assert!(
        (h.score - (100.0 - lost)).abs() < 0.05,
        "{} {lost}",
        h.score
    );

    // The round stores the day's score and opens the veto alert.
    health::round(&env.state).await.unwrap();
    let today = health_score::Entity::find()
        .filter(health_score::Column::SiteId.eq(portal.id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(today.len(), 1);
    assert!(today[0].veto.contains("国务院总里"));
    let veto = monitor::alerts::open_alert(&env.state, &format!("veto:{}", portal.id))
        .await
        .unwrap()
        .expect("the veto alert");
    assert!(veto.detail.contains("严重表述错误"), "{}", veto.detail);
    // A score from three days ago: the trend shows both days.
    let earlier = sitegroup_cms::publish::beijing(now - Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    health_score::ActiveModel {
        site_id: Set(portal.id),
        day: Set(earlier.clone()),
        score: Set(97.5),
        veto: Set("[]".into()),
        deductions: Set("[]".into()),
        computed_at: Set(now - Duration::days(3)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();

    // The security team reads the group's and the site's report.
    let sec = actor(&env, "secadmin").await;
    let (cookie, csrf) = sign_in(&env, sec.id()).await;
    // The navigation's badge counts the open alert.
    let badge = get(&env, "/monitor/alerts/badge", &cookie).await;
    assert!(
        badge.body.contains(r#"title="未恢复的告警 1 条">1</span>"#),
        "{}",
        badge.body
    );
    let group = get(&env, "/monitor/health", &cookie).await;
    assert_eq!(group.status, 200, "{}", group.body);
    assert!(group.body.contains(&portal.name), "{}", group.body);
    assert!(
        group
            .body
            .contains("触发单项否决 <strong class=\"bad\">1</strong>")
    );
    let site_page = get(&env, &format!("/monitor/health/{}", portal.id), &cookie).await;
    assert_eq!(site_page.status, 200);
    assert!(site_page.body.contains("严重表述错误 1 处未处理"));
    assert!(site_page.body.contains("首页可用性"));
    assert!(
        site_page
            .body
            .contains(&format!("{}：97.5</title>", &earlier[5..])),
        "the stored day in the trend: {}",
        site_page.body
    );
    assert!(
        site_page.body.contains("（单项否决）</title>"),
        "today, vetoed"
    );
    assert!(site_page.body.contains("data-print"));
    let xlsx = get(&env, "/monitor/health.xlsx", &cookie).await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(
        xlsx.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx.body.starts_with("PK"), "a zip file");
    assert!(xlsx.body.contains("xl/worksheets/sheet2.xml"), "two sheets");

    // Fixing the serious word lifts the veto.
    let serious = word_finding::Entity::find()
        .filter(word_finding::Column::Word.eq("国务院总里"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let r = post(
        &env,
        &format!("/monitor/word-findings/{}/fixed", serious.id),
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let h = health::evaluate(&env.state, &portal, now).await.unwrap();
    assert!(
        !h.veto.iter().any(|v| v.contains("严重表述错误")),
        "{:?}",
        h.veto
    );

    // A unit's people see only their own sites.
    let sys = actor(&env, "admin").await;
    let (other, _) = site_by_code(&env, "edu").await;
    let editor = common::user(&env, &sys, "health-editor", "", Some(other.org_id)).await;
    common::grant(&env, &sys, editor, other.id, None, "editor", None).await;
    let (ecookie, _) = sign_in(&env, editor).await;
    let badge = get(&env, "/monitor/alerts/badge", &ecookie).await;
    assert_eq!(
        (badge.status.as_u16(), badge.body.as_str()),
        (200, ""),
        "not their alert"
    );
    // A session that must change its password first is not answered with the password page
    // (which has the navigation, and so the badge, again): a 401, which htmx leaves alone.
    let mut u: sitegroup_cms::db::entities::app_user::ActiveModel =
        common::http::user_row(&env, sec.id()).await.into();
    u.must_change_password = Set(true);
    u.update(db).await.unwrap();
    let badge = get(&env, "/monitor/alerts/badge", &cookie).await;
    assert_eq!(badge.status.as_u16(), 401);
    let theirs = get(&env, "/monitor/health", &ecookie).await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.contains(&portal.name), "{}", theirs.body);
    let r = get(&env, &format!("/monitor/health/{}", portal.id), &ecookie).await;
    assert_eq!(r.status, 404);
    let r = get(
        &env,
        &format!("/monitor/health.xlsx?site={}", portal.id),
        &ecookie,
    )
    .await;
    assert_eq!(r.status, 404);
}

/// The page scan's findings: ignored ones stay ignored, fixed ones open again when found
/// again, words gone from a page read again are closed; each action audited; CSV export; a
/// unit cannot touch another unit's findings.
#[tokio::test]
async fn word_findings_on_pages_are_ignored_fixed_and_exported() {
    use sitegroup_cms::monitor::words::{self, PageWord};
    let env = setup().await;
    let db = &env.state.db;
    let (portal, _) = site_by_code(&env, "portal").await;
    let list = words::WordList::load(db).await.unwrap();
    let a = "http://www.demo.localhost/a.html".to_string();
    let b = "http://www.demo.localhost/b.html".to_string();
    let on = |html: &str| list.find_on_page(html);
    let now = Utc::now();
    let first = words::record_scan(
        db,
        portal.id,
        &[
            (a.clone(), on("<p>截止目前，工作按步就班。</p>")),
            (b.clone(), on("<p>要再接再励。</p>")),
        ],
        now,
    )
    .await
    .unwrap();
    assert_eq!(first.opened, 3);
    let sec = actor(&env, "secadmin").await;
    let (cookie, csrf) = sign_in(&env, sec.id()).await;
    let page = get(&env, "/monitor/word-findings", &cookie).await;
    assert!(
        page.body.contains("<mark>截止目前</mark>，工作按步就班。"),
        "highlighted in place: {}",
        page.body
    );
    assert!(
        page.body
            .contains("a.html#:~:text=%E6%88%AA%E6%AD%A2%E7%9B%AE%E5%89%8D"),
        "a link that scrolls to the word"
    );
    let ignore = finding(db, "按步就班").await;
    let fix = finding(db, "再接再励").await;
    for (id, action) in [(ignore.id, "ignore"), (fix.id, "fixed")] {
        let r = post(
            &env,
            &format!("/monitor/word-findings/{id}/{action}"),
            &cookie,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    assert_eq!(
        audit_count(
            &env,
            "word.finding",
            &format!("word-finding:{}", ignore.id),
            "success"
        )
        .await,
        1
    );
    // Scanned again: all three still there; the one marked fixed is back, the ignored one not.
    let again = words::record_scan(
        db,
        portal.id,
        &[
            (a.clone(), on("<p>截止目前，工作按步就班。</p>")),
            (b.clone(), on("<p>要再接再励。</p>")),
        ],
        now + Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        words::ScanCounts {
            opened: 1,
            gone: 0,
            open: 2
        }
    );
    assert_eq!(finding(db, "按步就班").await.status, "ignored");
    assert_eq!(finding(db, "再接再励").await.status, "open");
    // Page a corrected and read again; page b not read this time: its finding stays.
    let third = words::record_scan(
        db,
        portal.id,
        &[(a.clone(), Vec::<PageWord>::new())],
        now + Duration::days(2),
    )
    .await
    .unwrap();
    assert_eq!((third.gone, third.open), (1, 1));
    let gone = finding(db, "截止目前").await;
    assert_eq!(
        (gone.status.as_str(), gone.handled_by.as_str()),
        ("fixed", "复查未再发现")
    );
    let csv = get(&env, "/monitor/word-findings.csv?status=all", &cookie).await;
    assert!(csv.body.starts_with('\u{feff}'));
    assert!(
        csv.body
            .lines()
            .any(|l| l.contains("截止目前") && l.contains("【截止目前】") && l.contains("已修正")),
        "{}",
        csv.body
    );
    assert_eq!(csv.body.lines().count(), 4, "header and three rows");
    // Another unit's editor neither sees nor handles them.
    let sys = actor(&env, "admin").await;
    let (other, _) = site_by_code(&env, "edu").await;
    let editor = common::user(&env, &sys, "words-editor", "", Some(other.org_id)).await;
    common::grant(&env, &sys, editor, other.id, None, "editor", None).await;
    let (ecookie, ecsrf) = sign_in(&env, editor).await;
    let theirs = get(&env, "/monitor/word-findings?status=all", &ecookie).await;
    assert!(!theirs.body.contains("再接再励"), "{}", theirs.body);
    let r = post(
        &env,
        &format!("/monitor/word-findings/{}/ignore", fix.id),
        &ecookie,
        &[("csrf", &ecsrf)],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(finding(db, "再接再励").await.status, "open");
}

/// SIEM forwarding: a new receiver starts at what arrives from now on; security events go out
/// as RFC 5424 syslog (UDP) and JSON lines (TCP) with attack type, rule ids and the masked
/// payload; a receiver that is down loses nothing — it gets everything when it is back.
#[tokio::test]
async fn security_events_are_forwarded_to_the_siem_and_wait_for_a_receiver_that_is_down() {
    use sitegroup_cms::db::entities::security_event;
    use sitegroup_cms::monitor::siem;
    use tokio::io::AsyncReadExt;
    let env = setup().await;
    let db = &env.state.db;
    let event = |i: i32| {
        security_event::ActiveModel {
        received_at: Set(Utc::now()),
        occurred_at: Set("2026-11-26T08:00:00Z".into()),
        kind: Set("waf_blocked".into()),
        node: Set("edge-1".into()),
        request_id: Set(format!("req-{i}")),
        site_id: Set(Some(1)),
        host: Set("www.demo.localhost".into()),
        path: Set("/search".into()),
        client_ip: Set("203.0.113.7".into()),
        detail: Set(
            "blocked by rule 949110 (status 403); inbound anomaly score 5; \
             [941100] XSS Attack Detected via libinjection @ ARGS:q = <script>alert(*)</script>; \
             [949110] Inbound Anomaly Score Exceeded (Total Score: 5) @ TX:blocking_inbound_anomaly_score = *"
                .into(),
        ),
        ..Default::default()
    }
    };
    security_event::Entity::insert(event(0))
        .exec(db)
        .await
        .unwrap();
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let udp_url = format!("syslog+udp://{}", udp.local_addr().unwrap());
    // A TCP receiver that is not listening yet.
    let tcp_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let tcp_url = format!("jsonl+tcp://127.0.0.1:{tcp_port}");
    let client = siem::client().unwrap();
    // First contact: the event stored before is not sent.
    assert_eq!(
        siem::forward_to(&env.state, &udp_url, false, &client)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        siem::forward_to(&env.state, &tcp_url, false, &client)
            .await
            .unwrap(),
        0,
        "nothing to send yet, so no connection either"
    );
    for i in 1..=2 {
        security_event::Entity::insert(event(i))
            .exec(db)
            .await
            .unwrap();
    }
    assert_eq!(
        siem::forward_to(&env.state, &udp_url, false, &client)
            .await
            .unwrap(),
        2
    );
    let mut buf = vec![0u8; 9000];
    for i in 1..=2 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), udp.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(
            m.starts_with("<132>1 2026-11-26T08:00:00.000Z edge-1 sitegroup - waf_blocked [sitegroup@32473 kind=\"waf_blocked\" attack=\"xss\" site=\"1\""),
            "{m}"
        );
        assert!(m.contains(&format!("request_id=\"req-{i}\"")), "{m}");
        assert!(
            m.contains(r#"rules="941100,949110" blocking_rule="949110" payload="ARGS:q = <script>alert(*)</script>""#),
            "{m}"
        );
    }
    // Nothing new: nothing sent.
    assert_eq!(
        siem::forward_to(&env.state, &udp_url, false, &client)
            .await
            .unwrap(),
        0
    );
    // The TCP receiver is down: still down, nothing lost; up again: both events arrive.
    assert!(
        siem::forward_to(&env.state, &tcp_url, false, &client)
            .await
            .is_err()
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", tcp_port))
        .await
        .unwrap();
    let receiver = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        got
    });
    assert_eq!(
        siem::forward_to(&env.state, &tcp_url, false, &client)
            .await
            .unwrap(),
        2
    );
    let got = receiver.await.unwrap();
    let lines: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{got}");
    assert_eq!(lines[0]["http.request.id"], "req-1");
    assert_eq!(lines[1]["http.request.id"], "req-2");
    assert_eq!(lines[0]["sitegroup.attack_type"], "xss");
    assert_eq!(lines[0]["rule.id"], serde_json::json!(["941100", "949110"]));
    assert_eq!(
        lines[0]["sitegroup.payload"][0],
        "ARGS:q = <script>alert(*)</script>"
    );
    // A receiver address that is not one is refused by the settings form.
    let s = monitor::Settings {
        siem_targets: vec!["syslog://nowhere".into()],
        ..Default::default()
    };
    assert!(
        s.problems().iter().any(|p| p.contains("SIEM 接收地址")),
        "{:?}",
        s.problems()
    );
}

async fn finding(
    db: &sea_orm::DatabaseConnection,
    word: &str,
) -> sitegroup_cms::db::entities::word_finding::Model {
    use sitegroup_cms::db::entities::word_finding;
    word_finding::Entity::find()
        .filter(word_finding::Column::Word.eq(word))
        .one(db)
        .await
        .unwrap()
        .unwrap()
}
