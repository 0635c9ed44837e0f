//! Transformations (`t:` actions): functions from bytes to bytes, applied to a variable's value
//! before the operator sees it. One per file, named after its keyword, registered in [`TABLE`].
//!
//! Each returns `None` when the input is unchanged, so the common case allocates nothing.

mod base64_decode;
mod cmd_line;
mod compress_whitespace;
mod css_decode;
mod escape_seq_decode;
mod hex_decode;
mod hex_encode;
mod html_entity_decode;
mod js_decode;
mod length;
mod lowercase;
mod normalize_path;
mod normalize_path_win;
mod remove_comments;
mod remove_comments_char;
mod remove_nulls;
mod remove_whitespace;
mod replace_comments;
mod replace_nulls;
mod sha1;
mod trim;
mod uppercase;
mod url_decode;
mod url_decode_uni;
mod url_encode;
mod utf8_to_unicode;

/// A transformation: `None` means "unchanged".
pub type TransformFn = fn(&[u8]) -> Option<Vec<u8>>;

/// Every transformation, by its SecLang name. `none` is handled by the parser (it clears the
/// list), so it is not here.
pub static TABLE: &[(&str, TransformFn)] = &[
    ("base64Decode", base64_decode::base64_decode),
    ("base64DecodeExt", base64_decode::base64_decode_ext),
    ("cmdLine", cmd_line::cmd_line),
    (
        "compressWhitespace",
        compress_whitespace::compress_whitespace,
    ),
    ("cssDecode", css_decode::css_decode),
    ("escapeSeqDecode", escape_seq_decode::escape_seq_decode),
    ("hexDecode", hex_decode::hex_decode),
    ("hexEncode", hex_encode::hex_encode),
    ("htmlEntityDecode", html_entity_decode::html_entity_decode),
    ("jsDecode", js_decode::js_decode),
    ("length", length::length),
    ("lowercase", lowercase::lowercase),
    ("normalisePath", normalize_path::normalize_path),
    ("normalizePath", normalize_path::normalize_path),
    ("normalisePathWin", normalize_path_win::normalize_path_win),
    ("normalizePathWin", normalize_path_win::normalize_path_win),
    ("removeComments", remove_comments::remove_comments),
    (
        "removeCommentsChar",
        remove_comments_char::remove_comments_char,
    ),
    ("removeNulls", remove_nulls::remove_nulls),
    ("removeWhitespace", remove_whitespace::remove_whitespace),
    ("replaceComments", replace_comments::replace_comments),
    ("replaceNulls", replace_nulls::replace_nulls),
    ("sha1", sha1::sha1),
    ("trim", trim::trim),
    ("trimLeft", trim::trim_left),
    ("trimRight", trim::trim_right),
    ("uppercase", uppercase::uppercase),
    ("urlDecode", url_decode::url_decode),
    ("urlDecodeUni", url_decode_uni::url_decode_uni),
    ("urlEncode", url_encode::url_encode),
    ("utf8toUnicode", utf8_to_unicode::utf8_to_unicode),
];

/// Looks a transformation up by name, case-insensitively (CRS writes both `base64Decode` and
/// `base64decode`).
pub fn lookup(name: &str) -> Option<TransformFn> {
    Transformation::by_name(name).map(|t| t.apply)
}

/// A named transformation as compiled into a rule.
#[derive(Clone, Copy)]
pub struct Transformation {
    pub name: &'static str,
    pub apply: TransformFn,
    /// Position in [`TABLE`] (below 64): lets a transaction remember, per value, which
    /// transformations leave it unchanged.
    pub index: u8,
}

impl std::fmt::Debug for Transformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Transformation {
    pub fn by_name(name: &str) -> Option<Self> {
        TABLE
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|i| Self {
                name: TABLE[i].0,
                apply: TABLE[i].1,
                index: i as u8,
            })
    }
}

/// Form decoding (`+` and `%HH`), for query strings and urlencoded bodies.
pub(crate) fn form_decode(input: &[u8]) -> Vec<u8> {
    url_decode::decode(input, true)
}

/// `%HH` decoding only (paths: `+` is not a space there).
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    url_decode::decode(input, false)
}

/// ASCII whitespace as C's `isspace` sees it.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes two hex digits (caller checked both are hex).
pub(crate) fn x2c(hi: u8, lo: u8) -> u8 {
    (hex_val(hi).unwrap_or(0) << 4) | hex_val(lo).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_unchanged_masks() {
        // `Transformation::index` is a bit in a u64.
        assert!(TABLE.len() <= 64);
    }

    #[test]
    fn table_names_are_unique_and_resolve() {
        for (i, (name, _)) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..]
                    .iter()
                    .all(|(other, _)| !other.eq_ignore_ascii_case(name)),
                "duplicate {name}"
            );
            assert!(lookup(name).is_some());
            assert!(lookup(&name.to_lowercase()).is_some());
        }
        assert!(lookup("nonsense").is_none());
    }

    /// Vectors: (transformation, input, expected output).
    #[test]
    fn vectors() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            ("lowercase", b"SeLeCT", b"select"),
            ("uppercase", b"abc", b"ABC"),
            ("urlDecode", b"a%20b+c%zz%4", b"a b c%zz%4"),
            ("urlDecodeUni", b"%u0041%2f%uff0e%u4e2d+", b"A/.-\x20"),
            ("removeNulls", b"a\0b\0", b"ab"),
            ("replaceNulls", b"a\0b", b"a b"),
            ("removeWhitespace", b" a \tb\xa0c\n", b"abc"),
            ("compressWhitespace", b"a  \t b\xa0\xa0c ", b"a b c "),
            ("hexEncode", b"\x01A", b"0141"),
            ("hexDecode", b"4142", b"AB"),
            ("length", b"hello", b"5"),
            ("length", b"", b"0"),
            ("trim", b"  a b \t", b"a b"),
            ("base64Decode", b"aGVsbG8=", b"hello"),
            ("base64Decode", b"aGVsbG8", b"hello"),
            (
                "sha1",
                b"abc",
                b"\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e\x25\x71\x78\x50\xc2\x6c\x9c\xd0\xd8\x9d",
            ),
            (
                "htmlEntityDecode",
                b"&lt;script&gt;&#x41;&#66;&quot;&amp;&nbsp;&#x3c",
                b"<script>AB\"&\xa0<",
            ),
            ("htmlEntityDecode", b"&foo; &#; &", b"&foo; &#; &"),
            ("jsDecode", b"\\x41\\u0042\\n\\101\\q\\uff41", b"AB\nAqa"),
            ("cssDecode", b"\\3c script\\3e \\\n x\\\\", b"<script> x\\"),
            ("escapeSeqDecode", b"\\n\\x41\\101\\\\\\z", b"\nAA\\\\z"),
            (
                "cmdLine",
                b"C^m\"d.e'x\\e  /C  ,dir;x (y",
                b"cmd.exe/c dir x(y",
            ),
            ("replaceComments", b"a/*x*/b/*unterminated", b"a b "),
            ("removeComments", b"a/*x*/b<!--c-->d--e\nf#g", b"abd\nf"),
            ("removeCommentsChar", b"a/*b*/c--d#e<!--f-->", b"abcdef"),
            ("normalizePath", b"/a/./b/../c//d/", b"/a/c/d/"),
            ("normalizePath", b"../../etc/passwd", b"../../etc/passwd"),
            ("normalizePath", b"/../x", b"/x"),
            ("normalizePathWin", b"C:\\a\\..\\b", b"C:/b"),
            ("utf8toUnicode", "中a".as_bytes(), b"%u4e2da"),
            ("urlEncode", b"a b&", b"a+b%26"),
        ];
        for (name, input, expected) in cases {
            let f = lookup(name).unwrap();
            let out = f(input).unwrap_or_else(|| input.to_vec());
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(expected),
                "{name}({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }
}
