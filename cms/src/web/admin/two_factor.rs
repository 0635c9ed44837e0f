//! The second factor: the code page of a sign-in (TOTP or a recovery code), and the user's own
//! authenticator: enrolment (QR code rendered here), recovery codes, switching it off where the
//! policy allows. A code is accepted once; failures count towards the account's sign-in lock.

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Deserialize;

use super::account::{next_page, wait_message};
use super::{render, user_ctx};
use crate::audit::{Entry, Event, Outcome, Who};
use crate::auth::{self, mfa, throttle};
use crate::db::entities::{app_user, recovery_code};
use crate::error::{AppError, AppResult};
use crate::state::SharedState;
use crate::web::session::{AuthedAnyState, ClientInfo, PendingSecondFactor};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/login/2fa", get(second_factor_page).post(second_factor))
        .route("/account/2fa", get(mfa_page))
        .route("/account/2fa/enable", post(mfa_enable))
        .route("/account/2fa/recovery", post(mfa_recovery))
        .route("/account/2fa/disable", post(mfa_disable))
}

// ---- the code page of a sign-in -----------------------------------------------------------

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
        // The wait counts from the answer (the recovery-code check hashes).
        let failed_at = Utc::now();
        let locked = throttle::fail(&state.db, &policy, &key, failed_at).await?;
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
                context! { error => wait_message(failed_at + policy.lock()), ended => true },
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

// ---- authenticator -----------------------------------------------------------------------

pub(super) async fn unused_recovery_codes(state: &SharedState, user_id: i32) -> AppResult<u64> {
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
