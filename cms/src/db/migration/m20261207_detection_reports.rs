//! Detection, second part: the daily health score of each site (its trend), wrong and sensitive
//! words found on the sites' pages (with what the unit did about each), and the baselines of
//! legacy pages compared on every tamper round.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HealthScore {
    Table,
    Id,
    SiteId,
    Day,
    Score,
    Veto,
    Deductions,
    ComputedAt,
}

#[derive(DeriveIden)]
enum WordFinding {
    Table,
    Id,
    SiteId,
    Page,
    Word,
    Category,
    Suggestion,
    Context,
    Status,
    HandledBy,
    HandledAt,
    FirstSeenAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum PageBaseline {
    Table,
    Id,
    SiteId,
    Path,
    IgnoreRegions,
    ThresholdPct,
    BaselineText,
    TakenAt,
    CheckedAt,
    ChangePct,
    LastError,
    DiffSample,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(HealthScore::Table)
                .col(pk_auto(HealthScore::Id))
                .col(integer(HealthScore::SiteId))
                // Beijing date, `YYYY-MM-DD`.
                .col(string(HealthScore::Day))
                .col(double(HealthScore::Score))
                // The veto items triggered, JSON array of strings.
                .col(text(HealthScore::Veto))
                // JSON array of {item, points, detail}.
                .col(text(HealthScore::Deductions))
                .col(timestamp_with_time_zone(HealthScore::ComputedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("health_score_site_day")
                .table(HealthScore::Table)
                .col(HealthScore::SiteId)
                .col(HealthScore::Day)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WordFinding::Table)
                .col(pk_auto(WordFinding::Id))
                .col(integer(WordFinding::SiteId))
                .col(text(WordFinding::Page))
                .col(string(WordFinding::Word))
                .col(string(WordFinding::Category))
                .col(string(WordFinding::Suggestion))
                .col(text(WordFinding::Context))
                // `open`, `ignored`, `fixed`.
                .col(string(WordFinding::Status))
                .col(string(WordFinding::HandledBy))
                .col(timestamp_with_time_zone_null(WordFinding::HandledAt))
                .col(timestamp_with_time_zone(WordFinding::FirstSeenAt))
                .col(timestamp_with_time_zone(WordFinding::LastSeenAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("word_finding_site_page_word")
                .table(WordFinding::Table)
                .col(WordFinding::SiteId)
                .col(WordFinding::Page)
                .col(WordFinding::Word)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PageBaseline::Table)
                .col(pk_auto(PageBaseline::Id))
                .col(integer(PageBaseline::SiteId))
                .col(text(PageBaseline::Path))
                .col(text(PageBaseline::IgnoreRegions))
                .col(integer(PageBaseline::ThresholdPct))
                .col(text(PageBaseline::BaselineText))
                .col(timestamp_with_time_zone_null(PageBaseline::TakenAt))
                .col(timestamp_with_time_zone_null(PageBaseline::CheckedAt))
                .col(double_null(PageBaseline::ChangePct))
                .col(text(PageBaseline::LastError))
                .col(text(PageBaseline::DiffSample))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("page_baseline_site_path")
                .table(PageBaseline::Table)
                .col(PageBaseline::SiteId)
                .col(PageBaseline::Path)
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
