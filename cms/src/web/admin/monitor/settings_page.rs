//! 检测设置 (安全管理员): probes, checks, bans, retention, alert channels, blocking word categories.

use super::*;

// ---- settings -----------------------------------------------------------------------------

pub(super) async fn settings_guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(
        state,
        actor,
        actor.is_secadmin(),
        "section:monitor-settings",
    )
    .await
}

#[derive(Deserialize, Default)]
pub(super) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    probe_interval_secs: String,
    #[serde(default)]
    probe_timeout_secs: String,
    #[serde(default)]
    down_after_failures: String,
    #[serde(default)]
    probe_via: String,
    #[serde(default)]
    tamper_interval_secs: String,
    #[serde(default)]
    link_interval_secs: String,
    #[serde(default)]
    link_max_pages: String,
    #[serde(default)]
    log_retention_days: String,
    #[serde(default)]
    ban_threshold: String,
    #[serde(default)]
    ban_window_secs: String,
    #[serde(default)]
    ban_secs: String,
    #[serde(default)]
    email_enabled: Option<String>,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_security: String,
    #[serde(default)]
    smtp_username: String,
    /// Empty keeps the stored password.
    #[serde(default)]
    smtp_password: String,
    #[serde(default)]
    email_from: String,
    #[serde(default)]
    email_to: String,
    /// One per line: `format URL` (format: json, wecom, dingtalk) or just a URL (json).
    #[serde(default)]
    webhooks: String,
    /// One receiver URL per line.
    #[serde(default)]
    siem_targets: String,
    #[serde(default)]
    siem_access: Option<String>,
    /// The category checkboxes, `block_<code>`.
    #[serde(flatten)]
    extra: HashMap<String, String>,
}

impl SettingsForm {
    fn from_settings(s: &Settings) -> SettingsForm {
        SettingsForm {
            csrf: String::new(),
            probe_interval_secs: s.probe_interval_secs.to_string(),
            probe_timeout_secs: s.probe_timeout_secs.to_string(),
            down_after_failures: s.down_after_failures.to_string(),
            probe_via: s.probe_via.clone(),
            tamper_interval_secs: s.tamper_interval_secs.to_string(),
            link_interval_secs: s.link_interval_secs.to_string(),
            link_max_pages: s.link_max_pages.to_string(),
            log_retention_days: s.log_retention_days.to_string(),
            ban_threshold: s.ban_threshold.to_string(),
            ban_window_secs: s.ban_window_secs.to_string(),
            ban_secs: s.ban_secs.to_string(),
            email_enabled: s.email.enabled.then(|| "on".into()),
            smtp_host: s.email.host.clone(),
            smtp_port: s.email.port.to_string(),
            smtp_security: s.email.security.clone(),
            smtp_username: s.email.username.clone(),
            smtp_password: String::new(),
            email_from: s.email.from.clone(),
            email_to: s.email.to.join("\n"),
            webhooks: s
                .webhooks
                .iter()
                .map(|w| format!("{} {}", w.format, w.url))
                .collect::<Vec<_>>()
                .join("\n"),
            siem_targets: s.siem_targets.join("\n"),
            siem_access: s.siem_access.then(|| "on".into()),
            extra: s
                .word_block_categories
                .iter()
                .map(|c| (format!("block_{c}"), "on".to_string()))
                .collect(),
        }
    }

    /// The categories ticked, in the list's order.
    fn blocked(&self) -> Vec<&'static str> {
        words::CATEGORIES
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| self.extra.contains_key(&format!("block_{c}")))
            .collect()
    }

    fn parse(&self) -> (Settings, Vec<String>) {
        let mut problems = Vec::new();
        let d = Settings::default();
        let mut num = |label: &str, v: &str, fallback: u64| match v.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                problems.push(format!("{label}须为整数。"));
                fallback
            }
        };
        let probe_interval_secs = num("探测间隔", &self.probe_interval_secs, d.probe_interval_secs);
        let probe_timeout_secs = num("探测超时", &self.probe_timeout_secs, d.probe_timeout_secs);
        let down_after = num(
            "连续失败次数",
            &self.down_after_failures,
            u64::from(d.down_after_failures),
        );
        let tamper_interval_secs = num(
            "防篡改校验间隔",
            &self.tamper_interval_secs,
            d.tamper_interval_secs,
        );
        let link_interval_secs = num(
            "链接检查间隔",
            &self.link_interval_secs,
            d.link_interval_secs,
        );
        let link_max_pages = num(
            "每站检查页面数",
            &self.link_max_pages,
            d.link_max_pages as u64,
        );
        let log_retention_days = num(
            "日志保存天数",
            &self.log_retention_days,
            u64::from(d.log_retention_days),
        );
        let ban_threshold = num("封禁阈值", &self.ban_threshold, u64::from(d.ban_threshold));
        let ban_window_secs = num("统计窗口", &self.ban_window_secs, d.ban_window_secs);
        let ban_secs = num("封禁时长", &self.ban_secs, d.ban_secs);
        let port = num("SMTP 端口", &self.smtp_port, 25);
        let mut webhooks = Vec::new();
        for line in self
            .webhooks
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (format, url) = match line.split_once(char::is_whitespace) {
                Some((f, u)) => (f.to_string(), u.trim().to_string()),
                None => ("json".to_string(), line.to_string()),
            };
            webhooks.push(Webhook { url, format });
        }
        let settings = Settings {
            probe_interval_secs,
            probe_timeout_secs,
            down_after_failures: u32::try_from(down_after).unwrap_or(u32::MAX),
            probe_via: self.probe_via.trim().to_string(),
            tamper_interval_secs,
            link_interval_secs,
            link_max_pages: usize::try_from(link_max_pages).unwrap_or(usize::MAX),
            log_retention_days: u32::try_from(log_retention_days).unwrap_or(u32::MAX),
            ban_threshold: u32::try_from(ban_threshold).unwrap_or(u32::MAX),
            ban_window_secs,
            ban_secs,
            email: monitor::EmailChannel {
                enabled: self.email_enabled.is_some(),
                host: self.smtp_host.trim().to_string(),
                port: u16::try_from(port).unwrap_or_else(|_| {
                    problems.push("SMTP 端口须在 1 到 65535 之间。".into());
                    25
                }),
                security: self.smtp_security.trim().to_string(),
                username: self.smtp_username.trim().to_string(),
                from: self.email_from.trim().to_string(),
                to: self
                    .email_to
                    .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
            webhooks,
            word_block_categories: self.blocked().into_iter().map(str::to_string).collect(),
            siem_targets: self
                .siem_targets
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            siem_access: self.siem_access.is_some(),
        };
        (settings, problems)
    }
}

async fn settings_view(
    state: &SharedState,
    s: &crate::auth::Session,
    form: &SettingsForm,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let has_password = alerts::smtp_password(state)
        .await
        .is_ok_and(|p| !p.is_empty());
    let blocked = form.blocked();
    render(
        state,
        "monitor_settings.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error,
            f => context! {
                probe_interval_secs => form.probe_interval_secs, probe_timeout_secs => form.probe_timeout_secs,
                down_after_failures => form.down_after_failures, probe_via => form.probe_via,
                tamper_interval_secs => form.tamper_interval_secs, ban_threshold => form.ban_threshold,
                link_interval_secs => form.link_interval_secs, link_max_pages => form.link_max_pages,
                log_retention_days => form.log_retention_days,
                ban_window_secs => form.ban_window_secs, ban_secs => form.ban_secs,
                email_enabled => form.email_enabled.is_some(), smtp_host => form.smtp_host,
                smtp_port => form.smtp_port, smtp_security => form.smtp_security,
                smtp_username => form.smtp_username, email_from => form.email_from,
                email_to => form.email_to, webhooks => form.webhooks,
                siem_targets => form.siem_targets, siem_access => form.siem_access.is_some(),
            },
            categories => words::CATEGORIES.iter().map(|(c, l)| context! { code => c, label => l, blocked => blocked.contains(c) }).collect::<Vec<_>>(),
            has_password, default_via => state.default_probe_via.clone(),
        },
    )
}

pub(super) async fn settings_page(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    settings_guard(&state, &actor).await?;
    let current = monitor::load(&state.db).await?;
    settings_view(
        &state,
        &s,
        &SettingsForm::from_settings(&current),
        notice(&q),
        None,
    )
    .await
}

pub(super) async fn save_settings(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    settings_guard(&state, &actor).await?;
    let (new, mut problems) = form.parse();
    problems.extend(new.problems());
    if !problems.is_empty() {
        let page = settings_view(&state, &s, &form, None, Some(problems.join(" "))).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let old = monitor::load(&state.db).await?;
    let txn = state.db.begin().await?;
    monitor::store(&txn, &new).await?;
    let password_changed = !form.smtp_password.is_empty();
    if password_changed {
        let sealed = state
            .secrets
            .get()
            .seal(form.smtp_password.as_bytes(), monitor::SMTP_PASSWORD_KEY);
        monitor::put_setting(&txn, monitor::SMTP_PASSWORD_KEY, sealed).await?;
    }
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::MonitorSettings, "settings:monitor").details(serde_json::json!({
                "before": old, "after": new, "smtp_password_changed": password_changed,
            })),
        )
        .await?;
    txn.commit().await?;
    monitor::siem::start_new_receivers(&state, &new.siem_targets)
        .await
        .map_err(AppError::Internal)?;
    state.monitor_wake.send_modify(|n| *n += 1);
    Ok(Redirect::to("/monitor/settings?notice=settings").into_response())
}
