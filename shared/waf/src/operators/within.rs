//! `@within`: the input occurs somewhere inside the (macro-expanded) parameter — the reverse
//! of `@contains`.
//!
//! `SecRule REQUEST_METHOD "!@within %{tx.allowed_methods}" "id:911100,block"`

use super::{Captures, Context, Operator, Param};
use crate::transaction::Transaction;

#[derive(Debug)]
struct Within(Param);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(Within(Param::new(arg)?)))
}

impl Operator for Within {
    fn evaluate(&self, tx: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let hay = self.0.get(tx);
        let hit = super::occurs(&hay, input);
        if hit && let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        hit
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(Some(self.0.as_macro()))
    }
}
