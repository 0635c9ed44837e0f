//! Site administration pages: settings and identity data, columns, and the site's users and
//! their roles. Unit administrators (and the 系统管理员) reach them; the service layer decides.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{CsrfForm, render, user_ctx};
use crate::auth::Session;
use crate::db::entities::{app_user, organization, site};
use crate::error::{AppError, AppResult};
use crate::service::authz::{Actor, UnitRole};
use crate::service::content;
use crate::service::sites::{self, COLUMN_TYPES, ColumnInput, SITE_STATUSES, SiteSettings};
use crate::service::users::{self, NewGrant, NewUser};
use crate::state::SharedState;
use crate::web::session::Authed;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/sites/{id}/settings",
            get(settings_page).post(save_settings),
        )
        .route("/sites/{id}/columns", get(columns_page).post(create_column))
        .route("/columns/{id}", get(column_page).post(update_column))
        .route("/columns/{id}/delete", post(delete_column))
        .route("/sites/{id}/users", get(users_page))
        .route("/sites/{id}/users/new", post(create_user))
        .route("/sites/{id}/grants", post(add_grant))
        .route("/sites/{id}/grants/{grant}/revoke", post(revoke_grant))
}

/// Loads a site the actor may administer: 404 outside their sites, 403 inside without the role.
async fn managed_site(state: &SharedState, actor: &Actor, id: i32) -> AppResult<site::Model> {
    let s = content::site(state, actor, id).await?;
    if actor.can_manage_site(s.id) {
        Ok(s)
    } else {
        Err(AppError::Forbidden)
    }
}

fn invalid(page: Html<String>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

// ---- settings ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    settings: SiteSettings,
}

fn settings_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    site: &site::Model,
    form: &SiteSettings,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    render(
        state,
        "settings.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name.clone() },
            form => Value::from_serialize(form), statuses => SITE_STATUSES,
            can_close => actor.is_sysadmin(),
            themes => state.themes.list().into_iter()
                .map(|(name, label)| context! { name, label }).collect::<Vec<_>>(),
        },
    )
}

async fn settings_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let site = managed_site(&state, &actor, id).await?;
    let notice = q
        .contains_key("saved")
        .then_some("设置已保存，网站已重新发布。");
    settings_view(
        &state,
        &s,
        &actor,
        &site,
        &SiteSettings::of(&site),
        notice,
        None,
    )
}

async fn save_settings(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = managed_site(&state, &actor, id).await?;
    match sites::update_settings(&state, &actor, site.id, &form.settings).await {
        Ok(()) => Ok(Redirect::to(&format!("/sites/{id}/settings?saved=1")).into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(settings_view(
            &state,
            &s,
            &actor,
            &site,
            &form.settings,
            None,
            Some(msg),
        )?)),
        Err(e) => Err(e),
    }
}

// ---- columns -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ColumnForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    column: ColumnInput,
}

#[allow(clippy::too_many_arguments)]
async fn columns_view(
    state: &SharedState,
    s: &Session,
    site: &site::Model,
    editing: Option<i32>,
    form: &ColumnInput,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let columns = content::columns(&state.db, site.id).await?;
    let variants = sites::template_variants(state, site);
    let rows: Vec<Value> = columns
        .iter()
        .map(|c| {
            context! {
                id => c.id, name => c.name.clone(), slug => c.slug.clone(),
                column_type => c.column_type.clone(),
                cadence => c.update_cadence_days,
                parent => c.parent_id.and_then(|p| columns.iter().find(|x| x.id == p)).map(|p| p.name.clone()),
            }
        })
        .collect();
    render(
        state,
        "columns.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name.clone() },
            rows, editing, form => Value::from_serialize(form), types => COLUMN_TYPES,
            list_templates => variants.0, article_templates => variants.1,
            parents => columns.iter().filter(|c| Some(c.id) != editing)
                .map(|c| context! { id => c.id, name => c.name.clone() }).collect::<Vec<_>>(),
        },
    )
}

fn blank_column() -> ColumnInput {
    ColumnInput {
        column_type: "工作动态".into(),
        page_size: 20,
        ..Default::default()
    }
}

async fn columns_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let site = managed_site(&state, &actor, id).await?;
    let notice = q
        .contains_key("saved")
        .then_some("栏目已保存，网站已重新发布。");
    columns_view(&state, &s, &site, None, &blank_column(), notice, None).await
}

async fn create_column(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ColumnForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = managed_site(&state, &actor, id).await?;
    match sites::create_column(&state, &actor, site.id, &form.column).await {
        Ok(_) => Ok(Redirect::to(&format!("/sites/{id}/columns?saved=1")).into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(
            columns_view(&state, &s, &site, None, &form.column, None, Some(msg)).await?,
        )),
        Err(e) => Err(e),
    }
}

async fn column_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
) -> AppResult<Html<String>> {
    let c = sites::column(&state, &actor, id).await?;
    let site = managed_site(&state, &actor, c.site_id).await?;
    columns_view(
        &state,
        &s,
        &site,
        Some(c.id),
        &ColumnInput::of(&c),
        None,
        None,
    )
    .await
}

async fn update_column(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<ColumnForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let c = sites::column(&state, &actor, id).await?;
    let site = managed_site(&state, &actor, c.site_id).await?;
    match sites::update_column(&state, &actor, id, &form.column).await {
        Ok(()) => Ok(Redirect::to(&format!("/sites/{}/columns?saved=1", site.id)).into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(
            columns_view(&state, &s, &site, Some(id), &form.column, None, Some(msg)).await?,
        )),
        Err(e) => Err(e),
    }
}

async fn delete_column(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let c = sites::column(&state, &actor, id).await?;
    let site = managed_site(&state, &actor, c.site_id).await?;
    match sites::delete_column(&state, &actor, id).await {
        Ok(()) => Ok(Redirect::to(&format!("/sites/{}/columns?saved=1", site.id)).into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(
            columns_view(&state, &s, &site, None, &blank_column(), None, Some(msg)).await?,
        )),
        Err(e) => Err(e),
    }
}

// ---- users and roles -----------------------------------------------------------------------

async fn users_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    site: &site::Model,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let grants = users::grants_of_site(state, actor, site.id).await?;
    let columns = content::columns(&state.db, site.id).await?;
    // Accounts of the site's organisation (those a grant may name).
    let people = app_user::Entity::find()
        .filter(app_user::Column::OrgId.eq(site.org_id))
        .order_by_asc(app_user::Column::Id)
        .all(&state.db)
        .await?;
    let granted = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(grants.iter().map(|g| g.user_id)))
        .all(&state.db)
        .await?;
    let name_of = |id: i32| {
        granted
            .iter()
            .find(|u| u.id == id)
            .map(|u| format!("{}（{}）", u.display_name, u.username))
            .unwrap_or_default()
    };
    let rows: Vec<Value> = grants
        .iter()
        .map(|g| {
            let role = UnitRole::parse(&g.role);
            context! {
                id => g.id, user => name_of(g.user_id),
                role => role.map_or("", UnitRole::label),
                level => g.review_level,
                column => g.column_id.and_then(|c| columns.iter().find(|x| x.id == c)).map(|c| c.name.clone()),
                revocable => role != Some(UnitRole::UnitAdmin) || actor.is_sysadmin(),
            }
        })
        .collect();
    let mut roles = vec![UnitRole::Editor, UnitRole::Reviewer];
    if actor.is_sysadmin() {
        roles.insert(0, UnitRole::UnitAdmin);
    }
    render(
        state,
        "users.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            site => context! { id => site.id, name => site.name.clone() },
            rows,
            people => people.iter().map(|u| context! { id => u.id, name => format!("{}（{}）", u.display_name, u.username), disabled => u.disabled }).collect::<Vec<_>>(),
            columns => columns.iter().map(|c| context! { id => c.id, name => c.name.clone() }).collect::<Vec<_>>(),
            roles => roles.iter().map(|r| context! { value => r.as_str(), label => r.label() }).collect::<Vec<_>>(),
        },
    )
}

async fn users_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
) -> AppResult<Html<String>> {
    let site = managed_site(&state, &actor, id).await?;
    users_view(&state, &s, &actor, &site, None, None).await
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
}

async fn create_user(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<NewUserForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = managed_site(&state, &actor, id).await?;
    let new = NewUser {
        username: form.username,
        display_name: form.display_name,
        platform_role: String::new(),
        org_id: Some(site.org_id),
    };
    match users::create_user(&state, &actor, &new).await {
        // The one-time password is shown once, on this page, and never stored in clear.
        Ok(created) => Ok(users_view(
            &state,
            &s,
            &actor,
            &site,
            Some(format!(
                "已创建账号 {}，一次性密码：{}（仅显示一次，请当面或通过安全渠道交给本人；首次登录须修改）。",
                created.username, created.one_time_password
            )),
            None,
        )
        .await?
        .into_response()),
        Err(AppError::Invalid(msg)) => {
            Ok(invalid(users_view(&state, &s, &actor, &site, None, Some(msg)).await?))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    column_id: String,
    #[serde(default)]
    review_level: String,
}

async fn add_grant(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<GrantForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = managed_site(&state, &actor, id).await?;
    let g = NewGrant {
        user_id: form.user_id.parse().unwrap_or(0),
        site_id: site.id,
        column_id: form.column_id.parse().ok().filter(|&c: &i32| c > 0),
        role: form.role,
        review_level: form.review_level.parse().ok(),
    };
    match users::grant(&state, &actor, &g).await {
        Ok(_) => Ok(Redirect::to(&format!("/sites/{id}/users")).into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(
            users_view(&state, &s, &actor, &site, None, Some(msg)).await?,
        )),
        Err(AppError::NotFound) => Ok(invalid(
            users_view(
                &state,
                &s,
                &actor,
                &site,
                None,
                Some("请选择本单位的账号。".into()),
            )
            .await?,
        )),
        Err(e) => Err(e),
    }
}

async fn revoke_grant(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path((id, grant)): Path<(i32, i32)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let site = managed_site(&state, &actor, id).await?;
    let g = users::grants_of_site(&state, &actor, site.id)
        .await?
        .into_iter()
        .find(|g| g.id == grant)
        .ok_or(AppError::NotFound)?;
    users::revoke(&state, &actor, g.id).await?;
    Ok(Redirect::to(&format!("/sites/{id}/users")).into_response())
}

// ---- organisations and sites (系统管理员) ----------------------------------------------------

pub(super) fn platform_router() -> Router<SharedState> {
    Router::new()
        .route("/orgs", get(orgs_page))
        .route("/orgs/new", post(create_org))
        .route("/orgs/sites/new", post(create_site))
        .route("/orgs/mourning", post(set_mourning))
}

async fn orgs_view(
    state: &SharedState,
    s: &Session,
    actor: &Actor,
    org_form: &sites::NewOrg,
    site_form: &sites::NewSite,
    error: Option<String>,
) -> AppResult<Html<String>> {
    if !actor.is_sysadmin() {
        return Err(AppError::Forbidden);
    }
    let orgs = organization::Entity::find()
        .order_by_asc(organization::Column::Id)
        .all(&state.db)
        .await?;
    let all_sites = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?;
    // Depth-first order with indentation: the tree as it reads.
    fn walk(
        orgs: &[organization::Model],
        sites: &[site::Model],
        parent: Option<i32>,
        depth: usize,
        out: &mut Vec<Value>,
    ) {
        for o in orgs.iter().filter(|o| o.parent_id == parent) {
            out.push(context! {
                id => o.id, name => o.name.clone(), kind => o.kind.clone(), depth,
                sites => sites.iter().filter(|s| s.org_id == o.id)
                    .map(|s| context! { id => s.id, name => s.name.clone(), status => s.status.clone() })
                    .collect::<Vec<_>>(),
            });
            walk(orgs, sites, Some(o.id), depth + 1, out);
        }
    }
    let mut tree = Vec::new();
    walk(&orgs, &all_sites, None, 0, &mut tree);
    render(
        state,
        "orgs.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), error, tree,
            kinds => sites::ORG_KINDS,
            org_form => Value::from_serialize(org_form), site_form => Value::from_serialize(site_form),
            mourning => crate::publish::mourning_mode(&state.db).await?,
        },
    )
}

async fn orgs_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
) -> AppResult<Html<String>> {
    orgs_view(
        &state,
        &s,
        &actor,
        &sites::NewOrg::default(),
        &sites::NewSite::default(),
        None,
    )
    .await
}

#[derive(Deserialize)]
struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    org: sites::NewOrg,
}

async fn create_org(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<OrgForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    match sites::create_org(&state, &actor, &form.org).await {
        Ok(_) => Ok(Redirect::to("/orgs").into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(
            orgs_view(
                &state,
                &s,
                &actor,
                &form.org,
                &sites::NewSite::default(),
                Some(msg),
            )
            .await?,
        )),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct SiteForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    site: sites::NewSite,
}

async fn create_site(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<SiteForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    match sites::create_site(&state, &actor, &form.site).await {
        Ok(id) => Ok(Redirect::to(&format!("/sites/{id}/settings")).into_response()),
        Err(AppError::Invalid(msg)) => Ok(invalid(
            orgs_view(
                &state,
                &s,
                &actor,
                &sites::NewOrg::default(),
                &form.site,
                Some(msg),
            )
            .await?,
        )),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct MourningForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

async fn set_mourning(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<MourningForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    sites::set_mourning(&state, &actor, form.on == "1").await?;
    Ok(Redirect::to("/orgs").into_response())
}
