//! Content: articles, single pages and links; their revisions; the review workflow; the
//! recycle bin and schedules. The admin UI and the JSON API both go through these functions,
//! which check the [`Actor`]'s permissions before reading or changing anything.
//!
//! Every save is a new revision (never an update of an old one). The body is cleaned with
//! ammonia once, here, on save. Every workflow step is recorded in `review_action`, in the same
//! database transaction as the state change it records.
//!
//! Listings are in `list`, revisions and diffs in `revisions`, scheduled publication in
//! `schedule`; all are re-exported here.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::authz::Actor;
use super::workflow::{self, Action, Status};
use crate::audit::{Entry, Event, Who};
use crate::db::entities::{article, article_revision, review_action, site, site_column};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What an editor submits: everything of an item that is versioned, plus its column and
/// schedule. Form fields and JSON keys have these names.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ArticleInput {
    #[serde(deserialize_with = "super::form::int")]
    pub column_id: i32,
    /// article / page / link.
    pub kind: String,
    pub title: String,
    pub subtitle: String,
    pub author: String,
    pub source: String,
    pub summary: String,
    /// HTML from the editor (or plain text); cleaned on save.
    pub body: String,
    pub link_url: String,
    pub cover: String,
    /// Shown publication time, `YYYY-MM-DD HH:MM` (Beijing time), optional.
    pub publish_time: String,
    /// Scheduled publication and withdrawal, same format, optional.
    pub publish_at: String,
    pub unpublish_at: String,
    pub index_no: String,
    pub issuer: String,
    pub doc_no: String,
    pub written_date: String,
    pub topic: String,
    /// The editor's note on this revision.
    pub note: String,
    /// Attachments from the site's media library, one per line: the file's address
    /// (`/media/…`), optionally followed by a space and the name to show.
    pub attachments: String,
}

pub const KINDS: &[(&str, &str)] = &[("article", "文章"), ("page", "单页"), ("link", "外部链接")];

/// Parses `YYYY-MM-DD HH:MM` (or with `T`, or a date alone) as Beijing time.
pub fn parse_beijing(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    chrono::FixedOffset::east_opt(8 * 3600)?
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Formats a time as Beijing `YYYY-MM-DD HH:MM` for forms.
pub fn format_beijing(t: DateTime<Utc>) -> String {
    chrono::FixedOffset::east_opt(8 * 3600)
        .map(|tz| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Parses the attachment lines: (path, shown name). Paths must look like media addresses.
pub fn parse_attachments(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (path, name) = match line.split_once(['\t', ' ']) {
            Some((p, n)) => (p.trim(), n.trim()),
            None => (line, ""),
        };
        let ok = path.starts_with("/media/")
            && path.len() <= 200
            && !path.contains("..")
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        if !ok {
            return Err(format!("附件“{line}”不是媒体库中的文件地址（/media/…）。"));
        }
        let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
        out.push((path.to_string(), name));
    }
    if out.len() > 50 {
        return Err("附件最多 50 个。".into());
    }
    Ok(out)
}

/// An input that passed validation.
struct Checked {
    publish_time: Option<DateTime<Utc>>,
    publish_at: Option<DateTime<Utc>>,
    unpublish_at: Option<DateTime<Utc>>,
    attachments: Vec<(String, String)>,
}

/// Checks that every attachment is a file of the site's media library; fills in the names
/// from the library where none was given.
async fn resolve_attachments(
    db: &impl ConnectionTrait,
    site_id: i32,
    list: &mut [(String, String)],
) -> AppResult<()> {
    use crate::db::entities::media;
    let paths: Vec<String> = list.iter().map(|(p, _)| p.clone()).collect();
    let found = media::Entity::find()
        .filter(media::Column::SiteId.eq(site_id))
        .filter(media::Column::Path.is_in(paths))
        .all(db)
        .await?;
    let mut missing = Vec::new();
    for (path, name) in list.iter_mut() {
        match found.iter().find(|m| &m.path == path) {
            Some(m) if name.is_empty() => *name = m.name.clone(),
            Some(_) => {}
            None => missing.push(path.clone()),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "以下附件不在本站媒体库中：{}。",
            missing.join("、")
        )))
    }
}

/// A cover image must be an image of the site's media library (or none).
async fn check_cover(db: &impl ConnectionTrait, site_id: i32, cover: &str) -> AppResult<()> {
    use crate::db::entities::media;
    let cover = cover.trim();
    if cover.is_empty() {
        return Ok(());
    }
    let found = media::Entity::find()
        .filter(media::Column::SiteId.eq(site_id))
        .filter(media::Column::Path.eq(cover))
        .one(db)
        .await?;
    match found {
        Some(m) if m.content_type.starts_with("image/") => Ok(()),
        _ => Err(AppError::Invalid("封面图须为本站媒体库中的图片。".into())),
    }
}

fn attachments_text(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(p, n)| format!("{p}\t{n}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_len(problems: &mut Vec<String>, label: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        problems.push(format!("{label}不能超过 {max} 个字符。"));
    }
}

/// Every problem of an input, in one list (the form shows them all at once).
fn validate(input: &ArticleInput, columns: &[site_column::Model]) -> Result<Checked, AppError> {
    let mut problems = Vec::new();
    let title = input.title.trim();
    if title.is_empty() {
        problems.push("标题不能为空。".to_string());
    }
    check_len(&mut problems, "标题", title, 200);
    check_len(&mut problems, "副标题", &input.subtitle, 200);
    check_len(&mut problems, "作者", &input.author, 100);
    check_len(&mut problems, "来源", &input.source, 100);
    check_len(&mut problems, "摘要", &input.summary, 1000);
    check_len(&mut problems, "索引号", &input.index_no, 100);
    check_len(&mut problems, "发文机关", &input.issuer, 100);
    check_len(&mut problems, "文号", &input.doc_no, 100);
    check_len(&mut problems, "主题分类", &input.topic, 100);
    check_len(&mut problems, "修改说明", &input.note, 500);
    check_len(&mut problems, "封面图", &input.cover, 500);
    if !columns.iter().any(|c| c.id == input.column_id) {
        problems.push("请选择本站点的栏目。".into());
    }
    let kind = if input.kind.is_empty() {
        "article"
    } else {
        input.kind.as_str()
    };
    if !KINDS.iter().any(|(k, _)| *k == kind) {
        problems.push("类型须为文章、单页或外部链接。".into());
    }
    if kind == "link" {
        let url = input.link_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
            problems.push("外部链接须为以 http:// 或 https:// 开头的地址。".into());
        }
    }
    if input.body.len() > 2 * 1024 * 1024 {
        problems.push("正文不能超过 2 MB。".into());
    }
    let mut time = |label: &str, value: &str| -> Option<DateTime<Utc>> {
        if value.trim().is_empty() {
            return None;
        }
        let t = parse_beijing(value);
        if t.is_none() {
            problems.push(format!("{label}格式应为 2026-01-31 09:30。"));
        }
        t
    };
    let publish_time = time("发布时间", &input.publish_time);
    let publish_at = time("定时发布时间", &input.publish_at);
    let unpublish_at = time("定时撤稿时间", &input.unpublish_at);
    if !input.written_date.trim().is_empty()
        && NaiveDate::parse_from_str(input.written_date.trim(), "%Y-%m-%d").is_err()
    {
        problems.push("成文日期格式应为 2026-01-31。".into());
    }
    if let (Some(a), Some(b)) = (publish_at, unpublish_at)
        && b <= a
    {
        problems.push("定时撤稿时间须晚于定时发布时间。".into());
    }
    let attachments = match parse_attachments(&input.attachments) {
        Ok(a) => a,
        Err(m) => {
            problems.push(m);
            Vec::new()
        }
    };
    if problems.is_empty() {
        Ok(Checked {
            publish_time,
            publish_at,
            unpublish_at,
            attachments,
        })
    } else {
        Err(AppError::Invalid(problems.join(" ")))
    }
}

/// The body as stored: HTML input is cleaned by ammonia; plain text becomes paragraphs.
pub fn clean_body(input: &str) -> String {
    let input = input.replace("\r\n", "\n");
    if input.contains('<') {
        ammonia::clean(&input)
    } else {
        input
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                format!(
                    "<p>{}</p>",
                    minijinja::HtmlEscape(p).to_string().replace('\n', "<br>")
                )
            })
            .collect()
    }
}

// ---- lookups -------------------------------------------------------------------------------

/// A site the actor may see, or `NotFound`.
pub async fn site(state: &AppState, actor: &Actor, site_id: i32) -> AppResult<site::Model> {
    if !actor.can_view_site(site_id) {
        return Err(AppError::NotFound);
    }
    site::Entity::find_by_id(site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn columns(
    db: &impl ConnectionTrait,
    site_id: i32,
) -> AppResult<Vec<site_column::Model>> {
    Ok(site_column::Entity::find()
        .filter(site_column::Column::SiteId.eq(site_id))
        .order_by_asc(site_column::Column::SortOrder)
        .order_by_asc(site_column::Column::Id)
        .all(db)
        .await?)
}

/// An item the actor may read (deleted ones included), or `NotFound`.
pub async fn article(state: &AppState, actor: &Actor, id: i32) -> AppResult<article::Model> {
    let a = article::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if actor.can_read(a.site_id, a.column_id) {
        Ok(a)
    } else {
        Err(AppError::NotFound)
    }
}

/// An item with its current revision and history.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: article::Model,
    pub status: Status,
    pub revision: Option<article_revision::Model>,
    pub history: Vec<review_action::Model>,
    pub can_edit: bool,
    /// The actions the actor may take now.
    pub actions: Vec<Action>,
}

pub async fn view(state: &AppState, actor: &Actor, id: i32) -> AppResult<ArticleView> {
    let a = article(state, actor, id).await?;
    let site = site::Entity::find_by_id(a.site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let revision = match a.current_revision_id {
        Some(r) => {
            article_revision::Entity::find_by_id(r)
                .one(&state.db)
                .await?
        }
        None => None,
    };
    let history = review_action::Entity::find()
        .filter(review_action::Column::ArticleId.eq(a.id))
        .order_by_asc(review_action::Column::Id)
        .all(&state.db)
        .await?;
    let status = Status::from_row(&a.status, a.review_level);
    let deleted = a.deleted_at.is_some();
    let actions = if deleted {
        Vec::new()
    } else {
        [
            Action::Submit,
            Action::Approve,
            Action::Return,
            Action::Withdraw,
            Action::Unpublish,
        ]
        .into_iter()
        .filter(|&act| {
            allowed(actor, &a, status, act, site.review_levels)
                && workflow::next(status, act, site.review_levels, a.publish_at, Utc::now()).is_ok()
        })
        .collect()
    };
    Ok(ArticleView {
        can_edit: !deleted && status.editable() && actor.can_edit(a.site_id, a.column_id),
        article: a,
        status,
        revision,
        history,
        actions,
    })
}

/// Whether the actor may take a workflow action on an item in a given state.
fn allowed(actor: &Actor, a: &article::Model, status: Status, action: Action, levels: i32) -> bool {
    match action {
        Action::Submit | Action::Withdraw => actor.can_edit(a.site_id, a.column_id),
        Action::Approve | Action::Return => match status {
            Status::Pending(level) => actor.can_review(a.site_id, a.column_id, level),
            _ => false,
        },
        // Withdrawing a published item is a decision of the last level (or the unit admin).
        Action::Unpublish => actor.can_review(a.site_id, a.column_id, levels.max(1)),
    }
}

mod list;
mod revisions;
mod schedule;

pub use list::*;
pub use revisions::*;
pub use schedule::*;

// ---- changes -------------------------------------------------------------------------------

fn revision_from(
    article_id: i32,
    input: &ArticleInput,
    checked: &Checked,
    actor: &Actor,
    now: DateTime<Utc>,
) -> article_revision::ActiveModel {
    article_revision::ActiveModel {
        article_id: Set(article_id),
        title: Set(input.title.trim().to_string()),
        subtitle: Set(input.subtitle.trim().to_string()),
        author: Set(input.author.trim().to_string()),
        source: Set(input.source.trim().to_string()),
        summary: Set(input.summary.trim().to_string()),
        body: Set(clean_body(&input.body)),
        link_url: Set(input.link_url.trim().to_string()),
        cover: Set(input.cover.trim().to_string()),
        publish_time: Set(checked.publish_time),
        index_no: Set(input.index_no.trim().to_string()),
        issuer: Set(input.issuer.trim().to_string()),
        doc_no: Set(input.doc_no.trim().to_string()),
        written_date: Set(input.written_date.trim().to_string()),
        topic: Set(input.topic.trim().to_string()),
        note: Set(input.note.trim().to_string()),
        attachments: Set(attachments_text(&checked.attachments)),
        created_by: Set(Some(actor.id())),
        created_at: Set(now),
        ..Default::default()
    }
}

/// One entry of an item's review history.
struct Step<'a> {
    article_id: i32,
    revision_id: Option<i32>,
    action: &'a str,
    level: i32,
    comment: &'a str,
}

async fn record(
    state: &AppState,
    db: &impl ConnectionTrait,
    step: Step<'_>,
    actor: &Actor,
) -> AppResult<()> {
    let Step {
        article_id,
        revision_id,
        action,
        level,
        comment,
    } = step;
    state
        .audit_in(
            db,
            &Who::actor(actor),
            Entry::new(content_event(action), format!("article:{article_id}")).details(
                serde_json::json!({ "revision_id": revision_id, "level": level, "comment": comment }),
            ),
        )
        .await?;
    review_action::ActiveModel {
        article_id: Set(article_id),
        revision_id: Set(revision_id),
        action: Set(action.to_string()),
        level: Set(level),
        comment: Set(comment.to_string()),
        actor_id: Set(Some(actor.id())),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The audit event of a review-history action.
pub(super) fn content_event(action: &str) -> Event {
    match action {
        "create" => Event::ContentCreate,
        "submit" => Event::ContentSubmit,
        "approve" => Event::ContentApprove,
        "return" => Event::ContentReturn,
        "withdraw" => Event::ContentWithdraw,
        "publish" => Event::ContentPublish,
        "unpublish" => Event::ContentUnpublish,
        "delete" => Event::ContentDelete,
        "restore" => Event::ContentRestore,
        _ => Event::ContentUpdate,
    }
}

/// Creates an item as a draft. Returns its id.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    input: &ArticleInput,
) -> AppResult<i32> {
    let site = site(state, actor, site_id).await?;
    if !actor.can_edit(site.id, input.column_id) {
        // The column may belong to the site but not to this editor's grants.
        return Err(AppError::Forbidden);
    }
    let columns = columns(&state.db, site.id).await?;
    let mut checked = validate(input, &columns)?;
    crate::monitor::words::enforce(state, input).await?;
    resolve_attachments(&state.db, site.id, &mut checked.attachments).await?;
    check_cover(&state.db, site.id, &input.cover).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let a = article::ActiveModel {
        site_id: Set(site.id),
        column_id: Set(input.column_id),
        kind: Set(if input.kind.is_empty() {
            "article".into()
        } else {
            input.kind.clone()
        }),
        status: Set("draft".into()),
        review_level: Set(0),
        current_revision_id: Set(None),
        published_revision_id: Set(None),
        published_at: Set(None),
        publish_at: Set(checked.publish_at),
        unpublish_at: Set(checked.unpublish_at),
        created_by: Set(Some(actor.id())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let rev = revision_from(a.id, input, &checked, actor, now)
        .insert(&txn)
        .await?;
    let mut active: article::ActiveModel = a.clone().into();
    active.current_revision_id = Set(Some(rev.id));
    active.update(&txn).await?;
    record(
        state,
        &txn,
        Step {
            article_id: a.id,
            revision_id: Some(rev.id),
            action: "create",
            level: 0,
            comment: "",
        },
        actor,
    )
    .await?;
    txn.commit().await?;
    state.search.notify(&[a.id]);
    tracing::info!(article = a.id, user = %actor.user.username, "item created");
    Ok(a.id)
}

/// Saves a new revision of an item (not while it is in review).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i32,
    input: &ArticleInput,
) -> AppResult<()> {
    let a = article(state, actor, id).await?;
    if !actor.can_edit(a.site_id, a.column_id) || !actor.can_edit(a.site_id, input.column_id) {
        return Err(AppError::Forbidden);
    }
    if a.deleted_at.is_some() {
        return Err(AppError::Invalid("该稿件在回收站中，请先恢复。".into()));
    }
    let status = Status::from_row(&a.status, a.review_level);
    if !status.editable() {
        return Err(AppError::Invalid(
            "稿件审核中，不能修改；如需修改请先撤回。".into(),
        ));
    }
    let columns = columns(&state.db, a.site_id).await?;
    let mut checked = validate(input, &columns)?;
    crate::monitor::words::enforce(state, input).await?;
    resolve_attachments(&state.db, a.site_id, &mut checked.attachments).await?;
    check_cover(&state.db, a.site_id, &input.cover).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let rev = revision_from(a.id, input, &checked, actor, now)
        .insert(&txn)
        .await?;
    let mut active: article::ActiveModel = a.clone().into();
    active.column_id = Set(input.column_id);
    if !input.kind.is_empty() {
        active.kind = Set(input.kind.clone());
    }
    active.current_revision_id = Set(Some(rev.id));
    active.publish_at = Set(checked.publish_at);
    active.unpublish_at = Set(checked.unpublish_at);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    record(
        state,
        &txn,
        Step {
            article_id: a.id,
            revision_id: Some(rev.id),
            action: "edit",
            level: 0,
            comment: "",
        },
        actor,
    )
    .await?;
    txn.commit().await?;
    state.search.notify(&[a.id]);
    Ok(())
}

/// Takes a workflow action. Publishing and withdrawal re-render the site before returning.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: i32,
    action: Action,
    comment: &str,
) -> AppResult<Status> {
    let a = article(state, actor, id).await?;
    if a.deleted_at.is_some() {
        return Err(AppError::Invalid("该稿件在回收站中。".into()));
    }
    let site = site::Entity::find_by_id(a.site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = Status::from_row(&a.status, a.review_level);
    if !allowed(actor, &a, status, action, site.review_levels) {
        return Err(AppError::Forbidden);
    }
    let comment = comment.trim();
    if action == Action::Return && comment.is_empty() {
        return Err(AppError::Invalid("退回时请填写意见。".into()));
    }
    if comment.chars().count() > 2000 {
        return Err(AppError::Invalid("意见不能超过 2000 个字符。".into()));
    }
    let now = Utc::now();
    let next = workflow::next(status, action, site.review_levels, a.publish_at, now)
        .map_err(|m| AppError::Invalid(m.into()))?;
    let level = match status {
        Status::Pending(l) => l,
        _ => 0,
    };
    let (row_status, row_level) = next.to_row();
    let txn = state.db.begin().await?;
    let mut active: article::ActiveModel = a.clone().into();
    active.status = Set(row_status.into());
    active.review_level = Set(row_level);
    active.updated_at = Set(now);
    if next == Status::Published {
        active.published_revision_id = Set(a.current_revision_id);
        if a.published_at.is_none() {
            active.published_at = Set(Some(now));
        }
    }
    active.update(&txn).await?;
    record(
        state,
        &txn,
        Step {
            article_id: a.id,
            revision_id: a.current_revision_id,
            action: action.as_str(),
            level,
            comment,
        },
        actor,
    )
    .await?;
    if next == Status::Published {
        record(
            state,
            &txn,
            Step {
                article_id: a.id,
                revision_id: a.current_revision_id,
                action: "publish",
                level,
                comment: "",
            },
            actor,
        )
        .await?;
    }
    txn.commit().await?;
    state.search.notify(&[a.id]);
    tracing::info!(article = a.id, user = %actor.user.username, action = action.as_str(), status = row_status, "workflow step");
    if next == Status::Published || status == Status::Published {
        crate::publish::publish_site(state, a.site_id).await?;
    }
    Ok(next)
}

/// Moves an item to the recycle bin (withdrawing it first when it is published).
pub async fn delete(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    let a = article(state, actor, id).await?;
    if !actor.can_edit(a.site_id, a.column_id) {
        return Err(AppError::Forbidden);
    }
    if a.deleted_at.is_some() {
        return Ok(());
    }
    let was_published = a.status == "published";
    let txn = state.db.begin().await?;
    let mut active: article::ActiveModel = a.clone().into();
    active.deleted_at = Set(Some(Utc::now()));
    if matches!(a.status.as_str(), "published" | "scheduled" | "pending") {
        active.status = Set(if was_published {
            "unpublished"
        } else {
            "draft"
        }
        .into());
        active.review_level = Set(0);
    }
    active.update(&txn).await?;
    record(
        state,
        &txn,
        Step {
            article_id: a.id,
            revision_id: a.current_revision_id,
            action: "delete",
            level: 0,
            comment: "",
        },
        actor,
    )
    .await?;
    txn.commit().await?;
    state.search.notify(&[a.id]);
    if was_published {
        crate::publish::publish_site(state, a.site_id).await?;
    }
    Ok(())
}

/// Brings an item back from the recycle bin (as it was, unpublished).
pub async fn restore(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    let a = article(state, actor, id).await?;
    if !actor.can_edit(a.site_id, a.column_id) {
        return Err(AppError::Forbidden);
    }
    if a.deleted_at.is_none() {
        return Ok(());
    }
    let txn = state.db.begin().await?;
    let mut active: article::ActiveModel = a.clone().into();
    active.deleted_at = Set(None);
    active.update(&txn).await?;
    record(
        state,
        &txn,
        Step {
            article_id: a.id,
            revision_id: a.current_revision_id,
            action: "restore",
            level: 0,
            comment: "",
        },
        actor,
    )
    .await?;
    txn.commit().await?;
    state.search.notify(&[a.id]);
    Ok(())
}

/// Deletes an item from the recycle bin for good (unit administrators only).
pub async fn purge(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    let a = article(state, actor, id).await?;
    if !actor.can_manage_site(a.site_id) {
        return Err(AppError::Forbidden);
    }
    if a.deleted_at.is_none() {
        return Err(AppError::Invalid("只能彻底删除回收站中的稿件。".into()));
    }
    let txn = state.db.begin().await?;
    review_action::Entity::delete_many()
        .filter(review_action::Column::ArticleId.eq(a.id))
        .exec(&txn)
        .await?;
    article_revision::Entity::delete_many()
        .filter(article_revision::Column::ArticleId.eq(a.id))
        .exec(&txn)
        .await?;
    article::Entity::delete_by_id(a.id).exec(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::ContentPurge, format!("article:{}", a.id)),
        )
        .await?;
    txn.commit().await?;
    state.search.notify(&[a.id]);
    tracing::info!(article = a.id, user = %actor.user.username, "item purged");
    Ok(())
}

/// What a bulk action did: items done, and the reason for each item not done.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BulkReport {
    pub done: usize,
    pub failed: Vec<(i32, String)>,
}

/// Applies one action to many items, each with its own permission check; an item that
/// cannot take the action is reported and the others go ahead.
pub async fn bulk(
    state: &AppState,
    actor: &Actor,
    ids: &[i32],
    action: &str,
) -> AppResult<BulkReport> {
    if ids.len() > 200 {
        return Err(AppError::Invalid("一次最多处理 200 条。".into()));
    }
    let mut report = BulkReport::default();
    for &id in ids {
        let r = match action {
            "delete" => delete(state, actor, id).await,
            "restore" => restore(state, actor, id).await,
            "purge" => purge(state, actor, id).await,
            other => match Action::parse(other) {
                Some(a) => act(state, actor, id, a, "").await.map(|_| ()),
                None => return Err(AppError::Invalid("未知的批量操作。".into())),
            },
        };
        match r {
            Ok(()) => report.done += 1,
            Err(AppError::Invalid(m)) => report.failed.push((id, m)),
            Err(AppError::NotFound) => report.failed.push((id, "未找到".into())),
            Err(AppError::Forbidden) => report.failed.push((id, "无权操作".into())),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_sanitised_or_paragraphed() {
        assert_eq!(
            clean_body("第一段\n\n第二段\n第三行"),
            "<p>第一段</p><p>第二段<br>第三行</p>"
        );
        assert_eq!(clean_body("a & b\n\nc"), "<p>a &amp; b</p><p>c</p>");
        let cleaned = clean_body("<p onclick=\"x()\">正文</p><script>alert(1)</script>");
        assert_eq!(cleaned, "<p>正文</p>");
    }

    #[test]
    fn word_paste_keeps_structure_and_drops_the_junk() {
        let word = r#"<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style>p.MsoNormal{mso-style-parent:"";}</style></head>
<body lang=ZH-CN><!--[if gte mso 9]><xml><w:WordDocument></w:WordDocument></xml><![endif]-->
<h2 class=MsoTitle style='mso-outline-level:2'>一、工作目标</h2>
<p class=MsoNormal style='text-indent:2em;mso-char-indent-count:2.0'><b><span style='font-family:黑体'>重点</span></b><span lang=EN-US>2026</span>年完成<o:p></o:p></p>
<table class=MsoTableGrid border=1 style='border-collapse:collapse'><tr><td width=100 style='mso-border-alt:solid'>单位</td><td>数量</td></tr></table>
<ol><li class=MsoListParagraph>第一项</li></ol></body></html>"#;
        let out = clean_body(word);
        for kept in [
            "<h2>一、工作目标</h2>",
            "<b>",
            "重点",
            "2026",
            "<table>",
            "<td>单位</td>",
            "<ol><li>第一项</li></ol>",
        ] {
            assert!(out.contains(kept), "{kept} missing from {out}");
        }
        for junk in [
            "Mso",
            "mso-",
            "style=",
            "class=",
            "o:p",
            "<!--",
            "WordDocument",
            "<style",
        ] {
            assert!(!out.contains(junk), "{junk} left in {out}");
        }
    }

    #[test]
    fn beijing_times_round_trip() {
        let t = parse_beijing("2026-01-31 09:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-31T01:30:00+00:00");
        assert_eq!(format_beijing(t), "2026-01-31 09:30");
        assert!(parse_beijing("2026-01-31T09:30").is_some());
        assert!(parse_beijing("2026-01-31").is_some());
        assert!(parse_beijing("31/01/2026").is_none());
    }

    #[test]
    fn column_ids_come_as_numbers_or_strings() {
        let a: ArticleInput = serde_json::from_str(r#"{"column_id": 3, "title": "x"}"#).unwrap();
        assert_eq!(a.column_id, 3);
        let b: ArticleInput = serde_json::from_str(r#"{"column_id": "4"}"#).unwrap();
        assert_eq!(b.column_id, 4);
        assert!(serde_json::from_str::<ArticleInput>(r#"{"column_id": "x"}"#).is_err());
    }
}
