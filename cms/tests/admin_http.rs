//! The admin UI over HTTP (`app().oneshot()`, no socket): a signed-in user of unit B gets 404
//! for every page and form of unit A's content, with a valid session and CSRF token; unit A's
//! users see and work on it; forms without the CSRF token are refused; a bad form comes back
//! with what was typed and nothing saved.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{actor, grant, setup, site_by_code, user};
use sea_orm::{EntityTrait, PaginatorTrait};
use sitegroup_cms::db::entities::article;
use sitegroup_cms::service::content::{self, ArticleInput};

async fn sign_in(env: &common::Env, user_id: i32) -> (String, String) {
    common::sign_in(env, user_id).await
}

async fn get(env: &common::Env, cookie: &str, path: &str) -> (StatusCode, String) {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    common::send(env, req).await
}

async fn post(
    env: &common::Env,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", common::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    common::send(env, req).await
}

#[tokio::test]
async fn unit_b_gets_404_for_every_page_and_form_of_unit_a() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (edu, edu_cols) = site_by_code(&env, "edu").await;
    let (health, _) = site_by_code(&env, "health").await;
    let a_ed = user(&env, &sys, "a_editor", "", Some(edu.org_id)).await;
    let b_ad = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, a_ed, edu.id, None, "editor", None).await;
    grant(&env, &sys, b_ad, health.id, None, "unit_admin", None).await;
    let a = actor(&env, "a_editor").await;
    let title = "教育局关于寒假安全工作的通知";
    let id = content::create(
        &env.state,
        &a,
        edu.id,
        &ArticleInput {
            column_id: edu_cols[0].id,
            title: title.into(),
            body: "正文".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rev = content::revisions(&env.state, &a, id).await.unwrap()[0].id;
    let (b_cookie, b_csrf) = sign_in(&env, b_ad).await;
    let (a_cookie, a_csrf) = sign_in(&env, a_ed).await;

    let pages = [
        format!("/sites/{}", edu.id),
        format!("/sites/{}/articles", edu.id),
        format!("/sites/{}/articles?deleted=true", edu.id),
        format!("/sites/{}/articles/new", edu.id),
        format!("/articles/{id}"),
        format!("/articles/{id}/revisions"),
        format!("/articles/{id}/diff?from={rev}&to={rev}"),
    ];
    for p in &pages {
        let (status, body) = get(&env, &b_cookie, p).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "unit B on {p}");
        assert!(!body.contains(title), "unit B sees the title on {p}");
        let (status, body) = get(&env, &a_cookie, p).await;
        assert_eq!(status, StatusCode::OK, "unit A on {p}");
        if p.starts_with("/articles/") {
            assert!(body.contains(title), "unit A misses the title on {p}");
        }
    }
    // Full-text search: unit B's results and count leave unit A's draft out.
    env.state.search.settled().await;
    let search = "/articles/search?q=%E5%AF%92%E5%81%87%E5%AE%89%E5%85%A8"; // 寒假安全
    let (status, body) = get(&env, &a_cookie, search).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("共 1 条") && body.contains("寒假"), "{body}");
    let (status, body) = get(&env, &b_cookie, search).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("共 0 条") && !body.contains("寒假安全工作"),
        "{body}"
    );
    for p in ["/", "/todo"] {
        let (status, body) = get(&env, &b_cookie, p).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !body.contains(&edu.name) && !body.contains(title),
            "unit B's {p} shows unit A"
        );
    }
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/articles/{id}"),
            vec![("title", "篡改"), ("column_id", "1"), ("action", "save")],
        ),
        (format!("/articles/{id}/act"), vec![("action", "submit")]),
        (format!("/articles/{id}/act"), vec![("action", "approve")]),
        (format!("/articles/{id}/delete"), vec![]),
        (format!("/articles/{id}/restore"), vec![]),
        (format!("/articles/{id}/purge"), vec![]),
        (format!("/articles/{id}/revisions/{rev}/restore"), vec![]),
        (
            format!("/sites/{}/articles", edu.id),
            vec![("title", "越权"), ("column_id", "1")],
        ),
        (format!("/sites/{}/publish", edu.id), vec![]),
        (
            format!("/sites/{}/hostnames", edu.id),
            vec![("hostnames", "evil.example")],
        ),
    ];
    let items_before = article::Entity::find().count(&env.state.db).await.unwrap();
    let before = article::Entity::find_by_id(id)
        .one(&env.state.db)
        .await
        .unwrap();
    for (path, fields) in &forms {
        let mut f = vec![("csrf", b_csrf.as_str())];
        f.extend(fields.iter().copied());
        let (status, _) = post(&env, &b_cookie, path, &f).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "unit B posting {path}");
    }
    assert_eq!(
        article::Entity::find().count(&env.state.db).await.unwrap(),
        items_before
    );
    assert_eq!(
        article::Entity::find_by_id(id)
            .one(&env.state.db)
            .await
            .unwrap(),
        before,
        "unit B changed unit A's item"
    );

    // Unit A's editor: a form without the CSRF token is refused, one with it works.
    let (status, _) = post(
        &env,
        &a_cookie,
        &format!("/articles/{id}/act"),
        &[("action", "submit")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &env,
        &a_cookie,
        &format!("/articles/{id}/act"),
        &[("csrf", &a_csrf), ("action", "submit")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let a_row = article::Entity::find_by_id(id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a_row.status, "published",
        "a site without review levels publishes on submit"
    );

    // A bad form: 422, the typed text is shown again, nothing is saved.
    let col = edu_cols[0].id.to_string();
    let (status, body) = post(
        &env,
        &a_cookie,
        &format!("/sites/{}/articles", edu.id),
        &[
            ("csrf", &a_csrf),
            ("title", "保留我输入的标题"),
            ("column_id", &col),
            ("publish_at", "明天上午"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("保留我输入的标题") && body.contains("定时发布时间格式"));
    assert_eq!(
        article::Entity::find().count(&env.state.db).await.unwrap(),
        items_before
    );
}

#[tokio::test]
async fn site_administration_is_for_the_sites_own_administrators() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let (health, _) = site_by_code(&env, "health").await;
    let a_ad = user(&env, &sys, "a_admin", "", Some(edu.org_id)).await;
    let a_ed = user(&env, &sys, "a_editor", "", Some(edu.org_id)).await;
    let b_ad = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, a_ad, edu.id, None, "unit_admin", None).await;
    grant(&env, &sys, a_ed, edu.id, None, "editor", None).await;
    grant(&env, &sys, b_ad, health.id, None, "unit_admin", None).await;
    let (a_cookie, a_csrf) = sign_in(&env, a_ad).await;
    let (e_cookie, _) = sign_in(&env, a_ed).await;
    let (b_cookie, b_csrf) = sign_in(&env, b_ad).await;

    for p in ["settings", "columns", "users"] {
        let path = format!("/sites/{}/{p}", edu.id);
        assert_eq!(
            get(&env, &a_cookie, &path).await.0,
            StatusCode::OK,
            "{path}"
        );
        assert_eq!(
            get(&env, &e_cookie, &path).await.0,
            StatusCode::FORBIDDEN,
            "editor {path}"
        );
        assert_eq!(
            get(&env, &b_cookie, &path).await.0,
            StatusCode::NOT_FOUND,
            "unit B {path}"
        );
    }
    // Unit B cannot change unit A's settings or columns.
    let settings = |csrf: &str| -> Vec<(String, String)> {
        vec![
            ("csrf".into(), csrf.into()),
            ("name".into(), "示范市教育局网站".into()),
            ("sponsor".into(), "示范市教育局".into()),
            ("contact".into(), "0000-12345678".into()),
            ("site_id_code".into(), "1234000002".into()),
            ("icp_record".into(), "示ICP备00000002号".into()),
            ("psb_record".into(), "示公网安备 00000000000002号".into()),
            ("party_gov_mark".into(), "on".into()),
            ("review_levels".into(), "2".into()),
            ("status".into(), "运行".into()),
        ]
    };
    let b_form = settings(&b_csrf);
    let b_pairs: Vec<(&str, &str)> = b_form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let path = format!("/sites/{}/settings", edu.id);
    assert_eq!(
        post(&env, &b_cookie, &path, &b_pairs).await.0,
        StatusCode::NOT_FOUND
    );
    // Unit A's administrator saves the identity data; the published pages carry it.
    let a_form = settings(&a_csrf);
    let a_pairs: Vec<(&str, &str)> = a_form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        post(&env, &a_cookie, &path, &a_pairs).await.0,
        StatusCode::SEE_OTHER
    );
    let site = sitegroup_cms::db::entities::site::Entity::find_by_id(edu.id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (site.review_levels, site.site_id_code.as_str()),
        (2, "1234000002")
    );
    let index = sitegroup_cms::db::entities::published_file::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.site_id == edu.id && f.path == "/index.html")
        .unwrap();
    let html = String::from_utf8(env.state.store.read_verified(&index.sha256).unwrap()).unwrap();
    assert!(
        html.contains("1234000002") && html.contains("示ICP备00000002号"),
        "footer identity"
    );
    // A unit administrator cannot close the site; a bad code is reported with the rest kept.
    let mut closing = settings(&a_csrf);
    closing.retain(|(k, _)| k != "status" && k != "site_id_code");
    closing.push(("status".into(), "已关停".into()));
    closing.push(("site_id_code".into(), "12ab".into()));
    let pairs: Vec<(&str, &str)> = closing
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = post(&env, &a_cookie, &path, &pairs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("网站标识码") && body.contains("示范市教育局网站"));

    // Columns: created by the unit admin, refused to unit B.
    let cpath = format!("/sites/{}/columns", edu.id);
    let column = [
        ("name", "招生考试"),
        ("slug", "zsks"),
        ("column_type", "工作动态"),
        ("update_cadence_days", "14"),
        ("page_size", "20"),
    ];
    let mut f = vec![("csrf", b_csrf.as_str())];
    f.extend(column);
    assert_eq!(
        post(&env, &b_cookie, &cpath, &f).await.0,
        StatusCode::NOT_FOUND
    );
    let mut f = vec![("csrf", a_csrf.as_str())];
    f.extend(column);
    assert_eq!(
        post(&env, &a_cookie, &cpath, &f).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, body) = get(&env, &a_cookie, &cpath).await;
    assert!(body.contains("招生考试"));
    // The same path twice is refused with a message.
    let (status, body) = post(&env, &a_cookie, &cpath, &f).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("zsks"));
}

#[tokio::test]
async fn the_system_administrator_builds_the_organisation_tree_and_sites() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let a_ad = user(&env, &sys, "a_admin", "", Some(edu.org_id)).await;
    grant(&env, &sys, a_ad, edu.id, None, "unit_admin", None).await;
    let (sys_cookie, sys_csrf) = sign_in(&env, sys.id()).await;
    let (a_cookie, a_csrf) = sign_in(&env, a_ad).await;

    assert_eq!(get(&env, &a_cookie, "/orgs").await.0, StatusCode::FORBIDDEN);
    let (status, body) = get(&env, &sys_cookie, "/orgs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("示范市教育局") && body.contains("主管单位"));
    let org_form = [
        ("name", "示范市体育局"),
        ("kind", "单位"),
        ("parent_id", "1"),
    ];
    let mut f = vec![("csrf", a_csrf.as_str())];
    f.extend(org_form);
    assert_eq!(
        post(&env, &a_cookie, "/orgs/new", &f).await.0,
        StatusCode::FORBIDDEN
    );
    let mut f = vec![("csrf", sys_csrf.as_str())];
    f.extend(org_form);
    assert_eq!(
        post(&env, &sys_cookie, "/orgs/new", &f).await.0,
        StatusCode::SEE_OTHER
    );
    // The same name twice is refused.
    let (status, body) = post(&env, &sys_cookie, "/orgs/new", &f).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("已存在"));

    let org = sitegroup_cms::db::entities::organization::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "示范市体育局")
        .unwrap();
    let org_id = org.id.to_string();
    // A hostname already in use and a bad code: both reported, nothing created.
    let (status, body) = post(
        &env,
        &sys_cookie,
        "/orgs/sites/new",
        &[
            ("csrf", &sys_csrf),
            ("org_id", &org_id),
            ("name", "示范市体育局网站"),
            ("code", "Sport!"),
            ("hostname", "edu.demo.localhost"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("站点代码") && body.contains("已被使用"),
        "{body}"
    );
    let (status, _) = post(
        &env,
        &sys_cookie,
        "/orgs/sites/new",
        &[
            ("csrf", &sys_csrf),
            ("org_id", &org_id),
            ("name", "示范市体育局网站"),
            ("code", "sport"),
            ("hostname", "sport.demo.localhost"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Under construction: in the gateway's snapshot, but not served.
    let snap =
        sitegroup_cms::snapshot::build(&env.state.db, &env.state.admin, &env.state.secrets.get())
            .await
            .unwrap();
    let sport = snap
        .sites
        .iter()
        .find(|s| s.hostnames == ["sport.demo.localhost"])
        .unwrap();
    assert_eq!(sport.service, sitegroup_contract::config::Service::Offline);
    assert!(sport.manifest.contains_key("/index.html"));

    // The token page: a token is shown once after creation.
    let (status, _) = get(&env, &a_cookie, "/account/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &env,
        &a_cookie,
        "/account/tokens",
        &[("csrf", &a_csrf), ("name", "发布脚本"), ("days", "30")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("sgt_") && body.contains("发布脚本"));

    // Mourning mode re-renders every site in grey; switching it off restores the colours.
    let index_of = |site_id: i32| {
        let st = env.state.clone();
        async move {
            let f = sitegroup_cms::db::entities::published_file::Entity::find()
                .all(&st.db)
                .await
                .unwrap()
                .into_iter()
                .find(|f| f.site_id == site_id && f.path == "/index.html")
                .unwrap();
            String::from_utf8(st.store.read_verified(&f.sha256).unwrap()).unwrap()
        }
    };
    let f = [("csrf", sys_csrf.as_str()), ("on", "1")];
    assert_eq!(
        post(
            &env,
            &a_cookie,
            "/orgs/mourning",
            &[("csrf", a_csrf.as_str()), ("on", "1")]
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&env, &sys_cookie, "/orgs/mourning", &f).await.0,
        StatusCode::SEE_OTHER
    );
    assert!(index_of(edu.id).await.contains(r#"class="mourning""#));
    let f = [("csrf", sys_csrf.as_str()), ("on", "0")];
    assert_eq!(
        post(&env, &sys_cookie, "/orgs/mourning", &f).await.0,
        StatusCode::SEE_OTHER
    );
    assert!(!index_of(edu.id).await.contains(r#"class="mourning""#));

    // A unit admin switches the site to the second theme.
    let path = format!("/sites/{}/settings", edu.id);
    let (_, page) = get(&env, &a_cookie, &path).await;
    assert!(page.contains("civic"));
    let (status, _) = post(
        &env,
        &a_cookie,
        &path,
        &[
            ("csrf", &a_csrf),
            ("name", "示范市教育局"),
            ("review_levels", "0"),
            ("status", "运行"),
            ("theme", "civic"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        index_of(edu.id).await.contains(r#"class="top""#),
        "civic layout"
    );
    let (status, body) = post(
        &env,
        &a_cookie,
        &path,
        &[
            ("csrf", &a_csrf),
            ("name", "示范市教育局"),
            ("status", "运行"),
            ("theme", "nope"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("主题"));

    // The dashboard shows counts per site and the user's drafts.
    let (status, body) = get(&env, &sys_cookie, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("我的草稿") && body.contains("示范市体育局网站"));
}

fn multipart(csrf: Option<&str>, files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----sitegrouptest";
    let mut body = Vec::new();
    if let Some(c) = csrf {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{c}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_raw(
    env: &common::Env,
    cookie: &str,
    path: &str,
    ctype: &str,
    extra: Option<(&str, &str)>,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, ctype);
    if let Some((k, v)) = extra {
        req = req.header(k, v);
    }
    common::send(env, req.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn the_media_library_takes_only_what_it_should() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let (health, _) = site_by_code(&env, "health").await;
    let a_ed = user(&env, &sys, "a_editor", "", Some(edu.org_id)).await;
    let b_ad = user(&env, &sys, "b_admin", "", Some(health.org_id)).await;
    grant(&env, &sys, a_ed, edu.id, None, "editor", None).await;
    grant(&env, &sys, b_ad, health.id, None, "unit_admin", None).await;
    let (a_cookie, a_csrf) = sign_in(&env, a_ed).await;
    let (b_cookie, b_csrf) = sign_in(&env, b_ad).await;
    let png = {
        let img = image::RgbImage::from_pixel(640, 480, image::Rgb([20, 90, 160]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let path = format!("/media/upload/{}", edu.id);

    // Unit B cannot upload to unit A's library.
    let (ct, body) = multipart(Some(&b_csrf), &[("logo.png", &png)]);
    assert_eq!(
        post_raw(&env, &b_cookie, &path, &ct, None, body).await.0,
        StatusCode::NOT_FOUND
    );
    // Without the CSRF token: refused.
    let (ct, body) = multipart(None, &[("logo.png", &png)]);
    assert_eq!(
        post_raw(&env, &a_cookie, &path, &ct, None, body).await.0,
        StatusCode::FORBIDDEN
    );
    // A good image and two bad files in one upload: the image is kept, each refusal reported.
    let (ct, body) = multipart(
        Some(&a_csrf),
        &[
            ("校徽.png", &png),
            ("shell.php", b"<?php system($_GET['c']);"),
            ("fake.pdf", &png),
        ],
    );
    let (status, page) = post_raw(&env, &a_cookie, &path, &ct, None, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("已上传：校徽.png") && page.contains(".php") && page.contains("不符"));
    let rows = sitegroup_cms::db::entities::media::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let m = &rows[0];
    assert_eq!((m.width, m.height), (Some(640), Some(480)));
    assert!(m.path.starts_with("/media/") && m.path.ends_with(".png"));
    // Published: the file and its thumbnail are in the site's manifest, hash-checked.
    let files = sitegroup_cms::db::entities::published_file::Entity::find()
        .all(&env.state.db)
        .await
        .unwrap();
    let published = files
        .iter()
        .find(|f| f.site_id == edu.id && f.path == m.path)
        .expect("media published");
    assert_eq!(
        env.state.store.read_verified(&published.sha256).unwrap(),
        png
    );
    let thumb = files
        .iter()
        .find(|f| Some(&f.path) == m.thumb_path.as_ref())
        .expect("thumbnail published");
    let t =
        image::load_from_memory(&env.state.store.read_verified(&thumb.sha256).unwrap()).unwrap();
    assert_eq!(t.width(), 320);

    // The editor's upload endpoint: JSON in wangEditor's format, CSRF in a header.
    let editor = format!("/media/editor/{}", edu.id);
    let (ct, body) = multipart(None, &[("photo.png", &png)]);
    let (status, json) = post_raw(&env, &a_cookie, &editor, &ct, None, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{json}");
    let (ct, body) = multipart(None, &[("photo.png", &png)]);
    let (status, json) = post_raw(
        &env,
        &a_cookie,
        &editor,
        &ct,
        Some(("x-csrf-token", &a_csrf)),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["errno"], 0);
    assert_eq!(
        v["data"]["url"],
        m.path.as_str(),
        "the same bytes are one library entry"
    );
    let (ct, body) = multipart(None, &[("x.svg", b"<svg onload=alert(1)>")]);
    let (status, json) = post_raw(
        &env,
        &a_cookie,
        &editor,
        &ct,
        Some(("x-csrf-token", &a_csrf)),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json.contains("\"errno\":1"));
}

#[tokio::test]
async fn bulk_actions_check_each_item() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (edu, cols) = site_by_code(&env, "edu").await;
    let (health, hcols) = site_by_code(&env, "health").await;
    let a_ed = user(&env, &sys, "a_editor", "", Some(edu.org_id)).await;
    grant(&env, &sys, a_ed, edu.id, None, "editor", None).await;
    let a = actor(&env, "a_editor").await;
    let mut ids = Vec::new();
    for title in ["批量一", "批量二"] {
        let input = ArticleInput {
            column_id: cols[0].id,
            title: title.into(),
            ..Default::default()
        };
        ids.push(
            content::create(&env.state, &a, edu.id, &input)
                .await
                .unwrap(),
        );
    }
    // An item of unit B slipped into the form: reported, untouched.
    let foreign = content::create(
        &env.state,
        &sys,
        health.id,
        &ArticleInput {
            column_id: hcols[0].id,
            title: "他单位".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (cookie, csrf) = sign_in(&env, a_ed).await;
    let (i0, i1, f) = (ids[0].to_string(), ids[1].to_string(), foreign.to_string());
    let (status, body) = post(
        &env,
        &cookie,
        &format!("/sites/{}/articles/bulk", edu.id),
        &[
            ("csrf", &csrf),
            ("action", "delete"),
            ("id", &i0),
            ("id", &i1),
            ("id", &f),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("已处理 2 条") && body.contains(&format!("#{foreign} 未找到")),
        "{body}"
    );
    for id in &ids {
        let row = article::Entity::find_by_id(*id)
            .one(&env.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.deleted_at.is_some());
    }
    let row = article::Entity::find_by_id(foreign)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.deleted_at.is_none(), "unit B's item untouched");
    // Without the token nothing happens.
    let (status, _) = post(
        &env,
        &cookie,
        &format!("/sites/{}/articles/bulk", edu.id),
        &[("action", "restore"), ("id", &i0), ("deleted", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = post(
        &env,
        &cookie,
        &format!("/sites/{}/articles/bulk", edu.id),
        &[
            ("csrf", &csrf),
            ("action", "restore"),
            ("id", &i0),
            ("deleted", "true"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("已处理 1 条"));
}
