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

    /// A byte other than a digit: digits alone are one token (see `one_token`).
    fn needed_bytes(&self) -> Option<[bool; 256]> {
        Some(std::array::from_fn(|b| !(b as u8).is_ascii_digit()))
    }

    fn quick_miss(&self, input: &[u8]) -> bool {
        one_token(input) || unicode_escapes(input) || words_of_text(input)
    }

    fn quick_miss_after_utf8_to_unicode(&self, input: &[u8]) -> bool {
        escapes_after_utf8_to_unicode(input)
    }
}

/// Whether `utf8toUnicode` makes of `input` what [`unicode_escapes`] accepts, read from
/// `input`: spaces, and characters above 0x7F (each written as one `%uhhhh`) each maybe
/// followed by ASCII letters and digits (kept as they are). A `%` of the input's own, or an
/// invalid byte (kept as it is), is not accepted.
fn escapes_after_utf8_to_unicode(input: &[u8]) -> bool {
    let mut escapes = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b' ' => i += 1,
            0x80..=0xff => {
                let (Some(_), len) = crate::transformations::utf8_character(&input[i..]) else {
                    return false;
                };
                i += len;
                while input.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                    i += 1;
                }
                escapes += 1;
            }
            _ => return false,
        }
    }
    escapes > 0
}

/// Whether `input` is words separated by spaces, each starting with a byte above 0x7F —
/// Chinese phrases (`关于开展工作 关于开展工作`, `第12号 通知`): libinjection reads each as a
/// word that is no SQL word (those are ASCII), so every such input is a run of words, which
/// libinjection never flags (checked for every run up to 2,000 words).
fn words_of_text(input: &[u8]) -> bool {
    let mut words = 0;
    let mut at_start = true;
    for &b in input {
        match b {
            b' ' => at_start = true,
            // 0xA0 is a space to libinjection.
            0xA0 => return false,
            0x80..=0xFF => {
                words += usize::from(at_start);
                at_start = false;
            }
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' if !at_start => {}
            _ => return false,
        }
    }
    words > 0
}

/// Whether `input` is `%uXXXX` escapes, each maybe followed by ASCII letters and digits,
/// with spaces between — what `utf8toUnicode` makes of Chinese text (`第12号 关于`), which
/// CRS's 942100 tests at every stage of its chain (`multiMatch`). libinjection reads each
/// escape as the operator `%` and a word `uXXXX…`, and no SQL word starts so (checked against
/// its whole word list): every such input is the same run of operator and word tokens, which
/// libinjection never flags (checked for every run up to 2,000 escapes). Without a quote, `#`
/// or `-` there is no other reading. libinjection's cost grows with such a run (it folds the
/// whole of it): ~10 µs for a 1 KB form's title.
fn unicode_escapes(input: &[u8]) -> bool {
    let mut escapes = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b' ' => i += 1,
            b'%' => {
                let Some(unit) = input.get(i..i + 6) else {
                    return false;
                };
                if (unit[1] | 0x20) != b'u' || !unit[2..].iter().all(u8::is_ascii_hexdigit) {
                    return false;
                }
                i += 6;
                while input.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                    i += 1;
                }
                escapes += 1;
            }
            _ => return false,
        }
    }
    escapes > 0
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
    // The bytes of a word: letters, digits, `_`, and above 0x7F but for 0xA0.
    static WORD: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || c == b'_' || (c >= 0x80 && c != 0xA0);
            b += 1;
        }
        t
    };
    input.iter().enumerate().all(|(i, &b)| {
        WORD[usize::from(b)]
            || b == b'.'
                && std::str::from_utf8(&input[..i]).map_or(true, |prefix| {
                    matches!(
                        libinjectionrs::sqli::sqli_data::lookup_word(prefix),
                        TokenType::Bareword | TokenType::None
                    )
                })
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
    fn runs_of_words_of_text_are_never_flagged() {
        const WORDS: &[&str] = &[
            "关于",
            "开展工作",
            "第12号",
            "通知",
            "安全Python",
            "中文ab1",
        ];
        let mut rng = crate::xorshift(0x5851_f42d_4c95_7f2d);
        let mut next = move || rng() as usize;
        for count in 1..=2000 {
            for _ in 0..2 {
                let mut input = String::new();
                for i in 0..count {
                    if i > 0 || next() % 4 == 0 {
                        input.push_str(&" ".repeat(1 + next() % 2));
                    }
                    input.push_str(WORDS[next() % WORDS.len()]);
                }
                assert!(words_of_text(input.as_bytes()), "{input}");
                assert!(
                    !libinjectionrs::detect_sqli(input.as_bytes()).is_injection(),
                    "libinjection flags {input:?}"
                );
            }
        }
        assert!(!words_of_text(b"") && !words_of_text(b"   ") && !words_of_text(b"a b"));
        assert!(!words_of_text("12号".as_bytes()) && !words_of_text("关于 or 1".as_bytes()));
        assert!(!words_of_text(b"\xe5\x85\xb3\xa0") && !words_of_text("关于'".as_bytes()));
    }

    #[test]
    fn no_sql_word_starts_as_a_unicode_escape() {
        let words = libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
        assert!(words.len() > 9_000);
        for k in words {
            let w = k.word.as_bytes();
            assert!(
                !(w.len() >= 5
                    && w[0].eq_ignore_ascii_case(&b'u')
                    && w[1..5].iter().all(u8::is_ascii_hexdigit)),
                "{} reads as an escape's word",
                k.word
            );
        }
        for word in ["u7b2c", "U53F712", "u4e8ePython"] {
            assert!(matches!(
                libinjectionrs::sqli::sqli_data::lookup_word(word),
                TokenType::Bareword | TokenType::None
            ));
        }
    }

    #[test]
    fn runs_of_unicode_escapes_are_never_flagged() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        for count in 1..=2000 {
            for _ in 0..2 {
                let mut input = Vec::with_capacity(count * 8);
                for _ in 0..count {
                    let r = next();
                    // Spaces before, letters or digits after, now and then.
                    input.extend_from_slice(&b"   "[..(r >> 40) as usize % 8 / 3]);
                    let unit = if r & 1 == 0 {
                        format!("%u{:04x}", (r >> 8) as u16)
                    } else {
                        format!("%U{:04X}", (r >> 8) as u16)
                    };
                    input.extend_from_slice(unit.as_bytes());
                    let tail = [
                        "", "", "", "", "12", "2026", "abc", "Python", "or", "union1",
                    ];
                    input.extend_from_slice(tail[(r >> 48) as usize % tail.len()].as_bytes());
                }
                assert!(unicode_escapes(&input));
                assert!(
                    !libinjectionrs::detect_sqli(&input).is_injection(),
                    "libinjection flags {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
        assert!(unicode_escapes(b"%u7b2c12%u53f7 %u5173"));
        assert!(!unicode_escapes(b"12%u53f7") && !unicode_escapes(b"%u7b2"));
        assert!(!unicode_escapes(b"") && !unicode_escapes(b"  ") && !unicode_escapes(b"%x7b2c"));
        assert!(!unicode_escapes(b"%u7b2c'") && !unicode_escapes(b"%u7b2c-1"));
    }

    /// Read from the input, `escapes_after_utf8_to_unicode` answers as `unicode_escapes` on
    /// `utf8toUnicode`'s output, but where the input has a `%` of its own (then it says no).
    #[test]
    fn escapes_after_utf8_to_unicode_reads_the_output_from_the_input() {
        let utf8 = crate::transformations::lookup("utf8toUnicode").unwrap();
        let alphabet: Vec<&[u8]> = vec![
            b" ",
            b"a",
            b"Z",
            b"7",
            b"_",
            b"'",
            b"-",
            b"%",
            b"u",
            b"\xa0",
            "第".as_bytes(),
            "：".as_bytes(),
            "é".as_bytes(),
            "😀".as_bytes(),
            b"\xe4\xb8",
            b"\xff",
            b"\x80",
        ];
        let mut next = crate::xorshift(0x51_7cc1_b727_220a);
        let mut said_yes = 0;
        for _ in 0..50_000 {
            let len = next() % 7;
            let input: Vec<u8> = (0..len)
                .flat_map(|_| alphabet[(next() % alphabet.len() as u64) as usize].to_vec())
                .collect();
            let output = utf8(&input).unwrap_or_else(|| input.clone());
            let after = escapes_after_utf8_to_unicode(&input);
            if input.contains(&b'%') {
                assert!(!after, "{input:?}");
            } else {
                assert_eq!(after, unicode_escapes(&output), "{input:?}");
            }
            said_yes += usize::from(after);
        }
        assert!(said_yes > 1000, "{said_yes}");
        assert!(escapes_after_utf8_to_unicode(
            "第12号通知：关于做好冬季安全生产工作的通知".as_bytes()
        ));
        assert!(DetectSqli.quick_miss_after_utf8_to_unicode("通知 安全".as_bytes()));
        assert!(!escapes_after_utf8_to_unicode(b"12") && !escapes_after_utf8_to_unicode(b""));
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
