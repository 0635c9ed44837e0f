//! `replaceNulls`: replaces NUL bytes by spaces.
//!
//! `SecRule ARGS "@rx ..." "t:replaceNulls"`

pub fn replace_nulls(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&0) {
        return None;
    }
    Some(
        input
            .iter()
            .map(|&b| if b == 0 { b' ' } else { b })
            .collect(),
    )
}
