//! Table `health_score`: a site's health score for one day (the latest computation of that
//! day), kept for the trend.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "health_score")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    /// Beijing date, `YYYY-MM-DD`.
    pub day: String,
    /// 100 less the deductions, never below 0.
    pub score: f64,
    /// The veto items triggered (JSON array of strings).
    pub veto: String,
    /// The deductions (JSON array of `monitor::health::Deduction`).
    pub deductions: String,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
