//! A SecLang-compatible web application firewall engine, able to run the OWASP Core Rule Set.
//!
//! The crate knows nothing of any HTTP library: callers feed a [`Transaction`] bytes and call
//! one `process_*` method per phase, each returning an optional [`Interruption`].
//!
//! ```
//! use sitegroup_waf::Engine;
//! let engine = Engine::from_text(
//!     r#"SecRule ARGS "@rx (?i)<script" "id:1,phase:1,deny,status:403,msg:'XSS'""#,
//!     "inline.conf",
//! ).unwrap();
//! let mut tx = engine.transaction();
//! tx.process_uri(b"GET", b"/?q=<script>", b"HTTP/1.1");
//! let stop = tx.process_request_headers().unwrap();
//! assert_eq!((stop.status, stop.rule_id), (403, 1));
//! ```
//!
//! Module names follow SecLang's own nouns: [`seclang`] (reading rule files), [`variables`],
//! [`operators`], [`transformations`], [`actions`], [`body`] (request-body processors).

pub mod actions;
pub mod body;
mod engine;
pub mod ftw;
mod macros;
mod needs;
pub mod operators;
mod prefilter;
mod rule;
pub mod seclang;
mod transaction;
pub mod transformations;
pub mod variables;

/// Whether `bytes` are UTF-8. Long inputs are checked with SIMD (simdutf8): on Chinese text the
/// standard library's check costs several instructions a byte (a 10 KB JSON body: 80 k).
pub(crate) fn is_utf8(bytes: &[u8]) -> bool {
    if bytes.len() < 64 {
        std::str::from_utf8(bytes).is_ok()
    } else {
        simdutf8::basic::from_utf8(bytes).is_ok()
    }
}

/// Deterministic pseudo-random numbers for the tests that compare a shortcut with what it
/// stands in for on generated inputs (xorshift64; the same seed, the same inputs).
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

pub use engine::{BUILTIN_RULES, Config, Engine, EngineMode, LimitAction, RuleSet};
pub use seclang::ParseError;
pub use transaction::{InterruptAction, Interruption, MatchedRule, Transaction};
