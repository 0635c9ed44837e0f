//! Table `monitor_probe`: one availability probe of a site, through the gateway or straight at
//! a legacy site's origin.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "monitor_probe")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site_id: i32,
    /// `gateway` or `origin`.
    pub target: String,
    /// What was asked: the URL through the gateway, or the origin's address.
    pub address: String,
    pub checked_at: DateTimeUtc,
    pub ok: bool,
    pub status: Option<i32>,
    pub latency_ms: Option<i32>,
    /// Why it failed (empty when it did not).
    pub error: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
