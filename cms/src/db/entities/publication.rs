//! Table `publication`: one publication of a site — the manifest it produced — kept so that
//! the site can be rolled back to an earlier one (the last few dozen per site are kept).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "publication")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    pub published_at: DateTimeUtc,
    pub files: i32,
    /// JSON object: path → [sha256, content type].
    pub manifest: String,
    /// For a rollback: the publication it restored.
    pub rollback_of: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
