//! Table `report_deadline`: a report the platform's owners must file by a date, reminded of
//! through the alert channels; a repeating one moves on when it is marked done.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_deadline")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub title: String,
    /// `YYYY-MM-DD` (Beijing); empty once a one-off deadline is done.
    pub due_date: String,
    /// `none`, `monthly`, `quarterly`, `yearly`.
    pub repeat: String,
    /// Days before the due date the reminder opens.
    pub remind_days: i32,
    pub last_done_at: Option<DateTimeUtc>,
    pub last_done_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
