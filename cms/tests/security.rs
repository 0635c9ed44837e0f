//! Admin security (等保 level 3): sign-in throttling and locks, the password policy, account
//! status, the second factor and secrets at rest, sessions, the three administrators kept apart
//! (with the auditor's search and exports), and the CSRF guard. The audit trail's own tests are
//! in `audit_trail.rs`, the crawl of every admin route in `route_crawl.rs`.
//!
//! Everything goes through the whole router (`app().oneshot()`), with real forms and cookies.
//! Runs on SQLite in a temporary directory, or on a fresh PostgreSQL database when
//! `SITEGROUP_TEST_DATABASE_URL` names a server.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use common::http::*;
use common::{actor, grant, setup, sign_in, site_by_code};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use sitegroup_cms::audit;
use sitegroup_cms::auth::mfa;
use sitegroup_cms::db::entities::{app_user, article, audit_log, role_grant, user_session};
use tower::ServiceExt;

#[tokio::test]
async fn failed_sign_ins_slow_down_then_lock_without_revealing_which_accounts_exist() {
    let env = setup().await;
    unit_user(&env, "zhang", "Known-Passw0rd").await;

    // A real account with a wrong password and a name nobody has get the same answers, and
    // from the third failure both have to wait.
    let mut answers = HashMap::new();
    for (name, addr) in [("zhang", "198.51.100.1"), ("nobody", "198.51.100.2")] {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let r = login(&env, name, "wrong-guess-1", addr).await;
            seen.push((r.status, r.error().unwrap_or_default()));
        }
        answers.insert(name, seen);
    }
    assert_eq!(
        answers["zhang"], answers["nobody"],
        "answers reveal the account"
    );
    let zhang = &answers["zhang"];
    assert_eq!(zhang[0], (StatusCode::OK, "用户名或密码错误。".to_string()));
    assert_eq!(zhang[2].0, StatusCode::OK);
    assert_eq!(zhang[3].0, StatusCode::TOO_MANY_REQUESTS);
    assert!(zhang[3].1.contains("秒后再试"), "{:?}", zhang[3]);
    // While waiting, even the right password is not tried.
    restart_waits(&env).await;
    let r = login(&env, "zhang", "Known-Passw0rd", "198.51.100.1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // Failures four and five: the account is locked for the lock time.
    for _ in 0..2 {
        let_waits_pass(&env).await;
        login(&env, "zhang", "wrong-guess-2", "198.51.100.1").await;
    }
    let_waits_pass(&env).await;
    let r = login(&env, "zhang", "Known-Passw0rd", "198.51.100.3").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "locked account");
    assert!(r.error().unwrap().contains("分钟后再试"), "{:?}", r.error());
    assert_eq!(
        audit_count(&env, "login.failure", "user:zhang", "failure").await,
        5
    );
    assert!(audit_count(&env, "login.locked", "user:zhang", "denied").await >= 2);
    let failure = audit_log::Entity::find()
        .filter(audit_log::Column::Event.eq("login.failure"))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failure.client_addr, "198.51.100.1");
    assert!(failure.details.contains("wrong password"));

    // The 安全管理员 sees the lock and lifts it.
    let sec = actor(&env, "secadmin").await;
    let (sec_cookie, sec_csrf) = sign_in(&env, sec.id()).await;
    let page = get(&env, "/security", &sec_cookie).await;
    assert!(page.body.contains("<code>zhang</code>"), "{}", page.body);
    let r = post(
        &env,
        "/security/unlock",
        &sec_cookie,
        &[("csrf", &sec_csrf), ("key", "u:zhang")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = login(&env, "zhang", "Known-Passw0rd", "198.51.100.3").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.error());
    assert_eq!(r.location(), "/");
    assert_eq!(
        audit_count(&env, "security.unlock", "lock:u:zhang", "success").await,
        1
    );

    // Per address: with a threshold of 5, five names from one address lock the address; the
    // right password from there is refused, from elsewhere it works.
    let mut policy = env.state.policy();
    policy.address_lock_threshold = 5;
    let form: Vec<(String, String)> = serde_json::to_value(&policy)
        .unwrap()
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_boolean())
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let mut fields: Vec<(&str, &str)> =
        form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.push(("csrf", &sec_csrf));
    let r = post(&env, "/security/policy", &sec_cookie, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(env.state.policy().address_lock_threshold, 5);
    for i in 0..5 {
        let_waits_pass(&env).await;
        login(&env, &format!("guess{i}"), "x", "203.0.113.50").await;
    }
    let_waits_pass(&env).await;
    let r = login(&env, "zhang", "Known-Passw0rd", "203.0.113.50").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = login(&env, "zhang", "Known-Passw0rd", "203.0.113.51").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // A form without its token is refused and changes nothing.
    let r = call(
        &env,
        Method::POST,
        "/login",
        None,
        Some(&[("username", "zhang"), ("password", "Known-Passw0rd")]),
        "203.0.113.60",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie("sg_session").is_none());
    chain_ok(&env).await;
}

#[tokio::test]
async fn password_policy_history_age_and_account_status() {
    let env = setup().await;
    let id = unit_user(&env, "zhang", "Known-Passw0rd").await;
    let (cookie, csrf) = sign_in(&env, id).await;
    let change = |current: &'static str, new: &'static str| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        let env = &env;
        async move {
            post(
                env,
                "/password",
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("current", current),
                    ("new_password", new),
                    ("confirm", new),
                ],
            )
            .await
        }
    };
    // sign_in set a session; its password is whatever unit_user set.
    for (current, new, expected) in [
        ("Wrong-Passw0rd", "Second-Passw0rd", "当前密码不正确"),
        ("Known-Passw0rd", "Sh0rt!", "至少 10 个字符"),
        ("Known-Passw0rd", "onlylower1234", "至少 3 类"),
        ("Known-Passw0rd", "Zhang-Secret-1", "不能包含用户名"),
        ("Known-Passw0rd", "Known-Passw0rd", "最近 5 次"),
    ] {
        let r = change(current, new).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        assert!(
            r.error().unwrap_or_default().contains(expected),
            "{new}: {:?}",
            r.error()
        );
    }
    assert_eq!(
        audit_count(&env, "password.change", "user:zhang", "failure").await,
        1
    );
    let r = change("Known-Passw0rd", "Second-Passw0rd").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let new_cookie = r.cookie("sg_session").unwrap();
    // The change ended the old session.
    assert_eq!(get(&env, "/", &cookie).await.location(), "/login");
    assert_eq!(get(&env, "/", &new_cookie).await.status, StatusCode::OK);
    // The old password is in the history now.
    let new_csrf = csrf_of(&get(&env, "/password", &new_cookie).await.body);
    let r = post(
        &env,
        "/password",
        &new_cookie,
        &[
            ("csrf", &new_csrf),
            ("current", "Second-Passw0rd"),
            ("new_password", "Known-Passw0rd"),
            ("confirm", "Known-Passw0rd"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A password older than the maximum age must be changed before anything else.
    let mut u: app_user::ActiveModel = user_row(&env, id).await.into();
    u.password_changed_at = Set(Some(Utc::now() - Duration::days(91)));
    u.update(&env.state.db).await.unwrap();
    assert_eq!(get(&env, "/", &new_cookie).await.location(), "/password");
    set_password(&env, id, "Second-Passw0rd").await;

    // The sysadmin disables the account: its sessions end and it cannot sign in.
    let sys = actor(&env, "admin").await;
    let (sys_cookie, sys_csrf) = sign_in(&env, sys.id()).await;
    let status_path = format!("/users/{id}/status");
    let r = post(
        &env,
        &status_path,
        &sys_cookie,
        &[("csrf", &sys_csrf), ("disabled", "1"), ("expires_on", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(get(&env, "/", &new_cookie).await.location(), "/login");
    let r = login(&env, "zhang", "Second-Passw0rd", "198.51.100.7").await;
    assert!(r.error().unwrap().contains("停用或已过期"));
    // Expired yesterday: refused too. A date that is not one changes nothing.
    post(
        &env,
        &status_path,
        &sys_cookie,
        &[("csrf", &sys_csrf), ("expires_on", "2020-01-01")],
    )
    .await;
    assert!(user_row(&env, id).await.expires_at.is_some());
    let r = login(&env, "zhang", "Second-Passw0rd", "198.51.100.7").await;
    assert!(r.error().unwrap().contains("停用或已过期"));
    let r = post(
        &env,
        &status_path,
        &sys_cookie,
        &[("csrf", &sys_csrf), ("expires_on", "next tuesday")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(user_row(&env, id).await.expires_at.is_some());
    post(
        &env,
        &status_path,
        &sys_cookie,
        &[("csrf", &sys_csrf), ("expires_on", "2099-12-31")],
    )
    .await;
    let r = login(&env, "zhang", "Second-Passw0rd", "198.51.100.8").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.error());

    // A reset gives a one-time password shown once and ends the sessions.
    let r = post(
        &env,
        &format!("/users/{id}/reset-password"),
        &sys_cookie,
        &[("csrf", &sys_csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("一次性密码"));
    assert!(user_row(&env, id).await.must_change_password);

    // Platform administrators are not managed here, by anyone.
    let sec = actor(&env, "secadmin").await;
    let r = post(
        &env,
        &format!("/users/{}/status", sec.id()),
        &sys_cookie,
        &[("csrf", &sys_csrf), ("disabled", "1")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!user_row(&env, sec.id()).await.disabled);
    assert_eq!(
        audit_count(&env, "user.update", "user:zhang", "success").await,
        3
    );
    chain_ok(&env).await;
}

/// The Base32 secret shown on the enrolment page.
fn secret_on(page: &str) -> Vec<u8> {
    let start = page.find("id=\"totp-secret\">").expect("secret shown") + 17;
    let end = page[start..].find('<').unwrap() + start;
    let b32: String = page[start..end].split_whitespace().collect();
    totp_rs::Secret::Encoded(b32).to_bytes().unwrap()
}

fn code(secret: &[u8], offset: i64) -> String {
    mfa::code_at(secret, (Utc::now().timestamp() + offset) as u64)
}

#[tokio::test]
async fn platform_administrators_enrol_totp_and_sign_in_with_it_or_a_recovery_code() {
    let env = setup().await;
    let password = sitegroup_cms::service::users::create_platform_admin(
        &env.state.db,
        &env.state.secrets.get(),
        "sysadmin",
        "ops",
        "运维",
    )
    .await
    .unwrap();
    let addr = "198.51.100.20";

    // First sign-in: one-time password → new password → authenticator, before anything else.
    let r = login(&env, "ops", &password, addr).await;
    assert_eq!(r.location(), "/password");
    let cookie = r.cookie("sg_session").unwrap();
    let page = get(&env, "/password", &cookie).await.body;
    let csrf = csrf_of(&page);
    let r = post(
        &env,
        "/password",
        &cookie,
        &[
            ("csrf", &csrf),
            ("current", &password),
            ("new_password", "Secure-Passw0rd-2026"),
            ("confirm", "Secure-Passw0rd-2026"),
        ],
    )
    .await;
    assert_eq!(r.location(), "/account/2fa", "enrolment comes next");
    let cookie = r.cookie("sg_session").unwrap();
    assert_eq!(get(&env, "/", &cookie).await.location(), "/account/2fa");
    let page = get(&env, "/account/2fa", &cookie).await.body;
    assert!(page.contains("<svg"), "QR code rendered on the server");
    let secret = secret_on(&page);
    // Reloading keeps the same secret (a scanned QR code stays valid).
    assert_eq!(
        secret_on(&get(&env, "/account/2fa", &cookie).await.body),
        secret
    );
    let csrf = csrf_of(&page);
    // The secret is sealed in the database.
    let row = app_user::Entity::find()
        .filter(app_user::Column::Username.eq("ops"))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.totp_secret.clone().unwrap();
    assert!(sealed.starts_with("sg1:1:"), "{sealed}");
    let b32 = totp_rs::Secret::Raw(secret.clone())
        .to_encoded()
        .to_string();
    assert!(!sealed.contains(&b32[..16]));

    let r = post(
        &env,
        "/account/2fa/enable",
        &cookie,
        &[("csrf", &csrf), ("code", "000000")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &env,
        "/account/2fa/enable",
        &cookie,
        &[("csrf", &csrf), ("code", &code(&secret, 0))],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let codes: Vec<String> = r
        .body
        .match_indices("<li><code>")
        .map(|(i, _)| r.body[i + 10..i + 21].to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{}", r.body);
    assert_eq!(get(&env, "/", &cookie).await.status, StatusCode::OK);

    // Next sign-in: the password alone leads to the code page, nowhere else.
    let r = login(&env, "ops", "Secure-Passw0rd-2026", addr).await;
    assert_eq!(r.location(), "/login/2fa");
    let pending = r.cookie("sg_session").unwrap();
    assert_eq!(get(&env, "/", &pending).await.location(), "/login/2fa");
    assert_eq!(
        get(&env, "/account", &pending).await.location(),
        "/login/2fa"
    );
    let page = get(&env, "/login/2fa", &pending).await.body;
    let pcsrf = csrf_of(&page);
    // The code used for enrolment is spent.
    let r = post(
        &env,
        "/login/2fa",
        &pending,
        &[("csrf", &pcsrf), ("code", &code(&secret, 0))],
    )
    .await;
    assert!(
        r.error().unwrap().contains("不正确"),
        "replayed code accepted"
    );
    // A recovery code works once.
    let r = post(
        &env,
        "/login/2fa",
        &pending,
        &[("csrf", &pcsrf), ("code", &codes[0].to_uppercase())],
    )
    .await;
    assert_eq!(r.location(), "/");
    assert_eq!(get(&env, "/", &pending).await.status, StatusCode::OK);
    let r = login(&env, "ops", "Secure-Passw0rd-2026", addr).await;
    let pending = r.cookie("sg_session").unwrap();
    let page = get(&env, "/login/2fa", &pending).await.body;
    let pcsrf = csrf_of(&page);
    let r = post(
        &env,
        "/login/2fa",
        &pending,
        &[("csrf", &pcsrf), ("code", &codes[0])],
    )
    .await;
    assert!(r.error().is_some(), "a recovery code works once");

    // Key rotation re-encrypts the secret; the running server opens it with the new key.
    let (key, n) = sitegroup_cms::secrets::rotate(&env.state.db, env.state.data_dir.as_path())
        .await
        .unwrap();
    assert_eq!((key, n), (2, 1));
    let row = app_user::Entity::find_by_id(row.id)
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.totp_secret.clone().unwrap().starts_with("sg1:2:"));
    let r = post(
        &env,
        "/login/2fa",
        &pending,
        &[("csrf", &pcsrf), ("code", &code(&secret, 30))],
    )
    .await;
    assert_eq!(r.location(), "/", "{:?}", r.error());
    assert_eq!(
        audit_count(&env, "login.success", "user:ops", "success").await,
        3,
        "the first sign-in (before enrolment), the recovery code, the code"
    );
    assert_eq!(
        audit_count(&env, "mfa.recovery_used", "user:ops", "success").await,
        1
    );
    assert_eq!(
        audit_count(&env, "secrets.rotate", "key:2", "success").await,
        1
    );

    // Platform administrators may not switch the second factor off.
    let page = get(&env, "/account/2fa", &pending).await.body;
    assert!(!page.contains("/account/2fa/disable"));
    let csrf = csrf_of(&page);
    let r = post(
        &env,
        "/account/2fa/disable",
        &pending,
        &[("csrf", &csrf), ("code", &code(&secret, 0))],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Lost phone: the 安全管理员 resets it; the account's sessions end and it enrols again.
    let sec = actor(&env, "secadmin").await;
    let (sec_cookie, sec_csrf) = sign_in(&env, sec.id()).await;
    let r = post(
        &env,
        &format!("/security/users/{}/reset-2fa", row.id),
        &sec_cookie,
        &[("csrf", &sec_csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(get(&env, "/", &pending).await.location(), "/login");
    let r = login(&env, "ops", "Secure-Passw0rd-2026", "198.51.100.21").await;
    assert_eq!(r.location(), "/account/2fa");
    // …but not their own.
    let r = post(
        &env,
        &format!("/security/users/{}/reset-2fa", sec.id()),
        &sec_cookie,
        &[("csrf", &sec_csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    chain_ok(&env).await;
}

#[tokio::test]
async fn sessions_time_out_are_listed_end_remotely_and_end_on_role_changes() {
    let env = setup().await;
    let id = unit_user(&env, "zhang", "Known-Passw0rd").await;

    // Cookie attributes, plain and behind HTTPS.
    let r = login(&env, "zhang", "Known-Passw0rd", "198.51.100.30").await;
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("sg_session="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"));
    let laptop = r.cookie("sg_session").unwrap();
    let req = Request::get("/login")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let res = sitegroup_cms::web::app(env.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let set = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
    assert!(
        res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");

    // Two sessions; the account page lists both with their addresses; one ends the other.
    let r = login(&env, "zhang", "Known-Passw0rd", "198.51.100.31").await;
    let phone = r.cookie("sg_session").unwrap();
    let page = get(&env, "/account", &laptop).await.body;
    assert!(page.contains("198.51.100.30") && page.contains("198.51.100.31"));
    let sessions = user_session::Entity::find()
        .filter(user_session::Column::UserId.eq(id))
        .order_by_asc(user_session::Column::Id)
        .all(&env.state.db)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2);
    let csrf = csrf_of(&page);
    let r = post(
        &env,
        &format!("/account/sessions/{}/end", sessions[1].id),
        &laptop,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.location(), "/account?notice=session_ended");
    assert_eq!(get(&env, "/", &phone).await.location(), "/login");
    assert_eq!(get(&env, "/", &laptop).await.status, StatusCode::OK);
    // Somebody else's session is not theirs to end.
    let other = unit_user(&env, "lisi", "Other-Passw0rd").await;
    let (other_cookie, _) = sign_in(&env, other).await;
    let other_session = user_session::Entity::find()
        .filter(user_session::Column::UserId.eq(other))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let r = post(
        &env,
        &format!("/account/sessions/{}/end", other_session.id),
        &laptop,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&env, "/", &other_cookie).await.status, StatusCode::OK);
    // Without the form token, nothing happens.
    let r = post(
        &env,
        &format!("/account/sessions/{}/end", sessions[0].id),
        &laptop,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Idle for 16 minutes: over (default 15). After the policy allows 30, 16 is fine.
    let idle = |minutes: i64| {
        let env = &env;
        async move {
            user_session::Entity::update_many()
                .col_expr(
                    user_session::Column::LastSeenAt,
                    Expr::value(Utc::now() - Duration::minutes(minutes)),
                )
                .filter(user_session::Column::UserId.eq(other))
                .exec(&env.state.db)
                .await
                .unwrap();
        }
    };
    idle(16).await;
    assert_eq!(get(&env, "/", &other_cookie).await.location(), "/login");
    let mut policy = env.state.policy();
    policy.idle_minutes = 30;
    *env.state.policy.write().unwrap() = policy;
    let (other_cookie, _) = sign_in(&env, other).await;
    idle(16).await;
    assert_eq!(get(&env, "/", &other_cookie).await.status, StatusCode::OK);

    // A grant ends the user's sessions, so the new powers apply at once.
    let (edu, _) = site_by_code(&env, "edu").await;
    let sys = actor(&env, "admin").await;
    grant(&env, &sys, other, edu.id, None, "editor", None).await;
    assert_eq!(get(&env, "/", &other_cookie).await.location(), "/login");

    // The 安全管理员 sees every session and ends one.
    let sec = actor(&env, "secadmin").await;
    let (sec_cookie, sec_csrf) = sign_in(&env, sec.id()).await;
    let page = get(&env, "/security/sessions", &sec_cookie).await.body;
    assert!(page.contains("zhang") && page.contains("198.51.100.30"));
    let r = post(
        &env,
        &format!("/security/sessions/{}/end", sessions[0].id),
        &sec_cookie,
        &[("csrf", &sec_csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(get(&env, "/", &laptop).await.location(), "/login");
    assert_eq!(
        audit_count(
            &env,
            "session.end",
            &format!("session:{}", sessions[0].id),
            "success"
        )
        .await,
        1
    );
    chain_ok(&env).await;
}

#[tokio::test]
async fn the_three_administrators_are_kept_apart() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let sec = actor(&env, "secadmin").await;
    let aud = actor(&env, "auditor").await;
    let (sys_c, sys_csrf) = sign_in(&env, sys.id()).await;
    let (sec_c, sec_csrf) = sign_in(&env, sec.id()).await;
    let (aud_c, aud_csrf) = sign_in(&env, aud.id()).await;
    let (edu, _) = site_by_code(&env, "edu").await;

    // Each starts in its own section.
    assert_eq!(get(&env, "/", &sec_c).await.location(), "/security");
    assert_eq!(get(&env, "/", &aud_c).await.location(), "/audit");
    assert_eq!(get(&env, "/", &sys_c).await.status, StatusCode::OK);
    assert_eq!(get(&env, "/security", &sec_c).await.status, StatusCode::OK);
    assert_eq!(get(&env, "/audit", &aud_c).await.status, StatusCode::OK);

    // Nobody enters another's section.
    for (cookie, path) in [
        (&sys_c, "/security"),
        (&sys_c, "/security/sessions"),
        (&sys_c, "/security/users"),
        (&sys_c, "/audit"),
        (&sys_c, "/audit/export?format=csv"),
        (&sec_c, "/audit"),
        (&sec_c, "/audit/export?format=jsonl"),
        (&aud_c, "/security"),
        (&aud_c, "/security/users"),
    ] {
        assert_eq!(
            get(&env, path, cookie).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let r = post(
        &env,
        "/security/policy",
        &sys_c,
        &[("csrf", &sys_csrf), ("min_length", "8")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(&env, "/audit/verify", &sec_c, &[("csrf", &sec_csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        audit_log::Entity::find()
            .filter(audit_log::Column::Event.eq("access.denied"))
            .count(&env.state.db)
            .await
            .unwrap()
            >= 11,
        "refusals are audited"
    );

    // The security and audit administrators have no content and no accounts to manage.
    for cookie in [&sec_c, &aud_c] {
        for path in [
            format!("/sites/{}", edu.id),
            format!("/sites/{}/articles", edu.id),
            format!("/sites/{}/users", edu.id),
        ] {
            let status = get(&env, &path, cookie).await.status;
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                "{path}: {status}"
            );
        }
        let page = get(&env, "/users", cookie).await.body;
        assert!(page.contains("没有您可管理的账号"));
    }
    let r = post(
        &env,
        &format!("/sites/{}/articles", edu.id),
        &aud_c,
        &[("csrf", &aud_csrf), ("title", "x"), ("column_id", "1")],
    )
    .await;
    assert!(r.status.is_client_error());

    // No web form makes a platform administrator, whoever sends it.
    let r = post(
        &env,
        &format!("/sites/{}/users/new", edu.id),
        &sys_c,
        &[
            ("csrf", &sys_csrf),
            ("username", "shadow"),
            ("display_name", "影子"),
            ("platform_role", "auditor"),
            ("org_id", &edu.org_id.to_string()),
        ],
    )
    .await;
    let shadow = app_user::Entity::find()
        .filter(app_user::Column::Username.eq("shadow"))
        .one(&env.state.db)
        .await
        .unwrap();
    assert!(
        shadow.is_none_or(|u| u.platform_role.is_empty()),
        "{}",
        r.status
    );
    assert!(
        sitegroup_cms::service::users::create_user(
            &env.state,
            &sys,
            &sitegroup_cms::service::users::NewUser {
                username: "root2".into(),
                display_name: "x".into(),
                platform_role: "secadmin".into(),
                org_id: None,
            },
        )
        .await
        .is_err()
    );
    // …nor gives a platform administrator a unit role.
    let r = post(
        &env,
        &format!("/sites/{}/grants", edu.id),
        &sys_c,
        &[
            ("csrf", &sys_csrf),
            ("user_id", &aud.id().to_string()),
            ("role", "unit_admin"),
            ("column_id", "0"),
        ],
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(
        role_grant::Entity::find()
            .filter(role_grant::Column::UserId.eq(aud.id()))
            .count(&env.state.db)
            .await
            .unwrap(),
        0
    );

    // The auditor searches, exports (CSV and signed JSON lines) and verifies.
    let page = get(&env, "/audit?event=access.denied", &aud_c).await.body;
    assert!(page.contains("越权访问被拒绝") && page.contains("section:security"));
    let page = get(&env, "/audit?from=bad-date", &aud_c).await.body;
    assert!(page.contains("开始日期格式"));
    let csv = get(&env, "/audit/export?format=csv&actor=admin", &aud_c).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with('\u{feff}'));
    assert!(csv.body.contains("越权访问被拒绝"));
    assert!(!csv.body.contains("\"secadmin\""), "filtered by actor");
    let jsonl = get(&env, "/audit/export?format=jsonl", &aud_c).await;
    let report = audit::verify_signed(&env.state.secrets.get(), jsonl.body.as_bytes()).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.checked > 10);
    let tampered = jsonl
        .body
        .replacen("section:security", "section:secXrity", 1);
    assert!(audit::verify_signed(&env.state.secrets.get(), tampered.as_bytes()).is_err());
    assert_eq!(
        audit_count(&env, "audit.export", "audit_log", "success").await,
        2
    );
    let r = post(&env, "/audit/verify", &aud_c, &[("csrf", &aud_csrf)]).await;
    assert!(r.body.contains("审计链完整"), "{}", r.body);
    chain_ok(&env).await;
}

#[tokio::test]
async fn a_form_without_its_token_is_refused_before_anything_else() {
    let env = setup().await;
    let sys = actor(&env, "admin").await;
    let (cookie, csrf) = sign_in(&env, sys.id()).await;
    let (edu, _) = site_by_code(&env, "edu").await;
    let article = article::Entity::find()
        .filter(article::Column::SiteId.eq(edu.id))
        .one(&env.state.db)
        .await
        .unwrap()
        .unwrap();
    let path = format!("/articles/{}/act", article.id);
    // The form lacks its `action`: with a forged token it is a CSRF refusal (403), with the
    // right one a form error (422) — never the same answer.
    let forged = post(
        &env,
        &path,
        &cookie,
        &[("csrf", "wapiti"), ("comment", "x")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("CSRF"));
    let right = post(&env, &path, &cookie, &[("csrf", &csrf), ("comment", "x")]).await;
    assert_eq!(
        right.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        right.body
    );
    // Not signed in: sent to sign in, whatever the token.
    let r = call(
        &env,
        Method::POST,
        &path,
        None,
        Some(&[("csrf", "x")]),
        "192.0.2.9",
    )
    .await;
    assert_eq!(r.location(), "/login");
}
