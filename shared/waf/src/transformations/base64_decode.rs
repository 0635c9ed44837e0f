//! `base64Decode`: decodes Base64, stopping at the first character outside the alphabet
//! (ModSecurity's behaviour), padding optional. `base64DecodeExt` skips invalid characters instead.
//!
//! `SecRule REQUEST_HEADERS:Authorization "@rx ..." "t:base64Decode"`

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

fn decode(input: &[u8], skip_invalid: bool) -> Vec<u8> {
    let mut clean = Vec::with_capacity(input.len());
    for &b in input {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            clean.push(b);
        } else if b == b'=' || !skip_invalid {
            break;
        }
    }
    // A trailing single character carries no full byte.
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    STANDARD_NO_PAD
        .decode(&clean)
        .or_else(|_| {
            // Non-canonical trailing bits: decode what full quanta there are.
            let full = clean.len() / 4 * 4;
            STANDARD_NO_PAD.decode(&clean[..full])
        })
        .unwrap_or_default()
}

pub fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    Some(decode(input, false))
}

pub fn base64_decode_ext(input: &[u8]) -> Option<Vec<u8>> {
    Some(decode(input, true))
}
