//! `@detectSQLi`: libinjection's SQL-injection detector (the pure-Rust `libinjectionrs` port).
//! With `capture`, `TX.0` receives the token fingerprint.
//!
//! `SecRule ARGS "@detectSQLi" "id:942100,capture,block"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct DetectSqli;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(DetectSqli))
}

impl Operator for DetectSqli {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let result = libinjectionrs::detect_sqli(input);
        let hit = result.is_injection();
        if hit && let Some(c) = c {
            let fp = result
                .fingerprint
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default();
            *c = vec![fp.into_bytes()];
        }
        hit
    }

    fn memoize_misses(&self) -> bool {
        true
    }
}
