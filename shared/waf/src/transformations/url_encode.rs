//! `urlEncode`: form-encodes the value (space as `+`, unreserved characters kept).
//!
//! `SecRule ARGS "@rx %3c" "t:urlEncode"`

pub fn url_encode(input: &[u8]) -> Option<Vec<u8>> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(input.len());
    for &b in input {
        match b {
            b' ' => out.push(b'+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b),
            _ => {
                out.push(b'%');
                out.push(DIGITS[usize::from(b >> 4)]);
                out.push(DIGITS[usize::from(b & 15)]);
            }
        }
    }
    Some(out)
}
