//! Table `tls_certificate`: certificates uploaded by the security team; the private key is
//! sealed with the keyring (associated data `tls:<id>`… see `service::certificates`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tls_certificate")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// DNS names of the leaf, comma-separated.
    pub hostnames: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: DateTimeUtc,
    pub not_after: DateTimeUtc,
    pub chain_pem: String,
    pub key_sealed: String,
    pub created_at: DateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
