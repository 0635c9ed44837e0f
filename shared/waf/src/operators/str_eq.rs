//! `@streq`: the input equals the (macro-expanded) parameter exactly.
//!
//! `SecRule REQBODY_PROCESSOR "@streq JSON" "id:1,pass"`

use super::{Captures, Context, Operator, Param};
use crate::transaction::Transaction;

#[derive(Debug)]
struct StrEq(Param);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(StrEq(Param::new(arg)?)))
}

impl Operator for StrEq {
    fn evaluate(&self, tx: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let hit = *input == *self.0.get(tx);
        if hit && let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        hit
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(Some(self.0.as_macro()))
    }
}
