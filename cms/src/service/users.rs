//! Accounts and unit role grants.
//!
//! The 系统管理员 creates accounts (platform administrators and unit users) and grants the
//! 单位管理员 role; a unit administrator creates accounts in their own unit and grants 编辑 and
//! 审核员 roles on the sites they administer. Nobody changes their own roles or grants. New
//! accounts get a one-time password that must be changed at first sign-in.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::authz::{Actor, PlatformRole, UnitRole};
use crate::auth;
use crate::db::entities::{app_user, organization, role_grant, site, site_column, user_session};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    /// Empty for a unit user; sysadmin / secadmin / auditor for platform administrators.
    pub platform_role: String,
    pub org_id: Option<i32>,
}

/// A created account and the one-time password to hand over.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub id: i32,
    pub username: String,
    pub one_time_password: String,
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// The organisations under `root` (itself included).
async fn subtree(state: &AppState, root: i32) -> AppResult<Vec<i32>> {
    let all = organization::Entity::find().all(&state.db).await?;
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            all.iter()
                .filter(|o| o.parent_id == Some(parent))
                .map(|o| o.id),
        );
        i += 1;
    }
    Ok(out)
}

/// Sites this actor administers.
fn administered_sites(actor: &Actor) -> Vec<i32> {
    actor
        .grants
        .iter()
        .filter(|g| g.role == UnitRole::UnitAdmin && g.column_id.is_none())
        .map(|g| g.site_id)
        .collect()
}

/// Whether the actor may manage accounts of an organisation: the sysadmin anywhere, a unit
/// administrator in the organisations owning the sites they administer (and below them).
async fn can_manage_org(state: &AppState, actor: &Actor, org_id: i32) -> AppResult<bool> {
    if actor.is_sysadmin() {
        return Ok(true);
    }
    let sites = administered_sites(actor);
    if sites.is_empty() {
        return Ok(false);
    }
    for s in site::Entity::find()
        .filter(site::Column::Id.is_in(sites))
        .all(&state.db)
        .await?
    {
        if subtree(state, s.org_id).await?.contains(&org_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn create_user(state: &AppState, actor: &Actor, new: &NewUser) -> AppResult<Created> {
    let role = PlatformRole::parse(&new.platform_role);
    if !new.platform_role.is_empty() && role == PlatformRole::None {
        return Err(AppError::Invalid("未知的平台角色。".into()));
    }
    let mut problems = Vec::new();
    if !valid_username(new.username.trim()) {
        problems.push("用户名须为 3–32 个字母、数字或 _ . -。");
    }
    let display = new.display_name.trim();
    if display.is_empty() || display.chars().count() > 50 {
        problems.push("姓名不能为空，且不超过 50 个字符。");
    }
    if role == PlatformRole::None && new.org_id.is_none() {
        problems.push("单位用户须属于一个单位。");
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let allowed = if role == PlatformRole::None {
        match new.org_id {
            Some(org) => can_manage_org(state, actor, org).await?,
            None => false,
        }
    } else {
        actor.is_sysadmin()
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    if let Some(org) = new.org_id
        && organization::Entity::find_by_id(org)
            .one(&state.db)
            .await?
            .is_none()
    {
        return Err(AppError::Invalid("单位不存在。".into()));
    }
    let username = new.username.trim().to_string();
    if app_user::Entity::find()
        .filter(app_user::Column::Username.eq(&username))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(AppError::Invalid("用户名已被使用。".into()));
    }
    let password = auth::generate_password();
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let user = app_user::ActiveModel {
        username: Set(username.clone()),
        display_name: Set(display.to_string()),
        password_hash: Set(hash),
        platform_role: Set(new.platform_role.clone()),
        org_id: Set(if role == PlatformRole::None {
            new.org_id
        } else {
            None
        }),
        must_change_password: Set(true),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(user = %username, by = %actor.user.username, "account created");
    Ok(Created {
        id: user.id,
        username,
        one_time_password: password,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewGrant {
    pub user_id: i32,
    pub site_id: i32,
    pub column_id: Option<i32>,
    pub role: String,
    pub review_level: Option<i32>,
}

/// Grants a unit role. Ends the user's sessions, so that the change applies at once.
pub async fn grant(state: &AppState, actor: &Actor, g: &NewGrant) -> AppResult<i32> {
    let role = UnitRole::parse(&g.role).ok_or(AppError::Invalid("未知的角色。".into()))?;
    if !actor.can_manage_site(g.site_id) {
        return Err(AppError::NotFound);
    }
    if role == UnitRole::UnitAdmin && !actor.is_sysadmin() {
        return Err(AppError::Forbidden);
    }
    if g.user_id == actor.id() {
        return Err(AppError::Invalid("不能修改自己的角色。".into()));
    }
    let user = app_user::Entity::find_by_id(g.user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(org) = user.org_id else {
        return Err(AppError::Invalid("平台管理员账号不能授予单位角色。".into()));
    };
    if !can_manage_org(state, actor, org).await? {
        return Err(AppError::NotFound);
    }
    let site = site::Entity::find_by_id(g.site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    // A unit's users work on their own unit's sites (or those of units above them that
    // delegate to them): the site's organisation must contain the user's.
    if !subtree(state, site.org_id).await?.contains(&org) {
        return Err(AppError::Invalid("只能授予本单位站点的角色。".into()));
    }
    if let Some(c) = g.column_id {
        let ok = site_column::Entity::find_by_id(c)
            .one(&state.db)
            .await?
            .is_some_and(|col| col.site_id == site.id);
        if !ok {
            return Err(AppError::Invalid("栏目不属于该站点。".into()));
        }
    }
    let level = match role {
        UnitRole::Reviewer => match g.review_level {
            Some(l) if (1..=3).contains(&l) => Some(l),
            _ => return Err(AppError::Invalid("审核员须指定审核级别（1–3）。".into())),
        },
        _ => None,
    };
    let txn = state.db.begin().await?;
    let row = role_grant::ActiveModel {
        user_id: Set(user.id),
        site_id: Set(site.id),
        column_id: Set(g.column_id),
        role: Set(role.as_str().into()),
        review_level: Set(level),
        created_by: Set(Some(actor.id())),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::info!(user = %user.username, site = site.id, role = role.as_str(), by = %actor.user.username, "role granted");
    Ok(row.id)
}

/// Removes a grant (same powers as granting it).
pub async fn revoke(state: &AppState, actor: &Actor, grant_id: i32) -> AppResult<()> {
    let g = role_grant::Entity::find_by_id(grant_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_manage_site(g.site_id) {
        return Err(AppError::NotFound);
    }
    if (g.role == "unit_admin" && !actor.is_sysadmin()) || g.user_id == actor.id() {
        return Err(AppError::Forbidden);
    }
    let txn = state.db.begin().await?;
    role_grant::Entity::delete_by_id(g.id).exec(&txn).await?;
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(g.user_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The grants on a site (for its administrators).
pub async fn grants_of_site(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
) -> AppResult<Vec<role_grant::Model>> {
    if !actor.can_manage_site(site_id) {
        return Err(AppError::NotFound);
    }
    Ok(role_grant::Entity::find()
        .filter(role_grant::Column::SiteId.eq(site_id))
        .order_by_asc(role_grant::Column::Id)
        .all(&state.db)
        .await?)
}
