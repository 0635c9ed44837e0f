//! A transaction: one request (and its response) going through the rule set, phase by phase.
//!
//! The caller feeds what it knows — connection, request line, headers, body, response — and
//! calls the `process_*` method of each phase, which returns an [`Interruption`] when a rule
//! decides the transaction must stop. Nothing here knows any HTTP library.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use regex::bytes::Regex;

use crate::actions::{AllowScope, IdRange};
use crate::body::{self, BodyProcessor};
use crate::engine::{EngineMode, LimitAction, RuleSet};
use crate::rule::Rule;
use crate::variables::Exclusion;

mod caches;
mod clean;
mod collection;
mod data;
mod effects;
mod eval;
mod plan;
mod records;
mod unions;

pub(crate) use caches::{FastHash, Spare, TCache};
use caches::{Group, GroupCache, Groups, NO_HITS, NO_STATE, OWNED, Union, Unions};
use clean::CleanCache;
pub(crate) use data::{Kv, Request, Response};
pub(crate) use plan::Plans;
pub use records::{InterruptAction, Interruption, MatchedRule};

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

/// Which rules a runtime exclusion (`ctl:ruleRemoveTarget…`) applies to.
#[derive(Debug, Clone)]
enum RuleSel {
    Ids(Vec<IdRange>),
    /// Mask over the rule set's tags (see `RuleSet::tag_mask`).
    Tags(Arc<[bool]>),
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
#[derive(Debug, Default)]
struct Found {
    name: Vec<u8>,
    value: Vec<u8>,
    captures: Option<Vec<Vec<u8>>>,
}

/// The matches of one link: the first `len` of `items`, whose buffers are reused from link to
/// link (a match allocates nothing once a transaction has seen as many at once).
#[derive(Debug, Default)]
struct Matches {
    items: Vec<Found>,
    len: usize,
}

impl Matches {
    /// The next match, emptied.
    fn next(&mut self) -> &mut Found {
        if self.len == self.items.len() {
            self.items.push(Found::default());
        }
        let f = &mut self.items[self.len];
        self.len += 1;
        f.name.clear();
        f.value.clear();
        f.captures = None;
        f
    }

    fn push(&mut self, v: &crate::variables::Value, input: &[u8], captures: Option<Vec<Vec<u8>>>) {
        let f = self.next();
        v.write_full_name(&mut f.name);
        f.value.extend_from_slice(input);
        f.captures = captures;
    }
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
    /// MATCHED_VARS: the first `matched_len` (buffers reused from rule to rule).
    matched_vars: Vec<(Vec<u8>, Vec<u8>)>,
    matched_len: usize,
    /// The current link's matches (see `Matches`).
    found: Matches,
    /// Buffers for `setvar` keys and values made from macros (see `set_var`).
    scratch: (Vec<u8>, Vec<u8>),
    pub(crate) highest_severity: u8,
    pub(crate) unique_id: String,
    pub(crate) started: Instant,
    current_rule: Option<(u32, u8)>,
    /// TX keys `0`…`9` (bit by digit) that may be set: captures remove the ones they do not
    /// set, and look only for these.
    digit_keys: u16,
    mode: EngineMode,
    request_body_access: bool,
    response_body_access: bool,
    force_body_variable: bool,
    body_processor_override: Option<BodyProcessor>,
    request_body_limit: usize,
    response_body_limit: usize,
    removed_ids: Vec<IdRange>,
    /// Masks over the rule set's tags (`ctl:ruleRemoveByTag`).
    removed_tags: Vec<Arc<[bool]>>,
    removed_targets: Vec<(RuleSel, Vec<Exclusion>)>,
    matched: Vec<MatchedRule>,
    interruption: Option<Interruption>,
    allow: Option<AllowScope>,
    phases_done: [bool; 5],
    /// The plan for this transaction's start (see `plan`), found when phase 1 starts.
    plan: Option<Arc<plan::Plan>>,
    /// The last phase that ran to its end by the plan (0: none), when TX and the removed
    /// rules have not been changed from outside since: the next phase may follow the plan.
    plan_done: u8,
    /// Whether the caller set a TX variable (`set_tx_var`): TX is empty at the start
    /// otherwise.
    tx_preset: bool,
    /// A rule removed rules (or TX targets) or added to a TX variable: the plan, which
    /// assumes neither, is not followed from there on.
    off_plan: bool,
    /// Transformed values of stable variables (see [`TCache`]). Cleared whenever request or
    /// response data change.
    tcache: RefCell<TCache>,
    /// Per (transformation chain, variable, one key or 0): the union of the chain's prefilter
    /// hits over every value of the variable (or of that key). A rule link whose slot is in
    /// none of its targets' unions cannot match and is skipped without visiting a value.
    /// Cleared with `tcache`.
    ucache: RefCell<Unions>,
    /// Per variable, or one key of it (by `Rule::group_ids`): its values grouped by which
    /// transformations may change them (see `Groups`). Cleared with `tcache`.
    gcache: RefCell<GroupCache>,
    /// What the rule set's `KnownClean` knows of the values of each variable read (see
    /// `clean`). Cleared with `tcache`.
    clean: RefCell<CleanCache>,
    /// Per costly operator (by address): inputs it did not match (see
    /// `Operator::memoize_misses`). Depends on input bytes only, so never invalidated.
    /// Inputs are kept as keyed hashes (SipHash, a key per transaction: no copy of the input,
    /// and no collision an attacker could make to pass a value off as one seen clean).
    misses: RefCell<HashMap<(usize, u64), (), FastHash>>,
    /// The key of `misses`' hashes.
    miss_key: std::hash::RandomState,
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

pub(crate) use collection::Collection;

/// The transaction's variable collections, in a fixed array (no hashing on the hot path).
#[derive(Debug, Default)]
pub(crate) struct Collections([Collection; 6]);

impl Collections {
    fn index(name: &str) -> Option<usize> {
        ["tx", "ip", "global", "session", "user", "resource"]
            .iter()
            .position(|n| *n == name)
    }

    pub fn get(&self, name: &str) -> Option<&Collection> {
        Self::index(name).map(|i| &self.0[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Collection> {
        Self::index(name).map(|i| &mut self.0[i])
    }

    /// Empties every collection for the next transaction (see `Collection::reset`).
    fn reset(&mut self) {
        for c in &mut self.0 {
            c.reset();
        }
    }

    fn tx(&mut self) -> &mut Collection {
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
        let spare = rules
            .spare_caches
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_else(|| Spare {
                tcache: TCache::with_capacity(256),
                ..Spare::default()
            });
        Transaction {
            mode: c.mode,
            request_body_access: c.request_body_access,
            response_body_access: c.response_body_access,
            request_body_limit: c.request_body_limit,
            response_body_limit: c.response_body_limit,
            request: Request {
                args_post: spare.args,
                ..Request::default()
            },
            response: Response::default(),
            collections: spare.collections,
            env: BTreeMap::new(),
            matched_var: None,
            matched_vars: spare.matched_vars,
            matched_len: 0,
            found: spare.found,
            scratch: Default::default(),
            highest_severity: 255,
            unique_id: format!("{:x}{:06x}", nanos as u64, n & 0xff_ffff),
            started: Instant::now(),
            current_rule: None,
            digit_keys: 0,
            force_body_variable: false,
            body_processor_override: None,
            removed_ids: Vec::new(),
            removed_tags: Vec::new(),
            removed_targets: Vec::new(),
            matched: Vec::new(),
            interruption: None,
            allow: None,
            phases_done: [false; 5],
            plan: None,
            plan_done: 0,
            tx_preset: false,
            off_plan: false,
            tcache: RefCell::new(spare.tcache),
            ucache: RefCell::new(spare.ucache.sized(rules.union_count)),
            gcache: RefCell::new(spare.gcache.sized(rules.group_vars.len())),
            clean: RefCell::new(spare.clean),
            misses: RefCell::new(HashMap::default()),
            miss_key: std::hash::RandomState::new(),
            rules,
        }
    }

    /// Forgets cached transformations and prefilter unions (request or response data changed).
    fn invalidate_caches(&mut self) {
        self.tcache.get_mut().clear();
        self.ucache.get_mut().clear();
        self.gcache.get_mut().clear();
        self.clean.get_mut().clear();
    }

    /// MATCHED_VARS of the current rule: name and value of each match so far.
    pub(crate) fn matched_vars(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.matched_vars[..self.matched_len]
    }

    /// Notes a TX key being written: a capture key (`0`…`9`) is then in `digit_keys`.
    pub(crate) fn note_tx_key(&mut self, key: &str) {
        if let [d @ b'0'..=b'9'] = key.as_bytes() {
            self.digit_keys |= 1 << (d - b'0');
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

    /// A transaction variable by its stored (lowercased) name.
    pub(crate) fn tx_value(&self, key: &str) -> Option<&[u8]> {
        self.collections.get("tx")?.get(key).map(Vec::as_slice)
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
        self.plan_done = 0;
        self.tx_preset = true;
        self.note_tx_key(name);
        self.collections.tx().set(&name.to_ascii_lowercase(), value);
    }

    /// Excludes a target from some rules for this transaction, as `ctl:ruleRemoveTargetById`.
    pub fn remove_target_by_id(&mut self, ids: Vec<IdRange>, exclusions: Vec<Exclusion>) {
        self.plan_done = 0;
        self.removed_targets.push((RuleSel::Ids(ids), exclusions));
    }

    pub fn remove_target_by_tag(&mut self, tag: Regex, exclusions: Vec<Exclusion>) {
        self.plan_done = 0;
        let mask = self.rules.tag_mask(&tag);
        self.removed_targets.push((RuleSel::Tags(mask), exclusions));
    }

    pub fn remove_rules_by_id(&mut self, ids: Vec<IdRange>) {
        self.plan_done = 0;
        self.removed_ids.extend(ids);
    }

    pub fn remove_rules_by_tag(&mut self, tag: Regex) {
        self.plan_done = 0;
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
            for (k, v) in tx.iter() {
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
        self.invalidate_caches();
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
        self.invalidate_caches();
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
        // Before it is parsed the body is no variable's value (REQUEST_BODY appears with the
        // parse), so nothing cached can point into it.
        if self.request.body_variable {
            self.invalidate_caches();
        }
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
            Some(BodyProcessor::Json) => {
                match body::json::parse_into(&body, std::mem::take(&mut r.args_post)) {
                    Ok(args) => {
                        r.args_post = args;
                        r.args_post_utf8 = true;
                    }
                    Err(e) => r.body_error = Some(e),
                }
            }
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
        // Parsing only fills collections that were empty (ARGS_POST, FILES, XML, …) and puts
        // the body back where it was: no value a cached transformation points at was freed or
        // changed, so those stay valid (phase 2 reuses phase 1's work on headers and the URI).
        // The per-variable unions of prefilter hits and groups of values stay for the
        // variables of the request line and headers; the others may have gained values.
        let vars = &self.rules.union_vars;
        self.ucache
            .get_mut()
            .clear_except(|id| vars.get(id as usize).is_some_and(|v| v.from_request_head()));
        let vars = &self.rules.group_vars;
        self.gcache
            .get_mut()
            .clear_except(|id| vars.get(id as usize).is_some_and(|v| v.from_request_head()));
        self.clean.get_mut().clear_body();
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
        self.invalidate_caches();
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
        self.invalidate_caches();
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
        self.invalidate_caches();
        if self.wants_response_body() {
            self.response.body_inspected = true;
        }
        self.run_phase(4)
    }

    /// Phase 5: always runs, even after an interruption.
    pub fn process_logging(&mut self) {
        self.run_phase(5);
    }
}
