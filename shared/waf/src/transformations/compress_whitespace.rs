//! `compressWhitespace`: turns every run of whitespace (including the no-break space 0xA0) into
//! a single space.
//!
//! `SecRule ARGS "@rx union select" "t:compressWhitespace"`

use super::is_space;

pub fn compress_whitespace(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut in_space = false;
    for &b in input {
        if is_space(b) || b == 0xa0 {
            if !in_space {
                out.push(b' ');
                in_space = true;
            }
        } else {
            out.push(b);
            in_space = false;
        }
    }
    Some(out)
}
