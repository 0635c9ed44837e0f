//! `replaceComments`: replaces each `/* … */` comment (an unterminated one runs to the end) by
//! a single space.
//!
//! `SecRule ARGS "@rx union select" "t:replaceComments"`

pub fn replace_comments(input: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(input, b"/*")?;
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i..].starts_with(b"/*") {
            out.push(b' ');
            match memchr::memmem::find(&input[i + 2..], b"*/") {
                Some(end) => i += 2 + end + 2,
                None => break,
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}
