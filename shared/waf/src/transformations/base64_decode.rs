//! `base64Decode`: decodes Base64, stopping at the first character outside the alphabet
//! (ModSecurity's behaviour), padding optional. `base64DecodeExt` skips invalid characters instead.
//!
//! `SecRule REQUEST_HEADERS:Authorization "@rx ..." "t:base64Decode"`

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

fn decode(input: &[u8], skip_invalid: bool) -> Vec<u8> {
    let valid = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let filtered: Vec<u8>;
    let mut clean: &[u8] = if skip_invalid {
        filtered = input
            .iter()
            .copied()
            .take_while(|&b| b != b'=')
            .filter(|&b| valid(b))
            .collect();
        &filtered
    } else {
        // The leading run of Base64 characters, read in place (most values have none).
        &input[..input.iter().position(|&b| !valid(b)).unwrap_or(input.len())]
    };
    // A trailing single character carries no full byte.
    if clean.len() % 4 == 1 {
        clean = &clean[..clean.len() - 1];
    }
    if clean.is_empty() {
        return Vec::new();
    }
    STANDARD_NO_PAD
        .decode(clean)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The first version (a copy of the characters, then a decode): the current one reads the
    /// leading run in place and must answer the same.
    fn reference(input: &[u8], skip_invalid: bool) -> Vec<u8> {
        let mut clean = Vec::with_capacity(input.len());
        for &b in input {
            if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
                clean.push(b);
            } else if b == b'=' || !skip_invalid {
                break;
            }
        }
        if clean.len() % 4 == 1 {
            clean.pop();
        }
        STANDARD_NO_PAD
            .decode(&clean)
            .or_else(|_| STANDARD_NO_PAD.decode(&clean[..clean.len() / 4 * 4]))
            .unwrap_or_default()
    }

    #[test]
    fn agrees_with_the_reference() {
        let alphabet = b"aGVsbG8QWxz09+/= -_.\xe4\xb8\xad\x00";
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..50_000 {
            let seed = next();
            let len = (seed % 24) as usize;
            let input: Vec<u8> = (0..len)
                .map(|i| alphabet[((seed >> (i % 8 * 8)) as usize + i) % alphabet.len()])
                .collect();
            for skip in [false, true] {
                assert_eq!(
                    decode(&input, skip),
                    reference(&input, skip),
                    "{input:?} {skip}"
                );
            }
        }
    }
}
