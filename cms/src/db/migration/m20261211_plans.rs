//! Emergency plans (应急预案), per site and for the group, and the drills (应急演练) held.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmergencyPlan {
    Table,
    Id,
    SiteId,
    Title,
    Contacts,
    Steps,
    Documents,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Drill {
    Table,
    Id,
    SiteId,
    HeldOn,
    Scenario,
    Participants,
    Findings,
    FollowUps,
    RecordedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EmergencyPlan::Table)
                .col(pk_auto(EmergencyPlan::Id))
                .col(integer_null(EmergencyPlan::SiteId))
                .col(string(EmergencyPlan::Title))
                .col(text(EmergencyPlan::Contacts))
                .col(text(EmergencyPlan::Steps))
                .col(text(EmergencyPlan::Documents))
                .col(timestamp_with_time_zone(EmergencyPlan::UpdatedAt))
                .col(string(EmergencyPlan::UpdatedBy))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Drill::Table)
                .col(pk_auto(Drill::Id))
                .col(integer_null(Drill::SiteId))
                // `YYYY-MM-DD`.
                .col(string(Drill::HeldOn))
                .col(text(Drill::Scenario))
                .col(text(Drill::Participants))
                .col(text(Drill::Findings))
                .col(text(Drill::FollowUps))
                .col(string(Drill::RecordedBy))
                .col(timestamp_with_time_zone(Drill::CreatedAt))
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
