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

/// One line of the gateway's access log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRecord {
    pub time: String,
    pub node: String,
    pub request_id: String,
    pub site_id: Option<i64>,
    pub client_ip: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub status: u16,
    pub bytes_sent: u64,
    pub duration_ms: u64,
    /// `published`, `proxy`, `not_found`, `error`.
    pub served_by: String,
    pub user_agent: String,
}

/// The body of `POST /internal/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<SecurityEvent>,
}
