//! Extractors for the signed-in user.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::auth::{self, SESSION_COOKIE, Session};
use crate::error::AppError;
use crate::service::authz::Actor;
use crate::state::SharedState;

/// The session cookie's value, if the request has one.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

async fn load(parts: &Parts, state: &SharedState) -> Result<Session, AppError> {
    let token = session_cookie(parts).ok_or(AppError::LoginRequired)?;
    auth::lookup_session(&state.db, &token)
        .await?
        .ok_or(AppError::LoginRequired)
}

/// A signed-in user who may use the admin (their password is not due for a change), with their
/// roles and grants for the service layer.
pub struct Authed(pub Session, pub Actor);

impl FromRequestParts<SharedState> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        let session = load(parts, state).await?;
        if session.user.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        let actor = Actor::load(&state.db, session.user.clone()).await?;
        Ok(Authed(session, actor))
    }
}

/// A signed-in user who may still have to change their password (the change-password page and
/// logout accept them).
pub struct AuthedAnyState(pub Session);

impl FromRequestParts<SharedState> for AuthedAnyState {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, AppError> {
        load(parts, state).await.map(AuthedAnyState)
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
