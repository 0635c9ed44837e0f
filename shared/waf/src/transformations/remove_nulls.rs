//! `removeNulls`: deletes NUL bytes.
//!
//! `SecRule ARGS "@rx ..." "t:removeNulls"`

pub fn remove_nulls(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&0) {
        return None;
    }
    Some(input.iter().copied().filter(|&b| b != 0).collect())
}
