//! Table `incident`: a security incident (网络安全事件) and how it was handled.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The site concerned; none for the whole group.
    pub site_id: Option<i32>,
    pub title: String,
    /// `general` 一般, `major` 较大, `serious` 重大, `critical` 特别重大.
    pub severity: String,
    /// `open` 处置中, `contained` 已控制, `closed` 已结案.
    pub status: String,
    /// The alert it was opened from.
    pub alert_id: Option<i32>,
    pub opened_at: DateTimeUtc,
    /// Who opened it (`system` for one opened from an alert).
    pub opened_by: String,
    pub closed_at: Option<DateTimeUtc>,
    /// The post-mortem written when it is closed.
    pub postmortem: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
