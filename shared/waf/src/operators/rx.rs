//! `@rx`: a regular expression, with PCRE's byte semantics as the Core Rule Set assumes them
//! (no UTF mode: `.` and classes see bytes). Compiled with `regex::bytes`, Unicode off;
//! `\x{HH}` escapes are rewritten to `\xHH` so that they name bytes. `@rx` is also the
//! operator of a rule that names none.
//!
//! `SecRule ARGS "@rx (?i)union\s+select" "id:1,block,capture"`

use regex::bytes::{Regex, RegexBuilder};

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
struct Rx {
    re: Regex,
    /// The pattern is `^.*$` (CRS's way of capturing every header name, 920450): it matches
    /// a whole input without a line feed, and nothing else. Answered without the engine.
    whole_line: bool,
    literals: Option<Vec<Vec<u8>>>,
    /// Only looked for when there are no literals.
    bytes: Option<crate::prefilter::ByteSet>,
}

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    let re = compile_pcre(arg)?;
    let (literals, bytes) = crate::prefilter::filters(arg);
    Ok(Box::new(Rx {
        literals,
        bytes,
        re,
        whole_line: arg == "^.*$",
    }))
}

/// Compiles a PCRE-style pattern for byte matching.
pub fn compile_pcre(pattern: &str) -> Result<Regex, String> {
    let rewritten = rewrite_hex_escapes(pattern);
    RegexBuilder::new(&rewritten)
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(16 << 20)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            // The regex crate's message spans several lines; the first one that says why is
            // enough for a log or a form.
            let why = text
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or(text.lines().next().unwrap_or("invalid"));
            format!("invalid regular expression: {why}")
        })
}

/// `\x{HH}` → `\xHH` (one or two hex digits), leaving escaped backslashes alone.
pub(crate) fn rewrite_hex_escapes(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'x'
                && b.get(i + 2) == Some(&b'{')
                && let Some(close) = p[i + 3..].find('}')
            {
                let hex = &p[i + 3..i + 3 + close];
                if (1..=2).contains(&hex.len()) && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    out.push_str("\\x");
                    if hex.len() == 1 {
                        out.push('0');
                    }
                    out.push_str(hex);
                    i += 3 + close + 1;
                    continue;
                }
            }
            // The backslash and the whole character it escapes (which may be multi-byte).
            let next_len = p[i + 1..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&p[i..i + 1 + next_len]);
            i += 1 + next_len;
            continue;
        }
        let ch_len = p[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&p[i..i + ch_len]);
        i += ch_len;
    }
    out
}

impl Operator for Rx {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        if self.whole_line {
            let hit = memchr::memchr(b'\n', input).is_none();
            if hit && let Some(c) = c {
                c.clear();
                c.push(input.to_vec());
            }
            return hit;
        }
        match c {
            None => self.re.is_match(input),
            // No groups (CRS writes `(?:…)`): only TX:0, the whole match, which `find`
            // gives without the slower capturing engines.
            Some(c) if self.re.captures_len() == 1 => match self.re.find(input) {
                Some(m) => {
                    c.clear();
                    c.push(m.as_bytes().to_vec());
                    true
                }
                None => false,
            },
            // The lazy DFA answers "no" far faster than a capturing search.
            Some(_) if !self.re.is_match(input) => false,
            Some(c) => match self.re.captures(input) {
                Some(caps) => {
                    *c = caps
                        .iter()
                        .take(10)
                        .map(|m| m.map(|m| m.as_bytes().to_vec()).unwrap_or_default())
                        .collect();
                    true
                }
                None => false,
            },
        }
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        self.literals.clone()
    }

    fn required_bytes(&self) -> Option<crate::prefilter::ByteSet> {
        self.bytes.clone()
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_line_answers_as_the_regex_does() {
        let rx = |whole_line| Rx {
            re: compile_pcre("^.*$").unwrap(),
            whole_line,
            literals: None,
            bytes: None,
        };
        let (fast, slow) = (rx(true), rx(false));
        let engine = crate::Engine::builtin();
        let tx = engine.transaction();
        let inputs: [&[u8]; 8] = [
            b"",
            b"user-agent",
            b"a\nb",
            b"abc\n",
            b"\n",
            b"\r\x00\xff\xfe",
            "\u{7b2c}1".as_bytes(),
            b"x-forwarded-for\r",
        ];
        for input in inputs {
            let (mut a, mut b) = (vec![b"old".to_vec()], vec![b"old".to_vec()]);
            assert_eq!(
                fast.evaluate(&tx, input, Some(&mut a)),
                slow.evaluate(&tx, input, Some(&mut b)),
                "{input:?}"
            );
            assert_eq!(
                fast.evaluate(&tx, input, None),
                slow.evaluate(&tx, input, None)
            );
            if slow.evaluate(&tx, input, None) {
                assert_eq!(a, b, "{input:?}");
            }
        }
    }

    #[test]
    fn rewrites_braced_hex() {
        assert_eq!(
            rewrite_hex_escapes(r"[\x{0b}\x{80}-\x{ff}]"),
            r"[\x0b\x80-\xff]"
        );
        assert_eq!(rewrite_hex_escapes(r"\\x{41}"), r"\\x{41}");
        assert_eq!(rewrite_hex_escapes("中\\x{9}"), "中\\x09");
        assert!(compile_pcre(r"[\x{80}-\x{ff}]").unwrap().is_match(b"\xe4"));
        // Found by fuzzing: an escaped multi-byte character.
        assert_eq!(rewrite_hex_escapes("a\\҂2"), "a\\҂2");
        let err = compile_pcre("\\҂").unwrap_err();
        assert!(err.starts_with("invalid regular expression"), "{err}");
    }
}
