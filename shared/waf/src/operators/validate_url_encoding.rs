//! `@validateUrlEncoding`: matches when a `%` is not followed by two hex digits.
//!
//! `SecRule REQUEST_URI "@validateUrlEncoding" "id:1,block"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct ValidateUrlEncoding;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(ValidateUrlEncoding))
}

/// Where the first `%` not followed by two hex digits is (shared with the urlencoded body
/// processor, which flags such input as `URLENCODED_ERROR`).
pub(crate) fn first_invalid_escape(input: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'%', &input[i..]) {
        let at = i + p;
        let ok = at + 2 < input.len()
            && input[at + 1].is_ascii_hexdigit()
            && input[at + 2].is_ascii_hexdigit();
        if !ok {
            return Some(at);
        }
        i = at + 3;
    }
    None
}

impl Operator for ValidateUrlEncoding {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let Some(at) = first_invalid_escape(input) else {
            return false;
        };
        if let Some(c) = c {
            *c = vec![input[at..(at + 3).min(input.len())].to_vec()];
        }
        true
    }

    /// An invalid escape starts with `%`.
    fn needed_bytes(&self) -> Option<[bool; 256]> {
        Some(std::array::from_fn(|b| b == usize::from(b'%')))
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}
