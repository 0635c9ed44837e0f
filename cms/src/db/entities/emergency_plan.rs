//! Table `emergency_plan`: an emergency plan (应急预案) for a site, or for the group.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "emergency_plan")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// None: the group's plan.
    pub site_id: Option<i32>,
    pub title: String,
    /// Who to call, one per line (name, role, phone).
    pub contacts: String,
    /// What to do, in order.
    pub steps: String,
    /// The documents that go with it (names, file numbers, where they are kept).
    pub documents: String,
    pub updated_at: DateTimeUtc,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
