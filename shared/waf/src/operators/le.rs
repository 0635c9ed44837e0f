//! `@le`: the input, read as an integer the way C's `atoi` does, is less than or equal to the
//! (macro-expanded) parameter.
//!
//! `SecRule &TX:blocking_paranoia_level "@le 0" "id:1,pass"`

use super::{Captures, Context, Operator, Param};
use crate::transaction::Transaction;
use crate::variables::atoi;

#[derive(Debug)]
struct Le(Param);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(Le(Param::new(arg)?)))
}

impl Operator for Le {
    fn evaluate(&self, tx: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let hit = atoi(input) <= atoi(&self.0.get(tx));
        if hit && let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        hit
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(Some(self.0.as_macro()))
    }
}
