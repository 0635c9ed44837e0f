//! Indexes for the central log search: access lines by client address, site, status and
//! request ID (each with time, newest first); security events by time, address and kind.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    Time,
    ClientIp,
    SiteId,
    Status,
    RequestId,
}

#[derive(DeriveIden)]
enum SecurityEvent {
    Table,
    ReceivedAt,
    ClientIp,
    Kind,
    RequestId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let access: [(&str, Vec<AccessLog>); 4] = [
            (
                "access_log_ip_time",
                vec![AccessLog::ClientIp, AccessLog::Time],
            ),
            (
                "access_log_site_time",
                vec![AccessLog::SiteId, AccessLog::Time],
            ),
            (
                "access_log_status_time",
                vec![AccessLog::Status, AccessLog::Time],
            ),
            ("access_log_request", vec![AccessLog::RequestId]),
        ];
        for (name, cols) in access {
            let mut idx = Index::create();
            idx.name(name).table(AccessLog::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        let events: [(&str, Vec<SecurityEvent>); 4] = [
            ("security_event_time", vec![SecurityEvent::ReceivedAt]),
            (
                "security_event_ip_time",
                vec![SecurityEvent::ClientIp, SecurityEvent::ReceivedAt],
            ),
            (
                "security_event_kind_time",
                vec![SecurityEvent::Kind, SecurityEvent::ReceivedAt],
            ),
            ("security_event_request", vec![SecurityEvent::RequestId]),
        ];
        for (name, cols) in events {
            let mut idx = Index::create();
            idx.name(name).table(SecurityEvent::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "schema migrations are not reverted; restore a backup instead".into(),
        ))
    }
}
