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

    /// `<` or `=` (see `plain_text`).
    fn needed_bytes(&self) -> Option<[bool; 256]> {
        Some(std::array::from_fn(|b| {
            b == usize::from(b'<') || b == usize::from(b'=')
        }))
    }

    fn quick_miss(&self, input: &[u8]) -> bool {
        plain_text(input)
    }
}

/// Whether libinjection cannot flag `input`: it flags tags, comments and doctypes, which
/// take a `<`, and the values of dangerous attributes (`onerror=`, `href=javascript:`,
/// `style=`), which take a `=` after the name — in whichever context it reads the input (page
/// text, an attribute value unquoted or in any quotes). Without either, the detector need not
/// run: a browser's `User-Agent`, most arguments.
fn plain_text(input: &[u8]) -> bool {
    memchr::memchr2(b'<', b'=', input).is_none()
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
        assert!(plain_text(
            b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        ));
    }

    /// Inputs made to look like attributes and markup in every way but `<` and `=`: event
    /// handler names, URL attributes, quotes, slashes, entities, NUL.
    #[test]
    fn attributes_without_values_are_never_flagged() {
        const PARTS: &[&str] = &[
            " onerror",
            "\tonload",
            "onfocus",
            " ",
            "\t",
            "\n",
            "/",
            ">",
            "'",
            "\"",
            "`",
            "&",
            "&#",
            "#60;",
            "lt;",
            "style",
            "href",
            "src",
            "xlink:href",
            "formaction",
            "javascript:",
            "data:",
            "vbscript:",
            "alert(1)",
            "x",
            "!--",
            "!doctype",
            "?",
            "\0",
            "[if",
            "import",
            ";",
            ":",
            "(",
            ")",
            "\\",
            "%3c",
            "\\u003c",
            "expression(",
            "srcdoc",
            "xmlns",
            "a b",
        ];
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let mut with_handler = 0;
        for _ in 0..200_000 {
            let mut input = Vec::new();
            for _ in 0..(next() % 12) {
                input.extend_from_slice(PARTS[(next() % PARTS.len() as u64) as usize].as_bytes());
            }
            assert!(plain_text(&input));
            if memchr::memmem::find(&input, b" onerror").is_some() {
                with_handler += 1;
            }
            assert!(
                !libinjectionrs::detect_xss(&input).is_injection(),
                "skipped, yet libinjection flags {:?}",
                String::from_utf8_lossy(&input)
            );
        }
        assert!(
            with_handler > 20_000,
            "only {with_handler} with a handler name"
        );
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
