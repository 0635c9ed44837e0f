//! Table `platform_setting`: platform-wide settings by key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_setting")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub value: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores `value` under `key`, replacing what was there: one statement (an upsert), so inside
/// a transaction it writes before it reads.
pub async fn put(db: &impl ConnectionTrait, key: &str, value: String) -> Result<(), DbErr> {
    let row = ActiveModel {
        key: sea_orm::Set(key.to_string()),
        value: sea_orm::Set(value),
        updated_at: sea_orm::Set(chrono::Utc::now()),
    };
    Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(Column::Key)
                .update_columns([Column::Value, Column::UpdatedAt])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}
