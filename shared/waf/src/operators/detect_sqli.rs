//! `@detectSQLi`: libinjection's SQL-injection detector (the pure-Rust `libinjectionrs` port).
//! With `capture`, `TX.0` receives the token fingerprint.
//!
//! `SecRule ARGS "@detectSQLi" "id:942100,capture,block"`

use libinjectionrs::sqli::TokenType;
use libinjectionrs::{SqliFlags, SqliState};

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct DetectSqli;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(DetectSqli))
}

impl Operator for DetectSqli {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let mut state = SqliState::new(input, SqliFlags::FLAG_NONE);
        let hit = state.detect();
        if hit && let Some(c) = c {
            // The fingerprint of the pass that matched (`detect` stops there).
            *c = vec![state.fingerprint_string().into_bytes()];
        }
        hit
    }

    fn memoize_misses(&self) -> bool {
        true
    }

    fn quick_miss(&self, input: &[u8]) -> bool {
        one_token(input)
    }
}

/// Whether libinjection's tokenizer sees at most one token in `input` however it reads it:
/// digits only (one number), or a word — letters, digits, `_`, `.` and bytes above 0x7F other
/// than 0xA0 (which it takes for a space), not starting with a digit or `.`, where no part
/// before a `.` is an SQL word (`select.1` is two tokens; `json.items.0.title` is one). With
/// no quote there is no second reading as a string, and with no `#` or `-` none as MySQL.
/// Every fingerprint libinjection flags has two tokens or more, but `X`, which takes `/*` or
/// `{`; so such input is never SQL injection and the detector (about 1 µs) need not run. Most
/// argument values and names of ordinary traffic — numbers, identifiers, Chinese text, JSON
/// paths — are one token.
fn one_token(input: &[u8]) -> bool {
    let Some(&first) = input.first() else {
        return true;
    };
    if first.is_ascii_digit() {
        return input.iter().all(u8::is_ascii_digit);
    }
    if first == b'.' {
        return false;
    }
    input.iter().enumerate().all(|(i, &b)| match b {
        b'.' => std::str::from_utf8(&input[..i]).map_or(true, |prefix| {
            matches!(
                libinjectionrs::sqli::sqli_data::lookup_word(prefix),
                TokenType::Bareword | TokenType::None
            )
        }),
        _ => b.is_ascii_alphanumeric() || b == b'_' || (b >= 0x80 && b != 0xA0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::tests::{corpus, known_sqli};

    #[test]
    fn one_token_inputs_are_never_flagged() {
        let mut checked = 0;
        for input in corpus() {
            if one_token(&input) {
                checked += 1;
                assert!(
                    !libinjectionrs::detect_sqli(&input).is_injection(),
                    "skipped, yet libinjection flags {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
        assert!(
            checked > 10_000,
            "only {checked} one-token inputs generated"
        );
        assert!(one_token(
            "第12号通知关于做好冬季安全生产工作的通知".as_bytes()
        ));
        assert!(one_token(b"12345") && one_token(b"union") && one_token(b"sid_2"));
        assert!(one_token(b"json.items.12.title"));
        assert!(!one_token(b"1union") && !one_token(b"1 or 1") && !one_token(b"a'"));
        assert!(!one_token(b"select.1") && !one_token(b".1") && !one_token(b"a.b c"));
    }

    #[test]
    fn injections_still_go_to_libinjection() {
        let op = DetectSqli;
        let tx = crate::Engine::from_text("", "t.conf")
            .unwrap()
            .transaction();
        for s in known_sqli() {
            let mut caps = Vec::new();
            assert!(
                op.evaluate(&tx, s, Some(&mut caps)),
                "{:?}",
                String::from_utf8_lossy(s)
            );
            assert!(
                !caps.is_empty() && !caps[0].is_empty(),
                "no fingerprint for {s:?}"
            );
        }
    }
}
