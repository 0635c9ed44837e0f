//! `utf8toUnicode`: rewrites each multi-byte UTF-8 sequence as `%uHHHH` (lowercase hex, the
//! code point truncated to 16 bits as ModSecurity does); ASCII and invalid bytes are kept.
//!
//! `SecRule ARGS "@rx %u" "t:utf8toUnicode"`

pub fn utf8_to_unicode(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() * 3);
    let mut rest = input;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_str(&mut out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // Valid prefix by construction.
                push_str(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let skip = e.error_len().unwrap_or(bad.len()).max(1);
                out.extend_from_slice(&bad[..skip]);
                rest = &bad[skip..];
            }
        }
    }
    Some(out)
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c as u8);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let n = u32::from(c) & 0xffff;
            out.extend_from_slice(&[
                b'%',
                b'u',
                HEX[(n >> 12) as usize],
                HEX[((n >> 8) & 0xf) as usize],
                HEX[((n >> 4) & 0xf) as usize],
                HEX[(n & 0xf) as usize],
            ]);
        }
    }
}
