//! `ctl`: changes the engine's configuration for the current transaction only, e.g.
//! `ctl:ruleRemoveTargetById=942100;ARGS:password`, `ctl:requestBodyProcessor=JSON`.

use regex::bytes::Regex;

use crate::body::BodyProcessor;
use crate::engine::EngineMode;
use crate::variables::{Exclusion, parse_exclusions};

/// A rule id or an inclusive id range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange(pub u32, pub u32);

impl IdRange {
    pub fn contains(&self, id: u32) -> bool {
        self.0 <= id && id <= self.1
    }

    /// `942100`, `942100-942199`; several separated by blanks or commas.
    pub fn parse_list(text: &str) -> Result<Vec<IdRange>, String> {
        let mut out = Vec::new();
        for part in text
            .split([' ', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let parse = |s: &str| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("invalid rule id {part:?}"))
            };
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b {
                return Err(format!("invalid id range {part:?}"));
            }
            out.push(IdRange(a, b));
        }
        if out.is_empty() {
            return Err("no rule id given".into());
        }
        Ok(out)
    }
}

#[derive(Debug, Clone)]
pub enum Ctl {
    RuleEngine(EngineMode),
    RuleRemoveById(Vec<IdRange>),
    RuleRemoveByTag(Regex),
    RuleRemoveTargetById(Vec<IdRange>, Vec<Exclusion>),
    RuleRemoveTargetByTag(Regex, Vec<Exclusion>),
    RequestBodyProcessor(BodyProcessor),
    ForceRequestBodyVariable(bool),
    RequestBodyAccess(bool),
    ResponseBodyAccess(bool),
    RequestBodyLimit(usize),
    ResponseBodyLimit(usize),
    /// Audit-log settings: accepted, no effect (the event stream replaces the audit log).
    Audit,
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("expected On or Off, got {other:?}")),
    }
}

pub(crate) fn tag_regex(v: &str) -> Result<Regex, String> {
    regex::bytes::RegexBuilder::new(v.trim())
        .unicode(false)
        .build()
        .map_err(|e| format!("invalid tag pattern {v:?}: {e}"))
}

impl Ctl {
    pub fn parse(text: &str) -> Result<Ctl, String> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| format!("ctl {text:?}: expected name=value"))?;
        let value = value.trim();
        Ok(match name.trim() {
            "ruleEngine" => Ctl::RuleEngine(EngineMode::parse(value)?),
            "ruleRemoveById" => Ctl::RuleRemoveById(IdRange::parse_list(value)?),
            "ruleRemoveByTag" => Ctl::RuleRemoveByTag(tag_regex(value)?),
            "ruleRemoveTargetById" => {
                let (ids, targets) = value
                    .split_once(';')
                    .ok_or_else(|| format!("ctl {text:?}: expected ID;TARGET"))?;
                Ctl::RuleRemoveTargetById(IdRange::parse_list(ids)?, parse_exclusions(targets)?)
            }
            "ruleRemoveTargetByTag" => {
                let (tag, targets) = value
                    .split_once(';')
                    .ok_or_else(|| format!("ctl {text:?}: expected TAG;TARGET"))?;
                Ctl::RuleRemoveTargetByTag(tag_regex(tag)?, parse_exclusions(targets)?)
            }
            "requestBodyProcessor" => Ctl::RequestBodyProcessor(
                BodyProcessor::parse(value)
                    .ok_or_else(|| format!("unknown body processor {value:?}"))?,
            ),
            "forceRequestBodyVariable" => Ctl::ForceRequestBodyVariable(on_off(value)?),
            "requestBodyAccess" => Ctl::RequestBodyAccess(on_off(value)?),
            "responseBodyAccess" => Ctl::ResponseBodyAccess(on_off(value)?),
            "requestBodyLimit" => Ctl::RequestBodyLimit(
                value
                    .parse()
                    .map_err(|_| format!("invalid limit {value:?}"))?,
            ),
            "responseBodyLimit" => Ctl::ResponseBodyLimit(
                value
                    .parse()
                    .map_err(|_| format!("invalid limit {value:?}"))?,
            ),
            "auditEngine" | "auditLogParts" | "debugLogLevel" | "hashEngine"
            | "hashEnforcement" | "parseXmlIntoArgs" => Ctl::Audit,
            other => return Err(format!("unknown ctl option {other:?}")),
        })
    }
}
