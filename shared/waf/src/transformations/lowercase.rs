//! `lowercase`: ASCII letters to lower case.
//!
//! `SecRule REQUEST_METHOD "@streq post" "t:lowercase"`

pub fn lowercase(input: &[u8]) -> Option<Vec<u8>> {
    if !input.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    Some(input.to_ascii_lowercase())
}
