//! The first schema: organisations, sites, hostnames, columns, articles and revisions, users and
//! sessions, published files, the configuration generation, security events.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

/// The name this migration was recorded under when it shipped (the file stem of its first home,
/// `db/migration.rs`); databases created since hold it in `seaql_migrations`.
impl MigrationName for Migration {
    fn name(&self) -> &str {
        "migration"
    }
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    ParentId,
    Name,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Site {
    Table,
    Id,
    OrgId,
    Name,
    Code,
    Theme,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SiteHostname {
    Table,
    Id,
    SiteId,
    Hostname,
}

#[derive(DeriveIden)]
enum SiteColumn {
    Table,
    Id,
    SiteId,
    ParentId,
    Name,
    Slug,
    ColumnType,
    Description,
    SortOrder,
}

#[derive(DeriveIden)]
enum Article {
    Table,
    Id,
    SiteId,
    ColumnId,
    Status,
    CurrentRevisionId,
    PublishedRevisionId,
    PublishedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ArticleRevision {
    Table,
    Id,
    ArticleId,
    Title,
    Author,
    Source,
    Summary,
    Body,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    PlatformRole,
    OrgId,
    MustChangePassword,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserSession {
    Table,
    Id,
    TokenHash,
    UserId,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum PublishedFile {
    Table,
    Id,
    SiteId,
    Path,
    Sha256,
    ContentType,
}

#[derive(DeriveIden)]
enum ConfigGeneration {
    Table,
    Id,
    Generation,
}

#[derive(DeriveIden)]
enum SecurityEvent {
    Table,
    Id,
    ReceivedAt,
    OccurredAt,
    Kind,
    Node,
    RequestId,
    SiteId,
    Host,
    Path,
    ClientIp,
    Detail,
}

fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let mut fk = ForeignKey::create();
    fk.name(name).from(from.0, from.1).to(to.0, to.1);
    if cascade {
        fk.on_delete(ForeignKeyAction::Cascade);
    }
    fk.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organization::Table)
                .col(pk_auto(Organization::Id))
                .col(integer_null(Organization::ParentId))
                .col(string(Organization::Name))
                .col(string(Organization::Kind))
                .col(timestamp_with_time_zone(Organization::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_org_parent",
                    (Organization::Table, Organization::ParentId),
                    (Organization::Table, Organization::Id),
                    false,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Site::Table)
                .col(pk_auto(Site::Id))
                .col(integer(Site::OrgId))
                .col(string(Site::Name))
                .col(string_uniq(Site::Code))
                .col(string(Site::Theme))
                .col(string(Site::Status))
                .col(timestamp_with_time_zone(Site::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_site_org",
                    (Site::Table, Site::OrgId),
                    (Organization::Table, Organization::Id),
                    false,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SiteHostname::Table)
                .col(pk_auto(SiteHostname::Id))
                .col(integer(SiteHostname::SiteId))
                .col(string_uniq(SiteHostname::Hostname))
                .foreign_key(&mut fk(
                    "fk_hostname_site",
                    (SiteHostname::Table, SiteHostname::SiteId),
                    (Site::Table, Site::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SiteColumn::Table)
                .col(pk_auto(SiteColumn::Id))
                .col(integer(SiteColumn::SiteId))
                .col(integer_null(SiteColumn::ParentId))
                .col(string(SiteColumn::Name))
                .col(string(SiteColumn::Slug))
                .col(string(SiteColumn::ColumnType))
                .col(text(SiteColumn::Description))
                .col(integer(SiteColumn::SortOrder))
                .foreign_key(&mut fk(
                    "fk_column_site",
                    (SiteColumn::Table, SiteColumn::SiteId),
                    (Site::Table, Site::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_column_site_slug")
                .table(SiteColumn::Table)
                .col(SiteColumn::SiteId)
                .col(SiteColumn::Slug)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AppUser::Table)
                .col(pk_auto(AppUser::Id))
                .col(string_uniq(AppUser::Username))
                .col(string(AppUser::DisplayName))
                .col(string(AppUser::PasswordHash))
                .col(string(AppUser::PlatformRole))
                .col(integer_null(AppUser::OrgId))
                .col(boolean(AppUser::MustChangePassword))
                .col(boolean(AppUser::Disabled))
                .col(timestamp_with_time_zone(AppUser::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_user_org",
                    (AppUser::Table, AppUser::OrgId),
                    (Organization::Table, Organization::Id),
                    false,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Article::Table)
                .col(pk_auto(Article::Id))
                .col(integer(Article::SiteId))
                .col(integer(Article::ColumnId))
                .col(string(Article::Status))
                .col(integer_null(Article::CurrentRevisionId))
                .col(integer_null(Article::PublishedRevisionId))
                .col(timestamp_with_time_zone_null(Article::PublishedAt))
                .col(integer_null(Article::CreatedBy))
                .col(timestamp_with_time_zone(Article::CreatedAt))
                .col(timestamp_with_time_zone(Article::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_article_site",
                    (Article::Table, Article::SiteId),
                    (Site::Table, Site::Id),
                    true,
                ))
                .foreign_key(&mut fk(
                    "fk_article_column",
                    (Article::Table, Article::ColumnId),
                    (SiteColumn::Table, SiteColumn::Id),
                    false,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_article_site_status")
                .table(Article::Table)
                .col(Article::SiteId)
                .col(Article::Status)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ArticleRevision::Table)
                .col(pk_auto(ArticleRevision::Id))
                .col(integer(ArticleRevision::ArticleId))
                .col(string(ArticleRevision::Title))
                .col(string(ArticleRevision::Author))
                .col(string(ArticleRevision::Source))
                .col(text(ArticleRevision::Summary))
                .col(text(ArticleRevision::Body))
                .col(integer_null(ArticleRevision::CreatedBy))
                .col(timestamp_with_time_zone(ArticleRevision::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_revision_article",
                    (ArticleRevision::Table, ArticleRevision::ArticleId),
                    (Article::Table, Article::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UserSession::Table)
                .col(pk_auto(UserSession::Id))
                .col(string_uniq(UserSession::TokenHash))
                .col(integer(UserSession::UserId))
                .col(string(UserSession::CsrfToken))
                .col(timestamp_with_time_zone(UserSession::CreatedAt))
                .col(timestamp_with_time_zone(UserSession::LastSeenAt))
                .col(timestamp_with_time_zone(UserSession::ExpiresAt))
                .foreign_key(&mut fk(
                    "fk_session_user",
                    (UserSession::Table, UserSession::UserId),
                    (AppUser::Table, AppUser::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PublishedFile::Table)
                .col(pk_auto(PublishedFile::Id))
                .col(integer(PublishedFile::SiteId))
                .col(string(PublishedFile::Path))
                .col(string(PublishedFile::Sha256))
                .col(string(PublishedFile::ContentType))
                .foreign_key(&mut fk(
                    "fk_published_site",
                    (PublishedFile::Table, PublishedFile::SiteId),
                    (Site::Table, Site::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_published_site_path")
                .table(PublishedFile::Table)
                .col(PublishedFile::SiteId)
                .col(PublishedFile::Path)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ConfigGeneration::Table)
                .col(integer(ConfigGeneration::Id).primary_key())
                .col(big_integer(ConfigGeneration::Generation))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(ConfigGeneration::Table)
                .columns([ConfigGeneration::Id, ConfigGeneration::Generation])
                .values_panic([1.into(), 1i64.into()])
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SecurityEvent::Table)
                .col(pk_auto(SecurityEvent::Id))
                .col(timestamp_with_time_zone(SecurityEvent::ReceivedAt))
                .col(string(SecurityEvent::OccurredAt))
                .col(string(SecurityEvent::Kind))
                .col(string(SecurityEvent::Node))
                .col(string(SecurityEvent::RequestId))
                .col(integer_null(SecurityEvent::SiteId))
                .col(string(SecurityEvent::Host))
                .col(text(SecurityEvent::Path))
                .col(string(SecurityEvent::ClientIp))
                .col(text(SecurityEvent::Detail))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the initial migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
