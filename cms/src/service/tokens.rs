//! API tokens: a user creates named tokens for scripts; a token acts with exactly that user's
//! permissions. The token is shown once; only its SHA-256 is stored. Tokens end when revoked,
//! when they expire, and when the account is disabled.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sitegroup_contract::store::sha256_hex;

use super::authz::Actor;
use crate::auth;
use crate::db::entities::{api_token, app_user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Tokens start with this, so that they are recognisable in logs and secret scanners.
pub const PREFIX: &str = "sgt_";

/// Creates a token valid for `days` (1–366). Returns (id, token).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    days: i64,
) -> AppResult<(i32, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(AppError::Invalid(
            "令牌名称不能为空，且不超过 50 个字符。".into(),
        ));
    }
    if !(1..=366).contains(&days) {
        return Err(AppError::Invalid("有效期为 1–366 天。".into()));
    }
    let token = format!("{PREFIX}{}", auth::random_token());
    let now = Utc::now();
    let row = api_token::ActiveModel {
        user_id: Set(actor.id()),
        name: Set(name.to_string()),
        token_hash: Set(sha256_hex(token.as_bytes())),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(Some(now + Duration::days(days))),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(user = %actor.user.username, token = row.id, "API token created");
    state
        .audit(
            &crate::audit::Who::actor(actor),
            crate::audit::Entry::new(
                crate::audit::Event::TokenCreate,
                format!("token:{}", row.id),
            )
            .details(serde_json::json!({ "name": name, "days": days })),
        )
        .await?;
    Ok((row.id, token))
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(actor.id()))
        .order_by_desc(api_token::Column::Id)
        .all(&state.db)
        .await?)
}

/// Revokes one of the actor's own tokens.
pub async fn revoke(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    let res = api_token::Entity::delete_many()
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::UserId.eq(actor.id()))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    state
        .audit(
            &crate::audit::Who::actor(actor),
            crate::audit::Entry::new(crate::audit::Event::TokenRevoke, format!("token:{id}")),
        )
        .await?;
    Ok(())
}

/// The user a bearer token stands for, if it is valid; records its use.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<app_user::Model>, sea_orm::DbErr> {
    if !token.starts_with(PREFIX) || token.len() > 200 {
        return Ok(None);
    }
    let Some(row) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if row.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let Some(user) = app_user::Entity::find_by_id(row.user_id).one(db).await? else {
        return Ok(None);
    };
    if !crate::auth::account_usable(&user, now) {
        return Ok(None);
    }
    // Record the use, at most once a minute per token (not a write on every API call).
    if row
        .last_used_at
        .is_none_or(|t| now - t >= Duration::minutes(1))
    {
        let mut active: api_token::ActiveModel = row.into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    Ok(Some(user))
}
