//! `@strmatch`: like `@contains`, for a fixed string (no macros).
//!
//! `SecRule ARGS "@strmatch WebZIP" "id:1,deny"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct StrMatch(memchr::memmem::Finder<'static>);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(StrMatch(
        memchr::memmem::Finder::new(arg.as_bytes()).into_owned(),
    )))
}

impl Operator for StrMatch {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let hit = self.0.find(input).is_some();
        if hit && let Some(c) = c {
            *c = vec![self.0.needle().to_vec()];
        }
        hit
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        Some(vec![self.0.needle().to_vec()])
    }
}
