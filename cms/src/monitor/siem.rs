//! Forwarding to a SIEM (安全管理平台): the security events every gateway reported — and, when
//! chosen, the access lines — sent on to each configured receiver, as RFC 5424 syslog or as
//! JSON lines, each event carrying its attack type, the rule ids that matched and the payload
//! (masked by the gateway: digits starred, at most 64 characters per match).
//!
//! Receivers (`Settings::siem_targets`, one URL each):
//! - `syslog+udp://host:514` — one RFC 5424 message per datagram (RFC 5426);
//! - `syslog+tcp://host:601` — octet-counted frames (RFC 6587 §3.4.1);
//! - `jsonl+tcp://host:5170` — one JSON object per line;
//! - `jsonl+http://…` / `jsonl+https://…` — batches POSTed as `application/x-ndjson`.
//!
//! The forwarder reads what the log intake stored, after a cursor per receiver (the last row
//! id sent, kept in `platform_setting`), so nothing is lost while a receiver is down: it is
//! sent when the receiver is back (at least once). A receiver added later starts at the rows
//! stored from then on.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::db::entities::{access_log, platform_setting, security_event};
use crate::state::SharedState;

/// `platform_setting` key of the cursors (JSON: receiver URL → [`Cursor`]).
pub const CURSOR_KEY: &str = "monitor:siem-cursors";
/// Rows read per batch.
const BATCH: u64 = 500;
/// Pause between two looks at new rows.
const TICK: Duration = Duration::from_secs(2);
/// Longest wait before a failing receiver is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Syslog facility: local0.
const FACILITY: u8 = 16;
/// The structured-data ID (enterprise number 32473 is the one IANA reserves for examples;
/// an organisation with its own number can search for `sitegroup@`).
const SD_ID: &str = "sitegroup@32473";

/// How to reach one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    SyslogUdp(String),
    SyslogTcp(String),
    JsonTcp(String),
    JsonHttp(String),
}

impl Target {
    /// Parses a receiver URL; the error says what is accepted.
    pub fn parse(url: &str) -> Result<Target, String> {
        let bad = || {
            format!(
                "SIEM 接收地址“{url}”无效：应为 syslog+udp://主机:端口、syslog+tcp://主机:端口、jsonl+tcp://主机:端口 或 jsonl+http(s)://网址。"
            )
        };
        let (scheme, rest) = url.trim().split_once("://").ok_or_else(bad)?;
        let host_port = || -> Result<String, String> {
            let hp = rest.trim_end_matches('/');
            let u = reqwest::Url::parse(&format!("tcp://{hp}")).map_err(|_| bad())?;
            match (u.host_str(), u.port()) {
                (Some(h), Some(p)) if u.path().is_empty() || u.path() == "/" => {
                    Ok(format!("{h}:{p}"))
                }
                _ => Err(bad()),
            }
        };
        match scheme {
            "syslog+udp" => Ok(Target::SyslogUdp(host_port()?)),
            "syslog+tcp" => Ok(Target::SyslogTcp(host_port()?)),
            "jsonl+tcp" => Ok(Target::JsonTcp(host_port()?)),
            "jsonl+http" | "jsonl+https" => {
                let u = format!("{}://{rest}", &scheme[6..]);
                reqwest::Url::parse(&u).map_err(|_| bad())?;
                Ok(Target::JsonHttp(u))
            }
            _ => Err(bad()),
        }
    }

    fn syslog(&self) -> bool {
        matches!(self, Target::SyslogUdp(_) | Target::SyslogTcp(_))
    }
}

/// The last row ids sent to one receiver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub events: i64,
    pub access: i64,
}

/// What a WAF event's detail says, taken apart (the gateway writes it as
/// `blocked by rule N (status S); inbound anomaly score K; [id] message @ VAR = value; …`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WafDetail {
    pub blocking_rule: Option<String>,
    pub rule_ids: Vec<String>,
    /// The matched values (masked by the gateway), with the variable: `ARGS:id = 1' or …`.
    pub payload: Vec<String>,
    pub messages: Vec<String>,
}

pub fn parse_detail(detail: &str) -> WafDetail {
    let mut out = WafDetail::default();
    if let Some(rest) = detail.strip_prefix("blocked by rule ") {
        out.blocking_rule = rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    }
    // The rule parts start at "[digits] "; a value may itself hold "; ".
    let mut starts: Vec<usize> = Vec::new();
    for (i, _) in detail.match_indices('[') {
        let tail = &detail[i + 1..];
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && tail[digits..].starts_with("] ") && (i == 0 || detail[..i].ends_with("; "))
        {
            starts.push(i);
        }
    }
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(detail.len(), |&e| e - 2);
        let part = &detail[s..end];
        let Some(close) = part.find("] ") else {
            continue;
        };
        let id = &part[1..close];
        let body = &part[close + 2..];
        out.rule_ids.push(id.to_string());
        match body.split_once(" @ ") {
            Some((message, matched)) => {
                out.messages.push(message.to_string());
                // Evaluation rules (949…, 959…, 980…) match the score, not the request.
                if !is_evaluation(id) {
                    out.payload.push(matched.to_string());
                }
            }
            None => out.messages.push(body.to_string()),
        }
    }
    out
}

fn is_evaluation(id: &str) -> bool {
    ["949", "959", "980"].iter().any(|p| id.starts_with(p)) && id.len() == 6
}

/// The attack type of a rule id: the platform's built-in rules (`shared/waf/rules/
/// builtin.conf`, 100000–101999) by their group, CRS rules by the file they come from.
pub fn attack_type(rule_id: &str) -> &'static str {
    if rule_id.len() != 6 {
        return "custom";
    }
    if rule_id.starts_with("10") {
        return match &rule_id[..4] {
            "1001" => match rule_id {
                "100110" => "scanner",
                "100120" => "java",
                _ => "sensitive_file",
            },
            "1002" => "sqli",
            "1003" => "xss",
            "1004" => "lfi",
            "1005" => "rce",
            "1006" => "webshell",
            "1007" => "deserialization",
            "1008" => "ssrf",
            "1009" => "xxe",
            "1010" => "data_leakage",
            _ => "custom",
        };
    }
    match &rule_id[..3] {
        "911" | "920" | "921" | "922" => "protocol",
        "913" => "scanner",
        "930" => "lfi",
        "931" => "rfi",
        "932" => "rce",
        "933" => "php",
        "934" => "generic",
        "941" => "xss",
        "942" => "sqli",
        "943" => "session_fixation",
        "944" => "java",
        "950" | "951" | "952" | "953" | "954" | "955" | "956" => "data_leakage",
        "949" | "959" | "980" => "anomaly",
        _ => "custom",
    }
}

/// The attack type of an event: its first matched rule that is not an evaluation rule; for
/// events without rules, what kind of event it is.
pub fn event_attack(kind: &str, d: &WafDetail) -> String {
    if let Some(id) = d.rule_ids.iter().find(|id| !is_evaluation(id)) {
        return attack_type(id).to_string();
    }
    match kind {
        "rate_limited" => "rate_limit",
        "address_refused" => "blocked_address",
        "integrity_violation" | "missing_object" => "tampering",
        "denied_path" => "denied_path",
        k if k.starts_with("waf") => "anomaly",
        _ => "other",
    }
    .to_string()
}

/// Syslog severity of an event kind.
fn severity(kind: &str) -> u8 {
    match kind {
        "integrity_violation" | "missing_object" => 2,
        "waf_blocked" | "address_refused" => 4,
        "shared_limits_unavailable" => 3,
        "waf_detected" | "rate_limited" | "denied_path" | "waf_body_uninspected" => 5,
        _ => 6,
    }
}

/// An RFC 5424 PARAM-VALUE: `"`, `\` and `]` escaped.
fn sd_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: printable US-ASCII, no spaces, at most `max` characters, `-` when empty.
fn header_field(v: &str, max: usize) -> String {
    let s: String = v
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if s.is_empty() { "-".into() } else { s }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The time an event states (RFC 3339 from the gateway), or when it was received.
fn event_time(e: &security_event::Model) -> String {
    DateTime::parse_from_rfc3339(&e.occurred_at)
        .map(|t| rfc3339(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| rfc3339(e.received_at))
}

/// One security event as an RFC 5424 message (without transport framing).
pub fn event_syslog(e: &security_event::Model) -> String {
    let d = parse_detail(&e.detail);
    let pri = u16::from(FACILITY) * 8 + u16::from(severity(&e.kind));
    let mut sd = format!(
        "[{SD_ID} kind=\"{}\" attack=\"{}\" site=\"{}\" host=\"{}\" path=\"{}\" client=\"{}\" request_id=\"{}\"",
        sd_value(&e.kind),
        sd_value(&event_attack(&e.kind, &d)),
        e.site_id.map(|i| i.to_string()).unwrap_or_default(),
        sd_value(&e.host),
        sd_value(&e.path),
        sd_value(&e.client_ip),
        sd_value(&e.request_id),
    );
    if !d.rule_ids.is_empty() {
        sd.push_str(&format!(" rules=\"{}\"", d.rule_ids.join(",")));
    }
    if let Some(b) = &d.blocking_rule {
        sd.push_str(&format!(" blocking_rule=\"{b}\""));
    }
    if let Some(p) = d.payload.first() {
        sd.push_str(&format!(" payload=\"{}\"", sd_value(p)));
    }
    sd.push(']');
    format!(
        "<{pri}>1 {} {} sitegroup - {} {sd} \u{feff}{}",
        event_time(e),
        header_field(&e.node, 255),
        header_field(&e.kind, 32),
        e.detail
    )
}

/// One security event as a JSON object (Elastic Common Schema names where there is one).
pub fn event_json(e: &security_event::Model) -> serde_json::Value {
    let d = parse_detail(&e.detail);
    json!({
        "@timestamp": event_time(e),
        "event.kind": "alert",
        "event.category": "intrusion_detection",
        "event.action": e.kind,
        "event.severity": severity(&e.kind),
        "observer.name": e.node,
        "observer.product": "sitegroup",
        "http.request.id": e.request_id,
        "sitegroup.site_id": e.site_id,
        "url.domain": e.host,
        "url.path": e.path,
        "client.ip": e.client_ip,
        "sitegroup.attack_type": event_attack(&e.kind, &d),
        "rule.id": d.rule_ids,
        "sitegroup.blocking_rule": d.blocking_rule,
        "rule.name": d.messages,
        "sitegroup.payload": d.payload,
        "message": e.detail,
    })
}

/// One access line as an RFC 5424 message.
pub fn access_syslog(a: &access_log::Model) -> String {
    let pri = u16::from(FACILITY) * 8 + 6;
    format!(
        "<{pri}>1 {} {} sitegroup - access [{SD_ID} site=\"{}\" host=\"{}\" method=\"{}\" path=\"{}\" status=\"{}\" client=\"{}\" request_id=\"{}\" bytes=\"{}\" duration_us=\"{}\" served_by=\"{}\" waf=\"{}\"] \u{feff}{} {} {}",
        rfc3339(a.time),
        header_field(&a.node, 255),
        a.site_id.map(|i| i.to_string()).unwrap_or_default(),
        sd_value(&a.host),
        sd_value(&a.method),
        sd_value(&a.path),
        a.status,
        sd_value(&a.client_ip),
        sd_value(&a.request_id),
        a.bytes_out,
        a.duration_us,
        sd_value(&a.served_by),
        sd_value(&a.waf),
        a.method,
        a.path,
        a.status
    )
}

pub fn access_json(a: &access_log::Model) -> serde_json::Value {
    json!({
        "@timestamp": rfc3339(a.time),
        "event.kind": "event",
        "event.category": "web",
        "observer.name": a.node,
        "http.request.id": a.request_id,
        "sitegroup.site_id": a.site_id,
        "client.ip": a.client_ip,
        "http.request.method": a.method,
        "url.domain": a.host,
        "url.path": a.path,
        "url.query": a.query,
        "http.response.status_code": a.status,
        "http.request.body.bytes": a.bytes_in,
        "http.response.body.bytes": a.bytes_out,
        "event.duration": a.duration_us * 1000,
        "sitegroup.served_by": a.served_by,
        "sitegroup.waf": a.waf,
        "user_agent.original": a.user_agent,
    })
}

/// Sends one batch of messages; all or an error.
async fn send(
    target: &Target,
    client: &reqwest::Client,
    messages: &[String],
) -> anyhow::Result<()> {
    match target {
        Target::SyslogUdp(addr) => {
            let socket = tokio::net::UdpSocket::bind(if addr.starts_with('[') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            })
            .await?;
            socket.connect(addr).await?;
            for m in messages {
                // RFC 5426: one message per datagram; receivers accept at least 480 bytes,
                // most 8 KiB and more.
                let bytes = m.as_bytes();
                socket.send(&bytes[..bytes.len().min(8192)]).await?;
            }
        }
        Target::SyslogTcp(addr) | Target::JsonTcp(addr) => {
            let mut stream = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(addr),
            )
            .await??;
            let mut buf = Vec::new();
            for m in messages {
                if target.syslog() {
                    buf.extend_from_slice(format!("{} ", m.len()).as_bytes());
                    buf.extend_from_slice(m.as_bytes());
                } else {
                    buf.extend_from_slice(m.as_bytes());
                    buf.push(b'\n');
                }
            }
            tokio::time::timeout(Duration::from_secs(30), async {
                stream.write_all(&buf).await?;
                stream.flush().await?;
                stream.shutdown().await
            })
            .await??;
        }
        Target::JsonHttp(url) => {
            let mut body = messages.join("\n");
            body.push('\n');
            client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                .body(body)
                .send()
                .await?
                .error_for_status()?;
        }
    }
    Ok(())
}

async fn load_cursors(state: &SharedState) -> anyhow::Result<BTreeMap<String, Cursor>> {
    Ok(platform_setting::Entity::find_by_id(CURSOR_KEY)
        .one(&state.db)
        .await?
        .and_then(|r| serde_json::from_str(&r.value).ok())
        .unwrap_or_default())
}

async fn store_cursors(state: &SharedState, c: &BTreeMap<String, Cursor>) -> anyhow::Result<()> {
    platform_setting::put(&state.db, CURSOR_KEY, serde_json::to_string(c)?).await?;
    Ok(())
}

/// The newest row ids now: where a new receiver starts.
async fn newest(state: &SharedState) -> anyhow::Result<Cursor> {
    let events = security_event::Entity::find()
        .order_by_desc(security_event::Column::Id)
        .limit(1)
        .one(&state.db)
        .await?
        .map_or(0, |e| i64::from(e.id));
    let access = access_log::Entity::find()
        .order_by_desc(access_log::Column::Id)
        .limit(1)
        .one(&state.db)
        .await?
        .map_or(0, |a| a.id);
    Ok(Cursor { events, access })
}

/// Sends what is new to one receiver, batch by batch, moving its cursor after each batch.
/// Returns the rows sent.
async fn forward(
    state: &SharedState,
    url: &str,
    target: &Target,
    with_access: bool,
    client: &reqwest::Client,
    cursors: &mut BTreeMap<String, Cursor>,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let mut cursor = cursors.get(url).copied().unwrap_or_default();
        let events = security_event::Entity::find()
            .filter(security_event::Column::Id.gt(cursor.events))
            .order_by_asc(security_event::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let access = if with_access {
            access_log::Entity::find()
                .filter(access_log::Column::Id.gt(cursor.access))
                .order_by_asc(access_log::Column::Id)
                .limit(BATCH)
                .all(&state.db)
                .await?
        } else {
            Vec::new()
        };
        if events.is_empty() && access.is_empty() {
            // Without access forwarding the access cursor follows the newest row, so that
            // turning it on later does not send the past.
            if !with_access {
                let now = newest(state).await?;
                if now.access != cursor.access {
                    cursor.access = now.access;
                    cursors.insert(url.to_string(), cursor);
                    store_cursors(state, cursors).await?;
                }
            }
            return Ok(sent);
        }
        let mut messages = Vec::with_capacity(events.len() + access.len());
        for e in &events {
            messages.push(if target.syslog() {
                event_syslog(e)
            } else {
                event_json(e).to_string()
            });
        }
        for a in &access {
            messages.push(if target.syslog() {
                access_syslog(a)
            } else {
                access_json(a).to_string()
            });
        }
        send(target, client, &messages).await?;
        sent += messages.len();
        if let Some(e) = events.last() {
            cursor.events = i64::from(e.id);
        }
        if let Some(a) = access.last() {
            cursor.access = a.id;
        }
        cursors.insert(url.to_string(), cursor);
        store_cursors(state, cursors).await?;
    }
}

/// Starts the receivers not seen before at the rows stored now: a receiver gets what arrives
/// from the moment it is configured (called when the settings are saved).
pub async fn start_new_receivers(state: &SharedState, targets: &[String]) -> anyhow::Result<()> {
    let mut cursors = load_cursors(state).await?;
    let fresh: Vec<&String> = targets
        .iter()
        .filter(|t| !cursors.contains_key(*t))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let now = newest(state).await?;
    for t in fresh {
        cursors.insert(t.clone(), now);
    }
    store_cursors(state, &cursors).await
}

/// Sends what is new to one receiver (a receiver seen for the first time starts at the rows
/// stored from now on). Returns the records sent; on an error, what was not sent stays for
/// the next call.
pub async fn forward_to(
    state: &SharedState,
    url: &str,
    with_access: bool,
    client: &reqwest::Client,
) -> anyhow::Result<usize> {
    let target = Target::parse(url).map_err(anyhow::Error::msg)?;
    let mut cursors = load_cursors(state).await?;
    if !cursors.contains_key(url) {
        cursors.insert(url.to_string(), newest(state).await?);
        store_cursors(state, &cursors).await?;
    }
    forward(state, url, &target, with_access, client, &mut cursors).await
}

pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent("sitegroup-siem/1")
        .build()
}

/// The forwarding loop: every couple of seconds, what is new goes to every receiver; a
/// receiver that fails is tried again after a growing pause (its rows wait in the database).
pub async fn run(state: SharedState) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("SIEM forwarding cannot start: {e}");
            return;
        }
    };
    // Per receiver: (failures in a row, not before).
    let mut backoff: BTreeMap<String, (u32, tokio::time::Instant)> = BTreeMap::new();
    loop {
        tokio::time::sleep(TICK).await;
        let settings = match super::load(&state.db).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("SIEM forwarding: reading the settings failed: {e}");
                continue;
            }
        };
        for url in &settings.siem_targets {
            let now = tokio::time::Instant::now();
            if backoff.get(url).is_some_and(|(_, until)| *until > now) {
                continue;
            }
            match forward_to(&state, url, settings.siem_access, &client).await {
                Ok(n) => {
                    if backoff.remove(url).is_some() {
                        tracing::info!(receiver = %url, "SIEM receiver reachable again");
                    }
                    if n > 0 {
                        tracing::debug!(receiver = %url, records = n, "forwarded to the SIEM");
                    }
                }
                Err(e) => {
                    let failures = backoff.get(url).map_or(0, |b| b.0) + 1;
                    let wait = (TICK * 2u32.saturating_pow(failures)).min(MAX_BACKOFF);
                    tracing::warn!(
                        receiver = %url,
                        retry_in_secs = wait.as_secs(),
                        "forwarding to the SIEM failed: {e:#}"
                    );
                    backoff.insert(url.clone(), (failures, now + wait));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAIL: &str = "blocked by rule 949110 (status 403); inbound anomaly score 5; \
        [942100] SQL Injection Attack Detected via libinjection @ ARGS:id = *' or '*'='*; x; \
        [949110] Inbound Anomaly Score Exceeded (Total Score: 5) @ TX:blocking_inbound_anomaly_score = *";

    #[test]
    fn waf_details_are_taken_apart() {
        let d = parse_detail(DETAIL);
        assert_eq!(d.blocking_rule.as_deref(), Some("949110"));
        assert_eq!(d.rule_ids, ["942100", "949110"]);
        assert_eq!(d.payload, ["ARGS:id = *' or '*'='*; x"]);
        assert_eq!(event_attack("waf_blocked", &d), "sqli");
        assert_eq!(
            event_attack("rate_limited", &parse_detail("over 10/s")),
            "rate_limit"
        );
        assert_eq!(attack_type("941110"), "xss");
        assert_eq!(attack_type("930120"), "lfi");
        assert_eq!(attack_type("1001"), "custom");
        assert_eq!(attack_type("100300"), "xss");
        assert_eq!(attack_type("100201"), "sqli");
        assert_eq!(attack_type("100120"), "java");
    }

    fn event() -> security_event::Model {
        security_event::Model {
            id: 7,
            received_at: Utc::now(),
            occurred_at: "2026-11-26T08:00:00.123Z".into(),
            kind: "waf_blocked".into(),
            node: "edge 1".into(),
            request_id: "r-1".into(),
            site_id: Some(3),
            host: "www.example.gov.cn".into(),
            path: "/search\"]".into(),
            client_ip: "203.0.113.9".into(),
            detail: DETAIL.into(),
        }
    }

    #[test]
    fn syslog_messages_follow_rfc_5424() {
        let m = event_syslog(&event());
        // <local0.warning>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG
        assert!(
            m.starts_with("<132>1 2026-11-26T08:00:00.123Z edge1 sitegroup - waf_blocked [sitegroup@32473 kind=\"waf_blocked\" attack=\"sqli\" site=\"3\""),
            "{m}"
        );
        assert!(m.contains(r#"path="/search\"\]""#), "{m}");
        assert!(m.contains(r#"rules="942100,949110" blocking_rule="949110" payload="ARGS:id = *' or '*'='*; x""#), "{m}");
        assert!(m.contains("] \u{feff}blocked by rule 949110"), "{m}");
        let j = event_json(&event());
        assert_eq!(j["sitegroup.attack_type"], "sqli");
        assert_eq!(j["rule.id"], json!(["942100", "949110"]));
        assert_eq!(j["sitegroup.payload"][0], "ARGS:id = *' or '*'='*; x");
    }

    #[test]
    fn receivers_are_parsed() {
        assert_eq!(
            Target::parse("syslog+udp://10.0.0.9:514"),
            Ok(Target::SyslogUdp("10.0.0.9:514".into()))
        );
        assert_eq!(
            Target::parse("syslog+tcp://siem.example:601/"),
            Ok(Target::SyslogTcp("siem.example:601".into()))
        );
        assert_eq!(
            Target::parse("jsonl+https://siem.example/ingest?x=1"),
            Ok(Target::JsonHttp("https://siem.example/ingest?x=1".into()))
        );
        assert!(
            Target::parse("syslog+udp://10.0.0.9").is_err(),
            "a port is needed"
        );
        assert!(Target::parse("http://x").is_err());
        assert!(Target::parse("syslog+tcp://h:1/path").is_err());
    }
}
