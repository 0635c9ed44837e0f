//! The central access log: every request of every gateway, shipped from each gateway's spool.
//! A line is identified by (node, spool, offset in the spool), so a batch delivered twice is
//! stored once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    Id,
    Node,
    Spool,
    SpoolOffset,
    Time,
    RequestId,
    SiteId,
    ClientIp,
    Method,
    Host,
    Path,
    Query,
    Status,
    BytesIn,
    BytesOut,
    DurationUs,
    ServedBy,
    Upstream,
    UpstreamMs,
    Waf,
    UserAgent,
    Referrer,
    TlsVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AccessLog::Table)
                .col(
                    ColumnDef::new(AccessLog::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(string(AccessLog::Node))
                .col(string(AccessLog::Spool))
                .col(big_integer(AccessLog::SpoolOffset))
                .col(timestamp_with_time_zone(AccessLog::Time))
                .col(string(AccessLog::RequestId))
                .col(integer_null(AccessLog::SiteId))
                .col(string(AccessLog::ClientIp))
                .col(string(AccessLog::Method))
                .col(string(AccessLog::Host))
                .col(text(AccessLog::Path))
                .col(text_null(AccessLog::Query))
                .col(integer(AccessLog::Status))
                .col(big_integer(AccessLog::BytesIn))
                .col(big_integer(AccessLog::BytesOut))
                .col(big_integer(AccessLog::DurationUs))
                .col(string(AccessLog::ServedBy))
                .col(string_null(AccessLog::Upstream))
                .col(big_integer_null(AccessLog::UpstreamMs))
                .col(string(AccessLog::Waf))
                .col(text(AccessLog::UserAgent))
                .col(text(AccessLog::Referrer))
                .col(string_null(AccessLog::TlsVersion))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("access_log_line")
                .table(AccessLog::Table)
                .col(AccessLog::Node)
                .col(AccessLog::Spool)
                .col(AccessLog::SpoolOffset)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("access_log_time")
                .table(AccessLog::Table)
                .col(AccessLog::Time)
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
