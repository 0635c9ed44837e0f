//! Exposure checks: what each site shows that it should not (or lacks), the current state per
//! site, replaced after each check.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExposureFinding {
    Table,
    Id,
    SiteId,
    Check,
    Severity,
    Detail,
    CheckedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ExposureFinding::Table)
                .col(pk_auto(ExposureFinding::Id))
                .col(integer(ExposureFinding::SiteId))
                .col(string(ExposureFinding::Check))
                .col(string(ExposureFinding::Severity))
                .col(text(ExposureFinding::Detail))
                .col(timestamp_with_time_zone(ExposureFinding::CheckedAt))
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
