//! `hexDecode`: decodes pairs of hex digits into bytes; stops at the first invalid pair.
//!
//! `SecRule ARGS:data "@rx ..." "t:hexDecode"`

use super::{hex_val, x2c};

pub fn hex_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 2);
    for pair in input.chunks_exact(2) {
        if hex_val(pair[0]).is_none() || hex_val(pair[1]).is_none() {
            break;
        }
        out.push(x2c(pair[0], pair[1]));
    }
    Some(out)
}
