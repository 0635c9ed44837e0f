//! sea-orm entities, one module per table. Relations are queried explicitly where needed.

pub mod access_log;
pub mod api_token;
pub mod app_user;
pub mod article;
pub mod article_revision;
pub mod audit_log;
pub mod audit_state;
pub mod config_generation;
pub mod login_throttle;
pub mod media;
pub mod organization;
pub mod password_history;
pub mod platform_setting;
pub mod published_file;
pub mod recovery_code;
pub mod review_action;
pub mod role_grant;
pub mod security_event;
pub mod site;
pub mod site_column;
pub mod site_hostname;
pub mod tls_certificate;
pub mod user_session;
