//! `removeWhitespace`: deletes all whitespace, including the no-break space 0xA0.
//!
//! `SecRule ARGS "@rx unionselect" "t:removeWhitespace"`

use super::is_space;

pub fn remove_whitespace(input: &[u8]) -> Option<Vec<u8>> {
    if !input.iter().any(|&b| is_space(b) || b == 0xa0) {
        return None;
    }
    Some(
        input
            .iter()
            .copied()
            .filter(|&b| !is_space(b) && b != 0xa0)
            .collect(),
    )
}
