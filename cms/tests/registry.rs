//! The site registry (网站登记): the survey form validated and completed with its history; bulk
//! import all-or-nothing with every bad row's reason (or the good rows on request); export →
//! import round trip in the summary layout; each unit its own records.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use common::http::{audit_count, get, post};
use common::{actor, grant, setup, sign_in, site_by_code, user};
use sea_orm::{EntityTrait, PaginatorTrait};
use sitegroup_cms::db::entities::{site_registry, site_registry_change};
use sitegroup_cms::service::registry::io as rio;
use sitegroup_cms::service::registry::{self, Values};

/// Every field of the form, valid.
fn full(site: &str, domain: &str) -> Vec<(&'static str, String)> {
    vec![
        ("unit_name", "示范市人民政府办公室".into()),
        ("unit_address", "示范市人民路 1 号".into()),
        ("unit_type", "行政机关".into()),
        ("leader_name", "张三".into()),
        ("leader_title", "副秘书长".into()),
        ("leader_phone", "0571-87654321".into()),
        ("manager_name", "市政府办公室信息处".into()),
        ("manager_head", "李四".into()),
        ("manager_head_title", "处长".into()),
        ("manager_office_phone", "0571-87654322".into()),
        ("manager_mobile", "13912345678".into()),
        ("operator_name", "市大数据中心".into()),
        ("operator_head", "王五".into()),
        ("operator_head_title", "主任".into()),
        ("operator_office_phone", "0571-87654323".into()),
        ("operator_mobile", "13812345678".into()),
        ("site_name", site.into()),
        ("domains", domain.into()),
        ("ips", "10.1.2.3\n2001:db8::10".into()),
        ("launch_date", "2015-03-01".into()),
        ("business_type", "公众服务".into()),
        ("audience", "社会公众人员".into()),
        ("purpose", "发布政务信息，提供办事服务".into()),
        ("icp_filed", "是".into()),
        ("icp_number", "浙ICP备12345678号".into()),
        ("dengbao_grade", "二级".into()),
        ("kaiban_audit", "是".into()),
        ("qualification_review", "是".into()),
        ("unified_mark", "否".into()),
        ("filled_by", "赵六".into()),
        ("filler_phone", "0571-87654324".into()),
        ("filled_date", "2026-11-20".into()),
    ]
}

#[tokio::test]
async fn the_form_is_validated_completed_and_its_changes_kept() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let org = portal.org_id.to_string();

    // Bad values: refused, each named, nothing saved.
    let r = post(
        &env,
        "/registry/new",
        &cookie,
        &[
            ("csrf", &csrf),
            ("org_id", &org),
            ("site_name", "示范市政府门户网站"),
            ("leader_phone", "12"),
            ("domains", "www.demo.gov.cn not_a_domain"),
            ("ips", "10.0.0.300"),
            ("launch_date", "2015-02-30"),
            ("unit_type", "政府"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = r.error().unwrap();
    for part in [
        "责任领导联系电话“12”不是有效的电话号码",
        "网站域名中的“not_a_domain”不是有效的域名",
        "IP地址中的“10.0.0.300”不是有效的 IP 地址",
        "开通日期“2015-02-30”不是有效的日期",
        "单位类型须为以下之一：行政机关、事业单位、企业、其他",
    ] {
        assert!(e.contains(part), "{part} in {e}");
    }
    assert!(
        r.body.contains("value=\"示范市政府门户网站\""),
        "what was typed stays"
    );
    assert_eq!(
        site_registry::Entity::find()
            .count(&env.state.db)
            .await
            .unwrap(),
        0
    );

    // A partial form is saved and shown as incomplete.
    let portal_id = portal.id.to_string();
    let r = post(
        &env,
        "/registry/new",
        &cookie,
        &[
            ("csrf", &csrf),
            ("org_id", &org),
            ("site_id", &portal_id),
            ("site_name", "示范市政府门户网站"),
            ("domains", "WWW.Demo.gov.cn"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = r
        .location()
        .trim_start_matches("/registry/")
        .split('?')
        .next()
        .unwrap()
        .parse::<i32>()
        .unwrap();
    let list = get(&env, "/registry", &cookie).await;
    assert!(list.body.contains("缺 29 项"), "{}", list.body);
    assert_eq!(
        audit_count(
            &env,
            "registry.create",
            &format!("registry:{id}"),
            "success"
        )
        .await,
        1
    );

    // Completed: every field, and the history says what changed.
    let mut form: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("org_id", org.clone()),
        ("site_id", portal_id.clone()),
    ];
    form.extend(full("示范市人民政府门户网站", "www.demo.gov.cn"));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post(&env, &format!("/registry/{id}"), &cookie, &pairs).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = get(&env, &format!("/registry/{id}"), &cookie).await;
    assert!(
        page.body
            .contains("网站名称：示范市政府门户网站 → 示范市人民政府门户网站"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("网站域名：（空） → www.demo.gov.cn")
            || page.body.contains("ICP备案号：（空） → 浙ICP备12345678号")
    );
    let list = get(&env, "/registry", &cookie).await;
    assert!(list.body.contains(">完整</span>"), "{}", list.body);
    assert_eq!(
        site_registry_change::Entity::find()
            .count(&env.state.db)
            .await
            .unwrap(),
        2
    );
    // Saving the same values again changes nothing and records nothing.
    let r = post(&env, &format!("/registry/{id}"), &cookie, &pairs).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        site_registry_change::Entity::find()
            .count(&env.state.db)
            .await
            .unwrap(),
        2
    );
}

/// `registry::save` of a full record for a unit, as the system administrator.
async fn registered(env: &common::Env, org_id: i32, site: &str, domain: &str) -> i32 {
    let sys = actor(env, "admin").await;
    let values: Values = full(site, domain)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    registry::save(
        &env.state,
        &sys,
        &registry::Save {
            id: None,
            org_id,
            site_id: None,
            values,
        },
    )
    .await
    .unwrap()
    .id
}

fn csv(rows: &[&[&str]]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for r in rows {
        out.push_str(
            &r.iter()
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Posts a file to the import, as the browser's multipart form.
async fn upload(
    env: &common::Env,
    cookie: &str,
    csrf: &str,
    name: &str,
    bytes: &[u8],
    only_good: bool,
) -> (axum::http::StatusCode, String, String) {
    let boundary = "----sitegroup-test-boundary";
    let mut body = Vec::new();
    let mut part = |headers: String, data: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "Content-Disposition: form-data; name=\"csrf\"".into(),
        csrf.as_bytes(),
    );
    if only_good {
        part(
            "Content-Disposition: form-data; name=\"only_good\"".into(),
            b"1",
        );
    }
    part(
        format!(
            "Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream"
        ),
        bytes,
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = Request::post("/registry/import")
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("x-real-ip", "192.0.2.1")
        .body(Body::from(body))
        .unwrap();
    send_raw(env, req).await
}

/// Status, body and `Location` of a request through the whole router.
async fn send_raw(
    env: &common::Env,
    req: Request<Body>,
) -> (axum::http::StatusCode, String, String) {
    let (status, headers, body) = common::respond(env, req, 8 << 20).await;
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        location,
    )
}

/// A signed-in download: status and bytes.
async fn download(
    env: &common::Env,
    cookie: &str,
    path: &str,
) -> (axum::http::StatusCode, Vec<u8>) {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .header("x-real-ip", "192.0.2.1")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = common::respond(env, req, 8 << 20).await;
    (status, body)
}

#[tokio::test]
async fn an_import_with_bad_rows_changes_nothing_and_names_every_row() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let org_name = sitegroup_cms::db::entities::organization::Entity::find_by_id(portal.org_id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap()
        .name;
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let good = full("示范市文化馆网站", "whg.demo.gov.cn");
    let mut head: Vec<&str> = vec![rio::ID, rio::ORG];
    head.extend(good.iter().map(|(k, _)| {
        sitegroup_cms::service::registry::fields::field(k)
            .unwrap()
            .label
    }));
    let row = |site: &'static str, domain: &'static str, phone: &'static str, org: &str| {
        let mut r: Vec<String> = vec![String::new(), org.to_string()];
        for (k, v) in full(site, domain) {
            r.push(if k == "leader_phone" {
                phone.to_string()
            } else {
                v
            });
        }
        r
    };
    let rows = [
        row(
            "示范市文化馆网站",
            "whg.demo.gov.cn",
            "0571-87654321",
            &org_name,
        ),
        row(
            "示范市图书馆网站",
            "lib.demo.gov.cn",
            "not-a-phone",
            &org_name,
        ),
        row(
            "示范市档案馆网站",
            "daj.demo.gov.cn",
            "0571-87654321",
            "没有这个单位",
        ),
    ];
    let mut table: Vec<&[&str]> = Vec::new();
    let head_ref: Vec<&str> = head.clone();
    table.push(&head_ref);
    let row_refs: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    for r in &row_refs {
        table.push(r);
    }
    let file = csv(&table);
    let (status, body, _) = upload(&env, &cookie, &csrf, "sites.csv", &file, false).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("文件有 2 处问题，未导入任何记录"), "{body}");
    assert!(
        body.contains("第 3 行：责任领导联系电话“not-a-phone”不是有效的电话号码"),
        "{body}"
    );
    assert!(
        body.contains("第 4 行：所属单位“没有这个单位”不存在"),
        "{body}"
    );
    assert_eq!(
        site_registry::Entity::find()
            .count(&env.state.db)
            .await
            .unwrap(),
        0,
        "nothing imported"
    );
    // An unknown column is a problem of the file, before any row.
    let bad_head = csv(&[&["网站名称", "网站网址"], &["x", "y"]]);
    let (status, body, _) = upload(&env, &cookie, &csrf, "sites.csv", &bad_head, false).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("第 1 行第 2 列：未知的列“网站网址”"),
        "{body}"
    );
    // Not a spreadsheet at all.
    let (status, body, _) =
        upload(&env, &cookie, &csrf, "sites.xlsx", b"PK not really", false).await;
    assert_eq!(status, 422);
    assert!(body.contains("无法读取表格文件"), "{body}");
    // On request, the good row alone.
    let (status, body, _) = upload(&env, &cookie, &csrf, "sites.csv", &file, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("已导入无误的行：新增 1 条，更新 0 条，无变化 0 条；以下 2 行未导入。"),
        "{body}"
    );
    let all = site_registry::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].complete);
    assert_eq!(
        registry::values_of(&all[0]).get("site_name").unwrap(),
        "示范市文化馆网站"
    );
}

#[tokio::test]
async fn export_then_import_round_trips_every_field() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let a = registered(
        &env,
        portal.org_id,
        "示范市人民政府门户网站",
        "www.demo.gov.cn",
    )
    .await;
    let b = registered(&env, edu.org_id, "示范市教育局网站", "jyj.demo.gov.cn").await;
    let before: Vec<site_registry::Model> = site_registry::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap();
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let (status, bytes) = download(&env, &cookie, "/registry/export.xlsx").await;
    assert_eq!(status, 200);
    let table = rio::read_table(&bytes, "export.xlsx").unwrap();
    assert_eq!(table.len(), 3, "header and two records");
    assert_eq!(table[1][0], a.to_string());
    assert_eq!(table[2][0], b.to_string());
    // Imported as it is: every record unchanged, no history written.
    let (status, body, location) = upload(&env, &cookie, &csrf, "export.xlsx", &bytes, false).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location,
        "/registry?notice=imported&created=0&updated=0&unchanged=2"
    );
    let after: Vec<site_registry::Model> = site_registry::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap();
    assert_eq!(
        before
            .iter()
            .map(|r| (&r.fields, r.org_id, r.site_id))
            .collect::<Vec<_>>(),
        after
            .iter()
            .map(|r| (&r.fields, r.org_id, r.site_id))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        site_registry_change::Entity::find()
            .count(&env.state.db)
            .await
            .unwrap(),
        2,
        "only the two creations"
    );
    // The form layout: one sheet per site.
    let (_, forms) = download(&env, &cookie, "/registry/export.xlsx?layout=form").await;
    let text = String::from_utf8_lossy(&forms);
    assert!(
        text.contains("xl/worksheets/sheet2.xml") && !text.contains("xl/worksheets/sheet3.xml")
    );
    let form_sheet = rio::read_table(&forms, "forms.xlsx").unwrap();
    assert_eq!(form_sheet[0][0], "互联网网站及应用情况调查表");
    assert!(
        form_sheet
            .iter()
            .any(|r| r.first().is_some_and(|c| c == "IP地址") && r[1] == "10.1.2.3\n2001:db8::10"),
        "{form_sheet:?}"
    );
}

#[tokio::test]
async fn each_unit_sees_and_edits_only_its_own_records() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (health, _) = site_by_code(&env, "health").await;
    let mine = registered(&env, health.org_id, "卫健委网站", "wjw.demo.gov.cn").await;
    let theirs = registered(&env, portal.org_id, "门户网站", "www.demo.gov.cn").await;
    let admin_b = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, admin_b, health.id, None, "unit_admin", None).await;
    let (cookie, csrf) = sign_in(&env, admin_b).await;
    let list = get(&env, "/registry", &cookie).await;
    assert!(
        list.body.contains("卫健委网站") && !list.body.contains("门户网站"),
        "{}",
        list.body
    );
    assert_eq!(
        get(&env, &format!("/registry/{theirs}"), &cookie)
            .await
            .status,
        404
    );
    let r = post(
        &env,
        &format!("/registry/{theirs}"),
        &cookie,
        &[("csrf", &csrf), ("site_name", "改掉")],
    )
    .await;
    assert_eq!(r.status, 404);
    let r = post(
        &env,
        &format!("/registry/{mine}"),
        &cookie,
        &[("csrf", &csrf), ("site_name", "示范市卫生健康委员会网站")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // An import row for another unit is refused with its reason.
    let portal_org = sitegroup_cms::db::entities::organization::Entity::find_by_id(portal.org_id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap()
        .name;
    let file = csv(&[&[rio::ORG, "网站名称"], &[portal_org.as_str(), "冒名登记"]]);
    let (status, body, _) = upload(&env, &cookie, &csrf, "x.csv", &file, false).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("第 2 行：无权登记或修改该单位的网站"),
        "{body}"
    );
    // An editor of the unit reads but does not edit.
    let editor = user(&env, &sys, "b_editor", "", Some(health.org_id)).await;
    grant(&env, &sys, editor, health.id, None, "editor", None).await;
    let (ecookie, ecsrf) = sign_in(&env, editor).await;
    let page = get(&env, &format!("/registry/{mine}"), &ecookie).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<button type=\"submit\">保存</button>"));
    let r = post(
        &env,
        &format!("/registry/{mine}"),
        &ecookie,
        &[("csrf", &ecsrf), ("site_name", "改掉")],
    )
    .await;
    assert_eq!(r.status, 403);
    // The security administrator has no registry.
    let sec = actor(&env, "secadmin").await;
    let (scookie, _) = sign_in(&env, sec.id()).await;
    assert_eq!(get(&env, "/registry", &scookie).await.status, 403);
}

/// Consolidation: decisions and progress per site, the group's figures from what the platform
/// does with each site, and closing carried out — a site not in the platform yet gets one, with
/// its registered domain, that answers with a 301 to the unit's portal at the gateways.
#[tokio::test]
async fn consolidation_is_tracked_and_closing_reaches_the_gateway_configuration() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    use sitegroup_cms::db::entities::site;
    use sitegroup_contract::config::Service;
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let (health, _) = site_by_code(&env, "health").await;
    // The education bureau's site stays on its own server, behind the gateway.
    let mut e = edu.clone().into_active_model();
    e.origin_upstreams = Set("10.0.0.5:8080".into());
    e.update(&env.state.db).await.unwrap();
    let link = |id: i32, site: i32| {
        let db = env.state.db.clone();
        async move {
            let r = site_registry::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap();
            let mut a = r.into_active_model();
            a.site_id = Set(Some(site));
            a.update(&db).await.unwrap();
        }
    };
    let merged = registered(&env, portal.org_id, "门户网站", "www.demo.gov.cn").await;
    link(merged, portal.id).await;
    let protected = registered(&env, edu.org_id, "教育局网站", "jyj.demo.gov.cn").await;
    link(protected, edu.id).await;
    let old = registered(&env, portal.org_id, "旧专题网站", "zt.demo.localhost").await;
    let _pending = registered(&env, health.org_id, "卫健委旧站", "old.wjw.demo.gov.cn").await;

    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let page = get(&env, "/registry/consolidation", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("登记网站 <strong>4</strong> 个，已迁入平台 <strong>1</strong> 个，已接入防护 <strong>1</strong> 个，已关停 <strong>0</strong> 个，待整合 <strong>2</strong> 个；整合完成 <strong>50%</strong>"),
        "{}",
        page.body
    );
    // Closing needs the decision first.
    let r = post(
        &env,
        &format!("/registry/{old}/close"),
        &cookie,
        &[("csrf", &csrf), ("redirect", "https://www.demo.localhost/")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.error().unwrap().contains("只有整合方式为“关停”"));
    let r = post(
        &env,
        &format!("/registry/{old}/plan"),
        &cookie,
        &[
            ("csrf", &csrf),
            ("decision", "close"),
            ("progress", "in_progress"),
            ("due_date", "2026-12-31"),
            ("note", "内容已迁入门户专题栏目"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = post(
        &env,
        &format!("/registry/{old}/plan"),
        &cookie,
        &[
            ("csrf", &csrf),
            ("decision", "tear-down"),
            ("due_date", "明天"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    let e = r.error().unwrap();
    assert!(
        e.contains("整合方式无效") && e.contains("完成期限“明天”不是有效的日期"),
        "{e}"
    );
    let r = post(
        &env,
        &format!("/registry/{old}/close"),
        &cookie,
        &[("csrf", &csrf), ("redirect", "https://www.demo.localhost/")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let record = site_registry::Entity::find_by_id(old)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.progress, "done");
    let closed = site::Entity::find_by_id(record.site_id.unwrap())
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.status.as_str(), closed.closed_redirect.as_str()),
        ("已关停", "https://www.demo.localhost/")
    );
    assert_eq!(
        audit_count(
            &env,
            "consolidation.close",
            &format!("registry:{old}"),
            "success"
        )
        .await,
        1
    );
    // What the gateways get: the registered domain, answered with a 301.
    let snap =
        sitegroup_cms::snapshot::build(&env.state.db, &env.state.admin, &env.state.secrets.get())
            .await
            .unwrap();
    let s = snap
        .sites
        .iter()
        .find(|s| s.hostnames.iter().any(|h| h == "zt.demo.localhost"))
        .expect("the closed site is served by the gateways");
    assert!(
        matches!(&s.service, Service::Closed { redirect, .. } if redirect == "https://www.demo.localhost/"),
        "{:?}",
        s.service
    );
    let page = get(&env, "/registry/consolidation", &cookie).await;
    assert!(
        page.body.contains("已关停 <strong>1</strong> 个，待整合 <strong>1</strong> 个；整合完成 <strong>75%</strong>"),
        "{}",
        page.body
    );
    // The history has the plan and the closure.
    let form = get(&env, &format!("/registry/{old}"), &cookie).await;
    assert!(
        form.body.contains("整合方式：（空） → 关停<br>")
            && form.body.contains("整合进度：（空） → 进行中<br>"),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("整合进度：进行中 → 已完成"),
        "{}",
        form.body
    );
}

/// Compliance: report deadlines reminded of through the alerts, moved on when done; 等保
/// assessments due within 30 days reminded of from the registry; only the 系统管理员 keeps them.
#[tokio::test]
async fn deadlines_and_assessments_are_reminded_of_and_move_on_when_done() {
    use sitegroup_cms::db::entities::{alert, report_deadline};
    use sitegroup_cms::service::registry::compliance;
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (portal, _) = site_by_code(&env, "portal").await;
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let today = sitegroup_cms::publish::beijing(chrono::Utc::now()).date_naive();
    let day = |n: i64| {
        (today + chrono::Duration::days(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    let soon = day(3);
    let later = day(40);
    for (title, due) in [
        ("报送网站调查表", soon.as_str()),
        ("年度工作总结", later.as_str()),
    ] {
        let r = post(
            &env,
            "/registry/deadlines",
            &cookie,
            &[
                ("csrf", &csrf),
                ("title", title),
                ("due_date", due),
                ("repeat", "monthly"),
                ("remind_days", "7"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let r = post(
        &env,
        "/registry/deadlines",
        &cookie,
        &[
            ("csrf", &csrf),
            ("title", "x"),
            ("due_date", "下周"),
            ("repeat", "weekly"),
            ("remind_days", "-1"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    let e = r.error().unwrap();
    assert!(
        e.contains("期限“下周”不是有效的日期")
            && e.contains("请选择周期")
            && e.contains("0 到 365"),
        "{e}"
    );
    // The one within its window is reminded of (saving runs the reminders at once).
    let open: Vec<alert::Model> = alert::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "deadline" && a.resolved_at.is_none())
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].title.contains("“报送网站调查表”将于") && open[0].title.contains("还有 3 天"));
    // Done: the reminder closes and the deadline moves to next month.
    let d = report_deadline::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.title == "报送网站调查表")
        .unwrap();
    let r = post(
        &env,
        &format!("/registry/deadlines/{}/done", d.id),
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, 303);
    let d2 = report_deadline::Entity::find_by_id(d.id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let due = chrono::NaiveDate::parse_from_str(&soon, "%Y-%m-%d").unwrap();
    assert_eq!(
        d2.due_date,
        compliance::next_due(due, "monthly")
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    );
    let a = alert::Entity::find_by_id(open[0].id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(a.resolved_at.is_some() && a.resolution.contains("完成报送"));
    assert_eq!(
        audit_count(
            &env,
            "deadline.done",
            &format!("deadline:{}", d.id),
            "success"
        )
        .await,
        1
    );
    // An assessment due in 20 days, recorded in the registry: reminded of.
    let mut values: Values = full("门户网站", "www.demo.gov.cn")
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    values.insert("dengbao_grade".into(), "三级".into());
    values.insert("dengbao_assessed".into(), day(-345));
    values.insert("dengbao_next".into(), day(20));
    registry::save(
        &env.state,
        &sys,
        &registry::Save {
            id: None,
            org_id: portal.org_id,
            site_id: Some(portal.id),
            values,
        },
    )
    .await
    .unwrap();
    compliance::remind(&env.state, today).await.unwrap();
    let due_alert = alert::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == "dengbao_due")
        .expect("the assessment reminder");
    assert_eq!(due_alert.site_id, Some(portal.id));
    assert!(
        due_alert.title.contains("等级测评将于"),
        "{}",
        due_alert.title
    );
    // An overdue one says by how much.
    let r = post(
        &env,
        "/registry/deadlines",
        &cookie,
        &[
            ("csrf", &csrf),
            ("title", "逾期事项"),
            ("due_date", "2019-03-03"),
            ("repeat", "none"),
            ("remind_days", "0"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = get(&env, "/registry/deadlines", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("门户网站") && page.body.contains("年度工作总结"));
    let overdue = (today - chrono::NaiveDate::from_ymd_opt(2019, 3, 3).unwrap()).num_days();
    assert!(
        page.body.contains(&format!("逾期 {overdue} 天")),
        "{}",
        page.body
    );
    // Only the 系统管理员.
    let sec = actor(&env, "secadmin").await;
    let (scookie, _) = sign_in(&env, sec.id()).await;
    assert_eq!(get(&env, "/registry/deadlines", &scookie).await.status, 403);
}
