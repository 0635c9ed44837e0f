//! Table `role_grant`: a unit role of a user on one site, optionally narrowed to one column.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_grant")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub site_id: i32,
    /// None: every column of the site.
    pub column_id: Option<i32>,
    /// unit_admin / editor / reviewer.
    pub role: String,
    /// For reviewers: the level (1–3) they decide at.
    pub review_level: Option<i32>,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
