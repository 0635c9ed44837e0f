//! Every admin route, read from the source (so a new route is crawled without anyone listing
//! it), as a stranger (each sends to sign-in or refuses) and as another unit's editor with a
//! valid form token (each refuses, and nothing changes).
//!
//! Runs on SQLite in a temporary directory, or on a fresh PostgreSQL database when
//! `SITEGROUP_TEST_DATABASE_URL` names a server.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::http::*;
use common::{Env, actor, grant, setup, sign_in, site_by_code, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use sitegroup_cms::db::entities::{app_user, article, audit_log, media, role_grant, user_session};

/// Every admin route in the source: (method, path pattern).
fn admin_routes() -> Vec<(Method, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/admin");
    // The admin's source files, those of its sub-directories (one per section) included.
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for file in files {
        let src = std::fs::read_to_string(file).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + 7..];
            let start = rest.find('"').unwrap() + 1;
            let end = rest[start..].find('"').unwrap() + start;
            let path = rest[start..end].to_string();
            // The handler chain runs to the next route or the end of the router.
            let chain_end = [".route(", ".merge(", ".layer(", "\n}"]
                .iter()
                .filter_map(|m| rest[end..].find(m))
                .min()
                .unwrap()
                + end;
            let chain = &rest[end..chain_end];
            if chain.contains("get(") {
                out.push((Method::GET, path.clone()));
            }
            if chain.contains("post(") {
                out.push((Method::POST, path.clone()));
            }
        }
    }
    out.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    out
}

#[tokio::test]
async fn every_admin_route_refuses_strangers_and_low_privilege_users() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let env = setup().await;
    let routes = admin_routes();
    assert!(routes.len() >= 50, "found only {} routes", routes.len());

    // Unit A (education) owns everything the ids point at; the low-privilege user is an editor
    // of unit B (health).
    let sys = actor(&env, "admin").await;
    let (edu, edu_cols) = site_by_code(&env, "edu").await;
    let (health, _) = site_by_code(&env, "health").await;
    let a_editor = user(&env, &sys, "a_editor", "", Some(edu.org_id)).await;
    grant(&env, &sys, a_editor, edu.id, None, "editor", None).await;
    let grant_id = role_grant::Entity::find()
        .filter(role_grant::Column::UserId.eq(a_editor))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let low = user(&env, &sys, "b_editor", "", Some(health.org_id)).await;
    grant(&env, &sys, low, health.id, None, "editor", None).await;
    let article_a = article::Entity::find()
        .filter(article::Column::SiteId.eq(edu.id))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let (a_cookie, _) = sign_in(&env, a_editor).await;
    let a_session = user_session::Entity::find()
        .filter(user_session::Column::UserId.eq(a_editor))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let (token_id, _) = sitegroup_cms::service::tokens::create(
        &env.state,
        &actor(&env, "a_editor").await,
        "a 的令牌",
        30,
    )
    .await
    .unwrap();
    let media_id = media::Entity::find()
        .one(&env.state.db)
        .await
        .unwrap()
        .map(|m| m.id)
        .unwrap_or(1);
    let fill = |path: &str| -> String {
        let p = if path.starts_with("/columns/") {
            path.replace("{id}", &edu_cols[0].id.to_string())
        } else if path.starts_with("/articles/") {
            path.replace("{id}", &article_a.id.to_string())
        } else if path.starts_with("/media/{id}") {
            path.replace("{id}", &media_id.to_string())
        } else if path.starts_with("/account/tokens/") {
            path.replace("{id}", &token_id.to_string())
        } else if path.contains("sessions/") {
            path.replace("{id}", &a_session.id.to_string())
        } else if path.starts_with("/users/") || path.starts_with("/security/users/") {
            path.replace("{id}", &a_editor.to_string())
        } else {
            path.replace("{id}", &edu.id.to_string())
        };
        p.replace("{grant}", &grant_id.to_string()).replace(
            "{rev}",
            &article_a.current_revision_id.unwrap_or(1).to_string(),
        )
    };
    let snapshot = |env: &Env| {
        let db = env.state.db.clone();
        async move {
            (
                article::Entity::find().all(&db).await.unwrap(),
                role_grant::Entity::find().count(&db).await.unwrap(),
                app_user::Entity::find().all(&db).await.unwrap(),
            )
        }
    };
    let before = snapshot(&env).await;

    // A stranger: every route but the sign-in form sends them to sign in (or refuses).
    for (method, pattern) in &routes {
        let path = fill(pattern);
        if pattern == "/login" {
            continue;
        }
        let form: &[(&str, &str)] = &[("csrf", "forged"), ("title", "x")];
        let r = call(
            &env,
            method.clone(),
            &path,
            None,
            (*method == Method::POST).then_some(form),
            "203.0.113.9",
        )
        .await;
        let refused = (r.status == StatusCode::SEE_OTHER && r.location() == "/login")
            || r.status == StatusCode::FORBIDDEN
            || r.status == StatusCode::UNAUTHORIZED;
        assert!(
            refused,
            "{method} {path} as a stranger: {} {}",
            r.status,
            r.location()
        );
    }

    // A low-privilege user (an editor of unit B), signed in, with a valid form token.
    let (cookie, csrf) = sign_in(&env, low).await;
    // Pages every signed-in user has, and their own account's actions.
    let own = [
        "/",
        "/todo",
        "/articles/search",
        "/account",
        "/account/2fa",
        "/account/tokens",
        "/password",
        "/users",
        // Monitoring: everyone with a site role sees its availability and alerts.
        "/monitor",
        "/monitor/alerts",
        "/monitor/links",
        "/monitor/links.csv",
        "/monitor/alerts/badge",
        "/monitor/health",
        "/monitor/health.xlsx",
        "/monitor/word-findings",
        "/monitor/word-findings.csv",
        "/monitor/baselines",
        // The registry: a unit's people read their units' records (editing is refused).
        "/registry",
        "/registry/export.xlsx",
        "/registry/consolidation",
        "/login",
        "/login/2fa",
        "/logout",
    ];
    for (method, pattern) in &routes {
        if own.contains(&pattern.as_str()) || pattern.starts_with("/account/2fa/") {
            continue;
        }
        let path = fill(pattern);
        let form: Vec<(&str, &str)> = vec![
            ("csrf", &csrf),
            ("title", "越权"),
            ("column_id", "1"),
            ("name", "越权"),
            ("hostnames", "evil.example"),
            ("key", "u:zhang"),
            ("disabled", "1"),
            ("user_id", "1"),
            ("role", "unit_admin"),
        ];
        let r = call(
            &env,
            method.clone(),
            &path,
            Some(&cookie),
            (*method == Method::POST).then_some(form.as_slice()),
            "192.0.2.77",
        )
        .await;
        let refused = matches!(
            r.status,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY
        ) || r.status == StatusCode::BAD_REQUEST;
        assert!(
            refused,
            "{method} {path} as unit B's editor: {} {}",
            r.status,
            r.body.chars().take(200).collect::<String>()
        );
    }
    // Nothing changed, and unit A's editor is still signed in.
    let after = snapshot(&env).await;
    assert_eq!(before.0, after.0, "articles changed");
    assert_eq!(before.1, after.1, "grants changed");
    assert_eq!(before.2.len(), after.2.len(), "accounts changed");
    assert_eq!(get(&env, "/", &a_cookie).await.status, StatusCode::OK);
    let changes = audit_log::Entity::find()
        .filter(audit_log::Column::ActorName.eq("b_editor"))
        .filter(audit_log::Column::Result.eq("success"))
        .count(&env.state.db)
        .await
        .unwrap();
    assert_eq!(changes, 0, "the crawl changed something");
}
