//! A column may use its own templates from its site's theme (for lists and for articles).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SiteColumn {
    Table,
    ListTemplate,
    ArticleTemplate,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [SiteColumn::ListTemplate, SiteColumn::ArticleTemplate] {
            m.alter_table(
                Table::alter()
                    .table(SiteColumn::Table)
                    .add_column(string(col).default(""))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "schema migrations are not reverted; restore a backup instead".into(),
        ))
    }
}
