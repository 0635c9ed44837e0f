//! The link checker's findings: broken links, each with the page and anchor text it was found
//! with (the current state per site, replaced after each crawl).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LinkIssue {
    Table,
    Id,
    SiteId,
    Url,
    Status,
    Error,
    FoundOn,
    Anchor,
    FirstSeenAt,
    CheckedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LinkIssue::Table)
                .col(pk_auto(LinkIssue::Id))
                .col(integer(LinkIssue::SiteId))
                .col(text(LinkIssue::Url))
                .col(integer_null(LinkIssue::Status))
                .col(text(LinkIssue::Error))
                .col(text(LinkIssue::FoundOn))
                .col(text(LinkIssue::Anchor))
                .col(timestamp_with_time_zone(LinkIssue::FirstSeenAt))
                .col(timestamp_with_time_zone(LinkIssue::CheckedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("link_issue_site")
                .table(LinkIssue::Table)
                .col(LinkIssue::SiteId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "schema migrations are not reverted; restore a backup instead".into(),
        ))
    }
}
