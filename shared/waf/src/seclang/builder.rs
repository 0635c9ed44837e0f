//! Applies directives in order and compiles rules.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ParseError, directives};
use crate::actions::{self, Actions, Disruptive, IdRange};
use crate::engine::{Config, DefaultAction, Engine, EngineMode, LimitAction, RuleSet};
use crate::operators::{self, Context};
use crate::rule::{Entry, Rule, RuleOperator};
use crate::variables::parse_targets;

/// Directives accepted for compatibility that configure things this engine does not have
/// (audit log files, temporary directories, PCRE limits, …).
const IGNORED_DIRECTIVES: &[&str] = &[
    "SecAuditEngine",
    "SecAuditLog",
    "SecAuditLog2",
    "SecAuditLogDirMode",
    "SecAuditLogFileMode",
    "SecAuditLogFormat",
    "SecAuditLogParts",
    "SecAuditLogRelevantStatus",
    "SecAuditLogStorageDir",
    "SecAuditLogType",
    "SecCacheTransformations",
    "SecCollectionTimeout",
    "SecConnEngine",
    "SecCookieFormat",
    "SecDataDir",
    "SecDebugLog",
    "SecDebugLogLevel",
    "SecGeoLookupDb",
    "SecHashEngine",
    "SecPcreMatchLimit",
    "SecPcreMatchLimitRecursion",
    "SecRequestBodyInMemoryLimit",
    "SecRequestBodyJsonDepthLimit",
    "SecServerSignature",
    "SecStatusEngine",
    "SecTmpDir",
    "SecTmpSaveUploadedFiles",
    "SecUnicodeMapFile",
    "SecUploadDir",
    "SecUploadFileLimit",
    "SecUploadFileMode",
    "SecUploadKeepFiles",
    "SecWebAppId",
    "SecXmlExternalEntity",
];

const MAX_INCLUDE_DEPTH: usize = 16;

/// Accumulates directives into a rule set.
pub struct Builder {
    config: Config,
    defaults: [DefaultAction; 5],
    phases: [Vec<Entry>; 5],
    ids: HashSet<u32>,
    /// Links of a chain still being written (starter first).
    chain: Vec<Rule>,
    depth: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

fn err(file: &str, line: usize, msg: impl Into<String>) -> ParseError {
    ParseError::new(file, line, msg)
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected On or Off, got {v:?}")),
    }
}

fn limit_action(v: &str) -> Result<LimitAction, String> {
    match v.to_ascii_lowercase().as_str() {
        "reject" => Ok(LimitAction::Reject),
        "processpartial" => Ok(LimitAction::ProcessPartial),
        _ => Err(format!("expected Reject or ProcessPartial, got {v:?}")),
    }
}

fn number(v: &str) -> Result<usize, String> {
    v.parse::<usize>()
        .map_err(|_| format!("expected a number, got {v:?}"))
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            config: Config::default(),
            defaults: Default::default(),
            phases: Default::default(),
            ids: HashSet::new(),
            chain: Vec::new(),
            depth: 0,
        }
    }

    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Loads one file (directives in it may `Include` others, relative to it).
    pub fn load_file(&mut self, path: &Path) -> Result<(), ParseError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(&name, 0, format!("cannot read: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        self.load_text(&text, &name, dir)
    }

    /// Loads SecLang text; `dir` resolves `Include` and data files.
    pub fn load_text(&mut self, text: &str, file: &str, dir: &Path) -> Result<(), ParseError> {
        let file_arc: Arc<str> = Arc::from(file);
        for d in directives(text, file)? {
            self.directive(&d.name, &d.args, &file_arc, d.line, dir)?;
        }
        if let Some(open) = self.chain.first()
            && self.depth == 0
        {
            return Err(err(
                file,
                open.line,
                format!("rule {} ends with chain but no rule follows", open.id),
            ));
        }
        Ok(())
    }

    /// Finishes the rule set.
    pub fn build(self) -> Engine {
        Engine {
            rules: Arc::new(RuleSet::new(self.config, self.phases)),
        }
    }

    fn directive(
        &mut self,
        name: &str,
        args: &[String],
        file: &Arc<str>,
        line: usize,
        dir: &Path,
    ) -> Result<(), ParseError> {
        let e = |m: String| err(file, line, m);
        let arg = |i: usize| -> Result<&str, ParseError> {
            args.get(i)
                .map(String::as_str)
                .ok_or_else(|| err(file, line, format!("{name} needs {} argument(s)", i + 1)))
        };
        if !self.chain.is_empty() && name != "SecRule" {
            return Err(e(format!(
                "{name} inside a chain: rule {} ends with chain, so a SecRule must follow",
                self.chain[0].id
            )));
        }
        match name {
            "SecRule" => {
                if args.len() < 2 || args.len() > 3 {
                    return Err(e(format!(
                        "SecRule needs VARIABLES OPERATOR [ACTIONS], got {} argument(s)",
                        args.len()
                    )));
                }
                let actions = args.get(2).map_or("", String::as_str);
                self.rule(Some((&args[0], &args[1])), actions, file, line, dir)
                    .map_err(e)?;
            }
            "SecAction" => {
                self.rule(None, arg(0)?, file, line, dir).map_err(e)?;
            }
            "SecMarker" => {
                let m = arg(0)?.to_string();
                for p in &mut self.phases {
                    p.push(Entry::Marker(m.clone()));
                }
            }
            "SecDefaultAction" => {
                let a = actions::parse(arg(0)?).map_err(e)?;
                let phase = a
                    .phase
                    .ok_or_else(|| e("SecDefaultAction needs a phase".into()))?;
                if a.id.is_some() || a.chain || a.skip_after.is_some() || a.skip > 0 {
                    return Err(e(
                        "SecDefaultAction may not use id, chain, skip or skipAfter".into(),
                    ));
                }
                let d = &mut self.defaults[usize::from(phase - 1)];
                d.disruptive = match a.disruptive {
                    Some(Disruptive::Block) | None => Disruptive::Pass,
                    Some(other) => other,
                };
                d.status = a.status;
                d.log = a.log.unwrap_or(true);
                d.transformations = a.transformations;
            }
            "SecRuleEngine" => self.config.mode = EngineMode::parse(arg(0)?).map_err(e)?,
            "SecRequestBodyAccess" => {
                self.config.request_body_access = on_off(arg(0)?).map_err(e)?
            }
            "SecResponseBodyAccess" => {
                self.config.response_body_access = on_off(arg(0)?).map_err(e)?
            }
            "SecRequestBodyLimit" => self.config.request_body_limit = number(arg(0)?).map_err(e)?,
            "SecRequestBodyNoFilesLimit" => {
                self.config.request_body_no_files_limit = number(arg(0)?).map_err(e)?
            }
            "SecRequestBodyLimitAction" => {
                self.config.request_body_limit_action = limit_action(arg(0)?).map_err(e)?
            }
            "SecResponseBodyLimit" => {
                self.config.response_body_limit = number(arg(0)?).map_err(e)?
            }
            "SecResponseBodyLimitAction" => {
                self.config.response_body_limit_action = limit_action(arg(0)?).map_err(e)?
            }
            "SecResponseBodyMimeType" => {
                for a in args.iter().flat_map(|a| a.split_whitespace()) {
                    let a = a.to_ascii_lowercase();
                    if !self.config.response_body_mime_types.contains(&a) {
                        self.config.response_body_mime_types.push(a);
                    }
                }
            }
            "SecResponseBodyMimeTypesClear" => self.config.response_body_mime_types.clear(),
            "SecArgumentsLimit" => self.config.arguments_limit = number(arg(0)?).map_err(e)?,
            "SecArgumentSeparator" => {
                if arg(0)? != "&" {
                    return Err(e("only & is supported as SecArgumentSeparator".into()));
                }
            }
            "SecComponentSignature" => self.config.component_signatures.push(arg(0)?.to_string()),
            "SecRuleRemoveById" => {
                let ranges = IdRange::parse_list(&args.join(" ")).map_err(e)?;
                self.remove(|r| ranges.iter().any(|x| x.contains(r.id)));
            }
            "SecRuleRemoveByTag" => {
                let re = actions::tag_regex(arg(0)?).map_err(e)?;
                self.remove(|r| r.tags().iter().any(|t| re.is_match(t.as_bytes())));
            }
            "SecRuleRemoveByMsg" => {
                let re = actions::tag_regex(arg(0)?).map_err(e)?;
                self.remove(|r| {
                    r.actions
                        .msg_text
                        .as_ref()
                        .is_some_and(|m| re.is_match(m.as_bytes()))
                });
            }
            "SecRuleUpdateTargetById" => {
                let ranges = IdRange::parse_list(arg(0)?).map_err(e)?;
                self.update_targets(
                    |r| ranges.iter().any(|x| x.contains(r.id)),
                    arg(1)?,
                    args.get(2).map(String::as_str),
                )
                .map_err(e)?;
            }
            "SecRuleUpdateTargetByTag" => {
                let re = actions::tag_regex(arg(0)?).map_err(e)?;
                self.update_targets(
                    |r| r.tags().iter().any(|t| re.is_match(t.as_bytes())),
                    arg(1)?,
                    args.get(2).map(String::as_str),
                )
                .map_err(e)?;
            }
            "SecRuleUpdateTargetByMsg" => {
                let re = actions::tag_regex(arg(0)?).map_err(e)?;
                self.update_targets(
                    |r| {
                        r.actions
                            .msg_text
                            .as_ref()
                            .is_some_and(|m| re.is_match(m.as_bytes()))
                    },
                    arg(1)?,
                    args.get(2).map(String::as_str),
                )
                .map_err(e)?;
            }
            "SecRuleUpdateActionById" => {
                let ranges = IdRange::parse_list(arg(0)?).map_err(e)?;
                let update = actions::parse(arg(1)?).map_err(e)?;
                self.update_actions(&ranges, &update).map_err(e)?;
            }
            "Include" => self.include(arg(0)?, file, line, dir)?,
            n if IGNORED_DIRECTIVES.contains(&n) => {}
            other => return Err(e(format!("unknown directive {other:?}"))),
        }
        Ok(())
    }

    fn include(
        &mut self,
        pattern: &str,
        file: &str,
        line: usize,
        dir: &Path,
    ) -> Result<(), ParseError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(err(file, line, "Include nested too deeply (a loop?)"));
        }
        let path = dir.join(pattern);
        let mut files: Vec<PathBuf> = Vec::new();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.contains('*') || name.contains('?') {
            let parent = path.parent().unwrap_or(Path::new("."));
            let entries = std::fs::read_dir(parent)
                .map_err(|e| err(file, line, format!("Include {pattern}: {e}")))?;
            for entry in entries.flatten() {
                let n = entry.file_name().to_string_lossy().into_owned();
                if wildcard(&name, &n) && entry.path().is_file() {
                    files.push(entry.path());
                }
            }
            files.sort();
        } else {
            files.push(path);
        }
        self.depth += 1;
        let result = files.iter().try_for_each(|f| self.load_file(f));
        self.depth -= 1;
        result
    }

    fn remove(&mut self, pred: impl Fn(&Rule) -> bool) {
        for p in &mut self.phases {
            p.retain(|e| !matches!(e, Entry::Rule(r) if pred(r)));
        }
    }

    fn update_targets(
        &mut self,
        pred: impl Fn(&Rule) -> bool,
        spec: &str,
        replaced: Option<&str>,
    ) -> Result<(), String> {
        let (targets, exclusions) = parse_targets(spec)?;
        let replaced = replaced.map(parse_targets).transpose()?;
        for p in &mut self.phases {
            for entry in p.iter_mut() {
                let Entry::Rule(r) = entry else { continue };
                if !pred(r) {
                    continue;
                }
                if let Some((old, _)) = &replaced {
                    r.targets.retain(|t| {
                        !old.iter().any(|o| {
                            o.variable == t.variable
                                && format!("{:?}", o.selector) == format!("{:?}", t.selector)
                        })
                    });
                }
                r.targets.extend(targets.iter().cloned());
                for x in &exclusions {
                    if !r.exclusions.iter().any(|have| have.same_as(x)) {
                        r.exclusions.push(x.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn update_actions(&mut self, ranges: &[IdRange], update: &Actions) -> Result<(), String> {
        if update.id.is_some() || update.phase.is_some() || update.chain {
            return Err("SecRuleUpdateActionById may not change id, phase or chain".into());
        }
        for p in &mut self.phases {
            for entry in p.iter_mut() {
                let Entry::Rule(r) = entry else { continue };
                if !ranges.iter().any(|x| x.contains(r.id)) {
                    continue;
                }
                if let Some(d) = &update.disruptive {
                    r.disruptive = d.clone();
                }
                if update.msg.is_some() {
                    r.actions.msg = update.msg.clone();
                    r.actions.msg_text = update.msg_text.clone();
                }
                if update.logdata.is_some() {
                    r.actions.logdata = update.logdata.clone();
                }
                if update.severity.is_some() {
                    r.actions.severity = update.severity;
                }
                if update.status.is_some() {
                    r.actions.status = update.status;
                }
                if let Some(l) = update.log {
                    r.log = l;
                }
                if !update.tags.is_empty() {
                    r.actions.tags.extend(update.tags.iter().cloned());
                }
                if update.t_none {
                    r.transformations = update.transformations.clone();
                } else {
                    r.transformations
                        .extend(update.transformations.iter().copied());
                }
                r.actions.effects.extend(update.effects.iter().cloned());
            }
        }
        Ok(())
    }

    fn rule(
        &mut self,
        rule: Option<(&str, &str)>,
        action_text: &str,
        file: &Arc<str>,
        line: usize,
        dir: &Path,
    ) -> Result<(), String> {
        let actions = actions::parse(action_text)?;
        let is_link = !self.chain.is_empty();
        let phase = if is_link {
            if actions.id.is_some() {
                return Err("a chained rule may not have an id".into());
            }
            if actions.phase.is_some() {
                return Err("a chained rule may not have a phase".into());
            }
            if actions.disruptive.is_some() {
                return Err("a chained rule may not have a disruptive action".into());
            }
            if actions.skip_after.is_some() || actions.skip > 0 {
                return Err("a chained rule may not use skip or skipAfter".into());
            }
            self.chain[0].phase
        } else {
            actions.phase.unwrap_or(2)
        };
        let id = if is_link {
            0
        } else {
            let id = actions.id.ok_or("rule has no id")?;
            if !self.ids.insert(id) {
                return Err(format!("duplicate rule id {id}"));
            }
            id
        };
        let defaults = &self.defaults[usize::from(phase - 1)];
        let transformations = if actions.t_none {
            actions.transformations.clone()
        } else {
            let mut t = defaults.transformations.clone();
            t.extend(actions.transformations.iter().copied());
            t
        };
        let disruptive = actions
            .disruptive
            .clone()
            .unwrap_or_else(|| defaults.disruptive.clone());
        let log = actions.log.unwrap_or(defaults.log);
        let (targets, exclusions, operator) = match rule {
            None => (Vec::new(), Vec::new(), None),
            Some((vars, op)) => {
                let (targets, exclusions) = parse_targets(vars)?;
                if targets.is_empty() {
                    return Err(format!("no variables to inspect in {vars:?}"));
                }
                (targets, exclusions, Some(compile_operator(op, dir)?))
            }
        };
        let compiled = Rule {
            id,
            phase,
            file: file.clone(),
            line,
            targets,
            exclusions,
            operator,
            transformations,
            tchain: 0,
            changes: 0,
            block_as: defaults.disruptive.clone(),
            default_status: defaults.status,
            slot: None,
            union_keys: Vec::new(),
            union_ids: Vec::new(),
            group_ids: Vec::new(),
            skip_to: crate::rule::NO_MARKER,
            needs: None,
            unicode_stage: None,
            stage_needs: None,
            clean: crate::engine::NO_CLEAN,
            clean_sets: Vec::new(),
            disruptive,
            log,
            chain: None,
            tag_ids: Vec::new(),
            actions,
        };
        let continues = compiled.actions.chain;
        self.chain.push(compiled);
        if !continues {
            let mut links = std::mem::take(&mut self.chain);
            let mut tail: Option<Box<Rule>> = None;
            while let Some(mut r) = links.pop() {
                r.chain = tail;
                tail = Some(Box::new(r));
            }
            if let Some(starter) = tail {
                self.phases[usize::from(phase - 1)].push(Entry::Rule(starter));
            }
        }
        Ok(())
    }
}

/// `!@rx foo`, `@pm a b`, or a bare regex.
fn compile_operator(spec: &str, dir: &Path) -> Result<RuleOperator, String> {
    let spec = spec.trim_start();
    let (negated, spec) = match spec.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, spec),
    };
    let (name, arg) = match spec.strip_prefix('@') {
        Some(rest) => {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], rest[end..].trim_start())
        }
        None => ("rx", spec),
    };
    let op = operators::build(name, arg, &Context { dir })?;
    let literals = if negated {
        Vec::new()
    } else {
        op.required_literals().unwrap_or_default()
    };
    let prefilter = if literals.is_empty() {
        None
    } else {
        aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&literals)
            .ok()
    };
    let bytes = match (negated, &prefilter) {
        (false, None) => op.required_bytes(),
        _ => None,
    };
    Ok(RuleOperator {
        negated,
        op,
        prefilter,
        literals,
        bytes,
        memo: crate::rule::NO_MEMO,
    })
}

/// Shell-style `*` and `?` matching for `Include`.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    #[test]
    fn errors_name_file_line_and_reason() {
        let cases = [
            (
                "SecRule ARGS \"@rx (\" \"id:1\"",
                "t.conf:1: @rx: invalid regular expression",
            ),
            (
                "\n\nSecRule ARGS \"@nope x\" \"id:1\"",
                "t.conf:3: unknown operator @nope",
            ),
            (
                "SecRule ARGS \"@rx a\" \"phase:2\"",
                "t.conf:1: rule has no id",
            ),
            (
                "SecRule ARGS \"@rx a\" \"id:1\"\nSecRule ARGS \"@rx a\" \"id:1\"",
                "t.conf:2: duplicate rule id 1",
            ),
            (
                "SecRule NOPE \"@rx a\" \"id:1\"",
                "t.conf:1: unknown variable \"NOPE\"",
            ),
            (
                "SecRule ARGS \"@rx a\" \"id:1,chain\"",
                "t.conf:1: rule 1 ends with chain",
            ),
            ("SecFoo On", "t.conf:1: unknown directive \"SecFoo\""),
            (
                "SecRuleEngine Maybe",
                "t.conf:1: expected On, DetectionOnly or Off",
            ),
            (
                "SecRule ARGS \"@rx a\" \"id:1,t:rot13\"",
                "t.conf:1: unknown transformation",
            ),
        ];
        for (text, want) in cases {
            let got = Engine::from_text(text, "t.conf").unwrap_err().to_string();
            assert!(
                got.starts_with(want),
                "{text:?}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn chains_markers_and_removal() {
        let e = Engine::from_text(
            "SecRule ARGS \"@rx a\" \"id:1,phase:1,chain\"\n  SecRule ARGS \"@rx b\" \"t:none\"\n\
             SecAction \"id:4,phase:1,pass,skipAfter:END\"\nSecAction \"id:5,phase:1,pass,skipAfter:NONE\"\n\
             SecMarker END\nSecAction \"id:2,phase:2,pass\"\nSecAction \"id:3,phase:2,pass\"\n\
             SecRuleRemoveById 3",
            "t.conf",
        )
        .unwrap();
        let rules = e.rules();
        assert_eq!(rules.rule_ids(), vec![1, 4, 5, 2]);
        // The marker is in every phase; `skipAfter` knows its position, or that it has none.
        assert!(rules.phases.iter().all(|p| {
            p.iter()
                .any(|e| matches!(e, Entry::Marker(m) if m == "END"))
        }));
        let skip_to = |i: usize| match &rules.phases[0][i] {
            Entry::Rule(r) => r.skip_to,
            Entry::Marker(_) => panic!("a rule"),
        };
        assert_eq!(skip_to(1), 3);
        assert_eq!(skip_to(2), crate::rule::NO_MARKER);
        let Entry::Rule(r) = &rules.phases[0][0] else {
            panic!()
        };
        assert!(r.chain.is_some());
    }

    /// `block` means what the SecDefaultAction in force where the rule was written says, even
    /// when a later file sets other defaults (CRS, then the built-in pack).
    #[test]
    fn block_resolves_against_the_defaults_where_the_rule_was_written() {
        let e = Engine::from_text(
            "SecDefaultAction \"phase:1,log,pass\"\n\
             SecRule ARGS \"@rx a\" \"id:1,phase:1,block\"\n\
             SecDefaultAction \"phase:1,log,deny,status:403\"\n\
             SecRule ARGS \"@rx b\" \"id:2,phase:1,block\"",
            "t.conf",
        )
        .unwrap();
        let run = |q: &[u8]| {
            let mut tx = e.transaction();
            tx.process_uri(b"GET", q, b"HTTP/1.1");
            tx.process_request_headers().map(|i| i.rule_id)
        };
        assert_eq!(run(b"/?x=a"), None);
        assert_eq!(run(b"/?x=b"), Some(2));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "REQUEST-901.conf"));
        assert!(!wildcard("*.conf", "x.conf.example"));
        assert!(wildcard("a?c", "abc"));
    }
}
