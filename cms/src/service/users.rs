//! Accounts and unit role grants.
//!
//! The 系统管理员 creates unit accounts and grants the 单位管理员 role; a unit administrator
//! creates accounts in their own unit and grants 编辑 and 审核员 roles on the sites they
//! administer; both disable accounts, set their expiry and reset their passwords. Nobody changes
//! their own roles, grants or account.
//!
//! Platform administrator accounts (三员: 系统管理员, 安全管理员, 审计管理员) are never created
//! or changed through the web: the first start creates one of each, and further ones come from
//! `sitegroup admin create-admin` on the server ([`create_platform_admin`]). So no administrator
//! can hand itself, or an account it controls, another administrator's powers. New accounts get
//! a one-time password that must be changed at first sign-in. Every change is audited.

use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::authz::{Actor, PlatformRole, UnitRole};
use crate::audit::{Entry, Event, Who};
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

/// The organisations whose accounts the actor manages: `None` for every one (the sysadmin); for
/// a unit administrator, the organisations owning the sites they administer, and those below.
pub(crate) async fn managed_orgs(
    state: &AppState,
    actor: &Actor,
) -> AppResult<Option<BTreeSet<i32>>> {
    if actor.is_sysadmin() {
        return Ok(None);
    }
    let mut orgs = BTreeSet::new();
    let sites = administered_sites(actor);
    if sites.is_empty() {
        return Ok(Some(orgs));
    }
    for s in site::Entity::find()
        .filter(site::Column::Id.is_in(sites))
        .all(&state.db)
        .await?
    {
        orgs.extend(subtree(state, s.org_id).await?);
    }
    Ok(Some(orgs))
}

/// Whether the actor may manage accounts of an organisation (see [`managed_orgs`]).
async fn can_manage_org(state: &AppState, actor: &Actor, org_id: i32) -> AppResult<bool> {
    Ok(managed_orgs(state, actor)
        .await?
        .is_none_or(|orgs| orgs.contains(&org_id)))
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
    // Platform administrators come from the server's command line only (see the module
    // comment), whoever asks.
    if role != PlatformRole::None {
        return Err(AppError::Forbidden);
    }
    let allowed = match new.org_id {
        Some(org) => can_manage_org(state, actor, org).await?,
        None => false,
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
    let hash = auth::hash_password_off_thread(password.clone()).await?;
    let txn = state.db.begin().await?;
    let user = app_user::ActiveModel {
        username: Set(username.clone()),
        display_name: Set(display.to_string()),
        password_hash: Set(hash),
        platform_role: Set(String::new()),
        org_id: Set(new.org_id),
        must_change_password: Set(true),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        totp_enabled: Set(false),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::UserCreate, format!("user:{username}"))
                .details(serde_json::json!({ "org_id": new.org_id })),
        )
        .await?;
    txn.commit().await?;
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
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::GrantAdd, format!("user:{}", user.username)).details(
                serde_json::json!({
                    "site_id": site.id, "column_id": g.column_id, "role": role.as_str(),
                    "review_level": level,
                }),
            ),
        )
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
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::GrantRevoke, format!("user_id:{}", g.user_id)).details(
                serde_json::json!({
                    "grant_id": g.id, "site_id": g.site_id, "column_id": g.column_id,
                    "role": g.role, "review_level": g.review_level,
                }),
            ),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

// ---- account status ------------------------------------------------------------------------

/// The unit accounts this actor manages (the 系统管理员: all; a unit administrator: those of
/// their units), never its own, never a platform administrator.
pub async fn manageable(state: &AppState, actor: &Actor) -> AppResult<Vec<app_user::Model>> {
    // The organisations are worked out once, not once per account.
    let orgs = managed_orgs(state, actor).await?;
    Ok(app_user::Entity::find()
        .filter(app_user::Column::PlatformRole.eq(""))
        .order_by_asc(app_user::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|u| {
            u.id != actor.id()
                && u.org_id
                    .is_some_and(|org| orgs.as_ref().is_none_or(|o| o.contains(&org)))
        })
        .collect())
}

/// The account `user_id` if this actor manages it; anything else is "not found".
async fn managed(state: &AppState, actor: &Actor, user_id: i32) -> AppResult<app_user::Model> {
    let user = app_user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = user.id != actor.id()
        && user.platform_role.is_empty()
        && match user.org_id {
            Some(org) => can_manage_org(state, actor, org).await?,
            None => false,
        };
    if ok {
        Ok(user)
    } else {
        Err(AppError::NotFound)
    }
}

/// Disables or enables an account and sets its expiry (`None`: never). Disabling ends its
/// sessions.
pub async fn set_status(
    state: &AppState,
    actor: &Actor,
    user_id: i32,
    disabled: bool,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> AppResult<()> {
    let user = managed(state, actor, user_id).await?;
    let txn = state.db.begin().await?;
    let before = serde_json::json!({ "disabled": user.disabled, "expires_at": user.expires_at });
    let mut active: app_user::ActiveModel = user.clone().into();
    active.disabled = Set(disabled);
    active.expires_at = Set(expires_at);
    active.update(&txn).await?;
    if disabled || expires_at.is_some_and(|e| e <= Utc::now()) {
        auth::end_all_sessions(&txn, user.id).await?;
    }
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::UserUpdate, format!("user:{}", user.username)).details(
                serde_json::json!({
                    "before": before,
                    "after": { "disabled": disabled, "expires_at": expires_at },
                }),
            ),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives a managed account a new one-time password (ends its sessions). Returns the password.
pub async fn reset_password(state: &AppState, actor: &Actor, user_id: i32) -> AppResult<String> {
    let user = managed(state, actor, user_id).await?;
    Ok(auth::give_one_time_password(
        &state.db,
        &state.secrets.get(),
        &Who::actor(actor),
        &user,
        state.policy().history,
    )
    .await?)
}

/// Creates a platform administrator (the command line on the server only). Returns the
/// one-time password.
pub async fn create_platform_admin(
    db: &sea_orm::DatabaseConnection,
    keyring: &crate::secrets::Keyring,
    role: &str,
    username: &str,
    display_name: &str,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        PlatformRole::parse(role) != PlatformRole::None,
        "role must be sysadmin, secadmin or auditor"
    );
    anyhow::ensure!(
        valid_username(username),
        "usernames are 3–32 letters, digits, _ . or -"
    );
    anyhow::ensure!(
        app_user::Entity::find()
            .filter(app_user::Column::Username.eq(username))
            .one(db)
            .await?
            .is_none(),
        "the username {username:?} is taken"
    );
    let password = auth::generate_password();
    let txn = db.begin().await?;
    app_user::ActiveModel {
        username: Set(username.into()),
        display_name: Set(if display_name.trim().is_empty() {
            username.into()
        } else {
            display_name.trim().into()
        }),
        password_hash: Set(auth::hash_password(&password)?),
        platform_role: Set(role.into()),
        org_id: Set(None),
        must_change_password: Set(true),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        totp_enabled: Set(false),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::append_in(
        &txn,
        keyring,
        &Who::console(),
        Entry::new(Event::AdminCreate, format!("user:{username}"))
            .details(serde_json::json!({ "role": role })),
    )
    .await?;
    txn.commit().await?;
    Ok(password)
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
