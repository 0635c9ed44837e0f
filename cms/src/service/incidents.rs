//! Emergency response (应急处置): security incidents with their timeline. Tamper, outage and
//! attack-spike alerts open one by themselves (and their recovery is written into it); anyone
//! who handles the site can open one by hand. From the incident, one-click emergency actions —
//! maintenance notice, read-only, back to normal, roll back to the last publication before the
//! incident, publish the site again from the database (every page re-rendered, changed files
//! replaced), refuse an address — take effect at every
//! gateway with its next configuration pull (within 5 s) and are written into the timeline.
//! Closing asks for a post-mortem.
//!
//! Who: the 系统管理员 and the 安全管理员 for every incident; a unit's administrators for their
//! sites' incidents. The 审计管理员 reads the audit trail, where every action is recorded too.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use crate::audit::{Entry, Event, Who};
use crate::db::entities::{alert, incident, incident_event, site};
use crate::error::{AppError, AppResult};
use crate::service::authz::Actor;
use crate::state::{AppState, SharedState};

pub const SEVERITIES: &[(&str, &str)] = &[
    ("general", "一般"),
    ("major", "较大"),
    ("serious", "重大"),
    ("critical", "特别重大"),
];

pub const STATUSES: &[(&str, &str)] = &[
    ("open", "处置中"),
    ("contained", "已控制"),
    ("closed", "已结案"),
];

/// Alert kinds that open an incident by themselves.
pub const FROM_ALERTS: &[&str] = &["tamper", "site_down", "attack_spike"];

pub fn label(table: &[(&'static str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, l)| l)
}

/// Emergency actions offered on an incident's page.
pub const ACTIONS: &[(&str, &str)] = &[
    ("maintenance", "切换为维护公告"),
    ("read_only", "切换为只读（仅允许浏览）"),
    ("normal", "恢复正常服务"),
    ("rollback", "回滚到事件发生前的最后一次发布"),
    ("republish", "从数据库重新发布全站（替换被改动的文件）"),
    ("ban", "封禁地址"),
];

pub fn may_handle(actor: &Actor, site_id: Option<i32>) -> bool {
    actor.is_sysadmin() || actor.is_secadmin() || site_id.is_some_and(|s| actor.can_manage_site(s))
}

pub fn may_read(actor: &Actor, site_id: Option<i32>) -> bool {
    may_handle(actor, site_id) || site_id.is_some_and(|s| actor.can_view_site(s))
}

async fn add_event(
    db: &impl sea_orm::ConnectionTrait,
    incident_id: i32,
    who: &str,
    kind: &str,
    text: &str,
) -> Result<(), sea_orm::DbErr> {
    incident_event::ActiveModel {
        incident_id: Set(incident_id),
        at: Set(Utc::now()),
        actor_name: Set(who.to_string()),
        kind: Set(kind.to_string()),
        text: Set(text.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Called when an alert opens: a tamper, outage or attack-spike alert opens an incident (one
/// per alert), its first timeline line the alert itself.
pub async fn on_alert_opened(state: &SharedState, a: &alert::Model) -> anyhow::Result<()> {
    if !FROM_ALERTS.contains(&a.kind.as_str()) {
        return Ok(());
    }
    let severity = if a.severity == "critical" {
        "major"
    } else {
        "general"
    };
    let txn = state.db.begin().await?;
    let row = incident::ActiveModel {
        site_id: Set(a.site_id),
        title: Set(a.title.clone()),
        severity: Set(severity.into()),
        status: Set("open".into()),
        alert_id: Set(Some(a.id)),
        opened_at: Set(a.opened_at),
        opened_by: Set("system".into()),
        closed_at: Set(None),
        postmortem: Set(String::new()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    add_event(
        &txn,
        row.id,
        "system",
        "alert",
        &format!("告警：{}。{}", a.title, a.detail),
    )
    .await?;
    state
        .audit_in(
            &txn,
            &Who::system(),
            Entry::new(Event::IncidentOpen, format!("incident:{}", row.id))
                .details(serde_json::json!({ "alert": a.id, "title": a.title })),
        )
        .await?;
    txn.commit().await?;
    tracing::warn!(
        incident = row.id,
        alert = a.id,
        "incident opened from an alert"
    );
    Ok(())
}

/// Called when an alert is resolved: its recovery goes into the incidents opened from it.
pub async fn on_alert_resolved(state: &SharedState, a: &alert::Model) -> anyhow::Result<()> {
    for i in incident::Entity::find()
        .filter(incident::Column::AlertId.eq(a.id))
        .all(&state.db)
        .await?
    {
        add_event(
            &state.db,
            i.id,
            "system",
            "alert",
            &format!("告警恢复：{}", a.resolution),
        )
        .await?;
    }
    Ok(())
}

/// The incidents this actor may read, newest first.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<incident::Model>> {
    Ok(incident::Entity::find()
        .order_by_desc(incident::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|i| may_read(actor, i.site_id))
        .collect())
}

pub async fn get(
    state: &AppState,
    actor: &Actor,
    id: i32,
) -> AppResult<(incident::Model, Vec<incident_event::Model>)> {
    let i = incident::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_read(actor, i.site_id) {
        return Err(AppError::NotFound);
    }
    let events = incident_event::Entity::find()
        .filter(incident_event::Column::IncidentId.eq(id))
        .order_by_asc(incident_event::Column::Id)
        .all(&state.db)
        .await?;
    Ok((i, events))
}

async fn handled(state: &AppState, actor: &Actor, id: i32) -> AppResult<incident::Model> {
    let (i, _) = get(state, actor, id).await?;
    if !may_handle(actor, i.site_id) {
        return Err(AppError::Forbidden);
    }
    Ok(i)
}

/// Opens an incident by hand.
pub async fn open(
    state: &AppState,
    actor: &Actor,
    site_id: Option<i32>,
    title: &str,
    severity: &str,
    description: &str,
) -> AppResult<i32> {
    if !may_handle(actor, site_id) {
        return Err(AppError::Forbidden);
    }
    let title = title.trim();
    let mut problems = Vec::new();
    if title.is_empty() || title.chars().count() > 200 {
        problems.push("事件名称须为 1 到 200 个字。");
    }
    if !SEVERITIES.iter().any(|(c, _)| *c == severity) {
        problems.push("请选择事件级别。");
    }
    if let Some(s) = site_id
        && site::Entity::find_by_id(s).one(&state.db).await?.is_none()
    {
        problems.push("网站不存在。");
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let txn = state.db.begin().await?;
    let row = incident::ActiveModel {
        site_id: Set(site_id),
        title: Set(title.to_string()),
        severity: Set(severity.to_string()),
        status: Set("open".into()),
        alert_id: Set(None),
        opened_at: Set(Utc::now()),
        opened_by: Set(actor.user.username.clone()),
        closed_at: Set(None),
        postmortem: Set(String::new()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let text = if description.trim().is_empty() {
        "登记事件".to_string()
    } else {
        format!("登记事件：{}", description.trim())
    };
    add_event(&txn, row.id, &actor.user.username, "note", &text).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::IncidentOpen, format!("incident:{}", row.id)).details(
                serde_json::json!({ "title": title, "site_id": site_id, "severity": severity }),
            ),
        )
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Writes a note into the timeline, and optionally changes the status (not to closed: that is
/// [`close`], with its post-mortem).
pub async fn note(
    state: &AppState,
    actor: &Actor,
    id: i32,
    text: &str,
    status: Option<&str>,
) -> AppResult<()> {
    let i = handled(state, actor, id).await?;
    if i.status == "closed" {
        return Err(AppError::Invalid("事件已结案。".into()));
    }
    let text = text.trim();
    if let Some(s) = status
        && !["open", "contained"].contains(&s)
    {
        return Err(AppError::Invalid("状态无效。".into()));
    }
    if text.is_empty() && status.is_none_or(|s| s == i.status) {
        return Err(AppError::Invalid("请填写处置情况。".into()));
    }
    let txn = state.db.begin().await?;
    if !text.is_empty() {
        add_event(&txn, id, &actor.user.username, "note", text).await?;
    }
    if let Some(s) = status.filter(|s| *s != i.status) {
        add_event(
            &txn,
            id,
            &actor.user.username,
            "status",
            &format!(
                "状态：{} → {}",
                label(STATUSES, &i.status),
                label(STATUSES, s)
            ),
        )
        .await?;
        let mut a = i.into_active_model();
        a.status = Set(s.to_string());
        a.update(&txn).await?;
    }
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::IncidentNote, format!("incident:{id}"))
                .details(serde_json::json!({ "status": status, "note": text })),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Puts a site into an emergency status at every gateway (through the snapshot).
async fn set_site_status(state: &AppState, site_id: i32, status: &str) -> AppResult<String> {
    let s = site::Entity::find_by_id(site_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.status == "已关停" || s.status == "建设中" {
        return Err(AppError::Invalid(format!(
            "网站状态为“{}”，不适用此操作。",
            s.status
        )));
    }
    let before = s.status.clone();
    let txn = state.db.begin().await?;
    let mut a = s.into_active_model();
    a.status = Set(status.to_string());
    a.update(&txn).await?;
    crate::snapshot::bump_generation(&txn).await?;
    txn.commit().await?;
    Ok(before)
}

/// Takes an emergency action from an incident; what was done goes into the timeline.
pub async fn act(
    state: &SharedState,
    actor: &Actor,
    id: i32,
    action: &str,
    address: &str,
    hours: &str,
) -> AppResult<String> {
    let i = handled(state, actor, id).await?;
    if i.status == "closed" {
        return Err(AppError::Invalid("事件已结案。".into()));
    }
    let need_site = || {
        i.site_id
            .ok_or_else(|| AppError::Invalid("该事件未关联网站，不适用此操作。".into()))
    };
    let done = match action {
        "maintenance" | "read_only" | "normal" => {
            let site_id = need_site()?;
            let to = match action {
                "maintenance" => "维护",
                "read_only" => "只读",
                _ => "运行",
            };
            let before = set_site_status(state, site_id, to).await?;
            format!("网站状态：{before} → {to}（各网关 5 秒内生效）")
        }
        "rollback" => {
            let site_id = need_site()?;
            let p = crate::publish::roll_back(state, site_id, i.opened_at).await?;
            format!(
                "回滚到 {} 的发布（{} 个文件，各网关 5 秒内生效）；内容库未改动，修正或撤下有问题的内容前请勿重新发布",
                crate::publish::beijing(p.published_at).format("%Y-%m-%d %H:%M:%S"),
                p.files
            )
        }
        "republish" => {
            let site_id = need_site()?;
            let report = crate::publish::publish_site(state, site_id).await?;
            format!(
                "从数据库重新发布全站：重新生成 {} 个页面，被改动的文件已被替换",
                report.pages
            )
        }
        "ban" => {
            let address = address.trim();
            let ip: std::net::IpAddr = address
                .parse()
                .map_err(|_| AppError::Invalid(format!("“{address}”不是有效的 IP 地址。")))?;
            let hours: i64 = match hours.trim() {
                "" => 24,
                h => h
                    .parse()
                    .ok()
                    .filter(|h| (1..=720).contains(h))
                    .ok_or_else(|| AppError::Invalid("封禁时长须为 1 到 720 小时。".into()))?,
            };
            crate::monitor::bans::ban(
                state,
                &ip.to_string(),
                &format!("应急处置：事件 {id}"),
                Utc::now() + Duration::hours(hours),
                &Who::actor(actor),
                &actor.user.username,
            )
            .await
            .map_err(AppError::Internal)?;
            format!("封禁地址 {ip}，{hours} 小时（各网关 5 秒内生效）")
        }
        _ => return Err(AppError::NotFound),
    };
    let txn = state.db.begin().await?;
    add_event(&txn, id, &actor.user.username, "action", &done).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::IncidentAction, format!("incident:{id}"))
                .details(serde_json::json!({ "action": action, "done": done })),
        )
        .await?;
    txn.commit().await?;
    Ok(done)
}

/// Closes an incident with its post-mortem.
pub async fn close(state: &AppState, actor: &Actor, id: i32, postmortem: &str) -> AppResult<()> {
    let i = handled(state, actor, id).await?;
    if i.status == "closed" {
        return Err(AppError::Invalid("事件已结案。".into()));
    }
    let pm = postmortem.trim();
    if pm.chars().count() < 10 {
        return Err(AppError::Invalid(
            "结案须填写事件总结（原因、影响、处置和改进措施，至少 10 个字）。".into(),
        ));
    }
    let txn = state.db.begin().await?;
    add_event(&txn, id, &actor.user.username, "status", "结案").await?;
    let mut a = i.into_active_model();
    a.status = Set("closed".into());
    a.closed_at = Set(Some(Utc::now()));
    a.postmortem = Set(pm.to_string());
    a.update(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::IncidentClose, format!("incident:{id}")),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

// ---- emergency plans and drills ---------------------------------------------------------------

/// The plans and drills this actor may read: (plans, drills), group ones first.
pub async fn plans_and_drills(
    state: &AppState,
    actor: &Actor,
) -> AppResult<(
    Vec<crate::db::entities::emergency_plan::Model>,
    Vec<crate::db::entities::drill::Model>,
)> {
    use crate::db::entities::{drill, emergency_plan};
    let plans = emergency_plan::Entity::find()
        .order_by_asc(emergency_plan::Column::SiteId)
        .order_by_asc(emergency_plan::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|p| p.site_id.is_none() || may_read(actor, p.site_id))
        .collect();
    let drills = drill::Entity::find()
        .order_by_desc(drill::Column::HeldOn)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|d| d.site_id.is_none() || may_read(actor, d.site_id))
        .collect();
    Ok((plans, drills))
}

fn required(problems: &mut Vec<String>, label: &str, v: &str, max: usize) {
    let n = v.trim().chars().count();
    if n == 0 {
        problems.push(format!("请填写{label}。"));
    } else if n > max {
        problems.push(format!("{label}过长（最多 {max} 字）。"));
    }
}

/// Adds a plan (id none) or changes one; the site's handlers (the group's: the platform
/// administrators).
#[allow(clippy::too_many_arguments)]
pub async fn save_plan(
    state: &AppState,
    actor: &Actor,
    id: Option<i32>,
    site_id: Option<i32>,
    title: &str,
    contacts: &str,
    steps: &str,
    documents: &str,
) -> AppResult<i32> {
    use crate::db::entities::emergency_plan;
    if !may_handle(actor, site_id) {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    required(&mut problems, "预案名称", title, 200);
    required(&mut problems, "联系人", contacts, 5000);
    required(&mut problems, "处置步骤", steps, 20000);
    if documents.chars().count() > 5000 {
        problems.push("相关文件过长（最多 5000 字）。".into());
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let txn = state.db.begin().await?;
    let now = Utc::now();
    let row = match id {
        Some(id) => {
            let p = emergency_plan::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            if !may_handle(actor, p.site_id) {
                return Err(AppError::Forbidden);
            }
            let mut a = p.into_active_model();
            a.site_id = Set(site_id);
            a.title = Set(title.trim().to_string());
            a.contacts = Set(contacts.trim().to_string());
            a.steps = Set(steps.trim().to_string());
            a.documents = Set(documents.trim().to_string());
            a.updated_at = Set(now);
            a.updated_by = Set(actor.user.username.clone());
            a.update(&txn).await?
        }
        None => {
            emergency_plan::ActiveModel {
                site_id: Set(site_id),
                title: Set(title.trim().to_string()),
                contacts: Set(contacts.trim().to_string()),
                steps: Set(steps.trim().to_string()),
                documents: Set(documents.trim().to_string()),
                updated_at: Set(now),
                updated_by: Set(actor.user.username.clone()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::PlanSave, format!("plan:{}", row.id))
                .details(serde_json::json!({ "site_id": site_id, "title": title.trim() })),
        )
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Records a drill held.
#[allow(clippy::too_many_arguments)]
pub async fn record_drill(
    state: &AppState,
    actor: &Actor,
    site_id: Option<i32>,
    held_on: &str,
    scenario: &str,
    participants: &str,
    findings: &str,
    follow_ups: &str,
) -> AppResult<i32> {
    use crate::db::entities::drill;
    if !may_handle(actor, site_id) {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    let held = match crate::service::registry::fields::parse_date(held_on) {
        Some(d)
            if d <= crate::publish::beijing(Utc::now())
                .format("%Y-%m-%d")
                .to_string() =>
        {
            d
        }
        Some(d) => {
            problems.push(format!(
                "演练日期（{d}）不能晚于今天：尚未举行的演练不能记录。"
            ));
            String::new()
        }
        None => {
            problems.push(format!("演练日期“{held_on}”不是有效的日期。"));
            String::new()
        }
    };
    required(&mut problems, "演练场景", scenario, 2000);
    required(&mut problems, "参加人员", participants, 2000);
    if findings.chars().count() > 5000 || follow_ups.chars().count() > 5000 {
        problems.push("发现的问题或整改措施过长（最多 5000 字）。".into());
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems.join(" ")));
    }
    let txn = state.db.begin().await?;
    let row = drill::ActiveModel {
        site_id: Set(site_id),
        held_on: Set(held.clone()),
        scenario: Set(scenario.trim().to_string()),
        participants: Set(participants.trim().to_string()),
        findings: Set(findings.trim().to_string()),
        follow_ups: Set(follow_ups.trim().to_string()),
        recorded_by: Set(actor.user.username.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    state
        .audit_in(
            &txn,
            &Who::actor(actor),
            Entry::new(Event::DrillRecord, format!("drill:{}", row.id))
                .details(serde_json::json!({ "site_id": site_id, "held_on": held })),
        )
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// The incident report as XLSX: the record, then the timeline.
pub fn report_xlsx(
    i: &incident::Model,
    site_name: &str,
    events: &[incident_event::Model],
) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let t = |d: chrono::DateTime<Utc>| {
        crate::publish::beijing(d)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let sheet = book.add_worksheet();
    sheet.set_name("事件报告")?;
    sheet.set_column_width(0, 14)?;
    sheet.set_column_width(1, 80)?;
    sheet.write_string_with_format(0, 0, "网络安全事件报告", &bold)?;
    let rows = [
        ("事件编号", i.id.to_string()),
        ("事件名称", i.title.clone()),
        ("涉及网站", site_name.to_string()),
        ("事件级别", label(SEVERITIES, &i.severity).to_string()),
        ("处置状态", label(STATUSES, &i.status).to_string()),
        ("发现时间", t(i.opened_at)),
        (
            "发现方式",
            if i.alert_id.is_some() {
                "平台监测告警自动发现".to_string()
            } else {
                format!("人工登记（{}）", i.opened_by)
            },
        ),
        ("结案时间", i.closed_at.map(t).unwrap_or_else(|| "—".into())),
        ("事件总结", i.postmortem.clone()),
    ];
    for (n, (k, v)) in rows.iter().enumerate() {
        let r = 2 + n as u32;
        sheet.write_string_with_format(r, 0, *k, &bold)?;
        sheet.write_string_with_format(r, 1, v, &wrap)?;
    }
    let tl = book.add_worksheet();
    tl.set_name("事件经过")?;
    tl.set_column_width(0, 20)?;
    tl.set_column_width(3, 80)?;
    for (c, h) in ["时间", "类型", "人员", "内容"].iter().enumerate() {
        tl.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (n, e) in events.iter().enumerate() {
        let r = 1 + n as u32;
        tl.write_string(r, 0, t(e.at))?;
        tl.write_string(
            r,
            1,
            match e.kind.as_str() {
                "alert" => "告警",
                "action" => "处置操作",
                "status" => "状态",
                _ => "记录",
            },
        )?;
        tl.write_string(
            r,
            2,
            if e.actor_name == "system" {
                "系统"
            } else {
                &e.actor_name
            },
        )?;
        tl.write_string_with_format(r, 3, &e.text, &wrap)?;
    }
    Ok(book.save_to_buffer()?)
}
