//! The admin UI over HTTP (`app().oneshot()`, no socket): a signed-in user of unit B gets 404
//! for every page and form of unit A's content, with a valid session and CSRF token; unit A's
//! users see and work on it; forms without the CSRF token are refused; a bad form comes back
//! with what was typed and nothing saved.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{actor, grant, setup, site_by_code, user};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use sitegroup_cms::auth;
use sitegroup_cms::db::entities::{app_user, article};
use sitegroup_cms::service::content::{self, ArticleInput};
use tower::ServiceExt;

/// A session for a user (password change no longer pending): (cookie header, CSRF token).
async fn sign_in(env: &common::Env, user_id: i32) -> (String, String) {
    let u = app_user::Entity::find_by_id(user_id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: app_user::ActiveModel = u.into();
    active.must_change_password = Set(false);
    active.update(&env.state.db).await.unwrap();
    let token = auth::create_session(&env.state.db, user_id).await.unwrap();
    let session = auth::lookup_session(&env.state.db, &token)
        .await
        .unwrap()
        .unwrap();
    (format!("{}={token}", auth::SESSION_COOKIE), session.csrf)
}

async fn get(env: &common::Env, cookie: &str, path: &str) -> (StatusCode, String) {
    let app = sitegroup_cms::web::app(env.state.clone());
    let res = app
        .oneshot(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn post(
    env: &common::Env,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let app = sitegroup_cms::web::app(env.state.clone());
    let res = app
        .oneshot(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
