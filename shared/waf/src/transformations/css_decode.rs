//! `cssDecode`: decodes CSS 2 escapes: `\` followed by 1–6 hex digits (one optional blank after
//! them is eaten; only the low byte is kept, except full-width ASCII which maps to ASCII), `\`
//! before a newline disappears, `\` before any other character yields that character.
//!
//! `SecRule ARGS "@rx expression\(" "t:cssDecode"`

use super::{hex_val, is_space};

pub fn css_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        if i + 1 >= input.len() {
            // A lone trailing backslash is dropped.
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut n = 0;
        while j < input.len() && n < 6 && hex_val(input[j]).is_some() {
            j += 1;
            n += 1;
        }
        if n > 0 {
            let digits = &input[i + 1..j];
            let mut code: u32 = 0;
            for &d in digits {
                code = (code << 4) | u32::from(hex_val(d).unwrap_or(0));
            }
            let byte = if (0xff01..=0xff5e).contains(&code) {
                (code - 0xfee0) as u8
            } else {
                (code & 0xff) as u8
            };
            out.push(byte);
            if j < input.len() && is_space(input[j]) {
                j += 1;
            }
            i = j;
        } else if input[i + 1] == b'\n' {
            i += 2;
        } else {
            out.push(input[i + 1]);
            i += 2;
        }
    }
    Some(out)
}
