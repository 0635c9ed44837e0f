//! `@validateByteRange`: matches when the input holds a byte outside the allowed list of
//! values and ranges.
//!
//! `SecRule ARGS "@validateByteRange 32-126" "id:1,block"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct ValidateByteRange(Box<[bool; 256]>);

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    let mut allowed = Box::new([false; 256]);
    for part in arg.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let parse = |s: &str| {
            s.parse::<u8>()
                .map_err(|_| format!("invalid byte value {s:?} in {arg:?}"))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(format!("invalid range {part:?}"));
        }
        for b in lo..=hi {
            allowed[usize::from(b)] = true;
        }
    }
    Ok(Box::new(ValidateByteRange(allowed)))
}

impl Operator for ValidateByteRange {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let bad = input.iter().find(|&&b| !self.0[usize::from(b)]);
        if let (Some(b), Some(c)) = (bad, c) {
            *c = vec![vec![*b]];
        }
        bad.is_some()
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }

    /// A byte outside the list.
    fn needed_bytes(&self) -> Option<[bool; 256]> {
        Some(std::array::from_fn(|b| !self.0[b]))
    }

    /// The bytes outside the list, when they are few enough for a prefilter slot (CRS
    /// 920270's `1-255`: NUL alone): then most values are never tested.
    fn required_bytes(&self) -> Option<crate::prefilter::ByteSet> {
        let outside = (0..=255u8).filter(|&b| !self.0[usize::from(b)]);
        (outside.clone().count() <= crate::engine::MAX_SLOT_BYTES)
            .then(|| crate::prefilter::ByteSet::exact(outside))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_bytes_outside_the_list_are_required() {
        let ctx = Context {
            dir: std::path::Path::new("."),
        };
        let nul = new("1-255", &ctx).unwrap().required_bytes().unwrap();
        assert_eq!(nul.bytes().collect::<Vec<_>>(), [0]);
        let ascii = new("32-126", &ctx).unwrap();
        assert!(ascii.required_bytes().is_none(), "161 bytes outside");
        let tx = crate::Engine::from_text("", "t.conf")
            .unwrap()
            .transaction();
        let op = new("1-255", &ctx).unwrap();
        for input in [&b"a\0b"[..], b"abc", b"", "第".as_bytes()] {
            assert_eq!(
                op.evaluate(&tx, input, None),
                nul.found_in(input),
                "{input:?}"
            );
        }
    }
}
