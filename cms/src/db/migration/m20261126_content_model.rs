//! The content model of issue 5: site identity data and review levels, column settings, article
//! kinds, review state, recycle bin and schedules, the 信息公开 metadata of revisions, unit role
//! grants, and the review record.
//!
//! SQLite adds one column per `ALTER TABLE`, so every added column is its own statement; each
//! new NOT NULL column has a default so existing rows stay valid.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// Column names are the identifiers in snake case; `site_id_code` repeats the table's name.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Site {
    Table,
    Id,
    Sponsor,
    Contact,
    SiteIdCode,
    IcpRecord,
    PsbRecord,
    PartyGovMark,
    ReviewLevels,
    ClosedRedirect,
}

#[derive(DeriveIden)]
enum SiteColumn {
    Table,
    Id,
    Keywords,
    UpdateCadenceDays,
    PageSize,
}

#[derive(DeriveIden)]
enum Article {
    Table,
    Id,
    Kind,
    ReviewLevel,
    DeletedAt,
    PublishAt,
    UnpublishAt,
}

#[derive(DeriveIden)]
enum ArticleRevision {
    Table,
    Subtitle,
    LinkUrl,
    Cover,
    PublishTime,
    IndexNo,
    Issuer,
    DocNo,
    WrittenDate,
    Topic,
    Note,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RoleGrant {
    Table,
    Id,
    UserId,
    SiteId,
    ColumnId,
    Role,
    ReviewLevel,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReviewAction {
    Table,
    Id,
    ArticleId,
    RevisionId,
    Action,
    Level,
    Comment,
    ActorId,
    At,
}

fn add(table: impl IntoIden + 'static, col: &mut ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(col).to_owned()
}

fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let alters = [
            add(Site::Table, string(Site::Sponsor).default("")),
            add(Site::Table, string(Site::Contact).default("")),
            add(Site::Table, string(Site::SiteIdCode).default("")),
            add(Site::Table, string(Site::IcpRecord).default("")),
            add(Site::Table, string(Site::PsbRecord).default("")),
            add(Site::Table, boolean(Site::PartyGovMark).default(false)),
            add(Site::Table, integer(Site::ReviewLevels).default(0)),
            add(Site::Table, string(Site::ClosedRedirect).default("")),
            add(SiteColumn::Table, string(SiteColumn::Keywords).default("")),
            add(
                SiteColumn::Table,
                &mut integer_null(SiteColumn::UpdateCadenceDays),
            ),
            add(SiteColumn::Table, integer(SiteColumn::PageSize).default(20)),
            add(Article::Table, string(Article::Kind).default("article")),
            add(Article::Table, integer(Article::ReviewLevel).default(0)),
            add(
                Article::Table,
                &mut timestamp_with_time_zone_null(Article::DeletedAt),
            ),
            add(
                Article::Table,
                &mut timestamp_with_time_zone_null(Article::PublishAt),
            ),
            add(
                Article::Table,
                &mut timestamp_with_time_zone_null(Article::UnpublishAt),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::Subtitle).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::LinkUrl).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::Cover).default(""),
            ),
            add(
                ArticleRevision::Table,
                &mut timestamp_with_time_zone_null(ArticleRevision::PublishTime),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::IndexNo).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::Issuer).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::DocNo).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::WrittenDate).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::Topic).default(""),
            ),
            add(
                ArticleRevision::Table,
                string(ArticleRevision::Note).default(""),
            ),
        ];
        for alter in alters {
            m.alter_table(alter).await?;
        }
        m.create_table(
            Table::create()
                .table(RoleGrant::Table)
                .col(pk_auto(RoleGrant::Id))
                .col(integer(RoleGrant::UserId))
                .col(integer(RoleGrant::SiteId))
                .col(integer_null(RoleGrant::ColumnId))
                .col(string(RoleGrant::Role))
                .col(integer_null(RoleGrant::ReviewLevel))
                .col(integer_null(RoleGrant::CreatedBy))
                .col(timestamp_with_time_zone(RoleGrant::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_grant_user",
                    (RoleGrant::Table, RoleGrant::UserId),
                    (AppUser::Table, AppUser::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_grant_site",
                    (RoleGrant::Table, RoleGrant::SiteId),
                    (Site::Table, Site::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_grant_column",
                    (RoleGrant::Table, RoleGrant::ColumnId),
                    (SiteColumn::Table, SiteColumn::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_grant_user")
                .table(RoleGrant::Table)
                .col(RoleGrant::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReviewAction::Table)
                .col(pk_auto(ReviewAction::Id))
                .col(integer(ReviewAction::ArticleId))
                .col(integer_null(ReviewAction::RevisionId))
                .col(string(ReviewAction::Action))
                .col(integer(ReviewAction::Level))
                .col(text(ReviewAction::Comment))
                .col(integer_null(ReviewAction::ActorId))
                .col(timestamp_with_time_zone(ReviewAction::At))
                .foreign_key(&mut fk(
                    "fk_review_article",
                    (ReviewAction::Table, ReviewAction::ArticleId),
                    (Article::Table, Article::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_review_article")
                .table(ReviewAction::Table)
                .col(ReviewAction::ArticleId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_article_deleted")
                .table(Article::Table)
                .col(Article::DeletedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "schema migrations are not reverted; restore a backup instead".into(),
        ))
    }
}
