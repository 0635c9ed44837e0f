//! Table `drill`: an emergency drill (应急演练) held — when, what was practised, who took part,
//! what was found and what follows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "drill")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// None: a drill of the whole group.
    pub site_id: Option<i32>,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub scenario: String,
    pub participants: String,
    pub findings: String,
    pub follow_ups: String,
    pub recorded_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
