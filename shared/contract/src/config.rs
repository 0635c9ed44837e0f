//! The configuration snapshot: everything a gateway needs to serve the site group.
//!
//! The control plane builds one [`ConfigSnapshot`] per configuration generation and hands it to
//! every gateway over `GET /internal/v1/config`. A gateway never applies a snapshot that does not
//! pass [`ConfigSnapshot::validate`]; it keeps serving its last good snapshot instead.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Version of the snapshot format. A gateway refuses snapshots of any other version.
pub const CONTRACT_VERSION: u32 = 6;

/// Oldest snapshot version this build still reads (version 1 had no WAF policy; it reads as
/// the default policy; version 3 added `Service::Closed`; version 4 added the CSP, HSTS and
/// X-XSS-Protection values of `SecurityHeaders`, which read as their defaults when missing;
/// version 5 added uploaded certificates and each site's `tls` settings, empty and off when
/// missing; version 6 added `bans`, none when missing).
pub const MIN_CONTRACT_VERSION: u32 = 1;

/// The whole configuration of the data plane at one generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSnapshot {
    /// Must equal [`CONTRACT_VERSION`].
    pub contract_version: u32,
    /// Monotonic counter bumped by the control plane on every configuration change.
    pub generation: u64,
    /// RFC 3339 time the control plane built this snapshot.
    pub generated_at: String,
    /// Every site the gateway answers for.
    pub sites: Vec<SiteConfig>,
    /// An emergency switch for the whole group (the admin site stays reachable). A site's
    /// own switch applies when the group is in normal service.
    #[serde(default)]
    pub group_service: Service,
    /// Addresses refused on every site (the security team's deny list).
    #[serde(default)]
    pub group_access: AccessList,
    /// Certificates uploaded through the control plane; the gateway picks one by SNI from the
    /// names in the certificate itself.
    #[serde(default)]
    pub certificates: Vec<TlsCertificate>,
    /// Client addresses refused on every public site until a time: automatic bans of addresses
    /// that keep attacking, and the security team's own. A gateway stops refusing at `until`
    /// by itself, so a ban ends on time while the control plane is away too. The admin site is
    /// exempt: its network list and sign-in throttling guard it, and the security team must
    /// stay able to lift a ban.
    #[serde(default)]
    pub bans: Vec<AddressBan>,
}

/// One banned client address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressBan {
    /// An IPv4 or IPv6 address.
    pub address: String,
    /// Unix time (seconds) the ban ends.
    pub until: i64,
}

/// A certificate chain and its private key, both PEM.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCertificate {
    /// The control plane's name for it (logs, metrics).
    pub name: String,
    /// Leaf first, then intermediates.
    pub chain_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for TlsCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCertificate")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// HTTPS settings of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SiteTls {
    /// Plain-HTTP requests are redirected (308) to HTTPS (ACME challenges excepted).
    pub redirect_https: bool,
    /// The gateway obtains and renews a certificate for the site's hostnames (not wildcards)
    /// from the ACME CA it is configured with (HTTP-01 on its HTTP listener).
    pub acme: bool,
}

/// Client address lists (IPs or CIDR ranges, v4 and v6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AccessList {
    /// When not empty, only these addresses are served.
    pub allow: Vec<String>,
    /// These addresses are refused (deny wins over allow).
    pub deny: Vec<String>,
}

/// Emergency switches (应急处置): how a site is served right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Service {
    #[default]
    Normal,
    /// A static notice: 503 with Retry-After.
    Maintenance {
        /// The notice shown to visitors (Chinese); the default text when empty.
        #[serde(default)]
        message: String,
        /// Seconds for Retry-After.
        #[serde(default = "default_retry_after")]
        retry_after: u32,
    },
    /// Only GET and HEAD pass; everything else gets 405.
    ReadOnly,
    /// The site is not served at all (404 with an offline notice).
    Offline,
    /// The site has been closed for good (consolidation): a permanent redirect (301) to
    /// `redirect` when set, else a closure notice (410 Gone) with `message` (Chinese; the
    /// default text when empty).
    Closed {
        #[serde(default)]
        message: String,
        #[serde(default)]
        redirect: String,
    },
}

/// Checks a closed site's redirect target: empty, or an absolute http(s) URL without
/// whitespace or control characters.
pub fn check_redirect(url: &str) -> Result<(), &'static str> {
    if url.is_empty() {
        return Ok(());
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err("must start with http:// or https://");
    }
    if url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be at most 2000 characters, without spaces or control characters");
    }
    Ok(())
}

fn default_retry_after() -> u32 {
    600
}

/// One site of the group as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The control plane's identifier of the site (appears in logs and events).
    pub id: i64,
    /// Display name (Chinese), used in logs and error pages.
    pub name: String,
    /// Exact hostnames (lowercase, no port). `*.example.gov.cn` matches one extra label.
    pub hostnames: Vec<String>,
    /// Routes by path prefix; the longest matching prefix wins.
    pub routes: Vec<Route>,
    /// Published pages of the site: URL path → stored object. Used by [`Target::Published`].
    #[serde(default)]
    pub manifest: BTreeMap<String, PublishedFile>,
    /// How the WAF treats this site.
    #[serde(default)]
    pub waf: WafPolicy,
    /// Security headers added to every response of the site that does not set them itself.
    #[serde(default)]
    pub security_headers: SecurityHeaders,
    /// Request rate limits per client address.
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// The site's emergency switch.
    #[serde(default)]
    pub service: Service,
    /// Which client addresses the site serves.
    #[serde(default)]
    pub access: AccessList,
    /// Request size limits.
    #[serde(default)]
    pub request_limits: RequestLimits,
    /// HTTPS redirect and automatic certificates.
    #[serde(default)]
    pub tls: SiteTls,
}

/// Request size limits of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLimits {
    /// Largest request body, in bytes (413 beyond).
    pub max_body_bytes: u64,
    /// Largest total size of the request headers, in bytes (431 beyond).
    pub max_header_bytes: u32,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_body_bytes: 50 * 1024 * 1024,
            max_header_bytes: 32 * 1024,
        }
    }
}

/// At most `requests` per `per_seconds` from one client address, on the site or under a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Only under this path prefix (e.g. `/login`); none: the whole site.
    #[serde(default)]
    pub path_prefix: Option<String>,
    pub requests: u32,
    /// The window: 1, 10 or 60 seconds.
    pub per_seconds: u32,
}

/// The windows rate limits may use.
pub const RATE_LIMIT_WINDOWS: [u32; 3] = [1, 10, 60];

/// Response hardening headers. An empty value leaves the header out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityHeaders {
    /// `X-Frame-Options` (`SAMEORIGIN`, `DENY`).
    pub frame_options: String,
    /// `Referrer-Policy`.
    pub referrer_policy: String,
    /// `X-Content-Type-Options: nosniff`.
    pub nosniff: bool,
    /// `Content-Security-Policy` (empty by default: a proxied legacy site keeps its own).
    pub content_security_policy: String,
    /// `Strict-Transport-Security` (browsers heed it on HTTPS answers only).
    pub strict_transport_security: String,
    /// `X-XSS-Protection` (what older browsers and the assessment scanners look for).
    pub xss_protection: String,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders {
            frame_options: "SAMEORIGIN".into(),
            referrer_policy: "strict-origin-when-cross-origin".into(),
            nosniff: true,
            content_security_policy: String::new(),
            strict_transport_security: "max-age=31536000".into(),
            xss_protection: "1; mode=block".into(),
        }
    }
}

/// A site's WAF policy (统一防护: one rule set, tuned per site).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WafPolicy {
    pub mode: WafMode,
    /// CRS paranoia level, 1–4.
    pub paranoia_level: u8,
    /// CRS inbound anomaly score at which a request is blocked.
    pub inbound_threshold: u32,
    /// CRS outbound anomaly score at which a response is blocked.
    pub outbound_threshold: u32,
    /// Rules or targets switched off, optionally under a path prefix.
    pub exclusions: Vec<WafExclusion>,
    /// Client addresses or CIDR ranges the WAF does not inspect.
    pub ip_allowlist: Vec<String>,
    /// What happens to a request body larger than the gateway inspects.
    pub oversized_body: OversizedBody,
    /// Path prefixes (upload endpoints) where an oversized body is inspected on its first part
    /// and passed on even when `oversized_body` is `reject`.
    pub large_body_paths: Vec<String>,
    /// Also inspect responses (phases 3–4: e.g. database errors and stack traces leaking from
    /// a legacy site). Responses are then fetched uncompressed from the origin.
    pub inspect_responses: bool,
}

impl Default for WafPolicy {
    fn default() -> Self {
        WafPolicy {
            mode: WafMode::Block,
            paranoia_level: 1,
            inbound_threshold: 5,
            outbound_threshold: 4,
            exclusions: Vec::new(),
            ip_allowlist: Vec::new(),
            oversized_body: OversizedBody::Reject,
            large_body_paths: Vec::new(),
            inspect_responses: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WafMode {
    Off,
    /// Inspect and record, never block.
    DetectOnly,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OversizedBody {
    /// Answer 413.
    Reject,
    /// Inspect the part that arrives first (up to the gateway's inspection buffer), pass the
    /// whole body on, and record a security event.
    InspectFirstPart,
}

/// Switches rules off, or exempts targets from them, for a site or a path under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WafExclusion {
    /// Only under this path prefix (e.g. `/admin/articles/` for the rich-text editor).
    pub path_prefix: Option<String>,
    /// Rule ids or ranges (`942100`, `942100-942199`).
    pub rule_ids: Vec<String>,
    /// Rule tags, as regular expressions (`attack-xss`).
    pub tags: Vec<String>,
    /// Targets exempted from those rules (`ARGS:content`); empty: the rules are off entirely.
    pub targets: Vec<String>,
    /// Why (shown to the security team and in the audit trail).
    pub reason: String,
}

/// Entries of an address list that are neither an IP address nor a CIDR range.
fn not_nets<'a>(list: impl IntoIterator<Item = &'a String>) -> impl Iterator<Item = &'a String> {
    list.into_iter().filter(|n| !is_ip_or_cidr(n))
}

/// An optional path prefix must start with `/`.
fn path_prefix_ok(prefix: &Option<String>) -> bool {
    prefix.as_deref().is_none_or(|p| p.starts_with('/'))
}

fn is_ip_or_cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(ip) => prefix.is_none_or(|p| {
            p.parse::<u8>()
                .is_ok_and(|p| p <= if ip.is_ipv4() { 32 } else { 128 })
        }),
        Err(_) => false,
    }
}

/// A path-prefix route inside a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Path prefix this route answers, starting with `/`.
    pub path_prefix: String,
    /// Path prefixes under this route the gateway refuses with 404 (e.g. the control plane's
    /// own `/internal/` API on the admin host).
    #[serde(default)]
    pub deny_prefixes: Vec<String>,
    pub target: Target,
}

/// Where the requests of a route go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Serve the site's published pages from the content-addressed store, verifying each file's
    /// hash against the manifest before it is sent.
    Published,
    /// Proxy to the site's own server(s) (legacy sites, and the admin UI), round-robin.
    Proxy {
        /// `host:port` of each upstream server.
        upstreams: Vec<String>,
    },
}

/// One published file: its content hash and media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedFile {
    /// Lowercase hex SHA-256 of the file's bytes; also its name in the store.
    pub sha256: String,
    pub content_type: String,
}

/// Why a snapshot was refused. Each message names the offending site and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSnapshot {
    pub problems: Vec<String>,
}

impl fmt::Display for InvalidSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration snapshot: {}",
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for InvalidSnapshot {}

impl ConfigSnapshot {
    /// An empty snapshot (generation 0): the gateway answers every host with its 404 page.
    pub fn empty() -> Self {
        ConfigSnapshot {
            contract_version: CONTRACT_VERSION,
            generation: 0,
            generated_at: String::new(),
            sites: Vec::new(),
            group_service: Service::Normal,
            group_access: AccessList::default(),
            certificates: Vec::new(),
            bans: Vec::new(),
        }
    }

    /// Checks everything the gateway relies on. Returns all problems found, not just the first.
    pub fn validate(&self) -> Result<(), InvalidSnapshot> {
        let mut problems = Vec::new();
        if !(MIN_CONTRACT_VERSION..=CONTRACT_VERSION).contains(&self.contract_version) {
            problems.push(format!(
                "contract_version is {}, this gateway understands {MIN_CONTRACT_VERSION} to {}",
                self.contract_version, CONTRACT_VERSION
            ));
        }
        for net in not_nets(
            self.group_access
                .allow
                .iter()
                .chain(&self.group_access.deny),
        ) {
            problems.push(format!(
                "group access list entry {net:?} is not an IP or CIDR"
            ));
        }
        for ban in &self.bans {
            if ban.address.parse::<std::net::IpAddr>().is_err() {
                problems.push(format!(
                    "banned address {:?} is not an IP address",
                    ban.address
                ));
            }
        }
        let mut seen_hosts = HashSet::new();
        let mut seen_ids = HashSet::new();
        for site in &self.sites {
            let at = format!("site {} ({})", site.id, site.name);
            if !seen_ids.insert(site.id) {
                problems.push(format!("{at}: duplicate site id"));
            }
            if site.hostnames.is_empty() {
                problems.push(format!("{at}: no hostname"));
            }
            for host in &site.hostnames {
                if let Err(why) = check_hostname(host) {
                    problems.push(format!("{at}: hostname {host:?}: {why}"));
                }
                if !seen_hosts.insert(host.as_str()) {
                    problems.push(format!("{at}: hostname {host:?} is used by another site"));
                }
            }
            if site.routes.is_empty() {
                problems.push(format!("{at}: no route"));
            }
            if let Service::Closed { redirect, .. } = &site.service
                && let Err(why) = check_redirect(redirect)
            {
                problems.push(format!("{at}: closed-site redirect {redirect:?} {why}"));
            }
            for (name, value) in [
                ("X-Frame-Options", &site.security_headers.frame_options),
                ("Referrer-Policy", &site.security_headers.referrer_policy),
                (
                    "Content-Security-Policy",
                    &site.security_headers.content_security_policy,
                ),
                (
                    "Strict-Transport-Security",
                    &site.security_headers.strict_transport_security,
                ),
                ("X-XSS-Protection", &site.security_headers.xss_protection),
            ] {
                if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                    problems.push(format!(
                        "{at}: {name} value {value:?} is not printable ASCII"
                    ));
                }
            }
            if site.request_limits.max_body_bytes == 0
                || site.request_limits.max_header_bytes < 1024
            {
                problems.push(format!(
                    "{at}: request limits must allow a body of at least 1 byte and 1 KiB of headers"
                ));
            }
            for (i, l) in site.rate_limits.iter().enumerate() {
                if l.requests == 0 || !RATE_LIMIT_WINDOWS.contains(&l.per_seconds) {
                    problems.push(format!(
                        "{at}: rate limit {}: needs requests ≥ 1 and a window of 1, 10 or 60 s",
                        i + 1
                    ));
                }
                if !path_prefix_ok(&l.path_prefix) {
                    problems.push(format!(
                        "{at}: rate limit {}: path prefix must start with '/'",
                        i + 1
                    ));
                }
            }
            let waf = &site.waf;
            if !(1..=4).contains(&waf.paranoia_level) {
                problems.push(format!("{at}: WAF paranoia level must be 1 to 4"));
            }
            if waf.inbound_threshold == 0 || waf.outbound_threshold == 0 {
                problems.push(format!("{at}: WAF anomaly thresholds must be at least 1"));
            }
            for (i, x) in waf.exclusions.iter().enumerate() {
                if x.rule_ids.is_empty() && x.tags.is_empty() {
                    problems.push(format!(
                        "{at}: WAF exclusion {}: names no rule id or tag",
                        i + 1
                    ));
                }
                if !path_prefix_ok(&x.path_prefix) {
                    problems.push(format!(
                        "{at}: WAF exclusion {}: path prefix must start with '/'",
                        i + 1
                    ));
                }
            }
            for net in not_nets(site.access.allow.iter().chain(&site.access.deny)) {
                problems.push(format!(
                    "{at}: access list entry {net:?} is not an IP or CIDR"
                ));
            }
            for prefix in &waf.large_body_paths {
                if !prefix.starts_with('/') {
                    problems.push(format!(
                        "{at}: large-body path {prefix:?} must start with '/'"
                    ));
                }
            }
            for net in not_nets(&waf.ip_allowlist) {
                problems.push(format!(
                    "{at}: WAF allowlist entry {net:?} is not an IP or CIDR"
                ));
            }
            let mut prefixes = HashSet::new();
            for route in &site.routes {
                if !route.path_prefix.starts_with('/') {
                    problems.push(format!(
                        "{at}: route prefix {:?} must start with '/'",
                        route.path_prefix
                    ));
                }
                if !prefixes.insert(route.path_prefix.as_str()) {
                    problems.push(format!(
                        "{at}: route prefix {:?} repeated",
                        route.path_prefix
                    ));
                }
                for deny in &route.deny_prefixes {
                    if !deny.starts_with('/') {
                        problems.push(format!("{at}: deny prefix {deny:?} must start with '/'"));
                    }
                }
                if let Target::Proxy { upstreams } = &route.target {
                    if upstreams.is_empty() {
                        problems.push(format!(
                            "{at}: route {:?} proxies to no upstream",
                            route.path_prefix
                        ));
                    }
                    for upstream in upstreams {
                        if let Err(why) = check_upstream(upstream) {
                            problems.push(format!("{at}: upstream {upstream:?}: {why}"));
                        }
                    }
                }
            }
            for (path, file) in &site.manifest {
                if let Err(why) = check_manifest_path(path) {
                    problems.push(format!("{at}: manifest path {path:?}: {why}"));
                }
                if !crate::store::is_sha256_hex(&file.sha256) {
                    problems.push(format!(
                        "{at}: manifest path {path:?}: {:?} is not a lowercase hex SHA-256",
                        file.sha256
                    ));
                }
                if file.content_type.is_empty() || file.content_type.contains(['\r', '\n']) {
                    problems.push(format!("{at}: manifest path {path:?}: bad content type"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidSnapshot { problems })
        }
    }
}

/// A hostname as the gateway matches it: lowercase LDH labels, optionally `*.` first.
pub fn check_hostname(host: &str) -> Result<(), &'static str> {
    let name = host.strip_prefix("*.").unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return Err("must be 1 to 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each label must be 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("only lowercase letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label cannot start or end with '-'");
        }
    }
    Ok(())
}

fn check_upstream(upstream: &str) -> Result<(), &'static str> {
    let Some((host, port)) = upstream.rsplit_once(':') else {
        return Err("must be host:port");
    };
    if host.is_empty() {
        return Err("host is empty");
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err("port must be 1 to 65535"),
        Ok(_) => Ok(()),
    }
}

fn check_manifest_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("must start with '/'");
    }
    if path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("must not contain '.' or '..' segments");
    }
    if path.contains(['?', '#', '\\', '\0']) {
        return Err("must not contain '?', '#', '\\' or NUL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waf_policy_is_validated_and_v1_snapshots_still_read() {
        let mut snap = ConfigSnapshot {
            sites: vec![site(1, "a.example.gov.cn")],
            ..ConfigSnapshot::empty()
        };
        assert_eq!(snap.validate(), Ok(()));
        snap.sites[0].waf.paranoia_level = 5;
        snap.sites[0].waf.ip_allowlist = vec!["10.0.0.0/33".into()];
        snap.sites[0].waf.large_body_paths = vec!["upload".into()];
        snap.sites[0].service = Service::Closed {
            message: String::new(),
            redirect: "javascript:alert(1)".into(),
        };
        snap.sites[0].waf.exclusions = vec![WafExclusion::default()];
        snap.sites[0].rate_limits = vec![RateLimit {
            path_prefix: Some("login".into()),
            requests: 10,
            per_seconds: 30,
        }];
        let err = snap.validate().unwrap_err().to_string();
        assert!(err.contains("window of 1, 10 or 60 s"), "{err}");
        assert!(err.contains("path prefix must start with '/'"), "{err}");
        assert!(err.contains("paranoia level"), "{err}");
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(err.contains("large-body path \"upload\""), "{err}");
        assert!(err.contains("closed-site redirect"), "{err}");
        assert!(err.contains("names no rule id or tag"), "{err}");
        // A version-1 snapshot (no `waf` field) reads with the default policy.
        let v1 = r#"{"contract_version":1,"generation":3,"generated_at":"x","sites":[
            {"id":1,"name":"a","hostnames":["a.example.gov.cn"],
             "routes":[{"path_prefix":"/","target":{"kind":"published"}}]}]}"#;
        let snap: ConfigSnapshot = serde_json::from_str(v1).unwrap();
        assert_eq!(snap.validate(), Ok(()));
        assert_eq!(snap.sites[0].waf, WafPolicy::default());
    }

    fn site(id: i64, host: &str) -> SiteConfig {
        SiteConfig {
            id,
            name: format!("站点{id}"),
            hostnames: vec![host.to_string()],
            routes: vec![Route {
                path_prefix: "/".into(),
                deny_prefixes: vec![],
                target: Target::Published,
            }],
            manifest: BTreeMap::from([(
                "/index.html".to_string(),
                PublishedFile {
                    sha256: "a".repeat(64),
                    content_type: "text/html; charset=utf-8".into(),
                },
            )]),
            waf: WafPolicy::default(),
            security_headers: SecurityHeaders::default(),
            rate_limits: Vec::new(),
            service: Service::Normal,
            access: AccessList::default(),
            request_limits: RequestLimits::default(),
            tls: Default::default(),
        }
    }

    fn snapshot(sites: Vec<SiteConfig>) -> ConfigSnapshot {
        ConfigSnapshot {
            sites,
            ..ConfigSnapshot::empty()
        }
    }

    #[test]
    fn good_snapshot_passes_and_round_trips() {
        let snap = snapshot(vec![
            site(1, "www.demo.localhost"),
            site(2, "*.demo.localhost"),
        ]);
        assert_eq!(snap.validate(), Ok(()));
        let json = serde_json::to_string(&snap).unwrap();
        let back: ConfigSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
    }

    #[test]
    fn every_problem_is_reported() {
        let mut bad = site(1, "WWW.demo.localhost");
        bad.routes.push(Route {
            path_prefix: "api".into(),
            deny_prefixes: vec![],
            target: Target::Proxy {
                upstreams: vec!["127.0.0.1:0".into(), "nohost".into()],
            },
        });
        bad.manifest.insert(
            "/../etc/passwd".into(),
            PublishedFile {
                sha256: "xyz".into(),
                content_type: "text/html".into(),
            },
        );
        let dup = site(2, "www.demo.localhost");
        let mut snap = snapshot(vec![bad, dup.clone(), dup]);
        snap.contract_version = 99;
        let err = snap.validate().unwrap_err();
        let text = err.to_string();
        for needle in [
            "contract_version is 99",
            "only lowercase letters",
            "must start with '/'",
            "port must be 1 to 65535",
            "must be host:port",
            "'..' segments",
            "not a lowercase hex SHA-256",
            "duplicate site id",
            "is used by another site",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let json =
            r#"{"contract_version":1,"generation":1,"generated_at":"","sites":[],"extra":1}"#;
        let err = serde_json::from_str::<ConfigSnapshot>(json).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname("www.demo.localhost").is_ok());
        assert!(check_hostname("*.demo.localhost").is_ok());
        assert!(check_hostname("xn--fiqs8s.gov.cn").is_ok());
        assert!(check_hostname("").is_err());
        assert!(check_hostname("a..b").is_err());
        assert!(check_hostname("-a.b").is_err());
        assert!(check_hostname("a.b:80").is_err());
        assert!(check_hostname(&"a".repeat(64)).is_err());
    }
}
