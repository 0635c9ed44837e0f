//! Actions: what a rule does when it matches, and its metadata. Parsed once into [`Actions`];
//! nothing here parses at evaluation time.
//!
//! Every action SecLang defines is recognised by name in [`KNOWN`]; those that have no meaning
//! for an in-process engine (`auditlog`, `sanitiseArg`, …) are accepted and ignored, and an
//! unknown name is an error naming it.

mod ctl;
mod setvar;

pub(crate) use ctl::tag_regex;
pub use ctl::{Ctl, IdRange};
pub use setvar::{SetVar, SetVarOp};

use crate::macros::Macro;
use crate::transformations::Transformation;

/// The disruptive action a rule takes when it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Disruptive {
    Pass,
    /// `block`: whatever `SecDefaultAction` of the phase says.
    Block,
    Deny,
    Drop,
    Allow(AllowScope),
    Redirect(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowScope {
    /// `allow`: skip every remaining rule of phases 1–4.
    All,
    /// `allow:phase`: skip the rest of the current phase.
    Phase,
    /// `allow:request`: skip the rest of the request phases (1–2).
    Request,
}

/// Non-disruptive actions run, in the order written, each time a rule link matches.
#[derive(Debug, Clone)]
pub enum Effect {
    SetVar(SetVar),
    Ctl(Ctl),
    SetEnv(Macro, Macro),
}

/// Everything a rule's action list says.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    pub id: Option<u32>,
    pub phase: Option<u8>,
    pub disruptive: Option<Disruptive>,
    pub status: Option<u16>,
    pub msg: Option<Macro>,
    pub msg_text: Option<String>,
    pub logdata: Option<Macro>,
    pub tags: Vec<String>,
    pub severity: Option<u8>,
    pub ver: Option<String>,
    pub rev: Option<String>,
    pub maturity: Option<String>,
    pub accuracy: Option<String>,
    /// `t:` actions in order; `t:none` clears what came before it (and the defaults).
    pub transformations: Vec<Transformation>,
    pub t_none: bool,
    pub effects: Vec<Effect>,
    pub chain: bool,
    pub skip: u32,
    pub skip_after: Option<String>,
    pub capture: bool,
    pub multi_match: bool,
    pub log: Option<bool>,
    pub auditlog: Option<bool>,
}

/// Actions that are recognised but change nothing in this engine (audit logging is replaced
/// by the platform's security-event stream; persistent collections are transaction-local).
const IGNORED: &[&str] = &[
    "append",
    "deprecatevar",
    "exec",
    "expirevar",
    "initcol",
    "prepend",
    "proxy",
    "sanitiseArg",
    "sanitiseMatched",
    "sanitiseMatchedBytes",
    "sanitiseRequestHeader",
    "sanitiseResponseHeader",
    "setrsc",
    "setsid",
    "setuid",
    "xmlns",
];

/// Every action name, for the "unknown action" check.
pub const KNOWN: &[&str] = &[
    "accuracy",
    "allow",
    "auditlog",
    "block",
    "capture",
    "chain",
    "ctl",
    "deny",
    "drop",
    "id",
    "log",
    "logdata",
    "maturity",
    "msg",
    "multiMatch",
    "noauditlog",
    "nolog",
    "pass",
    "phase",
    "redirect",
    "rev",
    "setenv",
    "setvar",
    "severity",
    "skip",
    "skipAfter",
    "status",
    "t",
    "tag",
    "ver",
];

/// Severity names by level (0–7), as SecLang writes them.
const SEVERITY_NAMES: [&str; 8] = [
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
];

pub fn severity_from(v: &str) -> Result<u8, String> {
    if let Ok(n) = v.parse::<u8>()
        && n < 8
    {
        return Ok(n);
    }
    SEVERITY_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(v))
        .map(|p| p as u8)
        .ok_or_else(|| format!("invalid severity {v:?}"))
}

pub fn severity_name(s: u8) -> &'static str {
    SEVERITY_NAMES
        .get(usize::from(s))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// Splits `id:1,msg:'a, b',t:none` at commas outside single quotes, into (name, value).
pub fn split_actions(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b',' {
            i += 1;
        }
        let name = text[start..i].trim().to_string();
        if name.is_empty() {
            return Err(format!("empty action name in {text:?}"));
        }
        if i < bytes.len() && bytes[i] == b':' {
            i += 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            let mut value = Vec::new();
            if i < bytes.len() && bytes[i] == b'\'' {
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() && bytes[i + 1] == b'\'' {
                        value.push(b'\'');
                        i += 2;
                        continue;
                    }
                    if bytes[i] == b'\'' {
                        closed = true;
                        i += 1;
                        break;
                    }
                    value.push(bytes[i]);
                    i += 1;
                }
                if !closed {
                    return Err(format!("unterminated quote in action {name}"));
                }
                while i < bytes.len() && bytes[i] != b',' {
                    i += 1;
                }
            } else {
                while i < bytes.len() && bytes[i] != b',' {
                    value.push(bytes[i]);
                    i += 1;
                }
                while value.last().is_some_and(u8::is_ascii_whitespace) {
                    value.pop();
                }
            }
            out.push((name, Some(String::from_utf8_lossy(&value).into_owned())));
        } else {
            out.push((name, None));
        }
    }
    Ok(out)
}

fn need(name: &str, v: Option<&String>) -> Result<String, String> {
    v.cloned()
        .ok_or_else(|| format!("action {name} needs a value"))
}

/// Parses an action list.
pub fn parse(text: &str) -> Result<Actions, String> {
    let mut a = Actions::default();
    for (name, value) in split_actions(text)? {
        let v = value.as_ref();
        match name.as_str() {
            "id" => {
                let s = need(&name, v)?;
                let id = s
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| format!("invalid rule id {s:?}"))?;
                a.id = Some(id);
            }
            "phase" => {
                let s = need(&name, v)?;
                a.phase = Some(match s.trim() {
                    "request" => 2,
                    "response" => 4,
                    "logging" => 5,
                    n => n
                        .parse::<u8>()
                        .ok()
                        .filter(|p| (1..=5).contains(p))
                        .ok_or_else(|| format!("invalid phase {s:?}"))?,
                });
            }
            "pass" => a.disruptive = Some(Disruptive::Pass),
            "block" => a.disruptive = Some(Disruptive::Block),
            "deny" => a.disruptive = Some(Disruptive::Deny),
            "drop" => a.disruptive = Some(Disruptive::Drop),
            "allow" => {
                a.disruptive = Some(Disruptive::Allow(match v.map(|s| s.trim()) {
                    None | Some("") => AllowScope::All,
                    Some("phase") => AllowScope::Phase,
                    Some("request") => AllowScope::Request,
                    Some(other) => return Err(format!("invalid allow scope {other:?}")),
                }))
            }
            "redirect" => a.disruptive = Some(Disruptive::Redirect(need(&name, v)?)),
            "status" => {
                let s = need(&name, v)?;
                a.status = Some(
                    s.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|c| (100..=599).contains(c))
                        .ok_or_else(|| format!("invalid status {s:?}"))?,
                );
            }
            "msg" => {
                let s = need(&name, v)?;
                a.msg = Some(Macro::parse(&s)?);
                a.msg_text = Some(s);
            }
            "logdata" => a.logdata = Some(Macro::parse(&need(&name, v)?)?),
            "tag" => a.tags.push(need(&name, v)?),
            "severity" => a.severity = Some(severity_from(need(&name, v)?.trim())?),
            "ver" => a.ver = Some(need(&name, v)?),
            "rev" => a.rev = Some(need(&name, v)?),
            "maturity" => a.maturity = Some(need(&name, v)?),
            "accuracy" => a.accuracy = Some(need(&name, v)?),
            "t" => {
                let s = need(&name, v)?;
                if s.eq_ignore_ascii_case("none") {
                    a.transformations.clear();
                    a.t_none = true;
                } else {
                    a.transformations.push(
                        Transformation::by_name(s.trim())
                            .ok_or_else(|| format!("unknown transformation t:{s}"))?,
                    );
                }
            }
            "setvar" => a
                .effects
                .push(Effect::SetVar(SetVar::parse(&need(&name, v)?)?)),
            "ctl" => a.effects.push(Effect::Ctl(Ctl::parse(&need(&name, v)?)?)),
            "setenv" => {
                let s = need(&name, v)?;
                let (k, val) = s.split_once('=').unwrap_or((s.as_str(), "1"));
                a.effects.push(Effect::SetEnv(
                    Macro::parse(k.trim_start_matches('!'))?,
                    Macro::parse(val)?,
                ));
            }
            "chain" => a.chain = true,
            "skip" => {
                let s = need(&name, v)?;
                a.skip = s
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("invalid skip count {s:?}"))?;
            }
            "skipAfter" => a.skip_after = Some(need(&name, v)?.trim().to_string()),
            "capture" => a.capture = true,
            "multiMatch" => a.multi_match = true,
            "log" => a.log = Some(true),
            "nolog" => a.log = Some(false),
            "auditlog" => a.auditlog = Some(true),
            "noauditlog" => a.auditlog = Some(false),
            other if IGNORED.contains(&other) => {}
            other => return Err(format!("unknown action {other:?}")),
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_values() {
        let v = split_actions("id:1, msg:'a, b',t:none,setvar:'tx.x=%{tx.y}',pass").unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[1], ("msg".into(), Some("a, b".into())));
        assert_eq!(v[3].1.as_deref(), Some("tx.x=%{tx.y}"));
        assert_eq!(v[4], ("pass".into(), None));
        assert!(split_actions("msg:'open").is_err());
    }

    #[test]
    fn parses_a_crs_rule() {
        let a = parse(
            "id:942100,phase:2,block,capture,t:none,t:utf8toUnicode,t:urlDecodeUni,\
             msg:'SQL Injection Attack Detected via libinjection',\
             logdata:'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}',\
             tag:'attack-sqli',severity:'CRITICAL',\
             setvar:'tx.inbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}'",
        )
        .unwrap();
        assert_eq!(a.id, Some(942100));
        assert_eq!(a.phase, Some(2));
        assert_eq!(a.disruptive, Some(Disruptive::Block));
        assert!(a.capture && a.t_none);
        assert_eq!(a.transformations.len(), 2);
        assert_eq!(a.severity, Some(2));
        assert_eq!(a.effects.len(), 1);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse("id:x").is_err());
        assert!(parse("phase:9").is_err());
        assert!(parse("t:rot13").is_err());
        assert!(parse("frobnicate").is_err());
        assert!(parse("status:42").is_err());
    }
}
