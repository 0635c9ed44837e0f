//! Table `access_log`: the gateways' access-log lines, one row each.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub node: String,
    /// The gateway's spool file and the line's byte offset in it: the line's identity.
    pub spool: String,
    pub spool_offset: i64,
    pub time: DateTimeUtc,
    pub request_id: String,
    pub site_id: Option<i32>,
    pub client_ip: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: Option<String>,
    pub status: i32,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub duration_us: i64,
    pub served_by: String,
    pub upstream: Option<String>,
    pub upstream_ms: Option<i64>,
    pub waf: String,
    pub user_agent: String,
    pub referrer: String,
    pub tls_version: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
