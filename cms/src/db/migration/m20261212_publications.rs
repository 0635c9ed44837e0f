//! Each site's publications (its manifests over time), so that an incident can roll a site
//! back to its last good publication.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Publication {
    Table,
    Id,
    SiteId,
    PublishedAt,
    Files,
    Manifest,
    RollbackOf,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Publication::Table)
                .col(pk_auto(Publication::Id))
                .col(integer(Publication::SiteId))
                .col(timestamp_with_time_zone(Publication::PublishedAt))
                .col(integer(Publication::Files))
                // JSON object: path → [sha256, content type].
                .col(text(Publication::Manifest))
                .col(integer_null(Publication::RollbackOf))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("publication_site")
                .table(Publication::Table)
                .col(Publication::SiteId)
                .col(Publication::Id)
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
