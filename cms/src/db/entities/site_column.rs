//! Table `site_column`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_column")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub site_id: i32,
    pub parent_id: Option<i32>,
    pub name: String,
    /// URL segment of the column's pages.
    pub slug: String,
    /// One of the 政府网站发展指引 column types (工作动态, 政策文件, …).
    pub column_type: String,
    pub description: String,
    pub sort_order: i32,
    /// Keywords for the column pages' meta tags.
    pub keywords: String,
    /// Expected update cadence in days (detection checks it), none for columns without one.
    pub update_cadence_days: Option<i32>,
    /// Items per list page.
    pub page_size: i32,
    /// The theme template for this column's list pages (`column-….html`), empty for the
    /// theme's `column.html`.
    pub list_template: String,
    /// The theme template for this column's articles (`article-….html`), empty for
    /// `article.html`.
    pub article_template: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
