//! Signing in and out, the second factor, and the user's own account: password, authenticator,
//! recovery codes, sessions.
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
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Deserialize;

use super::{CsrfForm, render, user_ctx};
use crate::audit::{Entry, Event, Outcome, Who};
use crate::auth::{self, LOGIN_CSRF_COOKIE, STAGE_MFA, STAGE_OK, mfa, throttle};
use crate::db::entities::{app_user, recovery_code, user_session};
use crate::error::{AppError, AppResult};
use crate::state::SharedState;
use crate::web::session::{AnySession, AuthedAnyState, ClientInfo, PendingSecondFactor, cookie};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/2fa", get(second_factor_page).post(second_factor))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(change_password))
        .route("/account", get(account_page))
        .route("/account/2fa", get(mfa_page))
        .route("/account/2fa/enable", post(mfa_enable))
        .route("/account/2fa/recovery", post(mfa_recovery))
        .route("/account/2fa/disable", post(mfa_disable))
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

fn wait_message(until: chrono::DateTime<Utc>) -> String {
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
        let mut locked = false;
        for key in &keys {
            locked |= throttle::fail(&state.db, &policy, key, now).await?;
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
            wait_message(now + policy.lock())
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
fn next_page(user: &app_user::Model, policy: &auth::policy::SecurityPolicy) -> &'static str {
    if user.must_change_password || policy.password_expired(user, Utc::now()) {
        "/password"
    } else if policy.requires_2fa(user) && !user.totp_enabled {
        "/account/2fa"
    } else {
        "/"
    }
}

// ---- second factor -----------------------------------------------------------------------

async fn second_factor_page(
    State(state): State<SharedState>,
    PendingSecondFactor(s): PendingSecondFactor,
) -> AppResult<Html<String>> {
    render(&state, "login_2fa.html", context! { csrf => s.csrf })
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// Opens the user's TOTP secret.
fn totp_secret(state: &SharedState, user: &app_user::Model) -> AppResult<Option<Vec<u8>>> {
    let Some(sealed) = &user.totp_secret else {
        return Ok(None);
    };
    state
        .secrets
        .open_value(sealed, &format!("totp:{}", user.id))
        .map(Some)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("TOTP secret of user {}: {e}", user.id)))
}

/// Checks a TOTP code and, on success, remembers its step (so it is not accepted again).
async fn accept_totp(state: &SharedState, user: &app_user::Model, code: &str) -> AppResult<bool> {
    let Some(secret) = totp_secret(state, user)? else {
        return Ok(false);
    };
    let unix = Utc::now().timestamp().max(0) as u64;
    let Some(step) = mfa::check(&secret, code, unix, user.totp_last_step) else {
        return Ok(false);
    };
    // Conditional on the stored step, so two requests racing with one code cannot both pass.
    let res = app_user::Entity::update_many()
        .col_expr(
            app_user::Column::TotpLastStep,
            sea_orm::sea_query::Expr::value(step),
        )
        .filter(app_user::Column::Id.eq(user.id))
        .filter(match user.totp_last_step {
            Some(last) => app_user::Column::TotpLastStep.eq(last),
            None => app_user::Column::TotpLastStep.is_null(),
        })
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Uses up a recovery code if it is one of the user's unused ones.
async fn accept_recovery_code(
    state: &SharedState,
    user: &app_user::Model,
    code: &str,
) -> AppResult<bool> {
    let res = recovery_code::Entity::update_many()
        .col_expr(
            recovery_code::Column::UsedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(recovery_code::Column::UserId.eq(user.id))
        .filter(recovery_code::Column::CodeHash.eq(mfa::recovery_hash(code)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected == 1)
}

async fn second_factor(
    State(state): State<SharedState>,
    PendingSecondFactor(s): PendingSecondFactor,
    ClientInfo(client): ClientInfo,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let policy = state.policy();
    let now = Utc::now();
    let user = &s.user;
    let who = Who::user(user, &client.addr);
    let key = throttle::account_key(&user.username);
    if let Some(until) =
        throttle::blocked(&state.db, &policy, std::slice::from_ref(&key), now).await?
    {
        auth::end_session(&state.db, s.session_id).await?;
        state
            .audit(
                &who,
                Entry::new(Event::LoginLocked, format!("user:{}", user.username))
                    .outcome(Outcome::Denied),
            )
            .await?;
        let mut r = render(
            &state,
            "login_2fa.html",
            context! { error => wait_message(until), ended => true },
        )?
        .into_response();
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(r);
    }
    let method = if accept_totp(&state, user, &form.code).await? {
        Some("totp")
    } else if accept_recovery_code(&state, user, &form.code).await? {
        Some("recovery code")
    } else {
        None
    };
    let Some(method) = method else {
        let locked = throttle::fail(&state.db, &policy, &key, now).await?;
        state
            .audit(
                &who,
                Entry::new(
                    Event::SecondFactorFailure,
                    format!("user:{}", user.username),
                )
                .outcome(Outcome::Failure),
            )
            .await?;
        if locked {
            auth::end_session(&state.db, s.session_id).await?;
            state
                .audit(
                    &who,
                    Entry::new(Event::LoginLocked, format!("user:{}", user.username))
                        .outcome(Outcome::Denied),
                )
                .await?;
            return Ok(render(
                &state,
                "login_2fa.html",
                context! { error => wait_message(now + policy.lock()), ended => true },
            )?
            .into_response());
        }
        return Ok(render(
            &state,
            "login_2fa.html",
            context! { csrf => s.csrf, error => "动态口令或恢复码不正确。" },
        )?
        .into_response());
    };
    throttle::clear(&state.db, &key).await?;
    auth::complete_session(&state.db, s.session_id).await?;
    if method == "recovery code" {
        state
            .audit(
                &who,
                Entry::new(Event::RecoveryCodeUsed, format!("user:{}", user.username)),
            )
            .await?;
    }
    state
        .audit(
            &who,
            Entry::new(Event::LoginSuccess, format!("user:{}", user.username))
                .details(serde_json::json!({ "second_factor": method })),
        )
        .await?;
    Ok(Redirect::to(next_page(user, &policy)).into_response())
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
    let remaining = unused_recovery_codes(&state, s.user.id).await?;
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

// ---- authenticator -----------------------------------------------------------------------

async fn unused_recovery_codes(state: &SharedState, user_id: i32) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&state.db)
        .await?)
}

/// The enrolment page: a pending secret is created on first view and kept until confirmed, so
/// reloading the page does not invalidate a QR code already scanned.
async fn mfa_page(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
) -> AppResult<Html<String>> {
    mfa_page_inner(&state, &s, None, None).await
}

async fn mfa_page_inner(
    state: &SharedState,
    s: &auth::Session,
    error: Option<&str>,
    new_codes: Option<Vec<String>>,
) -> AppResult<Html<String>> {
    let user = app_user::Entity::find_by_id(s.user.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::LoginRequired)?;
    let policy = state.policy();
    let mut enrol = None;
    if !user.totp_enabled {
        let secret = match totp_secret(state, &user)? {
            Some(secret) => secret,
            None => {
                let secret = mfa::new_secret();
                let sealed = state
                    .secrets
                    .get()
                    .seal(&secret, &format!("totp:{}", user.id));
                let mut active: app_user::ActiveModel = user.clone().into();
                active.totp_secret = Set(Some(sealed));
                active.update(&state.db).await?;
                secret
            }
        };
        let url = mfa::otpauth_url(&secret, &user.username);
        enrol = Some(context! {
            qr_svg => Value::from_safe_string(mfa::qr_svg(&url)),
            secret => mfa::secret_text(&secret),
        });
    }
    render(
        state,
        "account_2fa.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), error,
            enabled => user.totp_enabled, enrol, new_codes,
            required => policy.requires_2fa(&user),
            recovery_left => unused_recovery_codes(state, user.id).await?,
        },
    )
}

/// The authenticator page again with `error`, as a 422 (a code that did not match).
async fn mfa_refused(state: &SharedState, s: &auth::Session, error: &str) -> AppResult<Response> {
    let page = mfa_page_inner(state, s, Some(error), None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Replaces the user's recovery codes; returns the new ones (shown once).
async fn new_recovery_codes(
    txn: &impl sea_orm::ConnectionTrait,
    user_id: i32,
) -> AppResult<Vec<String>> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    let codes = mfa::new_recovery_codes();
    for code in &codes {
        recovery_code::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(mfa::recovery_hash(code)),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(codes)
}

async fn mfa_enable(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    ClientInfo(client): ClientInfo,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let user = app_user::Entity::find_by_id(s.user.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::LoginRequired)?;
    if user.totp_enabled {
        return Ok(Redirect::to("/account/2fa").into_response());
    }
    if !accept_totp(&state, &user, &form.code).await? {
        return mfa_refused(&state, &s, "动态口令不正确，请核对手机时间后重试。").await;
    }
    let txn = state.db.begin().await?;
    app_user::Entity::update_many()
        .col_expr(
            app_user::Column::TotpEnabled,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(app_user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let codes = new_recovery_codes(&txn, user.id).await?;
    state
        .audit_in(
            &txn,
            &Who::user(&user, &client.addr),
            Entry::new(Event::MfaEnable, format!("user:{}", user.username)),
        )
        .await?;
    txn.commit().await?;
    Ok(mfa_page_inner(&state, &s, None, Some(codes))
        .await?
        .into_response())
}

async fn mfa_recovery(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    ClientInfo(client): ClientInfo,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    if !s.user.totp_enabled || !accept_totp(&state, &s.user, &form.code).await? {
        return mfa_refused(&state, &s, "动态口令不正确。").await;
    }
    let txn = state.db.begin().await?;
    let codes = new_recovery_codes(&txn, s.user.id).await?;
    state
        .audit_in(
            &txn,
            &Who::user(&s.user, &client.addr),
            Entry::new(Event::RecoveryCodes, format!("user:{}", s.user.username)),
        )
        .await?;
    txn.commit().await?;
    Ok(mfa_page_inner(&state, &s, None, Some(codes))
        .await?
        .into_response())
}

async fn mfa_disable(
    State(state): State<SharedState>,
    AuthedAnyState(s): AuthedAnyState,
    ClientInfo(client): ClientInfo,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let who = Who::user(&s.user, &client.addr);
    if state.policy().requires_2fa(&s.user) {
        state
            .audit(
                &who,
                Entry::new(Event::MfaDisable, format!("user:{}", s.user.username))
                    .outcome(Outcome::Denied)
                    .details(serde_json::json!({ "reason": "required by policy" })),
            )
            .await?;
        return Err(AppError::Forbidden);
    }
    if !s.user.totp_enabled || !accept_totp(&state, &s.user, &form.code).await? {
        return mfa_refused(&state, &s, "动态口令不正确。").await;
    }
    let txn = state.db.begin().await?;
    mfa::remove(&txn, s.user.id).await?;
    state
        .audit_in(
            &txn,
            &who,
            Entry::new(Event::MfaDisable, format!("user:{}", s.user.username)),
        )
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/account?notice=mfa_off").into_response())
}
