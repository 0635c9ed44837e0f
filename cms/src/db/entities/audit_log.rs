//! Table `audit_log`: the append-only audit trail (see `crate::audit`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// 1, 2, 3 … without gaps.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub at: DateTimeUtc,
    pub actor_id: Option<i32>,
    pub actor_name: String,
    pub actor_role: String,
    pub client_addr: String,
    pub event: String,
    pub object: String,
    /// `success`, `failure` or `denied`.
    pub result: String,
    pub details: String,
    /// The keyring key whose MAC key made `hash`.
    pub key_id: i32,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
