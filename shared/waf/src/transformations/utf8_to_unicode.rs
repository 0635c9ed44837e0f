//! `utf8toUnicode`: rewrites each multi-byte UTF-8 sequence as `%uHHHH` (lowercase hex, the
//! code point truncated to 16 bits as ModSecurity does); ASCII and invalid bytes are kept.
//!
//! `SecRule ARGS "@rx %u" "t:utf8toUnicode"`

pub fn utf8_to_unicode(input: &[u8]) -> Option<Vec<u8>> {
    // Chinese text (three bytes a character) doubles; two-byte characters triple.
    rewrite(input, input.len() * 2 + 16, push_escape)
}

/// `input` with each multi-byte UTF-8 sequence replaced by what `push` writes for its code
/// point, ASCII and invalid bytes kept (`None` when there is no byte above 0x7F); `capacity`:
/// the output's expected length.
pub(super) fn rewrite(
    input: &[u8],
    capacity: usize,
    push: impl Fn(&mut Vec<u8>, u32),
) -> Option<Vec<u8>> {
    let mut i = input.iter().position(|&b| b >= 0x80)?;
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&input[..i]);
    while i < input.len() {
        let b = input[i];
        if b < 0x80 {
            out.push(b);
            i += 1;
            continue;
        }
        let (code, len) = character(&input[i..]);
        match code {
            Some(code) => push(&mut out, code),
            // The invalid bytes as they are (the longest start of a valid sequence, or one
            // byte: what `str::from_utf8` reports as the error's length).
            None => out.extend_from_slice(&input[i..i + len]),
        }
        i += len;
    }
    Some(out)
}

/// `%uHHHH` for the code point's low 16 bits.
fn push_escape(out: &mut Vec<u8>, code: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = (code & 0xffff) as usize;
    out.extend_from_slice(&[
        b'%',
        b'u',
        HEX[n >> 12],
        HEX[(n >> 8) & 0xf],
        HEX[(n >> 4) & 0xf],
        HEX[n & 0xf],
    ]);
}

/// [`sequence`], with three-byte characters (most of Chinese text) read without the general
/// case's table.
#[inline]
pub(crate) fn character(s: &[u8]) -> (Option<u32>, usize) {
    if let Some(&[lead, b1, b2]) = s.first_chunk::<3>() {
        // Leads E1..EC and EE..EF take any continuation bytes (E0 and ED do not).
        let plain_lead = lead.wrapping_sub(0xe1) < 0x0f && lead != 0xed;
        if plain_lead && (b1 & 0xc0 == 0x80) & (b2 & 0xc0 == 0x80) {
            let code =
                u32::from(lead & 0x0f) << 12 | u32::from(b1 & 0x3f) << 6 | u32::from(b2 & 0x3f);
            return (Some(code), 3);
        }
    }
    sequence(s)
}

/// The UTF-8 sequence `s` starts with (its first byte is not ASCII): its code point and
/// length, or `None` and the length of the longest part that starts a valid sequence (at
/// least 1), as Unicode's table of well-formed sequences (3-7) has it.
fn sequence(s: &[u8]) -> (Option<u32>, usize) {
    let lead = s[0];
    let (len, second) = match lead {
        0xc2..=0xdf => (2, 0x80..=0xbf),
        0xe0 => (3, 0xa0..=0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80..=0xbf),
        0xed => (3, 0x80..=0x9f),
        0xf0 => (4, 0x90..=0xbf),
        0xf1..=0xf3 => (4, 0x80..=0xbf),
        0xf4 => (4, 0x80..=0x8f),
        _ => return (None, 1),
    };
    let mut code = u32::from(lead) & (0x7f >> len);
    for k in 1..len {
        let Some(&b) = s.get(k) else {
            return (None, k);
        };
        let ok = if k == 1 {
            second.contains(&b)
        } else {
            (0x80..=0xbf).contains(&b)
        };
        if !ok {
            return (None, k);
        }
        code = code << 6 | u32::from(b & 0x3f);
    }
    (Some(code), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first version, through `str::from_utf8`: the current one decodes by hand and must
    /// answer the same.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        if input.is_ascii() {
            return None;
        }
        let push_str = |out: &mut Vec<u8>, s: &str| {
            for c in s.chars() {
                if c.is_ascii() {
                    out.push(c as u8);
                } else {
                    out.extend_from_slice(format!("%u{:04x}", u32::from(c) & 0xffff).as_bytes());
                }
            }
        };
        let mut out = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    push_str(&mut out, s);
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    push_str(&mut out, std::str::from_utf8(good).unwrap_or_default());
                    let skip = e.error_len().unwrap_or(bad.len()).max(1);
                    out.extend_from_slice(&bad[..skip]);
                    rest = &bad[skip..];
                }
            }
        }
        Some(out)
    }

    #[test]
    fn agrees_with_the_reference() {
        // Lead bytes of every kind, continuation bytes at the edges of each range.
        let alphabet = [
            b'a', b'%', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
            0xe4, 0xed, 0xee, 0xef, 0xf0, 0xf3, 0xf4, 0xf5, 0xff, 0xb8, 0xad,
        ];
        crate::transformations::tests::agree(utf8_to_unicode, reference, &alphabet);
        for s in [
            "第12号通知：关于",
            "é€😀\u{10ffff}\u{ffff}",
            "\u{7ff}\u{800}",
        ] {
            assert_eq!(
                utf8_to_unicode(s.as_bytes()),
                reference(s.as_bytes()),
                "{s}"
            );
        }
    }
}
