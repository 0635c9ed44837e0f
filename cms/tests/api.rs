//! The JSON API: bearer tokens only (a session cookie is not enough), the same permissions as
//! the admin (unit B's token gets 404 for unit A's items), JSON errors for bad input, token
//! expiry and revocation, and an OpenAPI document whose every operation is served.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use common::{actor, grant, setup, site_by_code, user};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use sitegroup_cms::db::entities::api_token;
use sitegroup_cms::service::tokens;
use tower::ServiceExt;

async fn call(
    env: &common::Env,
    method: Method,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some((name, value)) = auth {
        req = req.header(name, value);
    }
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let res = sitegroup_cms::web::app(env.state.clone())
        .oneshot(
            req.body(Body::from(body.unwrap_or("").to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, ctype, json)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn tokens_permissions_errors_and_the_openapi_document() {
    let env = setup().await;
    let st = &env.state;
    let sys = actor(&env, "admin").await;
    let (edu, edu_cols) = site_by_code(&env, "edu").await;
    let (health, _) = site_by_code(&env, "health").await;
    let a_ed = user(&env, &sys, "a_editor", "", Some(edu.org_id)).await;
    let b_ed = user(&env, &sys, "b_editor", "", Some(health.org_id)).await;
    grant(&env, &sys, a_ed, edu.id, None, "editor", None).await;
    grant(&env, &sys, b_ed, health.id, None, "editor", None).await;
    let (_, a_token) = tokens::create(st, &actor(&env, "a_editor").await, "脚本", 30)
        .await
        .unwrap();
    let (_, b_token) = tokens::create(st, &actor(&env, "b_editor").await, "脚本", 30)
        .await
        .unwrap();
    let a = bearer(&a_token);
    let b = bearer(&b_token);
    let a_auth = Some(("authorization", a.as_str()));
    let b_auth = Some(("authorization", b.as_str()));

    // No token, a wrong token, or only a session cookie: 401 in the JSON error format.
    let (cookie, _) = common::sign_in(&env, a_ed).await;
    for auth in [
        None,
        Some(("authorization", "Bearer sgt_0000")),
        Some(("cookie", cookie.as_str())),
    ] {
        let (status, _, body) = call(&env, Method::GET, "/api/v1/me", auth, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, _, me) = call(&env, Method::GET, "/api/v1/me", a_auth, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "a_editor");
    assert_eq!(me["grants"][0]["role"], "editor");

    // Create, read, update, submit through the API.
    let path = format!("/api/v1/sites/{}/articles", edu.id);
    let body = json!({ "column_id": edu_cols[0].id, "title": "接口发布的通知", "body": "<p>正文<script>x</script></p>" }).to_string();
    let (status, _, created) = call(&env, Method::POST, &path, a_auth, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let item = format!("/api/v1/articles/{id}");
    let (_, _, got) = call(&env, Method::GET, &item, a_auth, None).await;
    assert_eq!(got["content"]["title"], "接口发布的通知");
    assert_eq!(got["content"]["body"], "<p>正文</p>", "sanitised on save");
    let update =
        json!({ "column_id": edu_cols[0].id, "title": "接口发布的通知（修订）" }).to_string();
    let (status, _, _) = call(&env, Method::PUT, &item, a_auth, Some(&update)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, next) = call(
        &env,
        Method::POST,
        &format!("{item}/actions"),
        a_auth,
        Some(r#"{"action":"submit"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(next["status"], "published");
    let (_, _, list) = call(&env, Method::GET, &format!("{path}?q=修订"), a_auth, None).await;
    assert_eq!(list["total"], 1);

    // Unit B's token: unit A's items and site do not exist.
    for (method, p, body) in [
        (Method::GET, item.clone(), None),
        (Method::PUT, item.clone(), Some(update.as_str())),
        (Method::DELETE, item.clone(), None),
        (Method::GET, format!("{item}/revisions"), None),
        (
            Method::POST,
            format!("{item}/actions"),
            Some(r#"{"action":"unpublish"}"#),
        ),
        (Method::GET, path.clone(), None),
        (Method::POST, path.clone(), Some(body.as_str())),
    ] {
        let (status, _, err) = call(&env, method.clone(), &p, b_auth, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {p}: {err}");
        assert_eq!(err["error"]["code"], "not_found");
    }
    let (_, _, sites) = call(&env, Method::GET, "/api/v1/sites", b_auth, None).await;
    let ids: Vec<i64> = sites["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![i64::from(health.id)]);

    // Bad input: clear JSON errors, nothing saved.
    let (_, _, before) = call(&env, Method::GET, &path, a_auth, None).await;
    for bad in [
        "not json",
        r#"{"column_id": "abc"}"#,
        r#"{"column_id": 1, "title": ""}"#,
    ] {
        let (status, ctype, err) = call(&env, Method::POST, &path, a_auth, Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(ctype.unwrap().starts_with("application/json"));
        assert_eq!(err["error"]["code"], "invalid");
    }
    let (_, _, after) = call(&env, Method::GET, &path, a_auth, None).await;
    assert_eq!(after["total"], before["total"]);

    // Expired and revoked tokens stop working.
    let rows = api_token::Entity::find().all(&st.db).await.unwrap();
    let b_row = rows.iter().find(|t| t.user_id == b_ed).unwrap().clone();
    let mut expired: api_token::ActiveModel = b_row.into();
    expired.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
    expired.update(&st.db).await.unwrap();
    assert_eq!(
        call(&env, Method::GET, "/api/v1/me", b_auth, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let a_row = rows.iter().find(|t| t.user_id == a_ed).unwrap();
    tokens::revoke(st, &actor(&env, "a_editor").await, a_row.id)
        .await
        .unwrap();
    assert_eq!(
        call(&env, Method::GET, "/api/v1/me", a_auth, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Every operation of the OpenAPI document is served (an unrouted path would be an empty
    // 404 or a 405, not a JSON answer).
    let (_, new_token) = tokens::create(st, &actor(&env, "admin").await, "doc", 1)
        .await
        .unwrap();
    let admin = bearer(&new_token);
    let doc: Value = serde_json::from_str(sitegroup_cms::web::api::OPENAPI).unwrap();
    let mut operations = 0;
    for (p, item) in doc["paths"].as_object().unwrap() {
        for (m, _) in item.as_object().unwrap() {
            let method: Method = m.to_uppercase().parse().unwrap();
            let concrete = p.replace("{id}", "999999");
            let body = matches!(method, Method::POST | Method::PUT).then_some("{}");
            let (status, ctype, _) = call(
                &env,
                method.clone(),
                &concrete,
                Some(("authorization", admin.as_str())),
                body,
            )
            .await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {p}");
            assert!(
                ctype.is_some_and(|c| c.starts_with("application/json")),
                "{m} {p} is not served ({status})"
            );
            operations += 1;
        }
    }
    assert!(operations >= 12, "{operations} operations documented");
}
