//! Extractors for the signed-in user and where the request came from.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::auth::{self, Client, SESSION_COOKIE, STAGE_MFA, STAGE_OK, Session};
use crate::error::AppError;
use crate::service::authz::Actor;
use crate::state::SharedState;

/// A cookie's value, if the request has it.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE)
}

/// The client of a request: `X-Real-IP` (the gateway sets it, replacing whatever the visitor
/// sent; the control-plane listener is reachable by gateways only) or the TCP peer.
pub struct ClientInfo(pub Client);

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo(client_of(parts)))
    }
}

pub fn client_of(parts: &Parts) -> Client {
    let addr = parts
        .headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    Client { addr, user_agent }
}

async fn load(parts: &Parts, state: &SharedState) -> Result<Session, AppError> {
    let token = session_cookie(parts).ok_or(AppError::LoginRequired)?;
    auth::lookup_session(&state.db, &token, &state.policy())
        .await?
        .ok_or(AppError::LoginRequired)
}

/// A fully signed-in session (password and, where enrolled, the second factor).
async fn load_ok(parts: &Parts, state: &SharedState) -> Result<Session, AppError> {
    let session = load(parts, state).await?;
    if session.stage == STAGE_MFA {
        return Err(AppError::SecondFactorRequired);
    }
    if session.stage != STAGE_OK {
        return Err(AppError::LoginRequired);
    }
    Ok(session)
}

/// A signed-in user who may use the admin: the password is not due for a change and the second
/// factor is enrolled where the policy wants one. Carries the roles and grants for the service
/// layer.
pub struct Authed(pub Session, pub Actor);

impl FromRequestParts<SharedState> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        let session = load_ok(parts, state).await?;
        let policy = state.policy();
        if session.user.must_change_password
            || policy.password_expired(&session.user, chrono::Utc::now())
        {
            return Err(AppError::PasswordChangeRequired);
        }
        if policy.requires_2fa(&session.user) && !session.user.totp_enabled {
            return Err(AppError::SecondFactorSetupRequired);
        }
        let mut actor = Actor::load(&state.db, session.user.clone()).await?;
        actor.client_addr = client_of(parts).addr;
        Ok(Authed(session, actor))
    }
}

/// A signed-in user who may still have to change their password or enrol a second factor (the
/// pages that do that accept them).
pub struct AuthedAnyState(pub Session);

impl FromRequestParts<SharedState> for AuthedAnyState {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        load_ok(parts, state).await.map(AuthedAnyState)
    }
}

/// A session whose password was right and whose second factor is due.
pub struct PendingSecondFactor(pub Session);

impl FromRequestParts<SharedState> for PendingSecondFactor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        let session = load(parts, state).await?;
        if session.stage != STAGE_MFA {
            return Err(AppError::LoginRequired);
        }
        Ok(PendingSecondFactor(session))
    }
}

/// Any session at all (signing out works at every stage).
pub struct AnySession(pub Session);

impl FromRequestParts<SharedState> for AnySession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        load(parts, state).await.map(AnySession)
    }
}

impl Session {
    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), AppError> {
        if auth::constant_time_eq(presented.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}
