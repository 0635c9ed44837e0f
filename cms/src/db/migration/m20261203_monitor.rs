//! Unified detection (统一检测): legacy sites' origins, availability probes, alerts and their
//! deliveries, temporary address bans, the wrong-and-sensitive word list.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Site {
    Table,
    OriginUpstreams,
}

#[derive(DeriveIden)]
enum MonitorProbe {
    Table,
    Id,
    SiteId,
    Target,
    Address,
    CheckedAt,
    Ok,
    Status,
    LatencyMs,
    Error,
}

#[derive(DeriveIden)]
enum Alert {
    Table,
    Id,
    SiteId,
    Kind,
    DedupKey,
    Severity,
    Title,
    Detail,
    OpenedAt,
    LastSeenAt,
    Occurrences,
    ResolvedAt,
    Resolution,
}

#[derive(DeriveIden)]
enum AlertDelivery {
    Table,
    Id,
    AlertId,
    Channel,
    Event,
    SentAt,
    Ok,
    Error,
}

#[derive(DeriveIden)]
enum IpBan {
    Table,
    Id,
    Address,
    Reason,
    CreatedAt,
    ExpiresAt,
    CreatedBy,
    LiftedAt,
}

#[derive(DeriveIden)]
enum WordEntry {
    Table,
    Id,
    Category,
    Word,
    Suggestion,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Site::Table)
                .add_column(text(Site::OriginUpstreams).default(""))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MonitorProbe::Table)
                .col(
                    ColumnDef::new(MonitorProbe::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(integer(MonitorProbe::SiteId))
                .col(string(MonitorProbe::Target))
                .col(string(MonitorProbe::Address))
                .col(timestamp_with_time_zone(MonitorProbe::CheckedAt))
                .col(boolean(MonitorProbe::Ok))
                .col(integer_null(MonitorProbe::Status))
                .col(integer_null(MonitorProbe::LatencyMs))
                .col(text(MonitorProbe::Error))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("monitor_probe_site_time")
                .table(MonitorProbe::Table)
                .col(MonitorProbe::SiteId)
                .col(MonitorProbe::CheckedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alert::Table)
                .col(pk_auto(Alert::Id))
                .col(integer_null(Alert::SiteId))
                .col(string(Alert::Kind))
                .col(string(Alert::DedupKey))
                .col(string(Alert::Severity))
                .col(text(Alert::Title))
                .col(text(Alert::Detail))
                .col(timestamp_with_time_zone(Alert::OpenedAt))
                .col(timestamp_with_time_zone(Alert::LastSeenAt))
                .col(integer(Alert::Occurrences))
                .col(timestamp_with_time_zone_null(Alert::ResolvedAt))
                .col(text(Alert::Resolution))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("alert_key")
                .table(Alert::Table)
                .col(Alert::DedupKey)
                .col(Alert::ResolvedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AlertDelivery::Table)
                .col(pk_auto(AlertDelivery::Id))
                .col(integer(AlertDelivery::AlertId))
                .col(string(AlertDelivery::Channel))
                .col(string(AlertDelivery::Event))
                .col(timestamp_with_time_zone(AlertDelivery::SentAt))
                .col(boolean(AlertDelivery::Ok))
                .col(text(AlertDelivery::Error))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IpBan::Table)
                .col(pk_auto(IpBan::Id))
                .col(string(IpBan::Address))
                .col(text(IpBan::Reason))
                .col(timestamp_with_time_zone(IpBan::CreatedAt))
                .col(timestamp_with_time_zone(IpBan::ExpiresAt))
                .col(string(IpBan::CreatedBy))
                .col(timestamp_with_time_zone_null(IpBan::LiftedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ip_ban_address")
                .table(IpBan::Table)
                .col(IpBan::Address)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WordEntry::Table)
                .col(pk_auto(WordEntry::Id))
                .col(string(WordEntry::Category))
                .col(string(WordEntry::Word))
                .col(string(WordEntry::Suggestion))
                .col(timestamp_with_time_zone(WordEntry::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("word_entry_word")
                .table(WordEntry::Table)
                .col(WordEntry::Word)
                .unique()
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
