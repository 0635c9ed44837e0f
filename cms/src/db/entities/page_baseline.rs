//! Table `page_baseline`: a legacy site's page watched for tampering — its text when the
//! baseline was taken, the regions left out of the comparison, and the last comparison.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "page_baseline")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    /// Path on the site, `/` or `/about/index.html`.
    pub path: String,
    /// Regular expressions, one per line, over the page's HTML: what they match is left out
    /// before comparing (dates, counters, rotating news).
    pub ignore_regions: String,
    /// Changed share of the page's text (percent) from which an alert is raised.
    pub threshold_pct: i32,
    /// The page's text (ignore-regions removed) when the baseline was taken; empty before.
    pub baseline_text: String,
    pub taken_at: Option<DateTimeUtc>,
    pub checked_at: Option<DateTimeUtc>,
    /// Changed share at the last comparison.
    pub change_pct: Option<f64>,
    /// Why the last comparison could not be made (empty when it was).
    pub last_error: String,
    /// The first changed lines at the last comparison.
    pub diff_sample: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
