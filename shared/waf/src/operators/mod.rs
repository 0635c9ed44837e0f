//! Operators (`@rx`, `@pm`, …): the test a rule applies to each (transformed) value. One per
//! file, named after its keyword, registered in [`TABLE`]. Everything an operator needs
//! (compiled regexes, automata, word lists read from files) is built once, when the rule is
//! compiled.

mod begins_with;
mod contains;
mod contains_word;
mod detect_sqli;
mod detect_xss;
mod ends_with;
mod eq;
mod ge;
mod gt;
mod ip_match;
mod le;
mod lt;
mod no_match;
mod pm;
mod pm_from_file;
mod rx;
mod str_eq;
mod str_match;
mod unconditional_match;
mod validate_byte_range;
mod validate_url_encoding;
mod validate_utf8_encoding;
mod within;

use std::path::Path;

use crate::macros::Macro;
use crate::transaction::Transaction;

pub use ip_match::{contains as ip_in, parse_net};
pub use rx::compile_pcre;
pub(crate) use rx::rewrite_hex_escapes as rewrite_for_syntax;
pub(crate) use validate_url_encoding::first_invalid_escape;

/// Regex captures (`TX.0` … `TX.9`) an operator may fill when the rule asks for `capture`.
pub type Captures = Vec<Vec<u8>>;

/// An operator, compiled.
pub trait Operator: Send + Sync + std::fmt::Debug {
    /// Whether `input` matches. `captures`, when given, receives `TX.0` (the whole match) and
    /// groups.
    fn evaluate(&self, tx: &Transaction, input: &[u8], captures: Option<&mut Captures>) -> bool;

    /// Literals of which at least one must occur (case-insensitively) in any input this
    /// operator matches, or `None` when no such set is known. Used to skip evaluation cheaply.
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        None
    }

    /// Bytes of which any input this operator matches holds at least one, when no literals
    /// are known (a cheaper, coarser filter).
    fn required_bytes(&self) -> Option<crate::prefilter::ByteSet> {
        None
    }

    /// Bytes of which any input this operator matches holds at least one, known from what
    /// it is rather than from a pattern (libinjection's detectors, the validity checks); an
    /// input without any cannot match (see `needs`). `None`: not known.
    fn needed_bytes(&self) -> Option<[bool; 256]> {
        None
    }

    /// Whether the operator matches no valid UTF-8 input (`@validateUtf8Encoding`): values
    /// known to be UTF-8, a JSON body's (its parser checked the whole body), need no test.
    fn misses_valid_utf8(&self) -> bool {
        false
    }

    /// Whether the answer depends on the input bytes alone (no transaction state) and is
    /// costly enough that a transaction remembers the inputs that did not match (JSON bodies
    /// repeat the same values many times).
    fn memoize_misses(&self) -> bool {
        false
    }

    /// Whether `input` certainly does not match, found cheaply: the engine asks this before
    /// `evaluate` (and before the memo of `memoize_misses`, which hashes the input), so
    /// `evaluate` need not repeat it.
    fn quick_miss(&self, _input: &[u8]) -> bool {
        false
    }

    /// Whether `quick_miss` holds for what `utf8toUnicode` makes of `input`, told from `input`
    /// itself: a `multiMatch` walk then need not make that value (see `Rule::unicode_stage`).
    fn quick_miss_after_utf8_to_unicode(&self, _input: &[u8]) -> bool {
        false
    }

    /// For plans (`transaction::plan`), which evaluate rules on constants once per rule set:
    /// `Some(argument)` when the answer depends on nothing but the input and the variables
    /// the argument's macros name (`Some(None)`: on the input alone); `None` when it may
    /// depend on anything else (the default).
    fn depends_on(&self) -> Option<Option<&Macro>> {
        None
    }
}

/// What operators may need from where their rule was written.
pub struct Context<'a> {
    /// Directory of the rule file, for `@pmFromFile` and friends.
    pub dir: &'a Path,
}

type Constructor = fn(&str, &Context) -> Result<Box<dyn Operator>, String>;

/// Every operator by its SecLang name.
pub static TABLE: &[(&str, Constructor)] = &[
    ("beginsWith", begins_with::new),
    ("contains", contains::new),
    ("containsWord", contains_word::new),
    ("detectSQLi", detect_sqli::new),
    ("detectXSS", detect_xss::new),
    ("endsWith", ends_with::new),
    ("eq", eq::new),
    ("ge", ge::new),
    ("gt", gt::new),
    ("ipMatch", ip_match::new),
    ("ipMatchF", ip_match::new_from_file),
    ("ipMatchFromFile", ip_match::new_from_file),
    ("le", le::new),
    ("lt", lt::new),
    ("noMatch", no_match::new),
    ("pm", pm::new),
    ("pmf", pm_from_file::new),
    ("pmFromFile", pm_from_file::new),
    ("rx", rx::new),
    ("streq", str_eq::new),
    ("strmatch", str_match::new),
    ("unconditionalMatch", unconditional_match::new),
    ("validateByteRange", validate_byte_range::new),
    ("validateUrlEncoding", validate_url_encoding::new),
    ("validateUtf8Encoding", validate_utf8_encoding::new),
    ("within", within::new),
];

/// Builds operator `name` with argument `arg`.
pub fn build(name: &str, arg: &str, ctx: &Context) -> Result<Box<dyn Operator>, String> {
    let (_, ctor) = TABLE
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("unknown operator @{name}"))?;
    ctor(arg, ctx).map_err(|e| format!("@{name}: {e}"))
}

/// A macro-expandable argument (`@streq %{tx.x}`), expanded per evaluation only when it has
/// macros.
#[derive(Debug)]
pub(crate) struct Param(Macro);

impl Param {
    pub fn new(arg: &str) -> Result<Self, String> {
        Ok(Param(Macro::parse(arg)?))
    }

    pub fn get<'t>(&'t self, tx: &'t Transaction) -> std::borrow::Cow<'t, [u8]> {
        self.0.expand(tx)
    }

    pub fn as_macro(&self) -> &Macro {
        &self.0
    }
}

/// Whether `needle` occurs in `hay`. Unlike `memchr::memmem::find`, builds no searcher: for
/// the short values operators compare (`@within %{tx.allowed_methods}`), building one costs
/// more than the search.
pub(crate) fn occurs(hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    match needle.first() {
        None => true,
        Some(_) if n > hay.len() => false,
        // Compared byte by byte: the needles are short, a call to `memcmp` per candidate
        // costs more, and so does a `memchr` call per candidate on lists whose items all
        // start alike (`/content-encoding/ /proxy/ …` for `/accept/`).
        Some(&first) if hay.len() <= 512 => hay
            .windows(n)
            .any(|w| w[0] == first && w[1..].iter().zip(&needle[1..]).all(|(a, b)| a == b)),
        Some(_) => memchr::memmem::find(hay, needle).is_some(),
    }
}

/// Reads a data file (`@pmFromFile`, `@ipMatchFromFile`): one entry per line, blank lines and
/// `#` comments skipped.
pub(crate) fn read_list(arg: &str, ctx: &Context) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for file in arg.split_whitespace() {
        if file.starts_with("http://") || file.starts_with("https://") {
            return Err(format!("{file}: remote data files are not supported"));
        }
        let path = ctx.dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Engine;

    /// Inputs for checking the libinjection shortcuts (`detect_sqli::one_token`,
    /// `detect_xss::plain_text`): random runs of SQL, JavaScript and HTML words, numbers,
    /// Chinese and every ASCII character — half of them without separators, so that many
    /// pass the shortcuts' tests. Deterministic (a fixed xorshift seed).
    pub(crate) fn corpus() -> Vec<Vec<u8>> {
        const WORDS: &[&str] = &[
            "union",
            "select",
            "or",
            "and",
            "not",
            "sleep",
            "benchmark",
            "version",
            "user",
            "information_schema",
            "from",
            "where",
            "having",
            "drop",
            "table",
            "exec",
            "xp_cmdshell",
            "waitfor",
            "delay",
            "null",
            "true",
            "1",
            "0",
            "42",
            "0x41",
            "0b1",
            "1e1",
            "1.5",
            "x",
            "e",
            "b",
            "n",
            "q",
            "u",
            "N",
            "X",
            "E",
            "select1",
            "script",
            "javascript",
            "vbscript",
            "alert",
            "onerror",
            "onload",
            "svg",
            "img",
            "src",
            "href",
            "style",
            "expression",
            "iframe",
            "data",
            "xmlns",
            "formaction",
            "通知",
            "关于",
            "第12号",
            "蠠",
            "工作",
            "_",
            "a",
            "Z",
            "9",
            ".",
            "json.items",
            "select.",
            "union.",
            "a.b",
            ".1",
            "1.",
            "sleep.",
            "or.",
        ];
        let mut rng = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: usize| (rng() % n as u64) as usize;
        let mut out = Vec::new();
        for i in 0..60_000 {
            let mut s = Vec::new();
            for _ in 0..1 + next(6) {
                s.extend_from_slice(WORDS[next(WORDS.len())].as_bytes());
                if i % 2 == 1 {
                    // Any byte as a separator: punctuation, space, controls, 0xA0.
                    let sep = match next(4) {
                        0 => 0xA0,
                        1 => next(0x20) as u8,
                        _ => 0x20 + next(0x60) as u8,
                    };
                    s.push(sep);
                }
            }
            out.push(s);
        }
        out
    }

    pub(crate) fn known_sqli() -> Vec<&'static [u8]> {
        vec![
            b"1' or '1'='1",
            b"1 union select password from users",
            b"1) and sleep(5)-- ",
            b"' or 1=1#",
            b"admin'--",
            b"1;drop table users",
        ]
    }

    pub(crate) fn known_xss() -> Vec<&'static [u8]> {
        vec![
            b"<script>alert(1)</script>",
            b"<img src=x onerror=alert(1)>",
            b"\" onmouseover=alert(1) x=\"",
            b"<a href=javascript:alert(1)>",
            b"<svg/onload=alert(1)>",
            b"<iframe src=javascript:alert(1)>",
        ]
    }

    fn op(name: &str, arg: &str) -> Box<dyn Operator> {
        build(
            name,
            arg,
            &Context {
                dir: Path::new("."),
            },
        )
        .unwrap()
    }

    #[test]
    fn table_names_are_unique() {
        for (i, (name, _)) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..]
                    .iter()
                    .all(|(other, _)| !other.eq_ignore_ascii_case(name)),
                "{name}"
            );
        }
    }

    /// Vectors: (operator, argument, input, expected).
    #[test]
    fn vectors() {
        let engine = Engine::from_text("", "t.conf").unwrap();
        let tx = engine.transaction();
        let cases: &[(&str, &str, &[u8], bool)] = &[
            ("rx", "(?i)union\\s+select", b"1 UNION  SELECT 2", true),
            ("rx", "^\\x{41}[\\x{80}-\\x{ff}]", b"A\xe4", true),
            ("rx", "abc", b"xyz", false),
            ("pm", "foo bar", b"xxBARxx", true),
            ("pm", "foo bar", b"baz", false),
            ("streq", "POST", b"POST", true),
            ("streq", "POST", b"post", false),
            ("beginsWith", "GET", b"GET /", true),
            ("endsWith", ".pdf", b"a.pdf", true),
            ("contains", "php", b"index.php", true),
            ("containsWord", "select", b"a select b", true),
            ("containsWord", "select", b"selected", false),
            ("within", "GET HEAD POST", b"HEAD", true),
            ("within", "GET HEAD POST", b"PUT", false),
            ("eq", "0", b"0", true),
            ("eq", "1", b"x", false),
            ("gt", "5", b"6", true),
            ("ge", "5", b"5", true),
            ("lt", "5", b"5", false),
            ("le", "5", b"5", true),
            ("ipMatch", "127.0.0.1,::1,10.0.0.0/8", b"10.1.2.3", true),
            ("ipMatch", "127.0.0.1,::1,10.0.0.0/8", b"::1", true),
            ("ipMatch", "127.0.0.1,::1,10.0.0.0/8", b"11.0.0.1", false),
            ("validateByteRange", "32-126", b"abc", false),
            ("validateByteRange", "32-126", b"a\x01", true),
            ("validateUrlEncoding", "", b"a%2", true),
            ("validateUrlEncoding", "", b"a%zz", true),
            ("validateUrlEncoding", "", b"a%20", false),
            ("validateUtf8Encoding", "", "中文".as_bytes(), false),
            ("validateUtf8Encoding", "", b"\xc0\xaf", true),
            ("detectSQLi", "", b"1' or '1'='1", true),
            ("detectSQLi", "", "北京市 教育局 招生".as_bytes(), false),
            ("detectXSS", "", b"<script>alert(1)</script>", true),
            (
                "detectXSS",
                "",
                "关于<b>开展</b>工作的通知".as_bytes(),
                false,
            ),
            ("unconditionalMatch", "", b"", true),
            ("noMatch", "", b"x", false),
            ("strmatch", "abc", b"xxabcxx", true),
        ];
        for (name, arg, input, expected) in cases {
            assert_eq!(
                op(name, arg).evaluate(&tx, input, None),
                *expected,
                "@{name} {arg} on {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn rx_captures() {
        let engine = Engine::from_text("", "t.conf").unwrap();
        let tx = engine.transaction();
        let mut caps = Vec::new();
        assert!(op("rx", "(a)(b)?c").evaluate(&tx, b"xxacyy", Some(&mut caps)));
        assert_eq!(caps, vec![b"ac".to_vec(), b"a".to_vec(), Vec::new()]);
        // Without groups, the whole match only (leftmost-first, as with groups).
        assert!(op("rx", "a+|b").evaluate(&tx, b"xbaay", Some(&mut caps)));
        assert_eq!(caps, vec![b"b".to_vec()]);
        assert!(op("rx", "(?:a|ab)c?").evaluate(&tx, b"xabc", Some(&mut caps)));
        assert_eq!(caps, vec![b"a".to_vec()]);
        assert!(!op("rx", "^z").evaluate(&tx, b"xabc", Some(&mut caps)));
    }

    #[test]
    fn occurs_agrees_with_memmem() {
        let corpus = corpus();
        let mut checked = 0;
        for hay in &corpus {
            for needle in corpus.iter().map(|c| &c[..c.len().min(12)]).take(40) {
                assert_eq!(
                    occurs(hay, needle),
                    memchr::memmem::find(hay, needle).is_some(),
                    "{hay:?} / {needle:?}"
                );
                checked += 1;
            }
            // Needles taken from the haystack itself, so that many are found.
            for at in (0..hay.len()).step_by(7) {
                let needle = &hay[at..hay.len().min(at + 5)];
                assert!(occurs(hay, needle));
                checked += 1;
            }
        }
        assert!(checked > 10_000);
        let long = vec![b'a'; 2000];
        assert!(occurs(&long, b"aaa") && !occurs(&long, b"ab"));
        assert!(occurs(b"x", b"") && !occurs(b"", b"x"));
    }
}
