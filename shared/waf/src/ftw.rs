//! A rule-test runner for go-ftw's YAML format (the format of the Core Rule Set's regression
//! tests), run in-process: each stage's request is fed to a transaction directly, the
//! response comes from a built-in stand-in for CRS's test backend (`albedo`: `/reflect`
//! answers with the status, headers and body the request describes), and the expectations
//! are checked against the rules that matched.
//!
//! Security teams use it on their own rules too: any directory of `.conf` files can be loaded
//! ([`load_rules`]), and any directory of go-ftw files run ([`run`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use yaml_rust2::{Yaml, YamlLoader};

use crate::engine::{Engine, EngineMode};
use crate::seclang::{Builder, ParseError};
use crate::transaction::Transaction;

/// What ModSecurity's recommended configuration (`modsecurity.conf-recommended`) sets up
/// around CRS: body access, limits, and the body-error rules 200002/200003.
pub const BASE_CONFIG: &str = include_str!("base.conf");

/// The settings CRS's own test suite runs with (its CI's container environment): every rule
/// logs (DetectionOnly, blocking paranoia level 4) and the limits its tests expect.
pub const CRS_TEST_SETUP: &str = r#"
SecRuleEngine DetectionOnly
SecAction "id:900005,phase:1,nolog,pass,ctl:ruleEngine=DetectionOnly,\
  setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,\
  setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,\
  setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535,\
  setvar:tx.enforce_bodyproc_urlencoded=1"
"#;

/// Loads a rule directory. A CRS release layout (`crs-setup.conf[.example]` and `rules/`) is
/// loaded in CRS order with `setup` after the setup file; any other directory has its
/// `*.conf` files loaded in name order after `setup`.
pub fn load_rules(dir: &Path, setup: &str) -> Result<Engine, ParseError> {
    let mut b = Builder::new();
    b.load_text(BASE_CONFIG, "base.conf", dir)?;
    load_rule_dir(&mut b, dir, setup)?;
    Ok(b.build())
}

/// A CRS release directory followed by the built-in pack: what `--waf-crs DIR` runs.
/// Blocking mode; paranoia level and thresholds come from each site's policy.
pub fn load_crs_with_builtin(dir: &Path) -> Result<Engine, ParseError> {
    let mut b = Builder::new();
    b.load_text(BASE_CONFIG, "base.conf", dir)?;
    load_rule_dir(&mut b, dir, "")?;
    b.load_text(crate::BUILTIN_RULES, "builtin.conf", dir)?;
    Ok(b.build())
}

fn load_rule_dir(b: &mut Builder, dir: &Path, setup: &str) -> Result<(), ParseError> {
    let crs_setup = ["crs-setup.conf", "crs-setup.conf.example"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let rules_dir = if crs_setup.is_some() && dir.join("rules").is_dir() {
        dir.join("rules")
    } else {
        dir.to_path_buf()
    };
    if let Some(s) = &crs_setup {
        b.load_file(s)?;
    }
    b.load_text(setup, "setup", dir)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
        .map_err(|e| ParseError::new(&rules_dir.display().to_string(), 0, e.to_string()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ParseError::new(
            &rules_dir.display().to_string(),
            0,
            "no *.conf rule files here",
        ));
    }
    for f in &files {
        b.load_file(f)?;
    }
    Ok(())
}

/// One stage's request.
#[derive(Debug, Default, Clone)]
pub struct StageInput {
    pub method: Vec<u8>,
    pub uri: Vec<u8>,
    pub version: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub data: Vec<u8>,
}

/// What a stage expects.
#[derive(Debug, Default, Clone)]
pub struct StageOutput {
    pub status: Vec<u16>,
    pub expect_ids: Vec<u32>,
    pub no_expect_ids: Vec<u32>,
    pub match_regex: Option<String>,
    pub no_match_regex: Option<String>,
    pub response_contains: Option<String>,
    pub expect_error: bool,
}

#[derive(Debug, Clone)]
pub struct Stage {
    /// `920100-3` (and `/2` for a second stage).
    pub name: String,
    pub input: Result<StageInput, String>,
    pub output: StageOutput,
}

/// Reads every `*.yaml`/`*.yml` file under `dir` (recursively, sorted).
pub fn load_tests(dir: &Path) -> Result<Vec<Stage>, String> {
    let mut files = Vec::new();
    walk(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    files.sort();
    let mut stages = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        for doc in docs {
            parse_file(&doc, &mut stages).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    Ok(stages)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

fn yaml_str(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn ids(y: &Yaml) -> Vec<u32> {
    match y {
        Yaml::Array(a) => a
            .iter()
            .filter_map(|v| v.as_i64())
            .map(|v| v as u32)
            .collect(),
        Yaml::Integer(i) => vec![*i as u32],
        _ => Vec::new(),
    }
}

fn parse_file(doc: &Yaml, out: &mut Vec<Stage>) -> Result<(), String> {
    let rule_id = yaml_str(&doc["rule_id"]).unwrap_or_default();
    let Some(tests) = doc["tests"].as_vec() else {
        return Ok(()); // a comment-only file
    };
    for test in tests {
        let test_id = yaml_str(&test["test_id"])
            .or_else(|| yaml_str(&test["test_title"]))
            .unwrap_or_default();
        let stages = test["stages"].as_vec().cloned().unwrap_or_default();
        let count = stages.len();
        for (i, st) in stages.iter().enumerate() {
            // Older files wrap each stage in `stage:`.
            let st = if st["stage"].is_badvalue() {
                st
            } else {
                &st["stage"]
            };
            let name = if count > 1 {
                format!("{rule_id}-{test_id}/{}", i + 1)
            } else {
                format!("{rule_id}-{test_id}")
            };
            out.push(Stage {
                name,
                input: parse_input(&st["input"]),
                output: parse_output(&st["output"]),
            });
        }
    }
    Ok(())
}

fn parse_input(y: &Yaml) -> Result<StageInput, String> {
    if let Some(enc) = yaml_str(&y["encoded_request"]) {
        let clean: String = enc.chars().filter(|c| !c.is_whitespace()).collect();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(clean)
            .map_err(|e| format!("encoded_request: {e}"))?;
        return parse_raw_request(&raw);
    }
    let mut input = StageInput {
        method: yaml_str(&y["method"])
            .unwrap_or_else(|| "GET".into())
            .into_bytes(),
        uri: yaml_str(&y["uri"])
            .unwrap_or_else(|| "/".into())
            .into_bytes(),
        version: yaml_str(&y["version"])
            .unwrap_or_else(|| "HTTP/1.1".into())
            .into_bytes(),
        ..Default::default()
    };
    if let Some(h) = y["headers"].as_hash() {
        for (k, v) in h {
            input.headers.push((
                yaml_str(k).unwrap_or_default().into_bytes(),
                yaml_str(v).unwrap_or_default().into_bytes(),
            ));
        }
    }
    input.data = match &y["data"] {
        Yaml::Array(lines) => lines
            .iter()
            .filter_map(yaml_str)
            .collect::<Vec<_>>()
            .join("\r\n")
            .into_bytes(),
        other => yaml_str(other).unwrap_or_default().into_bytes(),
    };
    let autocomplete = y["autocomplete_headers"].as_bool().unwrap_or(true);
    if autocomplete {
        let bodied = matches!(input.method.as_slice(), b"POST" | b"PUT" | b"PATCH");
        if (!input.data.is_empty() || bodied)
            && !input
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(b"content-length"))
        {
            input.headers.push((
                b"Content-Length".to_vec(),
                input.data.len().to_string().into_bytes(),
            ));
        }
        if !input
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(b"connection"))
        {
            input
                .headers
                .push((b"Connection".to_vec(), b"close".to_vec()));
        }
    }
    Ok(input)
}

/// Parses a raw HTTP/1.x request (the body as sent; see [`framed_body`]).
pub fn parse_raw_request(raw: &[u8]) -> Result<StageInput, String> {
    let head_end = memchr::memmem::find(raw, b"\r\n\r\n")
        .map(|p| (p, p + 4))
        .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|p| (p, p + 2)))
        .unwrap_or((raw.len(), raw.len()));
    let head = &raw[..head_end.0];
    let body = &raw[head_end.1..];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(3, |&b| b == b' ');
    let mut input = StageInput {
        method: parts.next().unwrap_or_default().to_vec(),
        uri: parts.next().unwrap_or_default().to_vec(),
        version: parts.next().unwrap_or_default().to_vec(),
        ..Default::default()
    };
    for l in lines {
        if let Some(c) = l.iter().position(|&b| b == b':') {
            input
                .headers
                .push((l[..c].to_vec(), l[c + 1..].trim_ascii().to_vec()));
        }
    }
    input.data = body.to_vec();
    Ok(input)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = memchr::memchr(b'\n', body) {
        let size_line = body[..nl].strip_suffix(b"\r").unwrap_or(&body[..nl]);
        let size_hex = size_line.split(|&b| b == b';').next().unwrap_or_default();
        let Some(size) = std::str::from_utf8(size_hex)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
        else {
            break;
        };
        body = &body[nl + 1..];
        if size == 0 || size > body.len() {
            break;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size..];
        body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))
            .unwrap_or(body);
    }
    out
}

fn parse_output(y: &Yaml) -> StageOutput {
    let log = &y["log"];
    let mut out = StageOutput {
        status: match &y["status"] {
            Yaml::Integer(i) => vec![*i as u16],
            Yaml::Array(a) => a
                .iter()
                .filter_map(Yaml::as_i64)
                .map(|i| i as u16)
                .collect(),
            _ => Vec::new(),
        },
        expect_ids: ids(&log["expect_ids"]),
        no_expect_ids: ids(&log["no_expect_ids"]),
        match_regex: yaml_str(&log["match_regex"]),
        no_match_regex: yaml_str(&log["no_match_regex"]),
        response_contains: yaml_str(&y["response_contains"]),
        expect_error: y["expect_error"].as_bool().unwrap_or(false),
    };
    // go-ftw 1.x spellings.
    if let Some(s) = yaml_str(&y["log_contains"]) {
        out.match_regex.get_or_insert(s);
    }
    if let Some(s) = yaml_str(&y["no_log_contains"]) {
        out.no_match_regex.get_or_insert(s);
    }
    out
}

/// What a stage did.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    /// Why it failed.
    pub reason: String,
}

/// Requests an HTTP/1.1 front end refuses with 400 before any WAF sees them (RFC 9110/9112:
/// malformed request line, request target, `Host` or `Content-Length`, header values with
/// CR, LF or NUL) — as Apache, nginx and the sitegroup gateway do.
pub fn front_end_rejects(i: &StageInput) -> bool {
    let token = |s: &[u8]| {
        !s.is_empty()
            && s.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let version_ok = matches!(i.version.as_slice(), b"HTTP/1.0" | b"HTTP/1.1");
    let uri = i.uri.as_slice();
    let target_ok = !uri.is_empty()
        && !uri.iter().any(|&b| b <= b' ' || b == 0x7f || b == b'#')
        && (uri[0] == b'/'
            || (uri == b"*" && i.method == b"OPTIONS")
            || uri.to_ascii_lowercase().starts_with(b"http://")
            || uri.to_ascii_lowercase().starts_with(b"https://")
            || (i.method == b"CONNECT" && authority_with_port(uri)));
    let header = |name: &[u8]| {
        i.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    };
    // HTTP/1.0 may send an empty Host; HTTP/1.1 may not (RFC 9112 3.2).
    let host_ok = header(b"host").is_none_or(|h| {
        (!h.is_empty() || i.version == b"HTTP/1.0")
            && h.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    });
    let length_ok =
        header(b"content-length").is_none_or(|v| !v.is_empty() && v.iter().all(u8::is_ascii_digit));
    !token(&i.method)
        || !version_ok
        || !target_ok
        || !host_ok
        || !length_ok
        || i.headers
            .iter()
            .any(|(k, v)| !token(k) || v.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0))
}

fn authority_with_port(uri: &[u8]) -> bool {
    match uri.iter().rposition(|&b| b == b':') {
        Some(p) => p > 0 && p + 1 < uri.len() && uri[p + 1..].iter().all(u8::is_ascii_digit),
        None => false,
    }
}

/// Runs one stage's request through `engine`; returns the status a client would see and the
/// log lines.
pub fn execute(engine: &Engine, input: &StageInput) -> (u16, Vec<String>, Vec<u32>) {
    if front_end_rejects(input) {
        return (400, Vec::new(), Vec::new());
    }
    let (status, tx) = execute_transaction(engine, input);
    let lines = tx.matched_rules().iter().map(|m| m.log_line()).collect();
    let ids = tx.matched_rules().iter().map(|m| m.id).collect();
    (status, lines, ids)
}

/// Runs one stage's request and hands back the finished transaction (for debugging rules).
pub fn execute_transaction(engine: &Engine, input: &StageInput) -> (u16, Transaction) {
    let mut tx = engine.transaction();
    tx.process_connection("127.0.0.1", 40000, "127.0.0.1", 80);
    tx.process_uri(&input.method, &input.uri, &input.version);
    let chunked = is_chunked(input);
    for (k, v) in &input.headers {
        // With Transfer-Encoding, a server ignores and drops Content-Length (RFC 9112 6.3).
        if chunked && k.eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        tx.add_request_header(k, v);
    }
    let status = run_transaction(&mut tx, &framed_body(input));
    tx.process_logging();
    (status, tx)
}

fn is_chunked(input: &StageInput) -> bool {
    input.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case(b"transfer-encoding")
            && v.to_ascii_lowercase().windows(7).any(|w| w == b"chunked")
    })
}

/// The body a server reads: de-chunked with `Transfer-Encoding: chunked`, else as many bytes as
/// `Content-Length` says, else none (HTTP/1.1 has no read-until-close request bodies).
fn framed_body(input: &StageInput) -> StageInput {
    let mut out = input.clone();
    if is_chunked(input) {
        out.data = dechunk(&input.data);
        return out;
    }
    let length = input
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"content-length"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
    out.data = match length {
        Some(n) => input.data[..n.min(input.data.len())].to_vec(),
        None => Vec::new(),
    };
    out
}

fn run_transaction(tx: &mut Transaction, input: &StageInput) -> u16 {
    if let Some(i) = tx.process_request_headers() {
        return i.status;
    }
    if let Some(i) = tx.append_request_body(&input.data) {
        return i.status;
    }
    if let Some(i) = tx.process_request_body() {
        return i.status;
    }
    let (status, headers, body) = backend_response(input);
    for (k, v) in &headers {
        tx.add_response_header(k.as_bytes(), v.as_bytes());
    }
    if let Some(i) = tx.process_response_headers(status, b"HTTP/1.1") {
        return i.status;
    }
    if tx.wants_response_body() {
        tx.append_response_body(&body);
    }
    if let Some(i) = tx.process_response_body() {
        return i.status;
    }
    status
}

/// The stand-in for CRS's test backend: `/reflect` answers as its JSON body says; everything
/// else gets an empty 200.
fn backend_response(input: &StageInput) -> (u16, BTreeMap<String, String>, Vec<u8>) {
    let mut headers = BTreeMap::new();
    headers.insert("Content-Type".to_string(), "text/plain".to_string());
    let path = input.uri.split(|&b| b == b'?').next().unwrap_or_default();
    if path != b"/reflect" {
        return (200, headers, Vec::new());
    }
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(&input.data) else {
        return (200, headers, Vec::new());
    };
    let status = spec["status"].as_u64().map_or(200, |s| s as u16);
    if let Some(h) = spec["headers"].as_object() {
        for (k, v) in h {
            headers.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    let body = if let Some(b) = spec["body"].as_str() {
        b.as_bytes().to_vec()
    } else if let Some(b) = spec["encodedBody"].as_str() {
        base64::engine::general_purpose::STANDARD
            .decode(b)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    (status, headers, body)
}

/// Checks one stage.
pub fn check(engine: &Engine, stage: &Stage) -> Outcome {
    let fail = |reason: String| Outcome {
        name: stage.name.clone(),
        passed: false,
        reason,
    };
    let input = match &stage.input {
        Ok(i) => i,
        Err(e) if stage.output.expect_error => {
            let _ = e;
            return Outcome {
                name: stage.name.clone(),
                passed: true,
                reason: String::new(),
            };
        }
        Err(e) => return fail(format!("cannot build request: {e}")),
    };
    let (status, lines, ids) = execute(engine, input);
    let o = &stage.output;
    let mut problems = Vec::new();
    if !o.status.is_empty() && !o.status.contains(&status) {
        problems.push(format!("status {status}, expected {:?}", o.status));
    }
    for id in &o.expect_ids {
        if !ids.contains(id) {
            problems.push(format!("rule {id} did not match"));
        }
    }
    for id in &o.no_expect_ids {
        if ids.contains(id) {
            problems.push(format!("rule {id} matched"));
        }
    }
    let log = lines.join("\n");
    if let Some(re) = &o.match_regex {
        match regex::Regex::new(re) {
            Ok(r) if !r.is_match(&log) => problems.push(format!("log does not match {re:?}")),
            Err(e) => problems.push(format!("bad match_regex: {e}")),
            _ => {}
        }
    }
    if let Some(re) = &o.no_match_regex {
        match regex::Regex::new(re) {
            Ok(r) if r.is_match(&log) => problems.push(format!("log matches {re:?}")),
            Err(e) => problems.push(format!("bad no_match_regex: {e}")),
            _ => {}
        }
    }
    if problems.is_empty() {
        Outcome {
            name: stage.name.clone(),
            passed: true,
            reason: String::new(),
        }
    } else {
        let mut reason = problems.join("; ");
        let _ = write!(reason, " (matched: {ids:?})");
        fail(reason)
    }
}

/// Known failures, each with its reason: `NAME: reason` lines (`#` comments allowed), where
/// NAME is a stage name such as `920100-2` or a rule's tests as `920100-*`.
#[derive(Debug, Default)]
pub struct Overrides {
    entries: Vec<(String, String)>,
}

impl Overrides {
    pub fn parse(text: &str, file: &str) -> Result<Overrides, String> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, reason) = line
                .split_once(':')
                .ok_or_else(|| format!("{file}:{}: expected `TEST: reason`", i + 1))?;
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(format!(
                    "{file}:{}: override of {name} has no reason",
                    i + 1
                ));
            }
            entries.push((name.trim().to_string(), reason.to_string()));
        }
        Ok(Overrides { entries })
    }

    pub fn reason(&self, stage: &str) -> Option<&str> {
        self.entries.iter().find_map(|(n, r)| {
            let hit = match n.strip_suffix('*') {
                Some(prefix) => stage.starts_with(prefix),
                None => n == stage,
            };
            hit.then_some(r.as_str())
        })
    }
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub total: usize,
    pub passed: usize,
    /// Failed and not overridden.
    pub failures: Vec<Outcome>,
    /// Failed, with the override's reason.
    pub known: Vec<(Outcome, String)>,
}

/// Runs every stage.
pub fn run(engine: &Engine, stages: &[Stage], overrides: &Overrides) -> Report {
    let mut report = Report::default();
    for stage in stages {
        let outcome = check(engine, stage);
        report.total += 1;
        if outcome.passed {
            report.passed += 1;
        } else if let Some(r) = overrides.reason(&stage.name) {
            report.known.push((outcome, r.to_string()));
        } else {
            report.failures.push(outcome);
        }
    }
    report
}

/// Whether rules loaded for testing log every match (DetectionOnly), as the runner needs.
pub fn detection_only(engine: &Engine) -> bool {
    engine.rules().config.mode == EngineMode::DetectionOnly
}
