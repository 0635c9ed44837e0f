//! The control plane's error type at the HTTP boundary.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// Everything a handler can fail with. Internal causes are logged, never shown to the client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 303 to the login page.
    #[error("login required")]
    LoginRequired,
    /// 303 to the change-password page (one-time or expired password).
    #[error("password change required")]
    PasswordChangeRequired,
    /// 303 to the second-factor page (password accepted, code still due).
    #[error("second factor required")]
    SecondFactorRequired,
    /// 303 to the authenticator enrolment page (the policy wants a second factor).
    #[error("second factor enrolment required")]
    SecondFactorSetupRequired,
    /// 403: authenticated, but not allowed to do this.
    #[error("forbidden")]
    Forbidden,
    /// 403: the form's CSRF token did not match the session.
    #[error("CSRF token mismatch")]
    Csrf,
    /// 401: internal API without a valid token.
    #[error("unauthorized")]
    Unauthorized,
    /// 404.
    #[error("not found")]
    NotFound,
    /// 422 with a message for the user.
    #[error("{0}")]
    Invalid(String),
    /// 500; the cause is logged.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<minijinja::Error> for AppError {
    fn from(e: minijinja::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, text) = match &self {
            AppError::LoginRequired => return Redirect::to("/login").into_response(),
            AppError::PasswordChangeRequired => return Redirect::to("/password").into_response(),
            AppError::SecondFactorRequired => return Redirect::to("/login/2fa").into_response(),
            AppError::SecondFactorSetupRequired => {
                return Redirect::to("/account/2fa").into_response();
            }
            AppError::Forbidden => (StatusCode::FORBIDDEN, "无权访问 Forbidden"),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "表单已过期，请返回刷新后重试 (CSRF token mismatch)",
            ),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::NotFound => (StatusCode::NOT_FOUND, "未找到 Not found"),
            AppError::Invalid(msg) => {
                return (StatusCode::UNPROCESSABLE_ENTITY, msg.clone()).into_response();
            }
            AppError::Internal(e) => {
                tracing::error!("internal error: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器内部错误，请稍后重试 Internal error",
                )
            }
        };
        (status, text).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
