//! Site settings (identity data for the footer and meta tags, status, review levels) and the
//! column tree. Unit administrators manage their sites; closing a site is the 系统管理员's
//! decision. Every change that visitors see re-renders the site; a status change also reaches
//! the gateways through the configuration generation.

use crate::audit::{Entry, Event, Who};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use serde::Deserialize;

use super::authz::Actor;
use crate::db::entities::{
    article, organization, platform_setting, site, site_column, site_hostname,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Column types of the 政府网站发展指引 (the `ColumnType` meta tag).
pub const COLUMN_TYPES: &[&str] = &[
    "首页",
    "概况信息",
    "机构职能",
    "负责人信息",
    "工作动态",
    "政策文件",
    "信息公开指南",
    "信息公开目录",
    "信息公开年报",
    "依法申请公开",
    "数据发布",
    "政策解读",
    "回应关切",
    "办事服务",
    "咨询投诉",
    "征集调查",
    "在线访谈",
];

/// Site statuses: 建设中 (not public yet), 运行, 维护 (maintenance notice), 只读 (read-only: only
/// GET and HEAD pass, an emergency switch), 已关停 (closed).
pub const SITE_STATUSES: &[&str] = &["建设中", "运行", "维护", "只读", "已关停"];

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct SiteSettings {
    pub name: String,
    pub sponsor: String,
    pub contact: String,
    pub site_id_code: String,
    pub icp_record: String,
    pub psb_record: String,
    #[serde(deserialize_with = "super::form::checkbox")]
    pub party_gov_mark: bool,
    #[serde(deserialize_with = "super::form::int")]
    pub review_levels: i32,
    pub status: String,
    /// One of the installed themes.
    pub theme: String,
    /// Where visitors of the closed site are sent (301); empty for the closure notice.
    pub closed_redirect: String,
    /// Plain HTTP redirected to HTTPS at the gateways (系统管理员 only).
    #[serde(deserialize_with = "super::form::checkbox")]
    pub https_redirect: bool,
    /// Certificate from the ACME CA (系统管理员 only).
    #[serde(deserialize_with = "super::form::checkbox")]
    pub acme: bool,
    /// A legacy site's own servers, `host:port` separated by commas or new lines (系统管理员
    /// only); empty for a site published by the CMS.
    pub origin_upstreams: String,
}

impl SiteSettings {
    pub fn of(s: &site::Model) -> SiteSettings {
        SiteSettings {
            name: s.name.clone(),
            sponsor: s.sponsor.clone(),
            contact: s.contact.clone(),
            site_id_code: s.site_id_code.clone(),
            icp_record: s.icp_record.clone(),
            psb_record: s.psb_record.clone(),
            party_gov_mark: s.party_gov_mark,
            review_levels: s.review_levels,
            status: s.status.clone(),
            theme: s.theme.clone(),
            closed_redirect: s.closed_redirect.clone(),
            https_redirect: s.https_redirect,
            acme: s.acme,
            origin_upstreams: s.origin_upstreams.clone(),
        }
    }
}

/// A legacy site's origins as typed: each `host:port` (an IPv6 address in brackets), joined
/// by commas; or every entry that is not one.
pub fn parse_origins(text: &str) -> Result<String, Vec<String>> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for entry in text
        .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let ok = match entry.rsplit_once(':') {
            Some((host, port)) => {
                port.parse::<u16>().is_ok_and(|p| p > 0)
                    && !host.is_empty()
                    && (host.parse::<std::net::Ipv4Addr>().is_ok()
                        || host
                            .strip_prefix('[')
                            .and_then(|h| h.strip_suffix(']'))
                            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
                        || host.split('.').all(|label| {
                            !label.is_empty()
                                && label.len() <= 63
                                && label
                                    .bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        }))
            }
            None => false,
        };
        if ok {
            good.push(entry.to_string());
        } else {
            bad.push(entry.to_string());
        }
    }
    if bad.is_empty() {
        Ok(good.join(","))
    } else {
        Err(bad)
    }
}

fn too_long(problems: &mut Vec<String>, label: &str, v: &str, max: usize) {
    if v.chars().count() > max {
        problems.push(format!("{label}不能超过 {max} 个字符。"));
    }
}

pub async fn update_settings(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    input: &SiteSettings,
) -> AppResult<()> {
    let s = super::content::site(state, actor, site_id).await?;
    if !actor.can_manage_site(s.id) {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    let name = input.name.trim();
    if name.is_empty() {
        problems.push("网站名称不能为空。".to_string());
    }
    too_long(&mut problems, "网站名称", name, 100);
    too_long(&mut problems, "主办单位", &input.sponsor, 100);
    too_long(&mut problems, "联系方式", &input.contact, 200);
    too_long(&mut problems, "ICP 备案号", &input.icp_record, 50);
    too_long(&mut problems, "公安机关备案号", &input.psb_record, 50);
    let code = input.site_id_code.trim();
    let code_ok = code.is_empty() || (code.len() == 10 && code.bytes().all(|b| b.is_ascii_digit()));
    if !code_ok {
        problems.push("网站标识码为 10 位数字。".into());
    }
    if !(0..=3).contains(&input.review_levels) {
        problems.push("审核级别为 0–3。".into());
    }
    if !SITE_STATUSES.contains(&input.status.as_str()) {
        problems.push("请选择网站状态。".into());
    }
    // An empty theme keeps the current one.
    let theme = if input.theme.is_empty() {
        s.theme.clone()
    } else {
        input.theme.clone()
    };
    if state.themes.get(&theme).is_none() {
        problems.push("请选择已安装的主题。".into());
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let redirect = input.closed_redirect.trim();
    if let Err(why) = sitegroup_contract::config::check_redirect(redirect) {
        return Err(AppError::Invalid(format!(
            "关停后跳转地址须为以 http:// 或 https:// 开头的完整地址（{why}）。"
        )));
    }
    // Closing a site, reopening a closed one, or changing where it sends visitors, is a
    // platform decision.
    let closing =
        (input.status == "已关停") != (s.status == "已关停") || redirect != s.closed_redirect;
    if closing && !actor.is_sysadmin() {
        return Err(AppError::Invalid(
            "关停或重新开通网站须由系统管理员操作。".into(),
        ));
    }
    let status_changed = input.status != s.status;
    // HTTPS is the platform's business: others keep what the 系统管理员 set.
    let (https_redirect, acme) = if actor.is_sysadmin() {
        (input.https_redirect, input.acme)
    } else {
        (s.https_redirect, s.acme)
    };
    let tls_changed = https_redirect != s.https_redirect || acme != s.acme;
    let origins = if actor.is_sysadmin() {
        parse_origins(&input.origin_upstreams).map_err(|bad| {
            AppError::Invalid(format!(
                "源站地址须为“主机:端口”，例如 10.0.0.5:8080；无效：{}。",
                bad.join("、")
            ))
        })?
    } else {
        s.origin_upstreams.clone()
    };
    let origins_changed = origins != s.origin_upstreams;
    let txn = state.db.begin().await?;
    let mut a: site::ActiveModel = s.clone().into();
    a.name = Set(name.to_string());
    a.sponsor = Set(input.sponsor.trim().to_string());
    a.contact = Set(input.contact.trim().to_string());
    a.site_id_code = Set(code.to_string());
    a.icp_record = Set(input.icp_record.trim().to_string());
    a.psb_record = Set(input.psb_record.trim().to_string());
    a.party_gov_mark = Set(input.party_gov_mark);
    a.review_levels = Set(input.review_levels);
    a.status = Set(input.status.clone());
    a.theme = Set(theme);
    a.closed_redirect = Set(redirect.to_string());
    a.https_redirect = Set(https_redirect);
    a.acme = Set(acme);
    a.origin_upstreams = Set(origins.clone());
    a.update(&txn).await?;
    if status_changed
        || tls_changed
        || origins_changed
        || name != s.name
        || redirect != s.closed_redirect
    {
        crate::snapshot::bump_generation(&txn).await?;
    }
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::SiteSettings, format!("site:{}", s.id)).details(serde_json::json!({
                "name": name, "status": input.status, "closed_redirect": redirect,
                "https_redirect": https_redirect, "acme": acme, "origin_upstreams": origins,
            })),
        )
        .await?;
    txn.commit().await?;
    tracing::info!(site = s.id, user = %actor.user.username, status = %input.status, "site settings saved");
    crate::publish::publish_site(state, s.id).await?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ColumnInput {
    pub name: String,
    pub slug: String,
    pub column_type: String,
    pub description: String,
    pub keywords: String,
    /// Days; empty for none.
    pub update_cadence_days: String,
    #[serde(deserialize_with = "super::form::int")]
    pub page_size: i32,
    #[serde(deserialize_with = "super::form::int")]
    pub sort_order: i32,
    /// 0 for a top-level column.
    #[serde(deserialize_with = "super::form::int")]
    pub parent_id: i32,
    /// A `column-….html` of the site's theme, or empty for its `column.html`.
    pub list_template: String,
    /// An `article-….html` of the site's theme, or empty for its `article.html`.
    pub article_template: String,
}

impl ColumnInput {
    pub fn of(c: &site_column::Model) -> ColumnInput {
        ColumnInput {
            name: c.name.clone(),
            slug: c.slug.clone(),
            column_type: c.column_type.clone(),
            description: c.description.clone(),
            keywords: c.keywords.clone(),
            update_cadence_days: c
                .update_cadence_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            page_size: c.page_size,
            sort_order: c.sort_order,
            parent_id: c.parent_id.unwrap_or(0),
            list_template: c.list_template.clone(),
            article_template: c.article_template.clone(),
        }
    }
}

/// The template variants a column of this site may choose: (lists, articles).
pub fn template_variants(state: &AppState, site: &site::Model) -> (Vec<String>, Vec<String>) {
    match state.themes.get(&site.theme) {
        Some(t) => (t.variants("column"), t.variants("article")),
        None => (Vec::new(), Vec::new()),
    }
}

/// Checks a column; returns (cadence, parent).
fn check_column(
    input: &ColumnInput,
    siblings: &[site_column::Model],
    this: Option<i32>,
    variants: &(Vec<String>, Vec<String>),
) -> AppResult<(Option<i32>, Option<i32>)> {
    let mut problems = Vec::new();
    if !input.list_template.is_empty() && !variants.0.contains(&input.list_template) {
        problems.push(format!("主题中没有列表模板“{}”。", input.list_template));
    }
    if !input.article_template.is_empty() && !variants.1.contains(&input.article_template) {
        problems.push(format!("主题中没有文章模板“{}”。", input.article_template));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        problems.push("栏目名称不能为空，且不超过 50 个字符。".to_string());
    }
    let slug = input.slug.trim();
    if slug.is_empty()
        || slug.len() > 40
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        problems.push("栏目路径为 1–40 个小写字母、数字或 -。".into());
    } else if siblings
        .iter()
        .any(|c| c.slug == slug && Some(c.id) != this)
    {
        problems.push(format!("栏目路径“{slug}”已被本站其他栏目使用。"));
    }
    if !COLUMN_TYPES.contains(&input.column_type.as_str()) {
        problems.push("请选择栏目类型。".into());
    }
    too_long(&mut problems, "栏目描述", &input.description, 500);
    too_long(&mut problems, "关键词", &input.keywords, 200);
    let cadence = match input.update_cadence_days.trim() {
        "" => None,
        d => match d.parse::<i32>() {
            Ok(n) if (1..=3650).contains(&n) => Some(n),
            _ => {
                problems.push("更新周期为 1–3650 天，或留空。".into());
                None
            }
        },
    };
    if !(1..=200).contains(&input.page_size) {
        problems.push("每页条数为 1–200。".into());
    }
    let parent = (input.parent_id > 0).then_some(input.parent_id);
    if let Some(p) = parent {
        if !siblings.iter().any(|c| c.id == p) {
            problems.push("上级栏目须属于本站。".into());
        } else if let Some(me) = this {
            // No cycles: walk up from the new parent; we must never meet this column.
            let mut cur = Some(p);
            while let Some(c) = cur {
                if c == me {
                    problems.push("上级栏目不能是本栏目或其下级。".into());
                    break;
                }
                cur = siblings
                    .iter()
                    .find(|x| x.id == c)
                    .and_then(|x| x.parent_id);
            }
        }
    }
    if problems.is_empty() {
        Ok((cadence, parent))
    } else {
        Err(AppError::Invalid(problems.join(" ")))
    }
}

pub async fn create_column(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    input: &ColumnInput,
) -> AppResult<i32> {
    let s = super::content::site(state, actor, site_id).await?;
    if !actor.can_manage_site(s.id) {
        return Err(AppError::Forbidden);
    }
    let existing = super::content::columns(&state.db, s.id).await?;
    let (cadence, parent) = check_column(input, &existing, None, &template_variants(state, &s))?;
    let c = site_column::ActiveModel {
        site_id: Set(s.id),
        parent_id: Set(parent),
        name: Set(input.name.trim().to_string()),
        slug: Set(input.slug.trim().to_string()),
        column_type: Set(input.column_type.clone()),
        description: Set(input.description.trim().to_string()),
        keywords: Set(input.keywords.trim().to_string()),
        update_cadence_days: Set(cadence),
        page_size: Set(input.page_size),
        sort_order: Set(input.sort_order),
        list_template: Set(input.list_template.clone()),
        article_template: Set(input.article_template.clone()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    state
        .audit(
            &Who::actor(actor),
            Entry::new(Event::ColumnCreate, format!("column:{}", c.id))
                .details(serde_json::json!({ "site_id": s.id, "name": c.name })),
        )
        .await?;
    crate::publish::publish_site(state, s.id).await?;
    Ok(c.id)
}

async fn column_for(state: &AppState, actor: &Actor, id: i32) -> AppResult<site_column::Model> {
    let c = site_column::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_view_site(c.site_id) {
        return Err(AppError::NotFound);
    }
    if !actor.can_manage_site(c.site_id) {
        return Err(AppError::Forbidden);
    }
    Ok(c)
}

pub async fn column(state: &AppState, actor: &Actor, id: i32) -> AppResult<site_column::Model> {
    column_for(state, actor, id).await
}

pub async fn update_column(
    state: &AppState,
    actor: &Actor,
    id: i32,
    input: &ColumnInput,
) -> AppResult<()> {
    let c = column_for(state, actor, id).await?;
    let existing = super::content::columns(&state.db, c.site_id).await?;
    let s = site::Entity::find_by_id(c.site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (cadence, parent) =
        check_column(input, &existing, Some(c.id), &template_variants(state, &s))?;
    let site_id = c.site_id;
    let mut a: site_column::ActiveModel = c.into();
    a.parent_id = Set(parent);
    a.name = Set(input.name.trim().to_string());
    a.slug = Set(input.slug.trim().to_string());
    a.column_type = Set(input.column_type.clone());
    a.description = Set(input.description.trim().to_string());
    a.keywords = Set(input.keywords.trim().to_string());
    a.update_cadence_days = Set(cadence);
    a.page_size = Set(input.page_size);
    a.sort_order = Set(input.sort_order);
    a.list_template = Set(input.list_template.clone());
    a.article_template = Set(input.article_template.clone());
    let updated = a.update(&state.db).await?;
    state
        .audit(
            &Who::actor(actor),
            Entry::new(Event::ColumnUpdate, format!("column:{}", updated.id))
                .details(serde_json::json!({ "site_id": site_id, "name": updated.name })),
        )
        .await?;
    crate::publish::publish_site(state, site_id).await?;
    Ok(())
}

/// Deletes an empty column (no items, none in the recycle bin, no sub-columns).
pub async fn delete_column(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    let c = column_for(state, actor, id).await?;
    let items = article::Entity::find()
        .filter(article::Column::ColumnId.eq(c.id))
        .count(&state.db)
        .await?;
    if items > 0 {
        return Err(AppError::Invalid(format!(
            "栏目中还有 {items} 篇稿件（含回收站），请先移走或彻底删除。"
        )));
    }
    let children = site_column::Entity::find()
        .filter(site_column::Column::ParentId.eq(c.id))
        .count(&state.db)
        .await?;
    if children > 0 {
        return Err(AppError::Invalid("请先删除或移走下级栏目。".into()));
    }
    let site_id = c.site_id;
    site_column::Entity::delete_by_id(c.id)
        .exec(&state.db)
        .await?;
    state
        .audit(
            &Who::actor(actor),
            Entry::new(Event::ColumnDelete, format!("column:{}", c.id))
                .details(serde_json::json!({ "site_id": site_id, "name": c.name })),
        )
        .await?;
    crate::publish::publish_site(state, site_id).await?;
    Ok(())
}

// ---- group-wide display (系统管理员) ---------------------------------------------------------

/// Switches the group's mourning mode (every page of every site in grey) and re-renders every
/// site. Returns the number of sites published.
pub async fn set_mourning(state: &AppState, actor: &Actor, on: bool) -> AppResult<usize> {
    if !actor.is_sysadmin() {
        return Err(AppError::Forbidden);
    }
    platform_setting::put(
        &state.db,
        "mourning_mode",
        if on { "on" } else { "off" }.into(),
    )
    .await?;
    tracing::info!(on, by = %actor.user.username, "mourning mode switched");
    state
        .audit(
            &Who::actor(actor),
            Entry::new(Event::Mourning, "platform:mourning")
                .details(serde_json::json!({ "on": on })),
        )
        .await?;
    let sites = site::Entity::find().all(&state.db).await?;
    for s in &sites {
        crate::publish::publish_site(state, s.id).await?;
    }
    Ok(sites.len())
}

// ---- organisations and new sites (系统管理员) ------------------------------------------------

/// Organisation kinds of the tree 主管单位 → 单位 → 下属单位.
pub const ORG_KINDS: &[&str] = &["主管单位", "单位", "下属单位"];

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct NewOrg {
    pub name: String,
    pub kind: String,
    /// 0 for a root.
    #[serde(deserialize_with = "super::form::int")]
    pub parent_id: i32,
}

pub async fn create_org(state: &AppState, actor: &Actor, new: &NewOrg) -> AppResult<i32> {
    if !actor.is_sysadmin() {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push("单位名称不能为空，且不超过 100 个字符。".to_string());
    }
    if !ORG_KINDS.contains(&new.kind.as_str()) {
        problems.push("请选择单位类型。".into());
    }
    let parent = (new.parent_id > 0).then_some(new.parent_id);
    if let Some(p) = parent
        && organization::Entity::find_by_id(p)
            .one(&state.db)
            .await?
            .is_none()
    {
        problems.push("上级单位不存在。".into());
    }
    if organization::Entity::find()
        .filter(organization::Column::Name.eq(name))
        .one(&state.db)
        .await?
        .is_some()
    {
        problems.push(format!("单位“{name}”已存在。"));
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let o = organization::ActiveModel {
        parent_id: Set(parent),
        name: Set(name.to_string()),
        kind: Set(new.kind.clone()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(org = o.id, by = %actor.user.username, "organisation created");
    state
        .audit(
            &Who::actor(actor),
            Entry::new(Event::OrgCreate, format!("org:{}", o.id))
                .details(serde_json::json!({ "name": o.name })),
        )
        .await?;
    Ok(o.id)
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct NewSite {
    #[serde(deserialize_with = "super::form::int")]
    pub org_id: i32,
    pub name: String,
    /// Short ASCII code, unique (used in file names).
    pub code: String,
    pub hostname: String,
}

/// Creates a site in 建设中 status (not served until a unit admin sets it 运行), with its first
/// hostname and one column, and publishes its (empty) pages.
pub async fn create_site(state: &AppState, actor: &Actor, new: &NewSite) -> AppResult<i32> {
    if !actor.is_sysadmin() {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push("网站名称不能为空，且不超过 100 个字符。".to_string());
    }
    let code = new.code.trim();
    if code.is_empty()
        || code.len() > 32
        || !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        problems.push("站点代码为 1–32 个小写字母、数字或 -。".into());
    } else if site::Entity::find()
        .filter(site::Column::Code.eq(code))
        .one(&state.db)
        .await?
        .is_some()
    {
        problems.push(format!("站点代码“{code}”已被使用。"));
    }
    let host = new
        .hostname
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Err(why) = sitegroup_contract::config::check_hostname(&host) {
        problems.push(format!("“{host}”不是有效的域名（{why}）。"));
    } else if state.admin.hosts.contains(&host)
        || site_hostname::Entity::find()
            .filter(site_hostname::Column::Hostname.eq(&host))
            .one(&state.db)
            .await?
            .is_some()
    {
        problems.push(format!("域名“{host}”已被使用。"));
    }
    if organization::Entity::find_by_id(new.org_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        problems.push("请选择所属单位。".into());
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let txn = state.db.begin().await?;
    let s = site::ActiveModel {
        org_id: Set(new.org_id),
        name: Set(name.to_string()),
        code: Set(code.to_string()),
        theme: Set("default".into()),
        status: Set("建设中".into()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    site_hostname::ActiveModel {
        site_id: Set(s.id),
        hostname: Set(host),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    site_column::ActiveModel {
        site_id: Set(s.id),
        parent_id: Set(None),
        name: Set("工作动态".into()),
        slug: Set("gzdt".into()),
        column_type: Set("工作动态".into()),
        description: Set(String::new()),
        sort_order: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::SiteCreate, format!("site:{}", s.id))
                .details(serde_json::json!({ "name": s.name, "code": s.code })),
        )
        .await?;
    txn.commit().await?;
    tracing::info!(site = s.id, by = %actor.user.username, "site created");
    crate::publish::publish_site(state, s.id).await?;
    Ok(s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_origins_are_host_port_pairs() {
        assert_eq!(
            parse_origins("10.0.0.5:8080\n old.example.gov.cn:80，[::1]:8443"),
            Ok("10.0.0.5:8080,old.example.gov.cn:80,[::1]:8443".to_string())
        );
        assert_eq!(
            parse_origins("  "),
            Ok(String::new()),
            "none: a published site"
        );
        assert_eq!(
            parse_origins("10.0.0.5, http://x:80, a..b:80, ::1:80, h:0, h:99999"),
            Err(vec![
                "10.0.0.5".to_string(),
                "http://x:80".to_string(),
                "a..b:80".to_string(),
                "::1:80".to_string(),
                "h:0".to_string(),
                "h:99999".to_string(),
            ])
        );
    }

    fn col(id: i32, slug: &str, parent: Option<i32>) -> site_column::Model {
        site_column::Model {
            id,
            site_id: 1,
            parent_id: parent,
            name: slug.into(),
            slug: slug.into(),
            column_type: "工作动态".into(),
            description: String::new(),
            sort_order: 0,
            keywords: String::new(),
            update_cadence_days: None,
            page_size: 20,
            list_template: String::new(),
            article_template: String::new(),
        }
    }

    fn check_column_t(
        input: &ColumnInput,
        existing: &[site_column::Model],
        this: Option<i32>,
    ) -> AppResult<(Option<i32>, Option<i32>)> {
        check_column(
            input,
            existing,
            this,
            &(vec!["column-gkml.html".into()], vec![]),
        )
    }

    fn input(slug: &str, parent: i32) -> ColumnInput {
        ColumnInput {
            name: "栏目".into(),
            slug: slug.into(),
            column_type: "工作动态".into(),
            page_size: 20,
            parent_id: parent,
            ..Default::default()
        }
    }

    #[test]
    fn columns_are_checked() {
        let existing = [col(1, "news", None), col(2, "local", Some(1))];
        assert!(check_column_t(&input("notice", 0), &existing, None).is_ok());
        assert!(
            check_column_t(&input("news", 0), &existing, None).is_err(),
            "duplicate slug"
        );
        assert!(
            check_column_t(&input("news", 0), &existing, Some(1)).is_ok(),
            "its own slug"
        );
        assert!(check_column_t(&input("Bad Slug", 0), &existing, None).is_err());
        assert!(
            check_column_t(&input("x", 99), &existing, None).is_err(),
            "foreign parent"
        );
        // Column 1 under its own child would make a cycle.
        assert!(check_column_t(&input("news", 2), &existing, Some(1)).is_err());
        let mut good = input("gk", 0);
        good.list_template = "column-gkml.html".into();
        assert!(check_column_t(&good, &existing, None).is_ok());
        good.list_template = "../../etc/passwd".into();
        assert!(
            check_column_t(&good, &existing, None).is_err(),
            "not a theme template"
        );
        let mut bad = input("y", 0);
        bad.column_type = "随便".into();
        bad.update_cadence_days = "abc".into();
        let Err(AppError::Invalid(msg)) = check_column_t(&bad, &existing, None) else {
            panic!("expected invalid");
        };
        assert!(
            msg.contains("栏目类型") && msg.contains("更新周期"),
            "{msg}"
        );
    }
}
