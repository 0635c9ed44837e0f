//! Signing in and out, and the user's own account: password and sessions (the second factor is
//! in [`super::two_factor`]).
//!
//! Every answer to a failed sign-in is the same whether or not the account exists; every attempt
//! is audited (the audit record names the reason; the page does not).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;

use super::{CsrfForm, render, user_ctx};
use crate::audit::{Entry, Event, Outcome, Who};
use crate::auth::{self, LOGIN_CSRF_COOKIE, STAGE_MFA, STAGE_OK, throttle};
use crate::db::entities::{app_user, user_session};
use crate::error::{AppError, AppResult};
use crate::state::SharedState;
use crate::web::session::{AnySession, AuthedAnyState, ClientInfo, cookie};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(change_password))
        .route("/account", get(account_page))
        .route("/account/sessions/{id}/end", post(end_own_session))
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when the gateway says the visitor
/// came over HTTPS.
fn set_cookie(name: &str, token: &str, headers: &HeaderMap, path: &str) -> HeaderValue {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let value = format!(
        "{name}={token}; Path={path}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn redirect_with_cookie(to: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static("sg_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

// ---- sign in -----------------------------------------------------------------------------

/// The sign-in page with a fresh form token (double-submit: cookie and hidden field).
fn login_form(
    state: &SharedState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
) -> AppResult<Response> {
    let token = auth::random_token();
    let page = render(
        state,
        "login.html",
        context! { error, username, login_csrf => token.clone() },
    )?;
    let mut response = (status, page).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &token, headers, "/login"),
    );
    Ok(response)
}

async fn login_page(State(state): State<SharedState>, headers: HeaderMap) -> AppResult<Response> {
    login_form(&state, &headers, StatusCode::OK, None, "")
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

const BAD_LOGIN: &str = "用户名或密码错误。";

pub(super) fn wait_message(until: chrono::DateTime<Utc>) -> String {
    let secs = (until - Utc::now()).num_seconds().max(1);
    if secs < 120 {
        format!("登录失败次数过多，请 {secs} 秒后再试。")
    } else {
        format!(
            "登录失败次数过多，账号或地址已被暂时锁定，请 {} 分钟后再试。",
            (secs + 59) / 60
        )
    }
}

async fn login(
    State(state): State<SharedState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let username = form.username.trim().to_string();
    let presented_cookie = cookie(&headers, LOGIN_CSRF_COOKIE);
    if form.csrf.is_empty()
        || !presented_cookie
            .is_some_and(|c| auth::constant_time_eq(c.as_bytes(), form.csrf.as_bytes()))
    {
        return login_form(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            Some("登录页面已过期，请重新输入。"),
            &username,
        );
    }
    let policy = state.policy();
    let now = Utc::now();
    let keys = [
        throttle::account_key(&username),
        throttle::address_key(&client.addr),
    ];
    let attempt = serde_json::json!({ "username": username });
    if let Some(until) = throttle::blocked(&state.db, &policy, &keys, now).await? {
        state
            .audit(
                &Who::anonymous(&client.addr),
                Entry::new(Event::LoginLocked, format!("user:{username}"))
                    .outcome(Outcome::Denied)
                    .details(
                        serde_json::json!({ "username": username, "until": until.to_rfc3339() }),
                    ),
            )
            .await?;
        return login_form(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&wait_message(until)),
            &username,
        );
    }
    let user = app_user::Entity::find()
        .filter(app_user::Column::Username.eq(&username))
        .one(&state.db)
        .await?;
    // Verify against a dummy hash for unknown users: same time, same message.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_string());
    let ok = auth::verify_password_off_thread(form.password.clone(), hash).await?;
    let reason = match &user {
        None => "unknown account",
        Some(_) if !ok => "wrong password",
        Some(u) if !auth::account_usable(u, now) => "account disabled or expired",
        Some(_) => "",
    };
    if !reason.is_empty() {
        // The wait counts from the answer, not from the request: a slow password check must
        // not use up the wait before the client has even seen the failure.
        let failed_at = Utc::now();
        let mut locked = false;
        for key in &keys {
            locked |= throttle::fail(&state.db, &policy, key, failed_at).await?;
        }
        let who = Who::anonymous(&client.addr);
        let details = serde_json::json!({ "username": username, "reason": reason });
        state
            .audit(
                &who,
                Entry::new(Event::LoginFailure, format!("user:{username}"))
                    .outcome(Outcome::Failure)
                    .details(details),
            )
            .await?;
        if locked {
            state
                .audit(
                    &who,
                    Entry::new(Event::LoginLocked, format!("user:{username}"))
                        .outcome(Outcome::Denied)
                        .details(attempt),
                )
                .await?;
        }
        tracing::warn!(user = %username, addr = %client.addr, reason, "sign-in failed");
        let message = if reason == "account disabled or expired" {
            "账号已停用或已过期，请联系管理员。".to_string()
        } else if locked {
            wait_message(failed_at + policy.lock())
        } else {
            BAD_LOGIN.to_string()
        };
        return login_form(&state, &headers, StatusCode::OK, Some(&message), &username);
    }
    let Some(user) = user else {
        return Err(AppError::LoginRequired);
    };
    throttle::clear(&state.db, &keys[0]).await?;
    let stage = if user.totp_enabled {
        STAGE_MFA
    } else {
        STAGE_OK
    };
    let token = auth::create_session(&state.db, user.id, stage, &client, &policy).await?;
    if stage == STAGE_OK {
        state
            .audit(
                &Who::user(&user, &client.addr),
                Entry::new(Event::LoginSuccess, format!("user:{}", user.username))
                    .details(serde_json::json!({ "second_factor": "none" })),
            )
            .await?;
    }
    tracing::info!(user = %user.username, "password accepted");
    let to = if stage == STAGE_MFA {
        "/login/2fa"
    } else {
        next_page(&user, &policy)
    };
    let mut response =
        redirect_with_cookie(to, set_cookie(auth::SESSION_COOKIE, &token, &headers, "/"));
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("sg_login=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// Where a fully signed-in user goes first.
pub(super) fn next_page(
    user: &app_user::Model,
    policy: &auth::policy::SecurityPolicy,
) -> &'static str {
    if user.must_change_password || policy.password_expired(user, Utc::now()) {
        "/password"
    } else if policy.requires_2fa(user) && !user.totp_enabled {
        "/account/2fa"
    } else {
        "/"
    }
}

async fn logout(
    State(state): State<SharedState>,
    AnySession(s): AnySession,
    ClientInfo(client): ClientInfo,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    auth::end_session(&state.db, s.session_id).await?;
    state
        .audit(
            &Who::user(&s.user, &client.addr),
            Entry::new(Event::Logout, format!("user:{}", s.user.username)),
        )
        .await?;
    Ok(redirect_with_cookie("/login", clear_session_cookie()))
}

// ---- password ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

fn password_ctx(state: &SharedState, s: &auth::Session, error: Option<String>) -> Value {
    let p = state.policy();
    context! {
        user => user_ctx(s), csrf => s.csrf.clone(), error,
        policy => context! {
            min_length => p.min_length, min_classes => p.min_classes, history => p.history,
            max_age_days => p.max_age_days,
        },
    }
}

async fn password_page(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
) -> AppResult<Html<String>> {
    render(&state, "password.html", password_ctx(&state, &s, None))
}

async fn change_password(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let who = Who::user(&s.user, &client.addr);
    let fail = |msg: String| {
        render(&state, "password.html", password_ctx(&state, &s, Some(msg)))
            .map(|page| (StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if !auth::verify_password_off_thread(form.current.clone(), s.user.password_hash.clone()).await?
    {
        state
            .audit(
                &who,
                Entry::new(Event::PasswordChange, format!("user:{}", s.user.username))
                    .outcome(Outcome::Failure)
                    .details(serde_json::json!({ "reason": "wrong current password" })),
            )
            .await?;
        return fail("当前密码不正确。".into());
    }
    if form.new_password != form.confirm {
        return fail("两次输入的新密码不一致。".into());
    }
    let policy = state.policy();
    if let Err(msg) = policy.check_password(&form.new_password, &s.user.username) {
        return fail(msg);
    }
    if auth::reused(&state.db, &s.user, &form.new_password, policy.history)
        .await
        .map_err(AppError::Internal)?
    {
        return fail(format!(
            "新密码不能与当前密码或最近 {} 次使用过的密码相同。",
            policy.history
        ));
    }
    let hash = auth::hash_password_off_thread(form.new_password.clone()).await?;
    let txn = state.db.begin().await?;
    // A password change ends every session of the account, this one included.
    auth::set_password(&txn, &s.user, hash, false, policy.history).await?;
    let token = auth::create_session(&txn, s.user.id, STAGE_OK, &client, &policy).await?;
    state
        .audit_in(
            &txn,
            &who,
            Entry::new(Event::PasswordChange, format!("user:{}", s.user.username)),
        )
        .await?;
    txn.commit().await?;
    tracing::info!(user = %s.user.username, "password changed");
    let mut user = s.user.clone();
    user.must_change_password = false;
    user.password_changed_at = Some(Utc::now());
    let to = match next_page(&user, &policy) {
        "/" => "/?notice=password",
        other => other,
    };
    Ok(redirect_with_cookie(
        to,
        set_cookie(auth::SESSION_COOKIE, &token, &headers, "/"),
    ))
}

// ---- the account page: sessions ------------------------------------------------------------

/// Session rows for a template.
pub(super) fn session_rows(
    rows: &[user_session::Model],
    current: i32,
    names: &HashMap<i32, String>,
) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            context! {
                id => r.id, current => r.id == current,
                user => names.get(&r.user_id).cloned().unwrap_or_default(),
                created_at => crate::publish::beijing(r.created_at).format("%Y-%m-%d %H:%M").to_string(),
                last_seen_at => crate::publish::beijing(r.last_seen_at).format("%Y-%m-%d %H:%M").to_string(),
                client_addr => r.client_addr.clone(), user_agent => r.user_agent.clone(),
                pending => r.stage == STAGE_MFA,
            }
        })
        .collect()
}

async fn account_page(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let sessions = auth::sessions(&state.db, Some(s.user.id)).await?;
    let names = HashMap::from([(s.user.id, s.user.username.clone())]);
    let remaining = super::two_factor::unused_recovery_codes(&state, s.user.id).await?;
    render(
        &state,
        "account.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => super::notice(&q),
            sessions => session_rows(&sessions, s.session_id, &names),
            totp_enabled => s.user.totp_enabled, recovery_left => remaining,
            password_changed_at => s.user.password_changed_at
                .map(|t| crate::publish::beijing(t).format("%Y-%m-%d").to_string()),
            expires_at => s.user.expires_at
                .map(|t| crate::publish::beijing(t).format("%Y-%m-%d").to_string()),
        },
    )
}

async fn end_own_session(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    ClientInfo(client): ClientInfo,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let row = user_session::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|r| r.user_id == s.user.id)
        .ok_or(AppError::NotFound)?;
    auth::end_session(&state.db, row.id).await?;
    state
        .audit(
            &Who::user(&s.user, &client.addr),
            Entry::new(Event::SessionEnd, format!("session:{}", row.id)).details(
                serde_json::json!({ "user": s.user.username, "client_addr": row.client_addr }),
            ),
        )
        .await?;
    if row.id == s.session_id {
        return Ok(redirect_with_cookie("/login", clear_session_cookie()));
    }
    Ok(Redirect::to("/account?notice=session_ended").into_response())
}
