//! Who may do what. Every service call takes an [`Actor`] and asks it before reading or
//! changing anything; the web handlers and the JSON API hold no permission logic of their own.
//!
//! Platform roles (on the account) are kept apart: the 系统管理员 (`sysadmin`) manages
//! organisations, sites and users, and acts on every site's content like a unit administrator
//! (no unit account exists on a first start); the 安全管理员 (`secadmin`) and the 审计管理员
//! (`auditor`) have no content powers at all. Unit roles are grants on one site, optionally
//! narrowed to one column: 单位管理员 (`unit_admin`: the site's columns, settings, users and every
//! review level), 编辑 (`editor`: write and submit), 审核员 (`reviewer`: decide at one level).
//!
//! Anything outside an actor's sites does not exist for it: lookups answer "not found", never
//! "forbidden", so existence is not revealed across units.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::db::entities::{app_user, role_grant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformRole {
    SysAdmin,
    SecAdmin,
    Auditor,
    /// A unit user: powers come from grants only.
    None,
}

impl PlatformRole {
    pub fn parse(s: &str) -> PlatformRole {
        match s {
            "sysadmin" => PlatformRole::SysAdmin,
            "secadmin" => PlatformRole::SecAdmin,
            "auditor" => PlatformRole::Auditor,
            _ => PlatformRole::None,
        }
    }

    /// The value stored on the account (empty for unit users).
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformRole::SysAdmin => "sysadmin",
            PlatformRole::SecAdmin => "secadmin",
            PlatformRole::Auditor => "auditor",
            PlatformRole::None => "",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PlatformRole::SysAdmin => "系统管理员",
            PlatformRole::SecAdmin => "安全管理员",
            PlatformRole::Auditor => "审计管理员",
            PlatformRole::None => "单位用户",
        }
    }
}

/// A unit role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnitRole {
    UnitAdmin,
    Editor,
    Reviewer,
}

impl UnitRole {
    pub fn parse(s: &str) -> Option<UnitRole> {
        match s {
            "unit_admin" => Some(UnitRole::UnitAdmin),
            "editor" => Some(UnitRole::Editor),
            "reviewer" => Some(UnitRole::Reviewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitRole::UnitAdmin => "unit_admin",
            UnitRole::Editor => "editor",
            UnitRole::Reviewer => "reviewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UnitRole::UnitAdmin => "单位管理员",
            UnitRole::Editor => "编辑",
            UnitRole::Reviewer => "审核员",
        }
    }
}

/// One grant, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub site_id: i32,
    pub column_id: Option<i32>,
    pub role: UnitRole,
    pub review_level: Option<i32>,
}

impl Grant {
    fn covers(&self, site_id: i32, column_id: Option<i32>) -> bool {
        self.site_id == site_id
            && match (self.column_id, column_id) {
                (None, _) => true,
                (Some(granted), Some(asked)) => granted == asked,
                // A column-scoped grant does not cover site-wide actions.
                (Some(_), None) => false,
            }
    }
}

/// Which sites a listing may include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteScope {
    All,
    Only(BTreeSet<i32>),
}

impl SiteScope {
    pub fn contains(&self, site_id: i32) -> bool {
        match self {
            SiteScope::All => true,
            SiteScope::Only(s) => s.contains(&site_id),
        }
    }
}

/// A signed-in user with their grants, loaded once per request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: app_user::Model,
    pub role: PlatformRole,
    pub grants: Vec<Grant>,
    /// Where the request came from (empty for the command line), for the audit trail.
    pub client_addr: String,
}

impl Actor {
    pub async fn load(
        db: &impl ConnectionTrait,
        user: app_user::Model,
    ) -> Result<Actor, sea_orm::DbErr> {
        let rows = role_grant::Entity::find()
            .filter(role_grant::Column::UserId.eq(user.id))
            .all(db)
            .await?;
        let grants = rows
            .into_iter()
            .filter_map(|g| {
                Some(Grant {
                    site_id: g.site_id,
                    column_id: g.column_id,
                    role: UnitRole::parse(&g.role)?,
                    review_level: g.review_level,
                })
            })
            .collect();
        Ok(Actor {
            role: PlatformRole::parse(&user.platform_role),
            user,
            grants,
            client_addr: String::new(),
        })
    }

    pub fn id(&self) -> i32 {
        self.user.id
    }

    pub fn is_sysadmin(&self) -> bool {
        self.role == PlatformRole::SysAdmin
    }

    pub fn is_secadmin(&self) -> bool {
        self.role == PlatformRole::SecAdmin
    }

    pub fn is_auditor(&self) -> bool {
        self.role == PlatformRole::Auditor
    }

    /// The sites whose content this actor may see.
    pub fn site_scope(&self) -> SiteScope {
        match self.role {
            PlatformRole::SysAdmin => SiteScope::All,
            PlatformRole::SecAdmin | PlatformRole::Auditor => SiteScope::Only(BTreeSet::new()),
            PlatformRole::None => SiteScope::Only(self.grants.iter().map(|g| g.site_id).collect()),
        }
    }

    pub fn can_view_site(&self, site_id: i32) -> bool {
        self.site_scope().contains(site_id)
    }

    fn has(&self, role: UnitRole, site_id: i32, column_id: Option<i32>) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.covers(site_id, column_id))
    }

    /// Site settings, columns, the site's users and grants, purging the recycle bin.
    pub fn can_manage_site(&self, site_id: i32) -> bool {
        self.is_sysadmin() || self.has(UnitRole::UnitAdmin, site_id, None)
    }

    /// Writing, submitting, withdrawing, deleting and restoring items of a column.
    pub fn can_edit(&self, site_id: i32, column_id: i32) -> bool {
        self.can_manage_site(site_id) || self.has(UnitRole::Editor, site_id, Some(column_id))
    }

    /// Deciding at one review level for items of a column.
    pub fn can_review(&self, site_id: i32, column_id: i32, level: i32) -> bool {
        self.can_manage_site(site_id)
            || self.grants.iter().any(|g| {
                g.role == UnitRole::Reviewer
                    && g.review_level == Some(level)
                    && g.covers(site_id, Some(column_id))
            })
    }

    /// Whether the actor reviews anything at all on a site (for to-do lists).
    pub fn reviews_on(&self, site_id: i32) -> bool {
        self.can_manage_site(site_id)
            || self
                .grants
                .iter()
                .any(|g| g.role == UnitRole::Reviewer && g.site_id == site_id)
    }

    /// Whether the actor may read content of a column (anyone with a role on it).
    pub fn can_read(&self, site_id: i32, column_id: i32) -> bool {
        self.is_sysadmin()
            || self
                .grants
                .iter()
                .any(|g| g.covers(site_id, Some(column_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: &str, grants: Vec<Grant>) -> Actor {
        Actor {
            user: app_user::Model {
                id: 1,
                username: "u".into(),
                display_name: "u".into(),
                password_hash: String::new(),
                platform_role: role.into(),
                org_id: None,
                must_change_password: false,
                disabled: false,
                created_at: chrono::Utc::now(),
                password_changed_at: None,
                expires_at: None,
                totp_secret: None,
                totp_enabled: false,
                totp_last_step: None,
            },
            role: PlatformRole::parse(role),
            grants,
            client_addr: String::new(),
        }
    }

    fn grant(site: i32, column: Option<i32>, role: UnitRole, level: Option<i32>) -> Grant {
        Grant {
            site_id: site,
            column_id: column,
            role,
            review_level: level,
        }
    }

    #[test]
    fn platform_roles_are_kept_apart_from_content() {
        for role in ["secadmin", "auditor"] {
            let a = actor(role, vec![]);
            assert!(!a.can_view_site(1));
            assert!(!a.can_edit(1, 1));
            assert!(!a.can_review(1, 1, 1));
            assert!(!a.can_manage_site(1));
        }
        let sys = actor("sysadmin", vec![]);
        assert!(sys.can_manage_site(7) && sys.can_review(7, 3, 2));
    }

    #[test]
    fn grants_are_scoped_to_site_column_and_level() {
        let editor = actor("", vec![grant(1, Some(10), UnitRole::Editor, None)]);
        assert!(editor.can_edit(1, 10));
        assert!(!editor.can_edit(1, 11), "another column of the same site");
        assert!(!editor.can_edit(2, 10), "another site");
        assert!(!editor.can_manage_site(1));
        assert!(!editor.can_review(1, 10, 1));
        assert!(editor.can_view_site(1) && !editor.can_view_site(2));

        let reviewer = actor("", vec![grant(1, None, UnitRole::Reviewer, Some(2))]);
        assert!(reviewer.can_review(1, 10, 2));
        assert!(!reviewer.can_review(1, 10, 1), "another level");
        assert!(!reviewer.can_edit(1, 10));

        let admin = actor("", vec![grant(1, None, UnitRole::UnitAdmin, None)]);
        assert!(admin.can_manage_site(1) && admin.can_edit(1, 99) && admin.can_review(1, 99, 3));
        assert!(!admin.can_manage_site(2) && !admin.can_view_site(2));
    }
}
