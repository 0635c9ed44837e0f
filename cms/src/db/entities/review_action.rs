//! Table `review_action`: every step of an item's life — submitted, approved or returned at a
//! level, published, withdrawn, deleted, restored — with who, when and the comment.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_action")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub article_id: i32,
    pub revision_id: Option<i32>,
    pub action: String,
    /// The review level the action was taken at (0 outside review).
    pub level: i32,
    pub comment: String,
    pub actor_id: Option<i32>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
