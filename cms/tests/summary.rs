//! The period summary report: with known data in and around the period, the expected counts;
//! the page and the XLSX; only the platform administrators.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::http::get;
use common::{actor, setup, sign_in, site_by_code};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use sitegroup_cms::db::entities::{health_score, incident, security_event, site};
use sitegroup_cms::service::summary;

#[tokio::test]
async fn a_period_with_known_data_gives_the_expected_counts() {
    let env = setup().await;
    let db = &env.state.db;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    // Known data: November 2026 (Beijing). The education site is a proxied legacy site.
    let mut e = edu.clone().into_active_model();
    e.origin_upstreams = Set("10.0.0.5:8080".into());
    e.update(db).await.unwrap();
    let at = |d: u32, h: u32| {
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let blocked = |when: chrono::DateTime<Utc>, rule: &str, ip: &str| security_event::ActiveModel {
        received_at: Set(when),
        occurred_at: Set(when.to_rfc3339()),
        kind: Set("waf_blocked".into()),
        node: Set("edge-1".into()),
        request_id: Set(format!("r-{rule}-{ip}-{}", when.timestamp())),
        site_id: Set(Some(portal.id)),
        host: Set("www.demo.localhost".into()),
        path: Set("/".into()),
        client_ip: Set(ip.into()),
        detail: Set(format!(
            "blocked by rule {rule} (status 403); [{rule}] x @ ARGS:q = y"
        )),
        ..Default::default()
    };
    for ev in [
        blocked(at(3, 10), "942100", "198.51.100.1"),
        blocked(at(15, 0), "942100", "198.51.100.2"),
        blocked(at(30, 23), "941100", "198.51.100.1"),
        // Outside: 31 October 23:59 Beijing, and 1 December 00:00 Beijing.
        blocked(at(1, 0) - Duration::minutes(1), "942100", "198.51.100.9"),
        blocked(at(30, 0) + Duration::days(1), "941100", "198.51.100.9"),
    ] {
        ev.insert(db).await.unwrap();
    }
    // A rate-limit event is not a blocked attack.
    let mut rl = blocked(at(10, 9), "0", "198.51.100.3");
    rl.kind = Set("rate_limited".into());
    rl.insert(db).await.unwrap();
    let inc = |opened: chrono::DateTime<Utc>, closed: Option<chrono::DateTime<Utc>>, sev: &str| {
        incident::ActiveModel {
            site_id: Set(Some(portal.id)),
            title: Set("事件".into()),
            severity: Set(sev.into()),
            status: Set(if closed.is_some() { "closed" } else { "open" }.into()),
            alert_id: Set(None),
            opened_at: Set(opened),
            opened_by: Set("admin".into()),
            closed_at: Set(closed),
            postmortem: Set(String::new()),
            ..Default::default()
        }
    };
    for i in [
        inc(at(5, 8), Some(at(6, 8)), "major"),
        inc(at(20, 8), None, "general"),
        inc(at(1, 0) - Duration::days(3), Some(at(2, 8)), "general"),
    ] {
        i.insert(db).await.unwrap();
    }
    for (day, score, veto) in [
        ("2026-11-10", 90.0, "[]"),
        ("2026-11-11", 80.0, "[\"首页超过 14 天未更新\"]"),
        ("2026-10-31", 10.0, "[\"x\"]"),
    ] {
        health_score::ActiveModel {
            site_id: Set(portal.id),
            day: Set(day.into()),
            score: Set(score),
            veto: Set(veto.into()),
            deductions: Set("[]".into()),
            computed_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }

    let sys = actor(&env, "admin").await;
    for held in ["2026-11-12", "2026-10-12"] {
        sitegroup_cms::db::entities::drill::ActiveModel {
            site_id: Set(None),
            held_on: Set(held.into()),
            scenario: Set("首页被篡改".into()),
            participants: Set("值班人员".into()),
            findings: Set(String::new()),
            follow_ups: Set(String::new()),
            recorded_by: Set("admin".into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    let (from, to) = summary::period("2026-11-01", "2026-11-30").unwrap();
    let r = summary::build(&env.state, &sys, from, to).await.unwrap();
    let sites = site::Entity::find().all(db).await.unwrap();
    assert_eq!(
        r.sites_by_status.iter().map(|(_, n)| n).sum::<u64>(),
        sites.len() as u64
    );
    assert_eq!(r.legacy_proxied, 1);
    assert_eq!(r.blocked, 3, "three blocks inside the period");
    assert_eq!(r.distinct_sources, 2);
    assert_eq!(
        r.blocked_by_type,
        [("sqli".to_string(), 2), ("xss".to_string(), 1)]
    );
    assert_eq!((r.incidents_opened, r.incidents_closed), (2, 2));
    assert_eq!(
        r.incidents_by_severity,
        [
            ("一般".to_string(), 1),
            ("较大".to_string(), 1),
            ("重大".to_string(), 0),
            ("特别重大".to_string(), 0)
        ]
    );
    assert_eq!(r.scores, [(portal.name.clone(), 85.0, 1)]);
    assert_eq!((r.drills, r.plans), (1, 0));
    assert!(summary::period("2026-12-01", "2026-11-01").is_err());
    assert!(summary::period("2026-13-01", "2026-12-01").is_err());

    // The page, the XLSX, and who may read them.
    let (cookie, _) = sign_in(&env, sys.id()).await;
    let page = get(
        &env,
        "/reports/summary?from=2026-11-01&to=2026-11-30",
        &cookie,
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("统计期内拦截攻击 <strong>3</strong> 次，来自 <strong>2</strong> 个地址"),
        "{}",
        page.body
    );
    let bad = get(
        &env,
        "/reports/summary?from=2026-12-01&to=2026-11-01",
        &cookie,
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error().unwrap().contains("开始日期晚于结束日期"));
    let xlsx = get(
        &env,
        "/reports/summary.xlsx?from=2026-11-01&to=2026-11-30",
        &cookie,
    )
    .await;
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with("PK"));
    let aud = actor(&env, "auditor").await;
    let (acookie, _) = sign_in(&env, aud.id()).await;
    assert_eq!(get(&env, "/reports/summary", &acookie).await.status, 403);
}
