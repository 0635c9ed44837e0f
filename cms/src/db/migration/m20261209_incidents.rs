//! Emergency response (应急处置): incidents — opened from tamper, outage and attack alerts or by
//! hand — and the timeline of what happened and what was done.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Incident {
    Table,
    Id,
    SiteId,
    Title,
    Severity,
    Status,
    AlertId,
    OpenedAt,
    OpenedBy,
    ClosedAt,
    Postmortem,
}

#[derive(DeriveIden)]
enum IncidentEvent {
    Table,
    Id,
    IncidentId,
    At,
    ActorName,
    Kind,
    Text,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Incident::Table)
                .col(pk_auto(Incident::Id))
                .col(integer_null(Incident::SiteId))
                .col(string(Incident::Title))
                .col(string(Incident::Severity))
                .col(string(Incident::Status))
                .col(integer_null(Incident::AlertId))
                .col(timestamp_with_time_zone(Incident::OpenedAt))
                .col(string(Incident::OpenedBy))
                .col(timestamp_with_time_zone_null(Incident::ClosedAt))
                .col(text(Incident::Postmortem))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IncidentEvent::Table)
                .col(pk_auto(IncidentEvent::Id))
                .col(integer(IncidentEvent::IncidentId))
                .col(timestamp_with_time_zone(IncidentEvent::At))
                .col(string(IncidentEvent::ActorName))
                .col(string(IncidentEvent::Kind))
                .col(text(IncidentEvent::Text))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("incident_event_incident")
                .table(IncidentEvent::Table)
                .col(IncidentEvent::IncidentId)
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
