//! Table `word_finding`: a wrong or sensitive word found on a page of a site (published or
//! legacy), one row per site, page and word, with what was done about it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "word_finding")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    /// The page's address.
    pub page: String,
    /// The listed word (as in the word list).
    pub word: String,
    pub category: String,
    pub suggestion: String,
    /// The text around it, the word in 【】.
    pub context: String,
    /// `open`; `ignored` (stays ignored on later scans); `fixed` (opens again when found again).
    pub status: String,
    /// Who ignored it or marked it fixed.
    pub handled_by: String,
    pub handled_at: Option<DateTimeUtc>,
    pub first_seen_at: DateTimeUtc,
    /// The last scan that found it.
    pub last_seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
