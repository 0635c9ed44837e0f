//! sea-orm entities, one module per table. Relations are queried explicitly where needed.

pub mod api_token;
pub mod app_user;
pub mod article;
pub mod article_revision;
pub mod config_generation;
pub mod media;
pub mod organization;
pub mod platform_setting;
pub mod published_file;
pub mod review_action;
pub mod role_grant;
pub mod security_event;
pub mod site;
pub mod site_column;
pub mod site_hostname;
pub mod user_session;
