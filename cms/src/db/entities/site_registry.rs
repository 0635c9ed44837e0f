//! Table `site_registry`: one site a unit runs, in the survey form's fields (JSON, keys as in
//! `service::registry::fields::FIELDS`), whether or not it is in the CMS.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_registry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The unit that runs the site.
    pub org_id: i32,
    /// The CMS site this is, when it is one.
    pub site_id: Option<i32>,
    /// The form's values, JSON object of strings.
    pub fields: String,
    /// Every required field filled in.
    pub complete: bool,
    /// Consolidation: `migrate` (into the CMS), `proxy` (kept on its servers behind the
    /// gateway), `close`; empty while undecided.
    pub decision: String,
    /// `planned`, `in_progress`, `done`; empty while undecided.
    pub progress: String,
    pub plan_note: String,
    /// Target date, `YYYY-MM-DD`, or empty.
    pub due_date: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
