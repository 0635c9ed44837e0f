//! The media library: uploaded images and documents per site, kept in the content-addressed
//! store and published under `/media/`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    SiteId,
    Name,
    Path,
    Sha256,
    ContentType,
    Size,
    Width,
    Height,
    ThumbPath,
    ThumbSha256,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Site {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Media::Table)
                .col(pk_auto(Media::Id))
                .col(integer(Media::SiteId))
                .col(string(Media::Name))
                .col(string(Media::Path))
                .col(string(Media::Sha256))
                .col(string(Media::ContentType))
                .col(big_integer(Media::Size))
                .col(integer_null(Media::Width))
                .col(integer_null(Media::Height))
                .col(string_null(Media::ThumbPath))
                .col(string_null(Media::ThumbSha256))
                .col(integer_null(Media::UploadedBy))
                .col(timestamp_with_time_zone(Media::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_media_site")
                        .from(Media::Table, Media::SiteId)
                        .to(Site::Table, Site::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_media_site_path")
                .table(Media::Table)
                .col(Media::SiteId)
                .col(Media::Path)
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
