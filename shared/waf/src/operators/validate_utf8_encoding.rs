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
        if crate::is_utf8(input) {
            return false;
        }
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

    /// A byte above 0x7F: ASCII is UTF-8.
    fn needed_bytes(&self) -> Option<[bool; 256]> {
        Some(std::array::from_fn(|b| b >= 0x80))
    }

    fn misses_valid_utf8(&self) -> bool {
        true
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_utf8_agrees_with_the_standard_library() {
        // Pieces: ASCII, two-, three- and four-byte characters, and what UTF-8 forbids
        // (a lone continuation byte, an overlong form, a surrogate, beyond U+10FFFF, a cut
        // character). Strings of up to a few hundred bytes: both sides of the SIMD threshold.
        let pieces: [&[u8]; 10] = [
            b"a",
            b"title=",
            "é".as_bytes(),
            "通知".as_bytes(),
            "😀".as_bytes(),
            b"\x80",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xe5\x85",
        ];
        let mut random = crate::xorshift(7);
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..20_000 {
            let len = random() % 120;
            let bad = random().is_multiple_of(3);
            let mut s = Vec::new();
            for _ in 0..len {
                let i = (random() % if bad { 10 } else { 5 }) as usize;
                s.extend_from_slice(pieces[i]);
            }
            let want = std::str::from_utf8(&s).is_ok();
            assert_eq!(crate::is_utf8(&s), want, "{s:?}");
            if want { valid += 1 } else { invalid += 1 }
        }
        assert!(valid > 5_000 && invalid > 5_000, "{valid} / {invalid}");
    }

    #[test]
    fn a_long_value_with_one_bad_byte_matches_and_captures_it() {
        let engine = crate::Engine::builtin();
        let tx = engine.transaction();
        let mut text = "关于开展工作 ".repeat(20).into_bytes();
        assert!(!ValidateUtf8Encoding.evaluate(&tx, &text, None));
        // After five phrases of 19 bytes: the capture is the bad byte and the three after it.
        text.insert(95, 0xff);
        let mut caps = Vec::new();
        assert!(ValidateUtf8Encoding.evaluate(&tx, &text, Some(&mut caps)));
        assert_eq!(caps, vec![text[95..99].to_vec()]);
    }
}
