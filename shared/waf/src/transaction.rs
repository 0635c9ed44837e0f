//! A transaction: one request (and its response) going through the rule set, phase by phase.
//!
//! The caller feeds what it knows — connection, request line, headers, body, response — and
//! calls the `process_*` method of each phase, which returns an [`Interruption`] when a rule
//! decides the transaction must stop. Nothing here knows any HTTP library.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use regex::bytes::Regex;

use crate::actions::{AllowScope, Ctl, Disruptive, Effect, IdRange, SetVarOp, severity_name};
use crate::body::multipart::Flags;
use crate::body::xml::XmlDoc;
use crate::body::{self, BodyProcessor};
use crate::engine::{EngineMode, LimitAction, RuleSet};
use crate::rule::{Entry, Rule, RuleOperator};
use crate::variables::{Each, Exclusion, Value, Variable, atoi, collect};

pub(crate) type Kv = (Vec<u8>, Vec<u8>);

/// Why a transaction was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    /// HTTP status to answer with.
    pub status: u16,
    /// The rule that decided (0 for engine limits such as the body size).
    pub rule_id: u32,
    pub message: String,
    pub action: InterruptAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterruptAction {
    Deny,
    /// Close the connection without an answer.
    Drop,
    Redirect(String),
}

/// A rule that matched, for logs and security events.
#[derive(Debug, Clone)]
pub struct MatchedRule {
    pub id: u32,
    pub phase: u8,
    pub file: Arc<str>,
    pub line: usize,
    pub message: String,
    pub data: String,
    pub severity: Option<u8>,
    pub tags: Vec<String>,
    pub ver: Option<String>,
    /// Name of the last variable that matched (`ARGS:q`).
    pub matched_var_name: String,
    /// Its value after transformations.
    pub matched_value: Vec<u8>,
    /// Whether this match interrupted the transaction.
    pub disruptive: bool,
}

impl MatchedRule {
    /// A line in ModSecurity's error-log style (`[id "942100"] [msg "…"] …`), which rule
    /// tests and operators' tooling grep.
    pub fn log_line(&self) -> String {
        let mut s = format!(
            "[file \"{}\"] [line \"{}\"] [id \"{}\"] [msg \"{}\"] [data \"{}\"]",
            self.file,
            self.line,
            self.id,
            escape_log(&self.message),
            escape_log(&self.data)
        );
        if let Some(sev) = self.severity {
            s.push_str(&format!(" [severity \"{}\"]", severity_name(sev)));
        }
        if let Some(v) = &self.ver {
            s.push_str(&format!(" [ver \"{v}\"]"));
        }
        for t in &self.tags {
            s.push_str(&format!(" [tag \"{t}\"]"));
        }
        s
    }
}

/// Applies a transformation chain; `None` when nothing changed.
fn apply_all(chain: &[crate::transformations::Transformation], input: &[u8]) -> Option<Vec<u8>> {
    let mut cur: Option<Vec<u8>> = None;
    for t in chain {
        if let Some(next) = (t.apply)(cur.as_deref().unwrap_or(input)) {
            cur = Some(next);
        }
    }
    cur
}

/// Log-safe text: quotes escaped, control characters as `\xHH` (as ModSecurity logs them).
fn escape_log(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Default)]
pub(crate) struct Request {
    pub remote_addr: String,
    pub remote_port: u16,
    pub server_addr: String,
    pub server_port: u16,
    pub method: Vec<u8>,
    pub uri_raw: Vec<u8>,
    pub uri: Vec<u8>,
    pub protocol: Vec<u8>,
    pub line: Vec<u8>,
    pub filename: Vec<u8>,
    pub query_string: Vec<u8>,
    pub headers: Vec<Kv>,
    pub cookies: Vec<Kv>,
    pub args_get: Vec<Kv>,
    pub args_post: Vec<Kv>,
    pub files: Vec<Kv>,
    pub files_sizes: Vec<Kv>,
    /// Field name → uploaded file content (`FILES_TMP_CONTENT`).
    pub files_content: Vec<Kv>,
    pub multipart_headers: Vec<Kv>,
    pub multipart: Flags,
    pub body: Vec<u8>,
    pub body_truncated: bool,
    /// Whether `REQUEST_BODY` is populated: as in ModSecurity, for the URLENCODED processor or
    /// when a rule forces it (`ctl:forceRequestBodyVariable`), not for multipart/JSON/XML.
    pub body_variable: bool,
    pub body_processor: Option<BodyProcessor>,
    pub body_error: Option<String>,
    pub urlencoded_error: bool,
    pub xml: Option<XmlDoc>,
}

/// The first header called `name` (case-insensitively).
fn find_header<'h>(headers: &'h [Kv], name: &[u8]) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

impl Request {
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    pub fn basename(&self) -> &[u8] {
        let f = &self.filename;
        match f.iter().rposition(|&b| b == b'/') {
            Some(p) => &f[p + 1..],
            None => f,
        }
    }

    pub fn full_request(&self) -> Vec<u8> {
        let mut out = self.line.clone();
        out.extend_from_slice(b"\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }
}

#[derive(Debug, Default)]
pub(crate) struct Response {
    pub status: u16,
    pub protocol: Vec<u8>,
    pub headers: Vec<Kv>,
    pub body: Vec<u8>,
    pub body_inspected: bool,
    pub body_truncated: bool,
}

impl Response {
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}

/// Which rules a runtime exclusion (`ctl:ruleRemoveTarget…`) applies to.
#[derive(Debug)]
enum RuleSel {
    Ids(Vec<IdRange>),
    /// Mask over the rule set's tags (see `RuleSet::tag_mask`).
    Tags(Vec<bool>),
}

impl RuleSel {
    fn applies(&self, rule: &Rule) -> bool {
        match self {
            RuleSel::Ids(r) => r.iter().any(|x| x.contains(rule.id)),
            RuleSel::Tags(mask) => rule
                .tag_ids
                .iter()
                .any(|&t| mask.get(usize::from(t)).copied().unwrap_or(false)),
        }
    }
}

/// One match of a rule link, found while the transaction is only read.
struct Found {
    name: Vec<u8>,
    value: Vec<u8>,
    captures: Option<Vec<Vec<u8>>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One request/response under inspection.
pub struct Transaction {
    rules: Arc<RuleSet>,
    pub(crate) request: Request,
    pub(crate) response: Response,
    /// TX, IP, GLOBAL, SESSION, USER, RESOURCE (see [`collection_key`]), keys lowercased.
    pub(crate) collections: Collections,
    pub(crate) env: BTreeMap<String, Vec<u8>>,
    pub(crate) matched_var: Option<(Vec<u8>, Vec<u8>)>,
    pub(crate) matched_vars: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) highest_severity: u8,
    pub(crate) unique_id: String,
    pub(crate) started: Instant,
    current_rule: Option<(u32, u8)>,
    mode: EngineMode,
    request_body_access: bool,
    response_body_access: bool,
    force_body_variable: bool,
    body_processor_override: Option<BodyProcessor>,
    request_body_limit: usize,
    response_body_limit: usize,
    removed_ids: Vec<IdRange>,
    /// Masks over the rule set's tags (`ctl:ruleRemoveByTag`).
    removed_tags: Vec<Vec<bool>>,
    removed_targets: Vec<(RuleSel, Vec<Exclusion>)>,
    matched: Vec<MatchedRule>,
    interruption: Option<Interruption>,
    allow: Option<AllowScope>,
    phases_done: [bool; 5],
    /// Transformed values of stable variables: (chain id, value address, length) → the
    /// result (`None`: the chain leaves the value unchanged). Cleared whenever request or
    /// response data change.
    tcache: RefCell<HashMap<(u32, usize, usize), Cached, FastHash>>,
}

/// A cached transformation result and its grouped-prefilter hits.
#[derive(Clone)]
struct Cached {
    /// `None`: the chain leaves the value unchanged.
    value: Option<Arc<[u8]>>,
    /// The chain's prefilter slots whose literals occur in the value.
    hits: Option<crate::engine::Hits>,
}

/// FxHash-style hashing for the cache's integer keys (SipHash costs more than the lookup).
#[derive(Default, Clone, Copy)]
struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

fn collection_key(name: &str) -> Option<&'static str> {
    Some(match name {
        "tx" => "tx",
        "ip" => "ip",
        "global" => "global",
        "session" => "session",
        "user" => "user",
        "resource" => "resource",
        _ => return None,
    })
}

/// The transaction's variable collections, in a fixed array (no hashing on the hot path).
#[derive(Debug, Default)]
pub(crate) struct Collections([BTreeMap<String, Vec<u8>>; 6]);

impl Collections {
    fn index(name: &str) -> Option<usize> {
        ["tx", "ip", "global", "session", "user", "resource"]
            .iter()
            .position(|n| *n == name)
    }

    pub fn get(&self, name: &str) -> Option<&BTreeMap<String, Vec<u8>>> {
        Self::index(name).map(|i| &self.0[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut BTreeMap<String, Vec<u8>>> {
        Self::index(name).map(|i| &mut self.0[i])
    }

    fn tx(&mut self) -> &mut BTreeMap<String, Vec<u8>> {
        &mut self.0[0]
    }
}

impl Transaction {
    pub(crate) fn new(rules: Arc<RuleSet>) -> Transaction {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let c = &rules.config;
        Transaction {
            mode: c.mode,
            request_body_access: c.request_body_access,
            response_body_access: c.response_body_access,
            request_body_limit: c.request_body_limit,
            response_body_limit: c.response_body_limit,
            request: Request::default(),
            response: Response::default(),
            collections: Collections::default(),
            env: BTreeMap::new(),
            matched_var: None,
            matched_vars: Vec::new(),
            highest_severity: 255,
            unique_id: format!("{:x}{:06x}", nanos as u64, n & 0xff_ffff),
            started: Instant::now(),
            current_rule: None,
            force_body_variable: false,
            body_processor_override: None,
            removed_ids: Vec::new(),
            removed_tags: Vec::new(),
            removed_targets: Vec::new(),
            matched: Vec::new(),
            interruption: None,
            allow: None,
            phases_done: [false; 5],
            tcache: RefCell::new(HashMap::default()),
            rules,
        }
    }

    /// The id logs and block pages show for this transaction (`UNIQUE_ID`).
    pub fn id(&self) -> &str {
        &self.unique_id
    }

    /// Overrides the generated id (e.g. with the gateway's request id).
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.unique_id = id.into();
    }

    /// The engine mode in effect (rules may change it with `ctl:ruleEngine`).
    pub fn mode(&self) -> EngineMode {
        self.mode
    }

    pub fn set_mode(&mut self, mode: EngineMode) {
        self.mode = mode;
    }

    /// Marks the buffered request body as the first part of a longer one (`INBOUND_DATA_ERROR`
    /// = 1): processors then do not treat the missing end (e.g. multipart's final boundary)
    /// as an error.
    pub fn mark_request_body_partial(&mut self) {
        self.request.body_truncated = true;
    }

    /// Turns request-body inspection off for this transaction (the body is not available, e.g.
    /// larger than the caller buffers); phase 2 then sees the request line and headers only.
    pub fn set_request_body_access(&mut self, on: bool) {
        self.request_body_access = on;
    }

    pub fn request_body_access(&self) -> bool {
        self.request_body_access && self.mode != EngineMode::Off
    }

    pub fn response_body_access(&self) -> bool {
        self.response_body_access && self.mode != EngineMode::Off
    }

    pub fn request_body_limit(&self) -> usize {
        self.request_body_limit
    }

    /// Rules that matched so far (only those that log).
    pub fn matched_rules(&self) -> &[MatchedRule] {
        &self.matched
    }

    pub fn interruption(&self) -> Option<&Interruption> {
        self.interruption.as_ref()
    }

    /// A transaction variable (`TX:inbound_anomaly_score`), e.g. for reporting scores.
    pub fn tx_var(&self, name: &str) -> Option<&[u8]> {
        self.collections
            .get("tx")?
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// Sets a transaction variable before rules run (per-site policy such as the paranoia
    /// level is handed to the rules this way).
    pub fn set_tx_var(&mut self, name: &str, value: &[u8]) {
        self.collections
            .tx()
            .insert(name.to_ascii_lowercase(), value.to_vec());
    }

    /// Excludes a target from some rules for this transaction, as `ctl:ruleRemoveTargetById`.
    pub fn remove_target_by_id(&mut self, ids: Vec<IdRange>, exclusions: Vec<Exclusion>) {
        self.removed_targets.push((RuleSel::Ids(ids), exclusions));
    }

    pub fn remove_target_by_tag(&mut self, tag: Regex, exclusions: Vec<Exclusion>) {
        let mask = self.rules.tag_mask(&tag);
        self.removed_targets.push((RuleSel::Tags(mask), exclusions));
    }

    pub fn remove_rules_by_id(&mut self, ids: Vec<IdRange>) {
        self.removed_ids.extend(ids);
    }

    pub fn remove_rules_by_tag(&mut self, tag: Regex) {
        let mask = self.rules.tag_mask(&tag);
        self.removed_tags.push(mask);
    }

    /// A readable dump of the parsed request and the transaction variables, for debugging
    /// rules.
    pub fn debug_dump(&self) -> String {
        let r = &self.request;
        let show = |kv: &[Kv]| {
            kv.iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(k),
                        String::from_utf8_lossy(v)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "mode={:?} allow={:?} processor={:?} body_error={:?} args_get=[{}] args_post=[{}] body_variable={}\n",
            self.mode,
            self.allow,
            r.body_processor,
            r.body_error,
            show(&r.args_get),
            show(&r.args_post),
            r.body_variable
        );
        if let Some(tx) = self.collections.get("tx") {
            for (k, v) in tx {
                out.push_str(&format!("  tx.{k}={}\n", String::from_utf8_lossy(v)));
            }
        }
        out
    }

    pub(crate) fn current_rule_info(&self) -> Option<Vec<(&'static str, Vec<u8>)>> {
        let (id, phase) = self.current_rule?;
        Some(vec![
            ("id", id.to_string().into_bytes()),
            ("phase", phase.to_string().into_bytes()),
        ])
    }

    // ---- feeding the transaction ------------------------------------------------------------

    pub fn process_connection(
        &mut self,
        client_addr: &str,
        client_port: u16,
        server_addr: &str,
        server_port: u16,
    ) {
        self.request.remote_addr = client_addr.to_string();
        self.request.remote_port = client_port;
        self.request.server_addr = server_addr.to_string();
        self.request.server_port = server_port;
    }

    /// The request line: method, the URI as received (origin or absolute form), protocol
    /// (`HTTP/1.1`).
    pub fn process_uri(&mut self, method: &[u8], uri: &[u8], protocol: &[u8]) {
        self.tcache.get_mut().clear();
        let r = &mut self.request;
        r.method = method.to_vec();
        r.protocol = protocol.to_vec();
        r.uri_raw = uri.to_vec();
        let mut line = method.to_vec();
        line.push(b' ');
        line.extend_from_slice(uri);
        if !protocol.is_empty() {
            line.push(b' ');
            line.extend_from_slice(protocol);
        }
        r.line = line;
        // Absolute form: drop scheme and authority.
        let lower = uri.to_ascii_lowercase();
        let mut rel = uri;
        for scheme in [&b"http://"[..], b"https://"] {
            if lower.starts_with(scheme) {
                let rest = &uri[scheme.len()..];
                rel = match rest.iter().position(|&b| b == b'/' || b == b'?') {
                    Some(p) => &rest[p..],
                    None => b"/",
                };
            }
        }
        r.uri = rel.to_vec();
        let (path, query) = match rel.iter().position(|&b| b == b'?') {
            Some(q) => (&rel[..q], &rel[q + 1..]),
            None => (rel, &b""[..]),
        };
        let path = match path.iter().position(|&b| b == b'#') {
            Some(h) => &path[..h],
            None => path,
        };
        // Percent-decoded as the web server hands it over (`+` stays a plus in a path).
        r.filename = crate::transformations::percent_decode(path);
        r.query_string = query.to_vec();
        let (args, invalid) = body::urlencoded::parse(query);
        r.urlencoded_error |= invalid;
        r.args_get = args;
    }

    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        self.tcache.get_mut().clear();
        if name.eq_ignore_ascii_case(b"cookie") {
            for c in value.split(|&b| b == b';') {
                let c = c.trim_ascii();
                if c.is_empty() {
                    continue;
                }
                let (k, v) = match c.iter().position(|&b| b == b'=') {
                    Some(eq) => (&c[..eq], &c[eq + 1..]),
                    None => (c, &b""[..]),
                };
                self.request
                    .cookies
                    .push((k.trim_ascii().to_vec(), v.to_vec()));
            }
        }
        self.request.headers.push((name.to_vec(), value.to_vec()));
    }

    /// Phase 1. Runs once; later calls return the earlier outcome.
    pub fn process_request_headers(&mut self) -> Option<Interruption> {
        if let Some(ct) = self.request.header(b"content-type") {
            self.request.body_processor = BodyProcessor::for_content_type(ct);
        }
        self.run_phase(1)
    }

    /// Buffers request body bytes (call before [`Self::process_request_body`]). Beyond the
    /// limit, `SecRequestBodyLimitAction` decides: `Reject` interrupts with 413 (only logged in
    /// DetectionOnly), `ProcessPartial` keeps the part within the limit.
    pub fn append_request_body(&mut self, chunk: &[u8]) -> Option<Interruption> {
        self.tcache.get_mut().clear();
        if let Some(i) = &self.interruption {
            return Some(i.clone());
        }
        let room = self
            .request_body_limit
            .saturating_sub(self.request.body.len());
        if chunk.len() <= room {
            self.request.body.extend_from_slice(chunk);
            return None;
        }
        self.request.body.extend_from_slice(&chunk[..room]);
        self.request.body_truncated = true;
        self.over_limit("Request body is larger than the configured limit")
    }

    fn over_limit(&mut self, message: &str) -> Option<Interruption> {
        if self.rules.config.request_body_limit_action == LimitAction::Reject
            && self.mode == EngineMode::On
        {
            let i = Interruption {
                status: 413,
                rule_id: 0,
                message: format!("{message} ({} bytes)", self.request_body_limit),
                action: InterruptAction::Deny,
            };
            self.interruption = Some(i.clone());
            return Some(i);
        }
        None
    }

    /// Phase 2: parses the buffered body with the processor the `Content-Type` (or a `ctl`)
    /// chose, then runs the rules.
    pub fn process_request_body(&mut self) -> Option<Interruption> {
        if self.phases_done[1] || self.interruption.is_some() {
            return self.interruption.clone();
        }
        if self.request_body_access && self.mode != EngineMode::Off {
            self.parse_request_body();
        }
        self.run_phase(2)
    }

    fn parse_request_body(&mut self) {
        let processor = self.body_processor_override.or(self.request.body_processor);
        self.request.body_processor = processor;
        if processor != Some(BodyProcessor::Multipart)
            && self.request.body.len() > self.rules.config.request_body_no_files_limit
        {
            self.request.body_truncated = true;
            if self
                .over_limit("Request body (without files) is larger than the configured limit")
                .is_some()
            {
                return;
            }
        }
        let body = std::mem::take(&mut self.request.body);
        let r = &mut self.request;
        // An empty body has nothing to parse (and is no error for JSON or XML).
        let processor = if body.is_empty() { None } else { processor };
        match processor {
            Some(BodyProcessor::UrlEncoded) => {
                let (pairs, invalid) = body::urlencoded::parse(&body);
                r.urlencoded_error |= invalid;
                r.args_post = pairs;
                r.body_variable = true;
            }
            Some(BodyProcessor::Multipart) => {
                let ct = r.header(b"content-type").unwrap_or_default().to_vec();
                // A body cut at the inspection limit has no final boundary; that is expected.
                let (m, err) = if r.body_truncated {
                    body::multipart::parse_partial(&body, &ct)
                } else {
                    body::multipart::parse(&body, &ct)
                };
                let flags = m.flags;
                r.args_post = m.args;
                r.files = m.files;
                r.files_sizes = m.file_sizes;
                r.files_content = m.file_contents;
                r.multipart_headers = m.part_headers;
                r.multipart = flags;
                r.body_error = err;
            }
            Some(BodyProcessor::Json) => match body::json::parse(&body) {
                Ok(args) => r.args_post = args,
                Err(e) => r.body_error = Some(e),
            },
            Some(BodyProcessor::Xml) => match body::xml::parse(&body) {
                Ok(doc) => r.xml = Some(doc),
                Err(e) => r.body_error = Some(e),
            },
            None => {}
        }
        if self.force_body_variable {
            r.body_variable = true;
        }
        let limit = self.rules.config.arguments_limit;
        if r.args_get.len() + r.args_post.len() > limit {
            let keep = limit.saturating_sub(r.args_get.len());
            r.args_post.truncate(keep);
            r.body_error
                .get_or_insert_with(|| format!("more than {limit} arguments"));
        }
        r.body = body;
        self.tcache.get_mut().clear();
    }

    /// Phase 3.
    pub fn process_response_headers(
        &mut self,
        status: u16,
        protocol: &[u8],
    ) -> Option<Interruption> {
        self.response.status = status;
        self.response.protocol = protocol.to_vec();
        self.run_phase(3)
    }

    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        self.tcache.get_mut().clear();
        self.response.headers.push((name.to_vec(), value.to_vec()));
    }

    /// Whether the response body should be buffered for phase 4: body access is on and the
    /// response's MIME type is one of `SecResponseBodyMimeType`.
    pub fn wants_response_body(&self) -> bool {
        if !self.response_body_access() {
            return false;
        }
        let ct = self.response.header(b"content-type").unwrap_or_default();
        let mime = ct
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii()
            .to_ascii_lowercase();
        self.rules
            .config
            .response_body_mime_types
            .iter()
            .any(|m| m.as_bytes() == mime.as_slice())
    }

    /// Buffers response body bytes up to the response limit.
    pub fn append_response_body(&mut self, chunk: &[u8]) {
        self.tcache.get_mut().clear();
        let room = self
            .response_body_limit
            .saturating_sub(self.response.body.len());
        let take = chunk.len().min(room);
        self.response.body.extend_from_slice(&chunk[..take]);
        if take < chunk.len() {
            self.response.body_truncated = true;
        }
    }

    /// Phase 4.
    pub fn process_response_body(&mut self) -> Option<Interruption> {
        self.tcache.get_mut().clear();
        if self.wants_response_body() {
            self.response.body_inspected = true;
        }
        self.run_phase(4)
    }

    /// Phase 5: always runs, even after an interruption.
    pub fn process_logging(&mut self) {
        self.run_phase(5);
    }

    // ---- evaluation ---------------------------------------------------------------------------

    fn run_phase(&mut self, phase: u8) -> Option<Interruption> {
        let p = usize::from(phase - 1);
        if self.phases_done[p] {
            return self.interruption.clone();
        }
        self.phases_done[p] = true;
        if self.mode == EngineMode::Off {
            return None;
        }
        if phase < 5 {
            if self.interruption.is_some() {
                return self.interruption.clone();
            }
            match self.allow {
                Some(AllowScope::All) => return None,
                Some(AllowScope::Request) if phase <= 2 => return None,
                _ => {}
            }
        }
        let rules = self.rules.clone();
        let entries = &rules.phases[p];
        let mut i = 0;
        while i < entries.len() {
            let Entry::Rule(rule) = &entries[i] else {
                i += 1;
                continue;
            };
            i += 1;
            if self.is_removed(rule) {
                continue;
            }
            self.current_rule = Some((rule.id, phase));
            self.matched_vars.clear();
            if !self.eval_chain(rule) {
                continue;
            }
            let stop = self.on_match(rule, phase);
            if self.interruption.is_some() && phase < 5 {
                return self.interruption.clone();
            }
            if stop {
                break;
            }
            if let Some(marker) = &rule.actions.skip_after {
                i = match rules.markers[p].get(marker) {
                    Some(&at) if at >= i => at + 1,
                    _ => entries.len(),
                };
            } else if rule.actions.skip > 0 {
                let mut left = rule.actions.skip;
                while left > 0 && i < entries.len() {
                    if matches!(entries[i], Entry::Rule(_)) {
                        left -= 1;
                    }
                    i += 1;
                }
            }
        }
        self.current_rule = None;
        self.interruption.clone()
    }

    fn is_removed(&self, rule: &Rule) -> bool {
        self.removed_ids.iter().any(|r| r.contains(rule.id))
            || self.removed_tags.iter().any(|mask| {
                rule.tag_ids
                    .iter()
                    .any(|&t| mask.get(usize::from(t)).copied().unwrap_or(false))
            })
    }

    fn eval_chain(&mut self, starter: &Rule) -> bool {
        let mut link = Some(starter);
        while let Some(rule) = link {
            if !self.eval_link(starter, rule) {
                return false;
            }
            link = rule.chain.as_deref();
        }
        true
    }

    /// Evaluates one link; on a match, records it and runs the link's non-disruptive actions
    /// once per matching value.
    fn eval_link(&mut self, starter: &Rule, rule: &Rule) -> bool {
        let found = self.find_matches(starter, rule);
        if found.is_empty() {
            return false;
        }
        for f in found {
            if let Some(caps) = f.captures {
                let tx = self.collections.tx();
                for i in 0..10 {
                    let key = i.to_string();
                    match caps.get(i) {
                        Some(c) => {
                            tx.insert(key, c.clone());
                        }
                        None => {
                            tx.remove(&key);
                        }
                    }
                }
            }
            self.matched_var = Some((f.name.clone(), f.value.clone()));
            self.matched_vars.push((f.name, f.value));
            self.run_effects(rule);
        }
        true
    }

    fn find_matches(&self, starter: &Rule, rule: &Rule) -> Vec<Found> {
        let Some(op) = &rule.operator else {
            return vec![Found {
                name: Vec::new(),
                value: Vec::new(),
                captures: None,
            }];
        };
        // Runtime exclusions (`ctl:ruleRemoveTarget…`) that concern this rule, decided once.
        let runtime: Vec<&Exclusion> = self
            .removed_targets
            .iter()
            .filter(|(sel, _)| sel.applies(starter))
            .flat_map(|(_, xs)| xs)
            .collect();
        let excluded = |v: Variable, k: &[u8]| {
            rule.exclusions.iter().any(|x| x.excludes(v, k))
                || runtime.iter().any(|x| x.excludes(v, k))
        };
        let mut found = Vec::new();
        let capture = rule.actions.capture;
        let mut handle = |v: Value| {
            let test = |input: &[u8], found: &mut Vec<Found>| {
                let mut caps = capture.then(Vec::new);
                if self.test(op, input, caps.as_mut()) {
                    found.push(Found {
                        name: v.full_name(),
                        value: input.to_vec(),
                        captures: caps.filter(|c| !c.is_empty()),
                    });
                    true
                } else {
                    false
                }
            };
            if !rule.actions.multi_match
                && v.variable.is_stable()
                && matches!(v.value, Cow::Borrowed(_))
            {
                let key = (rule.tchain, v.value.as_ptr() as usize, v.value.len());
                let cached = self.tcache.borrow().get(&key).cloned();
                let mut entry = cached.unwrap_or_else(|| {
                    let value = apply_all(&rule.transformations, &v.value).map(Arc::from);
                    let e = Cached { value, hits: None };
                    self.tcache.borrow_mut().insert(key, e.clone());
                    e
                });
                let input: &[u8] = entry.value.as_deref().unwrap_or(&v.value);
                if let Some(slot) = rule.slot
                    && let Some(Some(group)) = self.rules.groups.get(rule.tchain as usize)
                {
                    let hit = match &entry.hits {
                        Some(h) => h.contains(slot),
                        None => {
                            let h = group.hits(input);
                            let hit = h.contains(slot);
                            entry.hits = Some(h);
                            self.tcache.borrow_mut().insert(key, entry.clone());
                            hit
                        }
                    };
                    if !hit {
                        return;
                    }
                }
                let input: &[u8] = entry.value.as_deref().unwrap_or(&v.value);
                test(input, &mut found);
                return;
            }
            let mut cur: Cow<[u8]> = Cow::Borrowed(&v.value);
            if rule.actions.multi_match {
                test(&cur, &mut found);
                for t in &rule.transformations {
                    if let Some(next) = (t.apply)(&cur)
                        && next != *cur
                    {
                        cur = Cow::Owned(next);
                        test(&cur, &mut found);
                    }
                }
            } else {
                for t in &rule.transformations {
                    if let Some(next) = (t.apply)(&cur) {
                        cur = Cow::Owned(next);
                    }
                }
                test(&cur, &mut found);
            }
        };
        for t in &rule.targets {
            collect(self, t, &excluded, &mut Each(&mut handle));
        }
        found
    }

    fn test(&self, op: &RuleOperator, input: &[u8], caps: Option<&mut Vec<Vec<u8>>>) -> bool {
        if let Some(pre) = &op.prefilter
            && !pre.is_match(input)
        {
            return op.negated;
        }
        let hit = op
            .op
            .evaluate(self, input, if op.negated { None } else { caps });
        hit != op.negated
    }

    fn run_effects(&mut self, rule: &Rule) {
        for effect in &rule.actions.effects {
            match effect {
                Effect::SetVar(sv) => {
                    let Some(coll) = collection_key(&sv.collection) else {
                        continue;
                    };
                    // Keys are lowercased when parsed; most are literal.
                    let key: Cow<str> = match sv.key.literal() {
                        Some(k) => String::from_utf8_lossy(k),
                        None => Cow::Owned(
                            String::from_utf8_lossy(&sv.key.expand(self)).to_ascii_lowercase(),
                        ),
                    };
                    let value = match &sv.op {
                        SetVarOp::Delete => {
                            if let Some(m) = self.collections.get_mut(coll) {
                                m.remove(key.as_ref());
                            }
                            continue;
                        }
                        SetVarOp::Set(m) => m.expand(self).into_owned(),
                        SetVarOp::Add(m) | SetVarOp::Sub(m) => {
                            let delta = atoi(&m.expand(self));
                            let cur = self
                                .collections
                                .get(coll)
                                .and_then(|c| c.get(key.as_ref()))
                                .map_or(0, |v| atoi(v));
                            let n = if matches!(sv.op, SetVarOp::Add(_)) {
                                cur.saturating_add(delta)
                            } else {
                                cur.saturating_sub(delta)
                            };
                            n.to_string().into_bytes()
                        }
                    };
                    if let Some(m) = self.collections.get_mut(coll) {
                        match m.get_mut(key.as_ref()) {
                            Some(slot) => *slot = value,
                            None => {
                                m.insert(key.into_owned(), value);
                            }
                        }
                    }
                }
                Effect::Ctl(ctl) => self.apply_ctl(ctl),
                Effect::SetEnv(k, v) => {
                    let key = k.expand_string(self);
                    let value = v.expand(self).into_owned();
                    self.env.insert(key, value);
                }
            }
        }
    }

    fn apply_ctl(&mut self, ctl: &Ctl) {
        match ctl {
            Ctl::RuleEngine(m) => self.mode = *m,
            Ctl::RuleRemoveById(ids) => self.removed_ids.extend(ids.iter().copied()),
            Ctl::RuleRemoveByTag(re) => {
                let mask = self.rules.tag_mask(re);
                self.removed_tags.push(mask);
            }
            Ctl::RuleRemoveTargetById(ids, xs) => self
                .removed_targets
                .push((RuleSel::Ids(ids.clone()), xs.clone())),
            Ctl::RuleRemoveTargetByTag(re, xs) => {
                let mask = self.rules.tag_mask(re);
                self.removed_targets.push((RuleSel::Tags(mask), xs.clone()));
            }
            Ctl::RequestBodyProcessor(p) => {
                self.body_processor_override = Some(*p);
                if !self.phases_done[1] {
                    self.request.body_processor = Some(*p);
                }
            }
            Ctl::ForceRequestBodyVariable(b) => self.force_body_variable = *b,
            Ctl::RequestBodyAccess(b) => self.request_body_access = *b,
            Ctl::ResponseBodyAccess(b) => self.response_body_access = *b,
            Ctl::RequestBodyLimit(n) => self.request_body_limit = *n,
            Ctl::ResponseBodyLimit(n) => self.response_body_limit = *n,
            Ctl::Audit => {}
        }
    }

    /// A whole chain matched: log it and apply the disruptive action. Returns whether the
    /// rest of the phase is skipped (`allow`).
    fn on_match(&mut self, rule: &Rule, phase: u8) -> bool {
        if let Some(s) = rule.actions.severity {
            self.highest_severity = self.highest_severity.min(s);
        }
        // `block` and the default status are those of the SecDefaultAction in force where the
        // rule was written (a later rule file's defaults do not change CRS's `block`).
        let disruptive = match &rule.disruptive {
            Disruptive::Block => rule.block_as.clone(),
            d => d.clone(),
        };
        let status = rule.actions.status.or(rule.default_status).unwrap_or(403);
        let enforce = self.mode == EngineMode::On;
        let mut interrupted = false;
        let mut stop = false;
        if enforce && phase < 5 {
            let action = match &disruptive {
                Disruptive::Deny => Some(InterruptAction::Deny),
                Disruptive::Drop => Some(InterruptAction::Drop),
                Disruptive::Redirect(url) => Some(InterruptAction::Redirect(
                    crate::macros::Macro::parse(url)
                        .map(|m| m.expand_string(self))
                        .unwrap_or_else(|_| url.clone()),
                )),
                Disruptive::Allow(scope) => {
                    self.allow = Some(*scope);
                    stop = true;
                    None
                }
                Disruptive::Pass | Disruptive::Block => None,
            };
            if let Some(action) = action {
                let status = match action {
                    InterruptAction::Redirect(_) if !(300..400).contains(&status) => 302,
                    _ => status,
                };
                self.interruption = Some(Interruption {
                    status,
                    rule_id: rule.id,
                    message: rule
                        .actions
                        .msg
                        .as_ref()
                        .map(|m| m.expand_string(self))
                        .unwrap_or_default(),
                    action,
                });
                interrupted = true;
            }
        }
        if rule.log {
            let (name, value) = self.matched_var.clone().unwrap_or_default();
            self.matched.push(MatchedRule {
                id: rule.id,
                phase,
                file: rule.file.clone(),
                line: rule.line,
                message: rule
                    .actions
                    .msg
                    .as_ref()
                    .map(|m| m.expand_string(self))
                    .unwrap_or_default(),
                data: rule
                    .actions
                    .logdata
                    .as_ref()
                    .map(|m| m.expand_string(self))
                    .unwrap_or_default(),
                severity: rule.actions.severity,
                tags: rule.actions.tags.clone(),
                ver: rule.actions.ver.clone(),
                matched_var_name: String::from_utf8_lossy(&name).into_owned(),
                matched_value: value,
                disruptive: interrupted,
            });
        }
        stop
    }
}
