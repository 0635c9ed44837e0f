//! `urlDecodeUni`: `urlDecode` that also understands IIS-style `%uHHHH` (full-width ASCII is
//! mapped to ASCII, otherwise the low byte is kept, as ModSecurity does without a Unicode map).
//!
//! `SecRule ARGS "@rx ..." "t:urlDecodeUni"`

use super::{HEX_VALUES, escaped_byte};

pub fn url_decode_uni(input: &[u8]) -> Option<Vec<u8>> {
    let mut i = memchr::memchr2(b'%', b'+', input)?;
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..i]);
    let hex = |b: u8| HEX_VALUES[usize::from(b)];
    while i < input.len() {
        match input[i] {
            // `%HH` first, the common escape (`u` is no hex digit: no `%uHHHH` is one).
            b'%' => match escaped_byte(&input[i + 1..]) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => match input[i + 1..] {
                    [b'u' | b'U', a, b, c, d, ..] if (hex(a) | hex(b) | hex(c) | hex(d)) < 16 => {
                        let lo = hex(c) << 4 | hex(d);
                        let code = u32::from(hex(a)) << 12 | u32::from(hex(b)) << 8 | u32::from(lo);
                        out.push(if (0xff01..=0xff5e).contains(&code) {
                            (code - 0xfee0) as u8
                        } else {
                            lo
                        });
                        i += 6;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                },
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transformations::{hex_val, x2c};

    /// The first version, byte by byte: the current one copies the runs between escapes and
    /// must answer the same.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        if !input.iter().any(|&b| b == b'%' || b == b'+') {
            return None;
        }
        let hex = |k: usize| input.get(k).and_then(|&b| hex_val(b)).is_some();
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'%' if matches!(input.get(i + 1), Some(b'u' | b'U'))
                    && hex(i + 2)
                    && hex(i + 3)
                    && hex(i + 4)
                    && hex(i + 5) =>
                {
                    let hi = x2c(input[i + 2], input[i + 3]);
                    let lo = x2c(input[i + 4], input[i + 5]);
                    let code = (u32::from(hi) << 8) | u32::from(lo);
                    if (0xff01..=0xff5e).contains(&code) {
                        out.push((code - 0xfee0) as u8);
                    } else {
                        out.push(lo);
                    }
                    i += 6;
                }
                b'%' if hex(i + 1) && hex(i + 2) => {
                    out.push(x2c(input[i + 1], input[i + 2]));
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        Some(out)
    }

    #[test]
    fn agrees_with_the_reference() {
        crate::transformations::tests::agree(url_decode_uni, reference, b"%%%uUfF0e+a2Z\xe4 ");
        for s in ["%uff01%UFF5E%uff5f%u4e2d%2", "%u4e2%", "+%+", "%u%41"] {
            assert_eq!(url_decode_uni(s.as_bytes()), reference(s.as_bytes()), "{s}");
        }
    }
}
