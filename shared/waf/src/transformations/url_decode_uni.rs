//! `urlDecodeUni`: `urlDecode` that also understands IIS-style `%uHHHH` (full-width ASCII is
//! mapped to ASCII, otherwise the low byte is kept, as ModSecurity does without a Unicode map).
//!
//! `SecRule ARGS "@rx ..." "t:urlDecodeUni"`

use super::{hex_val, x2c};

pub fn url_decode_uni(input: &[u8]) -> Option<Vec<u8>> {
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
