//! `@containsWord`: the parameter occurs in the input as a whole word (not preceded or followed
//! by a letter, digit or underscore).
//!
//! `SecRule ARGS "@containsWord select" "id:1,pass"`

use super::{Captures, Context, Operator, Param};
use crate::transaction::Transaction;

#[derive(Debug)]
struct ContainsWord(Param);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(ContainsWord(Param::new(arg)?)))
}

fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Operator for ContainsWord {
    fn evaluate(&self, tx: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let p = self.0.get(tx);
        if p.is_empty() {
            return true;
        }
        let hit = memchr::memmem::find_iter(input, &p[..]).any(|at| {
            let before_ok = at == 0 || !word(input[at - 1]);
            let end = at + p.len();
            let after_ok = end >= input.len() || !word(input[end]);
            before_ok && after_ok
        });
        if hit && let Some(c) = c {
            *c = vec![p.to_vec()];
        }
        hit
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(Some(self.0.as_macro()))
    }
}
