//! `@detectXSS`: libinjection's cross-site-scripting detector (the pure-Rust `libinjectionrs`
//! port).
//!
//! `SecRule ARGS "@detectXSS" "id:941100,block"`

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct DetectXss;

pub fn new(_: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(DetectXss))
}

impl Operator for DetectXss {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let hit = libinjectionrs::detect_xss(input).is_injection();
        if hit && let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        hit
    }

    fn memoize_misses(&self) -> bool {
        true
    }

    fn quick_miss(&self, input: &[u8]) -> bool {
        plain_text(input)
    }
}

/// Whether `input` reads as one run of text in every context libinjection tries (page text,
/// an attribute value unquoted or in any quotes): no `<` to open a tag or comment, no space,
/// `/`, `>`, quote or backquote to end the value and start an attribute name, no `=` or `&`.
/// libinjection only flags tags, attribute names and the values of named attributes, so such
/// input is never flagged and the detector need not run.
fn plain_text(input: &[u8]) -> bool {
    input
        .iter()
        .all(|&b| b > 0x20 && b != 0x7F && b != 0xA0 && !b"<>'\"`/=&".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::tests::{corpus, known_xss};

    #[test]
    fn plain_text_is_never_flagged() {
        let mut checked = 0;
        for input in corpus() {
            if plain_text(&input) {
                checked += 1;
                assert!(
                    !libinjectionrs::detect_xss(&input).is_injection(),
                    "skipped, yet libinjection flags {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
        assert!(checked > 10_000, "only {checked} plain inputs generated");
        assert!(plain_text(
            "第12号通知：关于做好冬季安全生产工作的通知".as_bytes()
        ));
        assert!(!plain_text(b"<script>") && !plain_text(b"x onerror=1"));
    }

    #[test]
    fn attacks_still_go_to_libinjection() {
        let op = DetectXss;
        let tx = crate::Engine::from_text("", "t.conf")
            .unwrap()
            .transaction();
        for s in known_xss() {
            assert!(
                op.evaluate(&tx, s, None),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }
}
