//! Unified detection (统一检测): the control plane's watchtower over every site of the group.
//!
//! Background loops, each reading [`Settings`] afresh per round (a saved change wakes them
//! through `AppState::monitor_wake`):
//! - [`probe`]: availability, every site through the gateway and straight at legacy origins;
//!   a site whose last `down_after_failures` gateway probes failed is down (alert), and up
//!   again at the first success (recovery notice);
//! - [`tamper`]: every file named by a publish manifest verified against its hash in the store;
//!   a changed or missing one is moved aside, the site re-rendered, the file checked again;
//! - [`baseline`]: chosen pages of legacy sites compared with their baselines (ignore-regions
//!   left out), an alert when the change reaches the page's threshold;
//! - [`bans`]: addresses the WAF keeps blocking are refused at every gateway for a while;
//! - [`links`]: a polite crawl of every site, broken links with their page and anchor text;
//! - [`exposure`]: security headers visitors get, what legacy origins give away, expiring
//!   certificates;
//! - [`health`]: each site's score the inspection's way (veto items, then deductions, with
//!   [`freshness`] judging homepage and column updates), stored daily for the trend;
//! - [`logs`]: the central log search, and the daily retention of access lines, security
//!   events and probe rows;
//! - [`words`]: the wrong-and-sensitive word list, checked when content is saved and over
//!   every page the link crawl reads;
//! - [`siem`]: the security events (and access lines, when chosen) forwarded to the SIEM as
//!   RFC 5424 syslog or JSON lines.
//!
//! [`dashboard`] aggregates for the security team's page (no loop of its own).
//!
//! Everything found becomes an [`alerts`] row, deduplicated by key, and is sent through the
//! channels the security team configured (email, webhooks) and shown in the admin.

pub mod alerts;
pub mod bans;
pub mod baseline;
pub mod dashboard;
pub mod exposure;
pub mod freshness;
pub mod health;
pub mod links;
pub mod logs;
pub mod probe;
pub mod siem;
pub mod tamper;
pub mod words;

use std::time::Duration;

use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};

use crate::db::entities::platform_setting;
use crate::state::SharedState;

/// `platform_setting` key of [`Settings`] (JSON).
pub const SETTING_KEY: &str = "monitor";
/// `platform_setting` key of the SMTP password (sealed).
pub const SMTP_PASSWORD_KEY: &str = "monitor:smtp-password";

/// What the security team sets for detection. Missing fields take their defaults, so a
/// setting saved by an older version still loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Availability probe interval (the inspection probes at least 20 times a day).
    pub probe_interval_secs: u64,
    /// A probe fails when the page is not there within this (the inspection's 15 s).
    pub probe_timeout_secs: u64,
    /// Consecutive failed probes through the gateway before a site is reported down.
    pub down_after_failures: u32,
    /// Where to probe the gateway, e.g. `http://127.0.0.1:80`; empty: the gateway of this
    /// process (`serve`), or nothing to probe through (`cms` without one).
    pub probe_via: String,
    /// Full verification of the published files.
    pub tamper_interval_secs: u64,
    /// The link checker's crawl of every site.
    pub link_interval_secs: u64,
    /// Pages read per site and crawl.
    pub link_max_pages: usize,
    /// Access lines and security events are kept this long (at least 180 days).
    pub log_retention_days: u32,
    /// An address with at least this many blocked attacks within `ban_window_secs` …
    pub ban_threshold: u32,
    pub ban_window_secs: u64,
    /// … is refused at every gateway for this long (0: automatic bans off).
    pub ban_secs: u64,
    pub email: EmailChannel,
    pub webhooks: Vec<Webhook>,
    /// Word categories whose words stop an article from being saved (the others warn).
    pub word_block_categories: Vec<String>,
    /// SIEM receivers the security events are forwarded to (see [`siem::Target::parse`]).
    pub siem_targets: Vec<String>,
    /// Forward the access lines too (not only the security events).
    pub siem_access: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            probe_interval_secs: 300,
            probe_timeout_secs: 15,
            down_after_failures: 2,
            probe_via: String::new(),
            tamper_interval_secs: 600,
            link_interval_secs: 86_400,
            link_max_pages: 500,
            log_retention_days: 180,
            ban_threshold: 20,
            ban_window_secs: 300,
            ban_secs: 3600,
            email: EmailChannel::default(),
            webhooks: Vec::new(),
            word_block_categories: vec!["secret".into()],
            siem_targets: Vec::new(),
            siem_access: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailChannel {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    pub username: String,
    pub from: String,
    pub to: Vec<String>,
}

impl Default for EmailChannel {
    fn default() -> Self {
        EmailChannel {
            enabled: false,
            host: String::new(),
            port: 25,
            security: "starttls".into(),
            username: String::new(),
            from: String::new(),
            to: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    /// `json` (generic), `wecom` (企业微信群机器人) or `dingtalk` (钉钉群机器人).
    pub format: String,
}

pub const WEBHOOK_FORMATS: &[(&str, &str)] = &[
    ("json", "通用 JSON"),
    ("wecom", "企业微信机器人"),
    ("dingtalk", "钉钉机器人"),
];

impl Settings {
    /// Every problem with these settings, in words for the form.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.probe_interval_secs == 0 || self.probe_interval_secs > 86_400 {
            p.push("探测间隔须在 1 秒到 1 天之间。".to_string());
        }
        if !(1..=120).contains(&self.probe_timeout_secs) {
            p.push("探测超时须在 1 到 120 秒之间。".to_string());
        }
        if !(1..=100).contains(&self.down_after_failures) {
            p.push("判定不可用的连续失败次数须在 1 到 100 之间。".to_string());
        }
        if !self.probe_via.is_empty() && probe::parse_via(&self.probe_via).is_none() {
            p.push("网关探测地址须形如 http://127.0.0.1:80 或 https://10.0.0.5:443。".to_string());
        }
        if self.tamper_interval_secs == 0 || self.tamper_interval_secs > 7 * 86_400 {
            p.push("防篡改校验间隔须在 1 秒到 7 天之间。".to_string());
        }
        if self.link_interval_secs < 60 || self.link_interval_secs > 30 * 86_400 {
            p.push("链接检查间隔须在 60 秒到 30 天之间。".to_string());
        }
        if !(1..=100_000).contains(&self.link_max_pages) {
            p.push("每站检查页面数须在 1 到 100000 之间。".to_string());
        }
        if !(180..=3650).contains(&self.log_retention_days) {
            p.push("日志保存天数须在 180 到 3650 天之间。".to_string());
        }
        if self.ban_secs > 0 && (self.ban_threshold == 0 || self.ban_window_secs == 0) {
            p.push("自动封禁的次数阈值和统计窗口须大于 0。".to_string());
        }
        if self.ban_secs > 30 * 86_400 {
            p.push("封禁时长不能超过 30 天。".to_string());
        }
        let e = &self.email;
        if e.enabled {
            if e.host.trim().is_empty() {
                p.push("邮件通知：请填写 SMTP 服务器。".to_string());
            }
            if !["none", "starttls", "tls"].contains(&e.security.as_str()) {
                p.push("邮件通知：加密方式须为 none、starttls 或 tls。".to_string());
            }
            if e.from.parse::<lettre::message::Mailbox>().is_err() {
                p.push(format!("邮件通知：发件人地址“{}”无效。", e.from));
            }
            if e.to.is_empty() {
                p.push("邮件通知：请至少填写一个收件人。".to_string());
            }
            for to in &e.to {
                if to.parse::<lettre::message::Mailbox>().is_err() {
                    p.push(format!("邮件通知：收件人地址“{to}”无效。"));
                }
            }
        }
        for w in &self.webhooks {
            match reqwest::Url::parse(&w.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => p.push(format!("Webhook 地址“{}”须为 http(s) 网址。", w.url)),
            }
            if !WEBHOOK_FORMATS.iter().any(|(f, _)| *f == w.format) {
                p.push(format!("Webhook 格式“{}”未知。", w.format));
            }
        }
        for t in &self.siem_targets {
            if let Err(e) = siem::Target::parse(t) {
                p.push(e);
            }
        }
        for c in &self.word_block_categories {
            if !words::CATEGORIES.iter().any(|(code, _)| code == c) {
                p.push(format!("错敏词类别“{c}”未知。"));
            }
        }
        p
    }
}

pub async fn load(db: &impl ConnectionTrait) -> Result<Settings, sea_orm::DbErr> {
    Ok(platform_setting::Entity::find_by_id(SETTING_KEY)
        .one(db)
        .await?
        .and_then(|row| serde_json::from_str(&row.value).ok())
        .unwrap_or_default())
}

/// Writes `settings` (checked by the caller) inside the caller's transaction.
pub async fn store(db: &impl ConnectionTrait, settings: &Settings) -> Result<(), sea_orm::DbErr> {
    let value = serde_json::to_string(settings)
        .map_err(|e| sea_orm::DbErr::Custom(format!("monitor settings: {e}")))?;
    put_setting(db, SETTING_KEY, value).await
}

pub(crate) async fn put_setting(
    db: &impl ConnectionTrait,
    key: &str,
    value: String,
) -> Result<(), sea_orm::DbErr> {
    platform_setting::put(db, key, value).await
}

/// Starts the detection loops; they end with the returned handles (aborted at shutdown).
pub fn spawn(state: SharedState) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(every(
            state.clone(),
            "availability probes",
            |s| s.probe_interval_secs,
            |st, s| Box::pin(async move { probe::round(&st, &s).await }),
        )),
        tokio::spawn(every(
            state.clone(),
            "tamper check",
            |s| s.tamper_interval_secs,
            |st, _| Box::pin(async move { tamper::round(&st).await.map(|_| ()) }),
        )),
        tokio::spawn(every(
            state.clone(),
            "page baselines",
            |s| s.tamper_interval_secs,
            |st, s| Box::pin(async move { baseline::round(&st, &s).await }),
        )),
        tokio::spawn(every(
            state.clone(),
            "link check",
            |s| s.link_interval_secs,
            |st, s| Box::pin(async move { links::round(&st, &s).await }),
        )),
        tokio::spawn(every(
            state.clone(),
            "log retention",
            |_| 86_400,
            |st, s| {
                Box::pin(async move {
                    let (a, e) =
                        logs::prune(&st.db, s.log_retention_days, chrono::Utc::now()).await?;
                    if a + e > 0 {
                        tracing::info!(
                            access = a,
                            events = e,
                            days = s.log_retention_days,
                            "old log rows removed"
                        );
                    }
                    Ok(())
                })
            },
        )),
        tokio::spawn(every(
            state.clone(),
            "exposure checks",
            |_| exposure::INTERVAL_SECS,
            |st, s| Box::pin(async move { exposure::round(&st, &s).await }),
        )),
        tokio::spawn(every(
            state.clone(),
            "health scores",
            |_| health::INTERVAL_SECS,
            |st, _| Box::pin(async move { health::round(&st).await }),
        )),
        tokio::spawn(siem::run(state.clone())),
        tokio::spawn(every(
            state.clone(),
            "compliance reminders",
            |_| crate::service::registry::compliance::INTERVAL_SECS,
            |st, _| Box::pin(async move { crate::service::registry::compliance::round(&st).await }),
        )),
        tokio::spawn(every(
            state,
            "attack bans",
            |_| bans::INTERVAL_SECS,
            |st, s| Box::pin(async move { bans::round(&st, &s).await }),
        )),
    ]
}

type Round = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

/// Runs `round` now and then every `interval(settings)`, re-reading the settings each time; a
/// settings change cuts the wait short. A failed round is logged and tried at the next tick.
async fn every(
    state: SharedState,
    what: &'static str,
    interval: fn(&Settings) -> u64,
    round: fn(SharedState, Settings) -> Round,
) {
    let mut wake = state.monitor_wake.subscribe();
    loop {
        wake.mark_unchanged();
        let settings = match load(&state.db).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("{what}: reading the detection settings failed: {e}");
                Settings::default()
            }
        };
        let wait = Duration::from_secs(interval(&settings).max(1));
        if let Err(e) = round(state.clone(), settings).await {
            tracing::error!("{what} failed: {e:#}");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.changed() => {}
        }
    }
}
