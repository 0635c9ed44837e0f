//! `jsDecode`: decodes JavaScript escapes: `\uHHHH` (low byte kept; full-width ASCII mapped to
//! ASCII), `\xHH`, octal `\OOO`, the single-character escapes `\b \f \n \r \t \v`, and `\c`
//! yielding `c` for any other character.
//!
//! `SecRule ARGS "@rx alert\(" "t:jsDecode"`

use super::{hex_val, x2c};

pub fn js_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let hex = |k: usize| input.get(k).and_then(|&b| hex_val(b)).is_some();
    while i < input.len() {
        if input[i] != b'\\' || i + 1 >= input.len() {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let c = input[i + 1];
        if (c == b'u') && hex(i + 2) && hex(i + 3) && hex(i + 4) && hex(i + 5) {
            let hi = x2c(input[i + 2], input[i + 3]);
            let lo = x2c(input[i + 4], input[i + 5]);
            let code = (u32::from(hi) << 8) | u32::from(lo);
            if (0xff01..=0xff5e).contains(&code) {
                out.push((code - 0xfee0) as u8);
            } else {
                out.push(lo);
            }
            i += 6;
        } else if c == b'x' && hex(i + 2) && hex(i + 3) {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if (b'0'..=b'7').contains(&c) {
            let mut j = i + 1;
            let mut v: u32 = 0;
            while j < input.len() && j < i + 4 && (b'0'..=b'7').contains(&input[j]) {
                let next = v * 8 + u32::from(input[j] - b'0');
                if next > 0xff {
                    break;
                }
                v = next;
                j += 1;
            }
            out.push(v as u8);
            i = j;
        } else {
            out.push(match c {
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 11,
                other => other,
            });
            i += 2;
        }
    }
    Some(out)
}
