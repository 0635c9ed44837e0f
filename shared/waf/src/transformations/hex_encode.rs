//! `hexEncode`: encodes every byte as two lowercase hex digits.
//!
//! `SecRule REQUEST_BODY "@rx ^(?:00)+" "t:hexEncode"`

pub fn hex_encode(input: &[u8]) -> Option<Vec<u8>> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    Some(out)
}
