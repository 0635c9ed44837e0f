//! Table `word_entry`: the wrong-and-sensitive word list (错敏词库), one word each with its
//! category and suggested correction.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "word_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// A code of `monitor::words::CATEGORIES`.
    pub category: String,
    pub word: String,
    /// What to write instead (empty: remove it).
    pub suggestion: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
