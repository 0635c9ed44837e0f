//! Table `article_revision`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_revision")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub article_id: i32,
    pub title: String,
    pub author: String,
    pub source: String,
    pub summary: String,
    /// Sanitised HTML (cleaned once, on save).
    pub body: String,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub subtitle: String,
    /// For link items: the external address.
    pub link_url: String,
    /// Cover image path in the site's media library, or empty.
    pub cover: String,
    /// The publication time shown on the page, when the editor sets one.
    pub publish_time: Option<DateTimeUtc>,
    /// 信息公开: 索引号.
    pub index_no: String,
    /// 信息公开: 发文机关.
    pub issuer: String,
    /// 信息公开: 文号.
    pub doc_no: String,
    /// 信息公开: 成文日期 (YYYY-MM-DD).
    pub written_date: String,
    /// 信息公开: 主题分类.
    pub topic: String,
    /// The editor's note on this revision.
    pub note: String,
    /// Attachments, one per line: `<media path>\t<name shown>`.
    pub attachments: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
