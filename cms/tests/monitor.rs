//! Detection in the control plane: 错敏词 on save (warned with the suggestion, blocked
//! categories refused with nothing saved), freshness against column cadences and the veto
//! items, and the detection settings form (validated, audited).

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::http::{audit_count, csrf_of, get, post};
use common::{actor, setup, sign_in, site_by_code};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
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
