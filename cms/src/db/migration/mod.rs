//! Versioned schema migrations. Add a new migration for every schema change; never edit one that
//! has shipped.

use sea_orm_migration::prelude::*;

mod m20261125_initial;
mod m20261126_content_model;
mod m20261127_api_tokens;
mod m20261128_media;
mod m20261128_platform_settings;
mod m20261129_attachments;
mod m20261129_column_templates;
mod m20261130_admin_security;
mod m20261201_tls;
mod m20261202_access_log;
mod m20261203_monitor;
mod m20261204_link_check;
mod m20261205_log_search;
mod m20261206_exposure;
mod m20261207_detection_reports;
mod m20261208_registry;
mod m20261209_incidents;
mod m20261210_deadlines;
mod m20261211_plans;
mod m20261212_publications;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_initial::Migration),
            Box::new(m20261126_content_model::Migration),
            Box::new(m20261127_api_tokens::Migration),
            Box::new(m20261128_platform_settings::Migration),
            Box::new(m20261128_media::Migration),
            Box::new(m20261129_attachments::Migration),
            Box::new(m20261129_column_templates::Migration),
            Box::new(m20261130_admin_security::Migration),
            Box::new(m20261201_tls::Migration),
            Box::new(m20261202_access_log::Migration),
            Box::new(m20261203_monitor::Migration),
            Box::new(m20261204_link_check::Migration),
            Box::new(m20261205_log_search::Migration),
            Box::new(m20261206_exposure::Migration),
            Box::new(m20261207_detection_reports::Migration),
            Box::new(m20261208_registry::Migration),
            Box::new(m20261209_incidents::Migration),
            Box::new(m20261210_deadlines::Migration),
            Box::new(m20261211_plans::Migration),
            Box::new(m20261212_publications::Migration),
        ]
    }
}
