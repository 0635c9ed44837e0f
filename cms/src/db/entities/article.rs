//! Table `article`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    pub column_id: i32,
    /// draft / pending (in review) / returned / published / unpublished.
    pub status: String,
    pub current_revision_id: Option<i32>,
    pub published_revision_id: Option<i32>,
    pub published_at: Option<DateTimeUtc>,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// article / page (single page) / link (to an external item).
    pub kind: String,
    /// While pending: the review level awaiting a decision (1-based); otherwise 0.
    pub review_level: i32,
    /// Set when the item is in the recycle bin.
    pub deleted_at: Option<DateTimeUtc>,
    /// Scheduled publication (applied when the final approval is given, or at this time).
    pub publish_at: Option<DateTimeUtc>,
    /// Scheduled withdrawal.
    pub unpublish_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
