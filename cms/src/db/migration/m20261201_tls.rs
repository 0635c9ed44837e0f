//! HTTPS: certificates uploaded by the security team, each site's HTTPS redirect and ACME
//! switches. (ACME accounts and certificates the gateways obtain are kept, sealed, in
//! `platform_setting` under `acme:` keys.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Site {
    Table,
    HttpsRedirect,
    Acme,
}

#[derive(DeriveIden)]
enum TlsCertificate {
    Table,
    Id,
    Name,
    Hostnames,
    Subject,
    Issuer,
    NotBefore,
    NotAfter,
    ChainPem,
    KeySealed,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [Site::HttpsRedirect, Site::Acme] {
            m.alter_table(
                Table::alter()
                    .table(Site::Table)
                    .add_column(boolean(col).default(false))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(TlsCertificate::Table)
                .col(pk_auto(TlsCertificate::Id))
                .col(string(TlsCertificate::Name))
                .col(text(TlsCertificate::Hostnames))
                .col(text(TlsCertificate::Subject))
                .col(text(TlsCertificate::Issuer))
                .col(timestamp_with_time_zone(TlsCertificate::NotBefore))
                .col(timestamp_with_time_zone(TlsCertificate::NotAfter))
                .col(text(TlsCertificate::ChainPem))
                .col(text(TlsCertificate::KeySealed))
                .col(timestamp_with_time_zone(TlsCertificate::CreatedAt))
                .col(string(TlsCertificate::CreatedBy))
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
