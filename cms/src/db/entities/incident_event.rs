//! Table `incident_event`: one line of an incident's timeline — what happened (an alert, its
//! recovery), what was done (an emergency action), a note, a change of status.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub incident_id: i32,
    pub at: DateTimeUtc,
    /// Who (`system` for what detection recorded).
    pub actor_name: String,
    /// `alert`, `action`, `note`, `status`.
    pub kind: String,
    pub text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
