//! The site registry (网站登记, the survey form): one row per site a unit runs, the form's
//! fields as JSON, what consolidation decided for it, and every change kept.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SiteRegistry {
    Table,
    Id,
    OrgId,
    SiteId,
    Fields,
    Complete,
    Decision,
    Progress,
    PlanNote,
    DueDate,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SiteRegistryChange {
    Table,
    Id,
    RegistryId,
    ChangedAt,
    ActorName,
    Source,
    Changes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SiteRegistry::Table)
                .col(pk_auto(SiteRegistry::Id))
                .col(integer(SiteRegistry::OrgId))
                .col(integer_null(SiteRegistry::SiteId))
                .col(text(SiteRegistry::Fields))
                .col(boolean(SiteRegistry::Complete))
                // Consolidation: `migrate`, `proxy`, `close`, or empty (not decided).
                .col(string(SiteRegistry::Decision).default(""))
                // `planned`, `in_progress`, `done`, or empty.
                .col(string(SiteRegistry::Progress).default(""))
                .col(text(SiteRegistry::PlanNote).default(""))
                // `YYYY-MM-DD` or empty.
                .col(string(SiteRegistry::DueDate).default(""))
                .col(timestamp_with_time_zone(SiteRegistry::CreatedAt))
                .col(timestamp_with_time_zone(SiteRegistry::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("site_registry_org")
                .table(SiteRegistry::Table)
                .col(SiteRegistry::OrgId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SiteRegistryChange::Table)
                .col(pk_auto(SiteRegistryChange::Id))
                .col(integer(SiteRegistryChange::RegistryId))
                .col(timestamp_with_time_zone(SiteRegistryChange::ChangedAt))
                .col(string(SiteRegistryChange::ActorName))
                .col(string(SiteRegistryChange::Source))
                .col(text(SiteRegistryChange::Changes))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("site_registry_change_registry")
                .table(SiteRegistryChange::Table)
                .col(SiteRegistryChange::RegistryId)
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
