//! `@unconditionalMatch`: always matches.
//!
//! `SecRule REQUEST_URI "@unconditionalMatch" "id:1,pass,setvar:tx.seen=1"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct UnconditionalMatch;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(UnconditionalMatch))
}

impl Operator for UnconditionalMatch {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        if let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        true
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}
