//! Table `alert`: something the watchtower found. One open row per deduplication key; a
//! recurrence while open counts `occurrences`; `resolved_at` is set when the condition ends.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// None for group-wide alerts.
    pub site_id: Option<i32>,
    /// `site_down`, `tamper`, `attack_ban`, `cert_expiring`, …
    pub kind: String,
    pub dedup_key: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    pub title: String,
    pub detail: String,
    pub opened_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub occurrences: i32,
    pub resolved_at: Option<DateTimeUtc>,
    /// How it ended (recovered, restored, closed by someone).
    pub resolution: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
