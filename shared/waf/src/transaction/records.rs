//! What a transaction reports: interruptions and matched rules.

use std::sync::Arc;

use crate::actions::severity_name;

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
