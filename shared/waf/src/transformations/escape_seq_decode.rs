//! `escapeSeqDecode`: decodes ANSI C escapes: `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH` and
//! octal `\OOO`. Anything else is left as written.
//!
//! `SecRule ARGS "@rx ..." "t:escapeSeqDecode"`

use super::{hex_val, x2c};

pub fn escape_seq_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'\\' && i + 1 < input.len() {
            let c = input[i + 1];
            let simple = match c {
                b'a' => Some(7),
                b'b' => Some(8),
                b'f' => Some(12),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'v' => Some(11),
                b'\\' => Some(b'\\'),
                b'?' => Some(b'?'),
                b'\'' => Some(b'\''),
                b'"' => Some(b'"'),
                _ => None,
            };
            if let Some(b) = simple {
                out.push(b);
                i += 2;
                continue;
            }
            if (c == b'x' || c == b'X')
                && i + 3 < input.len()
                && hex_val(input[i + 2]).is_some()
                && hex_val(input[i + 3]).is_some()
            {
                out.push(x2c(input[i + 2], input[i + 3]));
                i += 4;
                continue;
            }
            if (b'0'..=b'7').contains(&c) {
                let mut j = i + 1;
                let mut v: u32 = 0;
                while j < input.len() && j < i + 4 && (b'0'..=b'7').contains(&input[j]) {
                    v = v * 8 + u32::from(input[j] - b'0');
                    j += 1;
                }
                out.push((v & 0xff) as u8);
                i = j;
                continue;
            }
            out.push(b'\\');
            out.push(c);
            i += 2;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    Some(out)
}
