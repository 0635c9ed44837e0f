//! Alerts: what the watchtower found, deduplicated by key, with a recovery notice when the
//! condition ends, and sent through the configured channels (email over SMTP, webhooks in the
//! generic JSON, WeCom and DingTalk robot formats). Deliveries are recorded per channel.

use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use super::Settings;
use crate::db::entities::{alert, alert_delivery, platform_setting, site};
use crate::service::authz::Actor;
use crate::state::{AppState, SharedState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

pub fn severity_label(s: &str) -> &'static str {
    match s {
        "critical" => "严重",
        "warning" => "警告",
        _ => "提示",
    }
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "site_down" => "网站不可访问",
        "tamper" => "网页篡改",
        "attack_ban" => "攻击封禁",
        "cert_expiring" => "证书即将到期",
        "attack_spike" => "攻击激增",
        "veto" => "单项否决",
        "broken_links" => "链接不可用",
        "exposure" => "暴露面",
        "deadline" => "报送期限",
        "dengbao_due" => "等保测评到期",
        _ => "其他",
    }
}

/// An alert to open.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub site_id: Option<i32>,
    pub kind: &'static str,
    /// One open alert per key: raising it again while open only counts.
    pub key: String,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
}

/// Opens an alert, or counts a recurrence of the open one with the same key. Returns the new
/// alert's id when one was opened (its notices are on their way).
pub async fn raise(state: &SharedState, new: NewAlert) -> anyhow::Result<Option<i32>> {
    let now = Utc::now();
    if let Some(open) = open_alert(state, &new.key).await? {
        let occurrences = open.occurrences + 1;
        let mut a = open.into_active_model();
        a.last_seen_at = Set(now);
        a.occurrences = Set(occurrences);
        a.detail = Set(new.detail);
        a.update(&state.db).await?;
        return Ok(None);
    }
    let row = alert::ActiveModel {
        site_id: Set(new.site_id),
        kind: Set(new.kind.to_string()),
        dedup_key: Set(new.key),
        severity: Set(new.severity.as_str().to_string()),
        title: Set(new.title),
        detail: Set(new.detail),
        opened_at: Set(now),
        last_seen_at: Set(now),
        occurrences: Set(1),
        resolved_at: Set(None),
        resolution: Set(String::new()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::warn!(alert = row.id, kind = %row.kind, "{}", row.title);
    // The incident first: whoever the notice reaches finds it already recorded.
    if let Err(e) = crate::service::incidents::on_alert_opened(state, &row).await {
        tracing::error!(alert = row.id, "opening the incident failed: {e:#}");
    }
    notify(state, row.id, Event::Opened);
    Ok(Some(row.id))
}

/// Ends the open alert with this key, if any, and sends the recovery notice.
pub async fn resolve(state: &SharedState, key: &str, resolution: &str) -> anyhow::Result<bool> {
    let Some(open) = open_alert(state, key).await? else {
        return Ok(false);
    };
    let id = open.id;
    let mut a = open.into_active_model();
    a.resolved_at = Set(Some(Utc::now()));
    a.resolution = Set(resolution.to_string());
    let row = a.update(&state.db).await?;
    tracing::info!(alert = id, "alert resolved: {resolution}");
    if let Err(e) = crate::service::incidents::on_alert_resolved(state, &row).await {
        tracing::error!(
            alert = id,
            "writing the recovery into the incident failed: {e:#}"
        );
    }
    notify(state, id, Event::Resolved);
    Ok(true)
}

pub async fn open_alert(
    state: &AppState,
    key: &str,
) -> Result<Option<alert::Model>, sea_orm::DbErr> {
    alert::Entity::find()
        .filter(alert::Column::DedupKey.eq(key))
        .filter(alert::Column::ResolvedAt.is_null())
        .order_by_desc(alert::Column::Id)
        .one(&state.db)
        .await
}

/// Whether this actor sees this alert: the platform's system and security administrators see
/// every alert; a unit's people see those of the sites they have a role on.
pub fn visible_to(actor: &Actor, a: &alert::Model) -> bool {
    if actor.is_sysadmin() || actor.is_secadmin() {
        return true;
    }
    a.site_id
        .is_some_and(|s| actor.grants.iter().any(|g| g.site_id == s))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Opened,
    Resolved,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Event::Opened => "opened",
            Event::Resolved => "resolved",
        }
    }
}

/// Sends the notices in the background; the caller does not wait for mail servers.
fn notify(state: &SharedState, alert_id: i32, event: Event) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = deliver(&state, alert_id, event).await {
            tracing::error!(alert = alert_id, "sending alert notices failed: {e:#}");
        }
    });
}

/// What a notice says, in plain text (email) and Markdown (robots).
struct Notice {
    subject: String,
    text: String,
    markdown: String,
}

fn compose(a: &alert::Model, site_name: &str, event: Event) -> Notice {
    let time = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let head = match event {
        Event::Opened => format!("【{}】{}", severity_label(&a.severity), a.title),
        Event::Resolved => format!("【已恢复】{}", a.title),
    };
    let mut lines = vec![
        format!("类型：{}", kind_label(&a.kind)),
        format!(
            "网站：{}",
            if site_name.is_empty() {
                "全平台"
            } else {
                site_name
            }
        ),
        format!("发现时间：{}", time(a.opened_at)),
    ];
    if let Some(r) = a.resolved_at {
        lines.push(format!("恢复时间：{}", time(r)));
        lines.push(format!("处理结果：{}", a.resolution));
    }
    lines.push(format!("详情：{}", a.detail));
    lines.push(format!("告警编号：{}", a.id));
    Notice {
        subject: format!("[sitegroup] {head}"),
        text: format!("{head}\n\n{}\n", lines.join("\n")),
        markdown: format!(
            "### {head}\n\n{}",
            lines
                .iter()
                .map(|l| format!("> {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

async fn deliver(state: &SharedState, alert_id: i32, event: Event) -> anyhow::Result<()> {
    let settings = super::load(&state.db).await?;
    let Some(a) = alert::Entity::find_by_id(alert_id).one(&state.db).await? else {
        return Ok(());
    };
    let site_name = match a.site_id {
        Some(id) => site::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .map(|s| s.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let notice = compose(&a, &site_name, event);
    let mut results = Vec::new();
    if settings.email.enabled {
        let r = send_email(state, &settings, &notice).await;
        results.push(("email".to_string(), r));
    }
    for hook in &settings.webhooks {
        let body = match hook.format.as_str() {
            "wecom" => json!({ "msgtype": "markdown", "markdown": { "content": notice.markdown } }),
            "dingtalk" => json!({
                "msgtype": "markdown",
                "markdown": { "title": notice.subject, "text": notice.markdown },
            }),
            _ => json!({
                "event": event.as_str(),
                "alert": {
                    "id": a.id,
                    "kind": a.kind,
                    "severity": a.severity,
                    "site_id": a.site_id,
                    "site": site_name,
                    "title": a.title,
                    "detail": a.detail,
                    "opened_at": a.opened_at.to_rfc3339(),
                    "resolved_at": a.resolved_at.map(|t| t.to_rfc3339()),
                    "resolution": a.resolution,
                    "occurrences": a.occurrences,
                },
                "text": notice.text,
            }),
        };
        let r = post_webhook(&hook.url, &body).await;
        results.push((format!("webhook:{}", hook.url), r));
    }
    for (channel, r) in results {
        if let Err(e) = &r {
            tracing::warn!(alert = alert_id, %channel, "alert notice not delivered: {e:#}");
        }
        alert_delivery::ActiveModel {
            alert_id: Set(alert_id),
            channel: Set(channel),
            event: Set(event.as_str().to_string()),
            sent_at: Set(Utc::now()),
            ok: Set(r.is_ok()),
            error: Set(r.err().map(|e| format!("{e:#}")).unwrap_or_default()),
            ..Default::default()
        }
        .insert(&state.db)
        .await?;
    }
    Ok(())
}

async fn send_email(state: &AppState, settings: &Settings, notice: &Notice) -> anyhow::Result<()> {
    let e = &settings.email;
    let mut message = Message::builder()
        .from(e.from.parse()?)
        .subject(notice.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    for to in &e.to {
        message = message.to(to.parse()?);
    }
    let message = message.body(notice.text.clone())?;
    let mut transport = match e.security.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&e.host)?,
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&e.host)?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&e.host),
    }
    .port(e.port)
    .timeout(Some(Duration::from_secs(20)));
    if !e.username.is_empty() {
        transport = transport.credentials(Credentials::new(
            e.username.clone(),
            smtp_password(state).await?,
        ));
    }
    transport.build().send(message).await?;
    Ok(())
}

/// The SMTP password, sealed in `platform_setting`.
pub async fn smtp_password(state: &AppState) -> anyhow::Result<String> {
    let Some(row) = platform_setting::Entity::find_by_id(super::SMTP_PASSWORD_KEY)
        .one(&state.db)
        .await?
    else {
        return Ok(String::new());
    };
    let plain = state
        .secrets
        .get()
        .open(&row.value, super::SMTP_PASSWORD_KEY)
        .map_err(|e| anyhow::anyhow!("the stored SMTP password does not open: {e}"))?;
    Ok(String::from_utf8(plain)?)
}

async fn post_webhook(url: &str, body: &serde_json::Value) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let r = client.post(url).json(body).send().await?;
    anyhow::ensure!(r.status().is_success(), "answered {}", r.status());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_name_the_site_and_the_outcome() {
        let now = Utc::now();
        let mut a = alert::Model {
            id: 7,
            site_id: Some(1),
            kind: "site_down".into(),
            dedup_key: "site_down:1".into(),
            severity: "critical".into(),
            title: "示范网站无法访问".into(),
            detail: "连续 2 次探测失败：502".into(),
            opened_at: now,
            last_seen_at: now,
            occurrences: 2,
            resolved_at: None,
            resolution: String::new(),
        };
        let n = compose(&a, "示范网站", Event::Opened);
        assert_eq!(n.subject, "[sitegroup] 【严重】示范网站无法访问");
        assert!(
            n.text.contains("网站：示范网站") && n.text.contains("502"),
            "{}",
            n.text
        );
        a.resolved_at = Some(now);
        a.resolution = "探测恢复正常".into();
        let n = compose(&a, "示范网站", Event::Resolved);
        assert!(n.subject.contains("【已恢复】"));
        assert!(
            n.markdown.contains("> 处理结果：探测恢复正常"),
            "{}",
            n.markdown
        );
    }
}
