//! `@noMatch`: never matches.
//!
//! `SecRule ARGS "@noMatch" "id:1,pass"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct NoMatch;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(NoMatch))
}

impl Operator for NoMatch {
    fn evaluate(&self, _: &Transaction, _: &[u8], _: Option<&mut Captures>) -> bool {
        false
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}
