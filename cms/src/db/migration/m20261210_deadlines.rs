//! Compliance deadlines: the reports the platform's owners must file (the survey at month end,
//! the emergency plan, the final summary …), each with its reminder.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReportDeadline {
    Table,
    Id,
    Title,
    DueDate,
    Repeat,
    RemindDays,
    LastDoneAt,
    LastDoneBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReportDeadline::Table)
                .col(pk_auto(ReportDeadline::Id))
                .col(string(ReportDeadline::Title))
                // `YYYY-MM-DD`, Beijing; empty once a one-off deadline is done.
                .col(string(ReportDeadline::DueDate))
                // `none`, `monthly`, `quarterly`, `yearly`.
                .col(string(ReportDeadline::Repeat))
                .col(integer(ReportDeadline::RemindDays))
                .col(timestamp_with_time_zone_null(ReportDeadline::LastDoneAt))
                .col(string(ReportDeadline::LastDoneBy))
                .col(timestamp_with_time_zone(ReportDeadline::CreatedAt))
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
