//! `@endsWith`: the input ends with the (macro-expanded) parameter.
//!
//! `SecRule REQUEST_BASENAME "@endsWith .pdf" "id:1,pass"`

use super::{Captures, Context, Operator, Param};
use crate::transaction::Transaction;

#[derive(Debug)]
struct EndsWith(Param);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(EndsWith(Param::new(arg)?)))
}

impl Operator for EndsWith {
    fn evaluate(&self, tx: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let p = self.0.get(tx);
        let hit = input.ends_with(&p);
        if hit && let Some(c) = c {
            *c = vec![p.to_vec()];
        }
        hit
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(Some(self.0.as_macro()))
    }
}
