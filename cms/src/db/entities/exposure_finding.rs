//! Table `exposure_finding`: one thing a site exposes or lacks (a sensitive file on a legacy
//! origin, a missing security header, a server banner), as of the last check.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exposure_finding")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    /// `sensitive_path`, `directory_listing`, `security_header`, `server_banner`.
    pub check: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    pub detail: String,
    pub checked_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
