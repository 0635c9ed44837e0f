//! `@contains`: the (macro-expanded) parameter occurs anywhere in the input.
//!
//! `SecRule REQUEST_HEADERS:Content-Type "@contains multipart" "id:1,pass"`

use super::{Captures, Context, Operator, Param};
use crate::transaction::Transaction;

#[derive(Debug)]
struct Contains(Param);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(Contains(Param::new(arg)?)))
}

impl Operator for Contains {
    fn evaluate(&self, tx: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let p = self.0.get(tx);
        let hit = super::occurs(input, &p);
        if hit && let Some(c) = c {
            *c = vec![p.to_vec()];
        }
        hit
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(Some(self.0.as_macro()))
    }
}
