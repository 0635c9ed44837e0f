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
    if clean.len() <= SHORT {
        return decode_short(clean);
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

/// Base64 up to this long is decoded by [`decode_short`]: most values CRS decodes are words
/// and numbers, whose leading run of Base64 characters is a few long, and the crate's decoder
/// costs more to set up than such a run takes to decode.
const SHORT: usize = 32;

/// The standard Base64 alphabet, each character at its value.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of each Base64 character (64 for the others, which `decode` has cut off).
const VALUES: [u8; 256] = {
    let mut t = [64u8; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The standard decoding without padding of `clean` (Base64 characters only, of a length
/// that is not 1 more than a multiple of 4), as the crate gives it: when the last character
/// has bits that make no byte set (not canonical), only the whole quanta are decoded.
fn decode_short(clean: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in clean {
        acc = acc << 6 | u32::from(VALUES[usize::from(c)]);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        out.truncate(clean.len() / 4 * 3);
    }
    out
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

    /// The decoding by hand is the crate's (with its fallback to whole quanta) on runs of
    /// Base64 characters of every length it takes, canonical endings or not.
    #[test]
    fn short_decoding_is_the_crates() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let seed = next();
            let len = (seed % (SHORT as u64 + 1)) as usize;
            if len % 4 == 1 {
                continue;
            }
            let run: Vec<u8> = (0..len)
                .map(|i| ALPHABET[(next() >> (i % 7)) as usize % 64])
                .collect();
            let crates = STANDARD_NO_PAD
                .decode(&run)
                .or_else(|_| STANDARD_NO_PAD.decode(&run[..len / 4 * 4]))
                .unwrap();
            assert_eq!(
                decode_short(&run),
                crates,
                "{:?}",
                String::from_utf8_lossy(&run)
            );
        }
    }

    #[test]
    fn agrees_with_the_reference() {
        let alphabet = b"aGVsbG8QWxz09+/= -_.\xe4\xb8\xad\x00";
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..50_000 {
            let seed = next();
            // Both sides of `SHORT`.
            let len = (seed % 48) as usize;
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
