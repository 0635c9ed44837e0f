//! `@detectXSS`: libinjection's cross-site-scripting detector (the pure-Rust `libinjectionrs`
//! port).
//!
//! `SecRule ARGS "@detectXSS" "id:941100,block"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct DetectXss;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(DetectXss))
}

impl Operator for DetectXss {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let hit = libinjectionrs::detect_xss(input).is_injection();
        if hit && let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        hit
    }

    fn memoize_misses(&self) -> bool {
        true
    }
}
