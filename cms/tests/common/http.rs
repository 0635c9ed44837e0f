//! The admin over HTTP for the security tests: whole-router requests with forms, cookies and a
//! client address, the sign-in form as a browser submits it, and checks of the audit trail.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use sitegroup_cms::audit;
use sitegroup_cms::auth;
use sitegroup_cms::db::entities::{app_user, audit_log, login_throttle};
use tower::ServiceExt;

use super::{Env, actor, site_by_code, urlencode, user};

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `name=value` of a Set-Cookie header of this answer.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")) && !v.contains("Max-Age=0"))
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    /// The page's error message, if it shows one.
    pub fn error(&self) -> Option<String> {
        let start = self.body.find("role=\"alert\">")? + "role=\"alert\">".len();
        let end = self.body[start..].find("</p>")? + start;
        Some(self.body[start..end].to_string())
    }
}

pub async fn call(
    env: &Env,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
    addr: &str,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("x-real-ip", addr)
        .header(header::USER_AGENT, "security-test");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let body = match form {
        Some(fields) => {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
        }
        None => Body::empty(),
    };
    let res = sitegroup_cms::web::app(env.state.clone())
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 8 << 20)
        .await
        .unwrap();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub async fn get(env: &Env, path: &str, cookie: &str) -> Resp {
    call(env, Method::GET, path, Some(cookie), None, "192.0.2.1").await
}

pub async fn post(env: &Env, path: &str, cookie: &str, form: &[(&str, &str)]) -> Resp {
    call(
        env,
        Method::POST,
        path,
        Some(cookie),
        Some(form),
        "192.0.2.1",
    )
    .await
}

/// The sign-in form as a browser submits it: the form token from GET /login, then POST.
pub async fn login(env: &Env, username: &str, password: &str, addr: &str) -> Resp {
    let page = call(env, Method::GET, "/login", None, None, addr).await;
    let token_cookie = page.cookie("sg_login").expect("login form sets its token");
    let csrf = token_cookie.split_once('=').unwrap().1.to_string();
    call(
        env,
        Method::POST,
        "/login",
        Some(&token_cookie),
        Some(&[
            ("csrf", &csrf),
            ("username", username),
            ("password", password),
        ]),
        addr,
    )
    .await
}

/// The value of a page's `<input type="hidden" name="csrf" …>`.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("page has a CSRF field") + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].to_string()
}

/// Gives an account a known password that is not due for a change.
pub async fn set_password(env: &Env, user_id: i32, password: &str) {
    let u = app_user::Entity::find_by_id(user_id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut a: app_user::ActiveModel = u.into();
    a.password_hash = Set(auth::hash_password(password).unwrap());
    a.must_change_password = Set(false);
    a.password_changed_at = Set(Some(Utc::now()));
    a.update(&env.state.db).await.unwrap();
}

pub async fn user_row(env: &Env, id: i32) -> app_user::Model {
    app_user::Entity::find_by_id(id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// Moves every failure back by two minutes: past any wait, still inside the lock window.
pub async fn let_waits_pass(env: &Env) {
    set_last_failures(env, Utc::now() - Duration::minutes(2)).await;
}

/// Makes every throttled key's wait start now, as if its last failure had just happened: a
/// check that an attempt is refused while waiting then does not depend on how fast the sign-ins
/// before it ran (argon2 in a debug build on a slow machine can outlast a 1 s wait).
pub async fn restart_waits(env: &Env) {
    set_last_failures(env, Utc::now()).await;
}

/// Dates every throttled key's last failure `at`.
async fn set_last_failures(env: &Env, at: chrono::DateTime<Utc>) {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::LastFailureAt, Expr::value(at))
        .exec(&env.state.db)
        .await
        .unwrap();
}

pub async fn audit_count(env: &Env, event: &str, object: &str, result: &str) -> u64 {
    audit_log::Entity::find()
        .filter(audit_log::Column::Event.eq(event))
        .filter(audit_log::Column::Object.eq(object))
        .filter(audit_log::Column::Result.eq(result))
        .count(&env.state.db)
        .await
        .unwrap()
}

pub async fn chain_ok(env: &Env) {
    let report = audit::verify(&env.state.db, &env.state.secrets.get())
        .await
        .unwrap();
    assert!(report.ok(), "audit chain: {:?}", report.problems);
    assert!(report.checked > 0);
}

/// A unit user with a known password (zhang of the education bureau).
pub async fn unit_user(env: &Env, name: &str, password: &str) -> i32 {
    let sys = actor(env, "admin").await;
    let (edu, _) = site_by_code(env, "edu").await;
    let id = user(env, &sys, name, "", Some(edu.org_id)).await;
    set_password(env, id, password).await;
    id
}

/// Runs `sitegroup` with `args` against the test's data: (success, output).
pub fn cli(env: &Env, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitegroup"))
        .args(args)
        .arg("--data-dir")
        .arg(env.state.data_dir.as_path())
        .args(["--database-url", &env.url])
        .env("SITEGROUP_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
