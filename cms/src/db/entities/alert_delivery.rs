//! Table `alert_delivery`: each notice sent (or tried) for an alert, per channel.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_delivery")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub alert_id: i32,
    /// `email`, `webhook:<url>`.
    pub channel: String,
    /// `opened` or `resolved`.
    pub event: String,
    pub sent_at: DateTimeUtc,
    pub ok: bool,
    pub error: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
