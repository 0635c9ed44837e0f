//! `length`: replaces the value by its length in bytes, in decimal.
//!
//! `SecRule ARGS "@gt 400" "t:length"`

pub fn length(input: &[u8]) -> Option<Vec<u8>> {
    Some(input.len().to_string().into_bytes())
}
