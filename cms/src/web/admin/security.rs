//! The 安全管理员's section: the security policy, sign-in locks, every live session, and the
//! accounts' second factors. Nobody else may open it (refusals are audited); the 安全管理员
//! can neither touch content nor read the audit trail.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::{Value, context};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set, TransactionTrait};
use serde::Deserialize;

use super::account::session_rows;
use super::{CsrfForm, notice, render, require, user_ctx};
use crate::audit::{Entry, Event, Who};
use crate::auth::policy::{self, SecurityPolicy};
use crate::auth::{self, throttle};
use crate::db::entities::{app_user, platform_setting, user_session};
use crate::error::{AppError, AppResult};
use crate::service::authz::{Actor, PlatformRole};
use crate::state::SharedState;
use crate::web::session::Authed;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/security", get(overview))
        .route("/security/policy", post(save_policy))
        .route("/security/unlock", post(unlock))
        .route("/security/sessions", get(sessions))
        .route("/security/sessions/{id}/end", post(end_session))
        .route("/security/users", get(users))
        .route("/security/users/{id}/reset-2fa", post(reset_2fa))
}

async fn guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(state, actor, actor.is_secadmin(), "section:security").await
}

fn policy_ctx(p: &SecurityPolicy) -> Value {
    Value::from_serialize(p)
}

async fn overview_page(
    state: &SharedState,
    s: &auth::Session,
    shown: &SecurityPolicy,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let now = Utc::now();
    let locks: Vec<Value> = throttle::locked(&state.db, now)
        .await?
        .into_iter()
        .map(|l| {
            let (kind, name) = match l.key.split_once(':') {
                Some(("u", name)) => ("账号", name.to_string()),
                Some(("a", addr)) => ("地址", addr.to_string()),
                _ => ("", l.key.clone()),
            };
            context! {
                key => l.key, kind, name, failures => l.failures,
                until => l.locked_until.map(|t| crate::publish::beijing(t).format("%m-%d %H:%M").to_string()),
            }
        })
        .collect();
    render(
        state,
        "security.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            policy => policy_ctx(shown), locks,
        },
    )
}

async fn overview(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    guard(&state, &actor).await?;
    overview_page(&state, &s, &state.policy(), notice(&q), None).await
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    min_length: String,
    #[serde(default)]
    min_classes: String,
    #[serde(default)]
    history: String,
    #[serde(default)]
    max_age_days: String,
    #[serde(default)]
    account_lock_threshold: String,
    #[serde(default)]
    address_lock_threshold: String,
    #[serde(default)]
    lock_minutes: String,
    #[serde(default)]
    idle_minutes: String,
    #[serde(default)]
    absolute_hours: String,
    #[serde(default)]
    require_2fa_units: Option<String>,
    #[serde(default)]
    audit_retention_days: String,
}

impl PolicyForm {
    /// The policy typed in, with a message for every field that is not a number.
    fn parse(&self) -> (SecurityPolicy, Vec<String>) {
        let mut problems = Vec::new();
        let mut num = |label: &str, v: &str, fallback: u32| match v.trim().parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                problems.push(format!("{label}须为整数。"));
                fallback
            }
        };
        let d = SecurityPolicy::default();
        let p = SecurityPolicy {
            min_length: num("密码最小长度", &self.min_length, d.min_length),
            min_classes: num("字符类别数", &self.min_classes, d.min_classes),
            history: num("历史密码个数", &self.history, d.history),
            max_age_days: num("密码有效期", &self.max_age_days, d.max_age_days),
            account_lock_threshold: num(
                "账号锁定阈值",
                &self.account_lock_threshold,
                d.account_lock_threshold,
            ),
            address_lock_threshold: num(
                "地址锁定阈值",
                &self.address_lock_threshold,
                d.address_lock_threshold,
            ),
            lock_minutes: num("锁定时长", &self.lock_minutes, d.lock_minutes),
            idle_minutes: num("空闲超时", &self.idle_minutes, d.idle_minutes),
            absolute_hours: num("会话最长时间", &self.absolute_hours, d.absolute_hours),
            require_2fa_units: self.require_2fa_units.is_some(),
            audit_retention_days: num(
                "审计记录保存天数",
                &self.audit_retention_days,
                d.audit_retention_days,
            ),
        };
        (p, problems)
    }
}

async fn save_policy(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<PolicyForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    let (new, mut problems) = form.parse();
    problems.extend(new.problems());
    if !problems.is_empty() {
        // Nothing is saved; the form comes back as typed, with every problem.
        let page = overview_page(&state, &s, &new, None, Some(problems.join(" "))).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let old = state.policy();
    let txn = state.db.begin().await?;
    let row = platform_setting::ActiveModel {
        key: Set(policy::SETTING_KEY.into()),
        value: Set(serde_json::to_string(&new).map_err(|e| AppError::Internal(e.into()))?),
        updated_at: Set(Utc::now()),
    };
    if platform_setting::Entity::find_by_id(policy::SETTING_KEY)
        .one(&txn)
        .await?
        .is_some()
    {
        row.update(&txn).await?;
    } else {
        row.insert(&txn).await?;
    }
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::SecurityPolicy, "policy:security")
                .details(serde_json::json!({ "before": old, "after": new })),
        )
        .await?;
    txn.commit().await?;
    *state.policy.write().unwrap_or_else(|e| e.into_inner()) = new;
    Ok(Redirect::to("/security?notice=policy").into_response())
}

#[derive(Deserialize)]
struct UnlockForm {
    #[serde(default)]
    csrf: String,
    key: String,
}

async fn unlock(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<UnlockForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    throttle::clear(&state.db, &form.key).await?;
    state
        .audit(
            &Who::actor(&actor),
            Entry::new(Event::LoginUnlock, format!("lock:{}", form.key)),
        )
        .await?;
    Ok(Redirect::to("/security?notice=unlocked").into_response())
}

async fn usernames(state: &SharedState) -> AppResult<HashMap<i32, String>> {
    Ok(app_user::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

async fn sessions(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    guard(&state, &actor).await?;
    let rows = auth::sessions(&state.db, None).await?;
    render(
        &state,
        "security_sessions.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q),
            sessions => session_rows(&rows, s.session_id, &usernames(&state).await?),
        },
    )
}

async fn end_session(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    let row = user_session::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    auth::end_session(&state.db, row.id).await?;
    let names = usernames(&state).await?;
    state
        .audit(
            &Who::actor(&actor),
            Entry::new(Event::SessionEnd, format!("session:{}", row.id)).details(
                serde_json::json!({
                    "user": names.get(&row.user_id), "client_addr": row.client_addr,
                }),
            ),
        )
        .await?;
    Ok(Redirect::to("/security/sessions?notice=session_ended").into_response())
}

async fn users(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    guard(&state, &actor).await?;
    let orgs = super::org_names(&state).await?;
    let policy = state.policy();
    let now = Utc::now();
    let rows: Vec<Value> = app_user::Entity::find()
        .order_by_asc(app_user::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| {
            context! {
                id => u.id, username => u.username.clone(), display_name => u.display_name.clone(),
                role => PlatformRole::parse(&u.platform_role).label(),
                org => u.org_id.and_then(|o| orgs.get(&o).cloned()).unwrap_or_default(),
                totp => u.totp_enabled, totp_required => policy.requires_2fa(&u),
                usable => auth::account_usable(&u, now),
                password_expired => policy.password_expired(&u, now),
                expires_at => u.expires_at.map(|t| crate::publish::beijing(t).format("%Y-%m-%d").to_string()),
                is_self => u.id == s.user.id,
            }
        })
        .collect();
    render(
        &state,
        "security_users.html",
        context! { user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q), users => rows },
    )
}

async fn reset_2fa(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    guard(&state, &actor).await?;
    // Removing one's own second factor is not a reset anybody else would see.
    if id == actor.id() {
        return require(
            &state,
            &actor,
            false,
            &format!("user:{id} reset-2fa (self)"),
        )
        .await
        .map(|_| Redirect::to("/security/users").into_response());
    }
    let user = app_user::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    auth::mfa::reset_user(&state.db, &state.secrets.get(), &Who::actor(&actor), &user).await?;
    Ok(Redirect::to("/security/users?notice=mfa_reset").into_response())
}
