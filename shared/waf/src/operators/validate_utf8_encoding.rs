//! `@validateUtf8Encoding`: matches when the input is not valid UTF-8 (overlong forms,
//! surrogates and code points beyond U+10FFFF included).
//!
//! `SecRule ARGS "@validateUtf8Encoding" "id:920250,block"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct ValidateUtf8Encoding;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(ValidateUtf8Encoding))
}

impl Operator for ValidateUtf8Encoding {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        match std::str::from_utf8(input) {
            Ok(_) => false,
            Err(e) => {
                if let Some(c) = c {
                    let at = e.valid_up_to();
                    *c = vec![input[at..(at + 4).min(input.len())].to_vec()];
                }
                true
            }
        }
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}
