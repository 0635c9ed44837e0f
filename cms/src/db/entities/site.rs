//! Table `site`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub org_id: i32,
    pub name: String,
    /// Short unique code (ASCII), used in file names.
    pub code: String,
    pub theme: String,
    /// 建设中 / 运行 / 维护 / 已关停.
    pub status: String,
    pub created_at: DateTimeUtc,
    /// 主办单位.
    pub sponsor: String,
    /// 联系方式 (phone, e-mail) shown in the footer.
    pub contact: String,
    /// 网站标识码 (10 digits for government sites).
    pub site_id_code: String,
    /// ICP 备案号.
    pub icp_record: String,
    /// 公安机关备案号.
    pub psb_record: String,
    /// Whether the site carries the 党政机关网站标识.
    pub party_gov_mark: bool,
    /// Review levels (三审三校) before publishing: 0–3.
    pub review_levels: i32,
    /// Where a closed site's visitors are sent (301), empty for the closure notice.
    pub closed_redirect: String,
    /// Plain HTTP is redirected to HTTPS at the gateways.
    pub https_redirect: bool,
    /// The gateways obtain the site's certificate from the ACME CA.
    pub acme: bool,
    /// A legacy site's own servers (`host:port`, comma-separated): when set, the gateways proxy
    /// the site to them instead of serving published pages.
    pub origin_upstreams: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
