//! Shared fixture of the control plane's integration tests: a seeded demo group on SQLite in a
//! temporary directory, or on a fresh PostgreSQL database when `SITEGROUP_TEST_DATABASE_URL`
//! names a server (dropped again when the test ends).
#![allow(clippy::unwrap_used, dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, Set,
};
use sitegroup_cms::auth;
use sitegroup_cms::db::entities::{app_user, site, site_column};
use sitegroup_cms::server::{CmsOptions, build_state};
use sitegroup_cms::service::authz::Actor;
use sitegroup_cms::service::content;
use sitegroup_cms::service::users::{self, NewGrant, NewUser};
use sitegroup_cms::state::{AdminRoute, SharedState};
use tower::ServiceExt;

pub mod http;

pub struct Env {
    pub state: SharedState,
    /// The database URL (SQLite file or PostgreSQL database).
    pub url: String,
    _dir: tempfile::TempDir,
    /// (server URL, database name) of a PostgreSQL test database to drop.
    pg: Option<(String, String)>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let Some((base, name)) = self.pg.take() else {
            return;
        };
        // The pool of `state` may still hold connections: FORCE ends them (PostgreSQL 13+).
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(db) = Database::connect(&base).await {
                    let _ = db
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}

pub async fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = match std::env::var("SITEGROUP_TEST_DATABASE_URL") {
        Ok(base) => {
            let name = format!("sg_cms_{:016x}", rand::random::<u64>());
            let db = Database::connect(&base)
                .await
                .expect("connect to PostgreSQL");
            db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            db.close().await.ok();
            let (prefix, _) = base.rsplit_once('/').expect("URL ends in /dbname");
            (format!("{prefix}/{name}"), Some((base, name)))
        }
        Err(_) => (sitegroup_cms::db::sqlite_url(dir.path()), None),
    };
    let db = sitegroup_cms::db::connect(&url).await.unwrap();
    sitegroup_cms::seed::seed(&db).await.unwrap();
    let opts = CmsOptions {
        data_dir: dir.path().to_path_buf(),
        database_url: url,
        gateway_token: "t".into(),
        admin: AdminRoute {
            hosts: vec!["admin.localhost".into()],
            upstream: "127.0.0.1:1".into(),
            networks: vec![],
            https_only: false,
        },
        probe_via: String::new(),
    };
    Env {
        url: opts.database_url.clone(),
        state: build_state(&opts, db).await.unwrap(),
        _dir: dir,
        pg,
    }
}

pub async fn actor(env: &Env, username: &str) -> Actor {
    let user = app_user::Entity::find()
        .filter(app_user::Column::Username.eq(username))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    Actor::load(&env.state.db, user).await.unwrap()
}

pub async fn site_by_code(env: &Env, code: &str) -> (site::Model, Vec<site_column::Model>) {
    let s = site::Entity::find()
        .filter(site::Column::Code.eq(code))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let cols = content::columns(&env.state.db, s.id).await.unwrap();
    (s, cols)
}

pub async fn user(env: &Env, by: &Actor, name: &str, role: &str, org: Option<i32>) -> i32 {
    if !role.is_empty() {
        // Platform administrators come from the command line only.
        users::create_platform_admin(&env.state.db, &env.state.secrets.get(), role, name, name)
            .await
            .unwrap();
        return actor(env, name).await.id();
    }
    users::create_user(
        &env.state,
        by,
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            platform_role: role.into(),
            org_id: org,
        },
    )
    .await
    .unwrap()
    .id
}

pub async fn grant(
    env: &Env,
    by: &Actor,
    user_id: i32,
    site_id: i32,
    column: Option<i32>,
    role: &str,
    level: Option<i32>,
) {
    users::grant(
        &env.state,
        by,
        &NewGrant {
            user_id,
            site_id,
            column_id: column,
            role: role.into(),
            review_level: level,
        },
    )
    .await
    .unwrap();
}

/// A signed-in session for a user whose password change is done and who has enrolled a
/// second factor where the policy wants one: (cookie header, CSRF token).
pub async fn sign_in(env: &Env, user_id: i32) -> (String, String) {
    let u = app_user::Entity::find_by_id(user_id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: app_user::ActiveModel = u.into();
    active.must_change_password = Set(false);
    active.password_changed_at = Set(Some(chrono::Utc::now()));
    active.totp_enabled = Set(true);
    active.update(&env.state.db).await.unwrap();
    let policy = env.state.policy();
    let client = auth::Client {
        addr: "192.0.2.1".into(),
        user_agent: "test".into(),
    };
    let token = auth::create_session(&env.state.db, user_id, auth::STAGE_OK, &client, &policy)
        .await
        .unwrap();
    let session = auth::lookup_session(&env.state.db, &token, &policy)
        .await
        .unwrap()
        .unwrap();
    (format!("{}={token}", auth::SESSION_COOKIE), session.csrf)
}

/// Sends a request through the whole router (no socket): status and body text.
pub async fn send(env: &Env, req: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = respond(env, req, 4 << 20).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Sends a request through the whole router: status, headers and the body's bytes (at most
/// `limit`).
pub async fn respond(
    env: &Env,
    req: Request<Body>,
    limit: usize,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = sitegroup_cms::web::app(env.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let body = axum::body::to_bytes(body, limit).await.unwrap();
    (parts.status, parts.headers, body.to_vec())
}

/// Percent-encodes everything but unreserved characters (form values, query strings).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
