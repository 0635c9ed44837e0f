//! Table `link_issue`: a broken link the link checker found (rechecked before it is stored).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "link_issue")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    /// The link's target.
    pub url: String,
    /// The HTTP status it answered, none when it did not answer.
    pub status: Option<i32>,
    /// Why it is broken, in words.
    pub error: String,
    /// The page the link is on.
    pub found_on: String,
    /// The link's text (or an image's alt text).
    pub anchor: String,
    /// When this link was first found broken (kept across crawls).
    pub first_seen_at: DateTimeUtc,
    pub checked_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
