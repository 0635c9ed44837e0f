//! Records a gateway writes to its logs and ships to the control plane's log intake
//! (`POST /internal/v1/events`).

use serde::{Deserialize, Serialize};

/// What kind of security event happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventKind {
    /// A published file no longer matched its manifest hash; it was not served.
    IntegrityViolation,
    /// A published file named by the manifest was missing from the store.
    MissingObject,
    /// A request was refused because its path is denied on this route.
    DeniedPath,
    /// The WAF blocked a request.
    WafBlocked,
    /// The WAF matched rules but did not block (detect-only mode, or below the threshold).
    WafDetected,
    /// A request body was larger than the gateway inspects and was passed on uninspected.
    WafBodyUninspected,
    /// A client went over a rate limit and was answered 429.
    RateLimited,
    /// A client address refused by an access list.
    AddressRefused,
    /// The Redis the gateways share rate limits through is unreachable: limits are counted per
    /// gateway until it returns.
    SharedLimitsUnavailable,
}

impl SecurityEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEventKind::IntegrityViolation => "integrity_violation",
            SecurityEventKind::MissingObject => "missing_object",
            SecurityEventKind::DeniedPath => "denied_path",
            SecurityEventKind::WafBlocked => "waf_blocked",
            SecurityEventKind::WafDetected => "waf_detected",
            SecurityEventKind::WafBodyUninspected => "waf_body_uninspected",
            SecurityEventKind::RateLimited => "rate_limited",
            SecurityEventKind::AddressRefused => "address_refused",
            SecurityEventKind::SharedLimitsUnavailable => "shared_limits_unavailable",
        }
    }
}

/// A security event seen by a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityEvent {
    /// RFC 3339 time at the gateway.
    pub time: String,
    pub kind: SecurityEventKind,
    /// Which gateway saw it.
    pub node: String,
    pub request_id: String,
    pub site_id: Option<i64>,
    pub host: String,
    pub path: String,
    pub client_ip: String,
    /// Human-readable detail (e.g. expected and actual hash).
    pub detail: String,
}

/// One line of the gateway's access log, with Elastic Common Schema field names where ECS has
/// one (dotted keys) and `sitegroup.*` for the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRecord {
    #[serde(rename = "@timestamp")]
    pub time: String,
    #[serde(rename = "observer.name")]
    pub node: String,
    #[serde(rename = "http.request.id")]
    pub request_id: String,
    #[serde(rename = "sitegroup.site_id")]
    pub site_id: Option<i64>,
    #[serde(rename = "client.ip")]
    pub client_ip: String,
    #[serde(rename = "http.request.method")]
    pub method: String,
    #[serde(rename = "url.domain")]
    pub host: String,
    #[serde(rename = "url.path")]
    pub path: String,
    #[serde(rename = "url.query", default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(rename = "http.response.status_code")]
    pub status: u16,
    #[serde(rename = "http.request.body.bytes")]
    pub bytes_received: u64,
    #[serde(rename = "http.response.body.bytes")]
    pub bytes_sent: u64,
    /// Nanoseconds, as ECS has it.
    #[serde(rename = "event.duration")]
    pub duration_ns: u64,
    /// `published`, `proxy`, `not_found`, `waf`, `rate_limited`, `switch`, `error`, …
    #[serde(rename = "sitegroup.served_by")]
    pub served_by: String,
    #[serde(
        rename = "sitegroup.upstream",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub upstream: Option<String>,
    /// Milliseconds from connecting to the upstream to its response header.
    #[serde(
        rename = "sitegroup.upstream_ms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub upstream_ms: Option<u64>,
    /// `blocked <rule id>`, `detected`, or empty when the WAF found nothing (or did not run).
    #[serde(rename = "sitegroup.waf", default)]
    pub waf: String,
    #[serde(rename = "user_agent.original")]
    pub user_agent: String,
    #[serde(rename = "http.request.referrer", default)]
    pub referrer: String,
    /// `1.2` or `1.3` when the request came over TLS.
    #[serde(
        rename = "tls.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tls_version: Option<String>,
}

/// The body of `POST /internal/v1/access`: access-log lines from one gateway's spool, each
/// with its byte offset there, so that a batch sent twice (after a crash between delivery and
/// acknowledgement) is stored once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessBatch {
    /// Identifies the spool file (it changes when the file is replaced).
    pub spool: String,
    pub lines: Vec<AccessLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLine {
    pub offset: u64,
    pub record: AccessRecord,
}

/// The body of `POST /internal/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<SecurityEvent>,
}
