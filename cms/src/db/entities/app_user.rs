//! Table `app_user`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// sysadmin / secadmin / auditor, or empty for unit users.
    pub platform_role: String,
    pub org_id: Option<i32>,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    /// When the password was last set (its age counts from here); `None`: never changed.
    pub password_changed_at: Option<DateTimeUtc>,
    /// The account stops working after this moment.
    pub expires_at: Option<DateTimeUtc>,
    /// The TOTP secret, encrypted with the keyring (`crate::secrets`); set while enrolling.
    pub totp_secret: Option<String>,
    /// Whether sign-in asks for a TOTP code.
    pub totp_enabled: bool,
    /// The last time step a code was accepted for (a code is never accepted twice).
    pub totp_last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
