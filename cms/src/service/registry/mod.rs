//! The site registry (网站登记): every site a unit runs, in the survey form's fields, whether it
//! is in the CMS or not — validated, with its completeness and every change kept. The system
//! administrators see and edit the whole group; a unit's administrators the records of the
//! units they administer; a unit's other people read their units' records.

pub mod compliance;
pub mod consolidation;
pub mod fields;
pub mod io;

use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use crate::audit::{Entry, Event, Who};
use crate::db::entities::{organization, site, site_registry, site_registry_change};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::state::AppState;
pub use fields::{FIELDS, Values};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Form,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Form => "form",
            Source::Import => "import",
        }
    }
}

/// The units whose records this actor may edit: `None` for all.
pub async fn editable_orgs(state: &AppState, actor: &Actor) -> AppResult<Option<BTreeSet<i32>>> {
    super::users::managed_orgs(state, actor).await
}

/// The units whose records this actor may read: `None` for all.
pub async fn readable_orgs(state: &AppState, actor: &Actor) -> AppResult<Option<BTreeSet<i32>>> {
    let Some(mut orgs) = editable_orgs(state, actor).await? else {
        return Ok(None);
    };
    let granted: Vec<i32> = actor.grants.iter().map(|g| g.site_id).collect();
    if !granted.is_empty() {
        for s in site::Entity::find()
            .filter(site::Column::Id.is_in(granted))
            .all(&state.db)
            .await?
        {
            orgs.insert(s.org_id);
        }
    }
    Ok(Some(orgs))
}

pub fn values_of(r: &site_registry::Model) -> Values {
    serde_json::from_str(&r.fields).unwrap_or_default()
}

/// The records this actor may read, by unit and name.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<site_registry::Model>> {
    let orgs = readable_orgs(state, actor).await?;
    Ok(site_registry::Entity::find()
        .order_by_asc(site_registry::Column::OrgId)
        .order_by_asc(site_registry::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|r| orgs.as_ref().is_none_or(|o| o.contains(&r.org_id)))
        .collect())
}

/// One record, if this actor may read it.
pub async fn get(state: &AppState, actor: &Actor, id: i32) -> AppResult<site_registry::Model> {
    let r = site_registry::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let orgs = readable_orgs(state, actor).await?;
    if orgs.is_some_and(|o| !o.contains(&r.org_id)) {
        return Err(AppError::NotFound);
    }
    Ok(r)
}

pub async fn may_edit(state: &AppState, actor: &Actor, org_id: i32) -> AppResult<bool> {
    Ok(editable_orgs(state, actor)
        .await?
        .is_none_or(|o| o.contains(&org_id)))
}

/// A record's history, newest first.
pub async fn history(state: &AppState, id: i32) -> AppResult<Vec<site_registry_change::Model>> {
    Ok(site_registry_change::Entity::find()
        .filter(site_registry_change::Column::RegistryId.eq(id))
        .order_by_desc(site_registry_change::Column::Id)
        .all(&state.db)
        .await?)
}

/// What to save: a new record (`id` none) or new values for one.
#[derive(Debug, Clone)]
pub struct Save {
    pub id: Option<i32>,
    pub org_id: i32,
    /// The CMS site this record describes, if it is one.
    pub site_id: Option<i32>,
    pub values: Values,
}

/// Checks what `save` asks for against the database and this actor, without writing: the
/// normalised values, or every problem (the import reports them per row).
pub async fn check(
    state: &AppState,
    actor: &Actor,
    save: &Save,
) -> AppResult<Result<Values, Vec<String>>> {
    let mut problems = Vec::new();
    if organization::Entity::find_by_id(save.org_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        problems.push("所属单位不存在".to_string());
    } else if !may_edit(state, actor, save.org_id).await? {
        return Err(AppError::Forbidden);
    }
    if let Some(id) = save.id {
        match site_registry::Entity::find_by_id(id).one(&state.db).await? {
            None => problems.push(format!("登记编号 {id} 不存在")),
            Some(r) if !may_edit(state, actor, r.org_id).await? => return Err(AppError::Forbidden),
            Some(_) => {}
        }
    }
    if let Some(site_id) = save.site_id {
        match site::Entity::find_by_id(site_id).one(&state.db).await? {
            None => problems.push(format!("网站 {site_id} 不在平台中")),
            Some(s) if s.org_id != save.org_id => {
                problems.push(format!("网站“{}”不属于所选单位", s.name));
            }
            Some(_) => {}
        }
    }
    let values = match fields::validate(&save.values) {
        Ok(v) => v,
        Err(mut p) => {
            problems.append(&mut p);
            Values::new()
        }
    };
    Ok(if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    })
}

/// Writes a checked record inside `txn`, with its change row and audit record. Returns the
/// record and whether anything changed.
pub async fn write(
    state: &AppState,
    txn: &impl ConnectionTrait,
    actor: &Actor,
    save: &Save,
    values: Values,
    source: Source,
) -> AppResult<(site_registry::Model, bool)> {
    let now = Utc::now();
    let missing = fields::missing(&values);
    let json = serde_json::to_string(&values).map_err(|e| AppError::Internal(e.into()))?;
    let (row, changes) = match save.id {
        Some(id) => {
            let old = site_registry::Entity::find_by_id(id)
                .one(txn)
                .await?
                .ok_or(AppError::NotFound)?;
            let mut changes = fields::diff(&values_of(&old), &values);
            if old.org_id != save.org_id {
                changes.insert(
                    "org_id".into(),
                    (old.org_id.to_string(), save.org_id.to_string()),
                );
            }
            if old.site_id != save.site_id {
                changes.insert(
                    "site_id".into(),
                    (
                        old.site_id.map(|i| i.to_string()).unwrap_or_default(),
                        save.site_id.map(|i| i.to_string()).unwrap_or_default(),
                    ),
                );
            }
            if changes.is_empty() {
                return Ok((old, false));
            }
            let mut a = old.into_active_model();
            a.org_id = Set(save.org_id);
            a.site_id = Set(save.site_id);
            a.fields = Set(json);
            a.complete = Set(missing.is_empty());
            a.updated_at = Set(now);
            (a.update(txn).await?, changes)
        }
        None => {
            let changes = fields::diff(&Values::new(), &values);
            let row = site_registry::ActiveModel {
                org_id: Set(save.org_id),
                site_id: Set(save.site_id),
                fields: Set(json),
                complete: Set(missing.is_empty()),
                decision: Set(String::new()),
                progress: Set(String::new()),
                plan_note: Set(String::new()),
                due_date: Set(String::new()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            (row, changes)
        }
    };
    record_change(txn, row.id, actor, source, &changes).await?;
    state
        .audit_in(
            txn,
            &Who::actor(actor),
            Entry::new(
                if save.id.is_some() {
                    Event::RegistryUpdate
                } else {
                    Event::RegistryCreate
                },
                format!("registry:{}", row.id),
            )
            .details(serde_json::json!({
                "source": source.as_str(),
                "site_name": values.get("site_name"),
                "fields": changes.keys().collect::<Vec<_>>(),
            })),
        )
        .await?;
    Ok((row, true))
}

/// Adds a line to a record's history: each changed field's old and new value.
pub(crate) async fn record_change<K: serde::Serialize + Ord>(
    txn: &impl ConnectionTrait,
    registry_id: i32,
    actor: &Actor,
    source: Source,
    changes: &std::collections::BTreeMap<K, (String, String)>,
) -> AppResult<()> {
    site_registry_change::ActiveModel {
        registry_id: Set(registry_id),
        changed_at: Set(Utc::now()),
        actor_name: Set(actor.user.username.clone()),
        source: Set(source.as_str().to_string()),
        changes: Set(serde_json::to_string(changes).map_err(|e| AppError::Internal(e.into()))?),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Saves one record from the form: checked, then written with its history, in one
/// transaction. The error lists every problem.
pub async fn save(state: &AppState, actor: &Actor, save: &Save) -> AppResult<site_registry::Model> {
    let values = match check(state, actor, save).await? {
        Ok(v) => v,
        Err(p) => return Err(AppError::Invalid(p.join("；"))),
    };
    let txn = state.db.begin().await?;
    let (row, _) = write(state, &txn, actor, save, values, Source::Form).await?;
    txn.commit().await?;
    Ok(row)
}
