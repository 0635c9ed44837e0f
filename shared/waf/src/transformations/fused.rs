//! `utf8toUnicode` followed by `urlDecodeUni`, as one transformation: CRS applies the pair to
//! most of what it reads (the XSS, SQL injection and path traversal rules), and on Chinese
//! text the first makes `%uHHHH` of every character — four times the text — only for the
//! second to decode each back to one byte. A rule set uses this in place of the pair wherever
//! the value between the two is not tested (see `Rule::transformations`); its name, with a
//! comma, is none a rule can write.

use super::url_decode_uni::url_decode_uni;
use super::utf8_to_unicode::{rewrite, utf8_to_unicode};

/// The name of the fused pair in [`super::TABLE`].
pub const UTF8_URL_DECODE_UNI: &str = "utf8toUnicode,urlDecodeUni";

/// `urlDecodeUni(utf8toUnicode(input))`.
pub fn utf8_url_decode_uni(input: &[u8]) -> Option<Vec<u8>> {
    if memchr::memchr2(b'%', b'+', input).is_some() {
        // The value's own escapes may run into those `utf8toUnicode` writes (`%4` before a
        // character): the two in turn, as written.
        return match utf8_to_unicode(input) {
            Some(u) => url_decode_uni(&u).or(Some(u)),
            None => url_decode_uni(input),
        };
    }
    // Without a `%` or `+` of its own, `urlDecodeUni` decodes exactly the `%uHHHH` that
    // `utf8toUnicode` wrote: each character becomes that escape's byte directly.
    rewrite(input, input.len(), |out, code| out.push(escape_byte(code)))
}

/// The byte `urlDecodeUni` makes of the `%uHHHH` `utf8toUnicode` writes for a code point
/// (its low 16 bits): full-width ASCII as ASCII, otherwise the low byte.
fn escape_byte(code: u32) -> u8 {
    let code = code & 0xffff;
    if (0xff01..=0xff5e).contains(&code) {
        (code - 0xfee0) as u8
    } else {
        code as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(input: &[u8]) -> Option<Vec<u8>> {
        match utf8_to_unicode(input) {
            Some(u) => url_decode_uni(&u).or(Some(u)),
            None => url_decode_uni(input),
        }
    }

    #[test]
    fn is_the_pair() {
        // Lead and continuation bytes of every kind, escapes of the value's own and their
        // parts, full-width ASCII (U+FF01..FF5E: EF BC 81 .. EF BD 9E) and its edges.
        let alphabet = [
            b'a', b'%', b'+', b'u', b'U', b'4', b'f', b'F', b' ', 0x7f, 0x80, 0x81, 0x8f, 0x9e,
            0x9f, 0xa0, 0xbc, 0xbd, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe4, 0xed, 0xef, 0xf0, 0xf4,
            0xf5, 0xff, 0xb8, 0xad,
        ];
        crate::transformations::tests::agree(utf8_url_decode_uni, pair, &alphabet);
        for s in [
            "第12号通知：关于做好冬季安全生产工作的通知",
            "％２７ｏｒ１＝１",
            "%4第%u4e2d+中",
            "é€😀\u{10ffff}\u{ffff}\u{ff01}\u{ff5e}\u{ff00}\u{ff5f}",
        ] {
            assert_eq!(
                utf8_url_decode_uni(s.as_bytes()).unwrap_or_else(|| s.as_bytes().to_vec()),
                pair(s.as_bytes()).unwrap_or_else(|| s.as_bytes().to_vec()),
                "{s}"
            );
        }
        assert_eq!(
            utf8_url_decode_uni("第1：".as_bytes()).as_deref(),
            Some(&b"\x2c1:"[..])
        );
        assert_eq!(utf8_url_decode_uni(b"plain"), None);
    }
}
