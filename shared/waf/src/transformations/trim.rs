//! `trim`, `trimLeft`, `trimRight`: remove whitespace at either or both ends.
//!
//! `SecRule ARGS "@streq admin" "t:trim"`

use super::is_space;

pub fn trim(input: &[u8]) -> Option<Vec<u8>> {
    let start = input
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |p| p + 1);
    (start != 0 || end != input.len()).then(|| input[start..end].to_vec())
}

pub fn trim_left(input: &[u8]) -> Option<Vec<u8>> {
    let start = input
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(input.len());
    (start != 0).then(|| input[start..].to_vec())
}

pub fn trim_right(input: &[u8]) -> Option<Vec<u8>> {
    let end = input
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |p| p + 1);
    (end != input.len()).then(|| input[..end].to_vec())
}
