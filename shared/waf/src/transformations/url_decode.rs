//! `urlDecode`: decodes `%HH` and `+`; an invalid `%` sequence is left as written.
//!
//! `SecRule REQUEST_URI_RAW "@rx ..." "t:urlDecode"`

use super::escaped_byte;

pub fn url_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.iter().any(|&b| b == b'%' || b == b'+') {
        return None;
    }
    Some(decode(input, true))
}

/// `%HH` decoding, and `+` as a space when `plus_is_space` (forms and query strings; not paths).
/// Shared with the urlencoded body processor and query-string and path parsing.
pub(crate) fn decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => match escaped_byte(&input[i + 1..]) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transformations::{hex_val, x2c};

    /// The first version, three range tests per digit: the current one reads a table and
    /// must answer the same.
    fn reference(input: &[u8], plus_is_space: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'%' if i + 2 < input.len()
                    && hex_val(input[i + 1]).is_some()
                    && hex_val(input[i + 2]).is_some() =>
                {
                    out.push(x2c(input[i + 1], input[i + 2]));
                    i += 3;
                }
                b'+' if plus_is_space => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn agrees_with_the_reference() {
        let alphabet = b"%%+aF0g9 \xe4";
        crate::transformations::tests::agree(url_decode, |s| Some(reference(s, true)), alphabet);
        crate::transformations::tests::agree(
            |s| Some(decode(s, false)),
            |s| Some(reference(s, false)),
            alphabet,
        );
    }
}
