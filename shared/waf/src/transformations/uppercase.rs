//! `uppercase`: ASCII letters to upper case.
//!
//! `SecRule REQUEST_METHOD "@streq POST" "t:uppercase"`

pub fn uppercase(input: &[u8]) -> Option<Vec<u8>> {
    if !input.iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    Some(input.to_ascii_uppercase())
}
