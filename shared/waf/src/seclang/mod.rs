//! SecLang: the rule language of ModSecurity, read into a compiled [`Engine`](crate::Engine).
//!
//! `lexer` splits files into directives, `builder` applies them (configuration, defaults,
//! rules, chains, markers, removals and updates) and compiles each rule once.

mod builder;
mod lexer;

pub use builder::Builder;
pub use lexer::{RawDirective, directives};

/// A rule-set error, naming the file, the line and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}
