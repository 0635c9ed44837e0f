//! Table `site_registry_change`: one change of a registry record — who, when, from the form or
//! an import, and each field's old and new value.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_registry_change")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub registry_id: i32,
    pub changed_at: DateTimeUtc,
    pub actor_name: String,
    /// `form` or `import`.
    pub source: String,
    /// JSON object: field key → [old, new].
    pub changes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
