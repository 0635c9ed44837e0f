//! Emergency response: an incident opened by a tamper alert (its recovery written in), the
//! one-click actions changing what the gateways are given and each going into the timeline,
//! notes and status, closing only with a post-mortem, the printable report, and who may do it.

#![allow(clippy::unwrap_used)]

mod common;

use common::http::{audit_count, get, post};
use common::{actor, grant, setup, sign_in, site_by_code, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use sitegroup_cms::db::entities::{incident, incident_event, ip_ban, site};
use sitegroup_cms::monitor::alerts::{self, NewAlert, Severity};
use sitegroup_contract::config::Service;

async fn service_of(env: &common::Env, site_id: i32) -> Service {
    let snap =
        sitegroup_cms::snapshot::build(&env.state.db, &env.state.admin, &env.state.secrets.get())
            .await
            .unwrap();
    snap.sites
        .iter()
        .find(|s| s.id == i64::from(site_id))
        .unwrap()
        .service
        .clone()
}

#[tokio::test]
async fn an_incident_from_a_tamper_alert_is_handled_and_closed_with_its_postmortem() {
    let env = setup().await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (health, _) = site_by_code(&env, "health").await;
    // A tamper alert opens an incident by itself; other kinds do not.
    alerts::raise(
        &env.state,
        NewAlert {
            site_id: Some(portal.id),
            kind: "broken_links",
            key: "broken_links:1".into(),
            severity: Severity::Warning,
            title: "发现失效链接".into(),
            detail: String::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        incident::Entity::find().count(&env.state.db).await.unwrap(),
        0
    );
    alerts::raise(
        &env.state,
        NewAlert {
            site_id: Some(portal.id),
            kind: "tamper",
            key: format!("tamper:{}", portal.id),
            severity: Severity::Critical,
            title: "门户网站页面被篡改".into(),
            detail: "/index.html 内容被改动".into(),
        },
    )
    .await
    .unwrap();
    let inc = incident::Entity::find()
        .one(&env.state.db)
        .await
        .unwrap()
        .expect("an incident from the tamper alert");
    assert_eq!(
        (inc.site_id, inc.severity.as_str(), inc.status.as_str()),
        (Some(portal.id), "major", "open")
    );
    alerts::resolve(&env.state, &format!("tamper:{}", portal.id), "已自动恢复")
        .await
        .unwrap();
    let texts: Vec<String> = incident_event::Entity::find()
        .filter(incident_event::Column::IncidentId.eq(inc.id))
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(
        texts,
        [
            "告警：门户网站页面被篡改。/index.html 内容被改动",
            "告警恢复：已自动恢复"
        ]
    );

    // The security team acts from the incident.
    let sec = actor(&env, "secadmin").await;
    let (cookie, csrf) = sign_in(&env, sec.id()).await;
    let path = |a: &str| format!("/incidents/{}/action/{a}", inc.id);
    let r = post(&env, &path("read_only"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(service_of(&env, portal.id).await, Service::ReadOnly);
    let r = post(&env, &path("maintenance"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert!(matches!(
        service_of(&env, portal.id).await,
        Service::Maintenance { .. }
    ));
    let r = post(
        &env,
        &path("ban"),
        &cookie,
        &[("csrf", &csrf), ("address", "203.0.113.66"), ("hours", "2")],
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        ip_ban::Entity::find()
            .filter(ip_ban::Column::Address.eq("203.0.113.66"))
            .count(&env.state.db)
            .await
            .unwrap(),
        1
    );
    let r = post(
        &env,
        &path("ban"),
        &cookie,
        &[("csrf", &csrf), ("address", "not-an-ip")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.error().unwrap().contains("“not-an-ip”不是有效的 IP 地址"));
    let r = post(&env, &path("republish"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    let r = post(&env, &path("normal"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(service_of(&env, portal.id).await, Service::Normal);
    let r = post(
        &env,
        &format!("/incidents/{}/note", inc.id),
        &cookie,
        &[
            ("csrf", &csrf),
            ("text", "已排查服务器，未发现后门"),
            ("status", "contained"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    let page = get(&env, &format!("/incidents/{}", inc.id), &cookie).await;
    for line in [
        "网站状态：运行 → 只读（各网关 5 秒内生效）",
        "网站状态：只读 → 维护",
        "封禁地址 203.0.113.66，2 小时",
        "从数据库重新发布全站",
        "网站状态：维护 → 运行",
        "已排查服务器，未发现后门",
        "状态：处置中 → 已控制",
    ] {
        assert!(page.body.contains(line), "{line}: {}", page.body);
    }
    assert_eq!(
        audit_count(
            &env,
            "incident.action",
            &format!("incident:{}", inc.id),
            "success"
        )
        .await,
        5
    );
    // Closing needs a post-mortem.
    let r = post(
        &env,
        &format!("/incidents/{}/close", inc.id),
        &cookie,
        &[("csrf", &csrf), ("postmortem", "好了")],
    )
    .await;
    assert_eq!(r.status, 422);
    let r = post(
        &env,
        &format!("/incidents/{}/close", inc.id),
        &cookie,
        &[
            ("csrf", &csrf),
            (
                "postmortem",
                "原因：运维账号弱口令被利用，首页文件被改写。影响：首页被篡改约 1 分钟，未对外展示。改进：强制口令策略，关闭源站直连。",
            ),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    let report = get(&env, &format!("/incidents/{}/report", inc.id), &cookie).await;
    assert!(report.body.contains("网络安全事件报告"));
    assert!(report.body.contains("平台监测告警自动发现"));
    assert!(report.body.contains("运维账号弱口令被利用"));
    assert!(report.body.contains("已结案"));
    let xlsx = get(&env, &format!("/incidents/{}/report.xlsx", inc.id), &cookie).await;
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with("PK") && xlsx.body.contains("xl/worksheets/sheet2.xml"));
    let r = post(&env, &path("normal"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 422, "a closed incident takes no more actions");

    // A unit's administrator handles their own site's incidents, and sees no others.
    let sys = actor(&env, "admin").await;
    let b_admin = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, b_admin, health.id, None, "unit_admin", None).await;
    let (bcookie, bcsrf) = sign_in(&env, b_admin).await;
    let list = get(&env, "/incidents", &bcookie).await;
    assert!(!list.body.contains("门户网站页面被篡改"), "{}", list.body);
    assert_eq!(
        get(&env, &format!("/incidents/{}", inc.id), &bcookie)
            .await
            .status,
        404
    );
    let hid = health.id.to_string();
    let r = post(
        &env,
        "/incidents",
        &bcookie,
        &[
            ("csrf", &bcsrf),
            ("site_id", &hid),
            ("title", "卫健委网站遭受扫描"),
            ("severity", "general"),
            ("description", "日志中发现大量目录扫描"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = post(
        &env,
        "/incidents",
        &bcookie,
        &[
            ("csrf", &bcsrf),
            ("site_id", &portal.id.to_string()),
            ("title", "越权登记"),
            ("severity", "general"),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
    let h = site::Entity::find_by_id(health.id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.status, "运行");
}

/// Emergency plans and drills: checked, recorded, audited; each unit its own sites.
#[tokio::test]
async fn plans_and_drills_are_kept_per_site_and_for_the_group() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (health, _) = site_by_code(&env, "health").await;
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let r = post(
        &env,
        "/incidents/plans",
        &cookie,
        &[
            ("csrf", &csrf),
            ("title", ""),
            ("contacts", ""),
            ("steps", ""),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    let e = r.error().unwrap();
    assert!(
        e.contains("请填写预案名称") && e.contains("请填写联系人") && e.contains("请填写处置步骤"),
        "{e}"
    );
    let r = post(
        &env,
        "/incidents/plans",
        &cookie,
        &[
            ("csrf", &csrf),
            ("site_id", ""),
            ("title", "网站群网络安全事件应急预案"),
            (
                "contacts",
                "张三 分管领导 13912345678\n李四 值班 0571-87654321",
            ),
            (
                "steps",
                "1. 发现与报告\n2. 切换维护公告\n3. 取证与恢复\n4. 报告与总结",
            ),
            ("documents", "示政办〔2026〕12 号"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let tomorrow = (sitegroup_cms::publish::beijing(chrono::Utc::now()).date_naive()
        + chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    let r = post(
        &env,
        "/incidents/drills",
        &cookie,
        &[
            ("csrf", &csrf),
            ("held_on", &tomorrow),
            ("scenario", "首页被篡改"),
            ("participants", "值班人员"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.error().unwrap().contains("不能晚于今天"));
    let pid = portal.id.to_string();
    let r = post(
        &env,
        "/incidents/drills",
        &cookie,
        &[
            ("csrf", &csrf),
            ("site_id", &pid),
            ("held_on", "2026-11-20"),
            ("scenario", "门户首页被篡改，切换维护公告并从数据库恢复"),
            ("participants", "信息处、大数据中心"),
            ("findings", "值班电话未及时接通"),
            ("follow_ups", "增设备用值班电话"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = get(&env, "/incidents/plans", &cookie).await;
    assert!(page.body.contains("网站群网络安全事件应急预案"));
    assert!(page.body.contains("增设备用值班电话"));
    assert_eq!(
        audit_count(&env, "drill.record", "drill:1", "success").await,
        1
    );
    // Another unit's administrator: sees the group's plan, not the portal's drill; cannot
    // record for the portal or the group.
    let b_admin = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, b_admin, health.id, None, "unit_admin", None).await;
    let (bcookie, bcsrf) = sign_in(&env, b_admin).await;
    let page = get(&env, "/incidents/plans", &bcookie).await;
    assert!(page.body.contains("网站群网络安全事件应急预案"));
    assert!(!page.body.contains("增设备用值班电话"), "{}", page.body);
    let r = post(
        &env,
        "/incidents/drills",
        &bcookie,
        &[
            ("csrf", &bcsrf),
            ("site_id", &pid),
            ("held_on", "2026-11-20"),
            ("scenario", "越权"),
            ("participants", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
}

/// Rolling back to the last publication before the incident: the homepage published after it
/// (a defacement through the CMS) is replaced by the one before, at the gateways' next pull.
#[tokio::test]
async fn a_site_is_rolled_back_to_its_last_publication_before_the_incident() {
    use sitegroup_cms::db::entities::{publication, published_file};
    use sitegroup_cms::service::sites::{self, SiteSettings};
    let env = setup().await;
    let db = &env.state.db;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let home = |db: sea_orm::DatabaseConnection| async move {
        published_file::Entity::find()
            .filter(published_file::Column::SiteId.eq(portal.id))
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.path.trim_start_matches('/') == "index.html")
            .unwrap()
            .sha256
    };
    sitegroup_cms::publish::publish_site(&env.state, portal.id)
        .await
        .unwrap();
    let good = home(db.clone()).await;
    assert!(
        publication::Entity::find().count(db).await.unwrap() >= 1,
        "the first publication is recorded"
    );
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let r = post(
        &env,
        "/incidents",
        &cookie,
        &[
            ("csrf", &csrf),
            ("site_id", &portal.id.to_string()),
            ("title", "首页被恶意修改"),
            ("severity", "serious"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = r.location().trim_start_matches("/incidents/").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // After the incident began: the site's name changed and published (the "bad" publication).
    let mut settings = SiteSettings::of(&portal);
    settings.name = "被篡改的网站名称".into();
    sites::update_settings(&env.state, &sys, portal.id, &settings)
        .await
        .unwrap();
    let bad = home(db.clone()).await;
    assert_ne!(bad, good);
    let r = post(
        &env,
        &format!("/incidents/{id}/action/rollback"),
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        home(db.clone()).await,
        good,
        "the homepage before the incident"
    );
    let snap = sitegroup_cms::snapshot::build(db, &env.state.admin, &env.state.secrets.get())
        .await
        .unwrap();
    let s = snap
        .sites
        .iter()
        .find(|s| s.id == i64::from(portal.id))
        .unwrap();
    assert!(
        format!("{s:?}").contains(&good) && !format!("{s:?}").contains(&bad),
        "the gateways get the old manifest"
    );
    let page = get(&env, &format!("/incidents/{id}"), &cookie).await;
    assert!(page.body.contains("回滚到 "), "{}", page.body);
    assert!(page.body.contains("内容库未改动"));
}
