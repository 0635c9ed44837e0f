//! `removeComments`: removes `/* … */` (an unterminated comment runs to the end), `<!-- … -->`,
//! and everything after `--` or `#` to the end of the value.
//!
//! `SecRule ARGS "@rx union select" "t:removeComments"`

pub fn remove_comments(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        if rest.starts_with(b"/*") {
            match find(&rest[2..], b"*/") {
                Some(end) => i += 2 + end + 2,
                None => break,
            }
        } else if rest.starts_with(b"<!--") {
            match find(&rest[4..], b"-->") {
                Some(end) => i += 4 + end + 3,
                None => break,
            }
        } else if rest.starts_with(b"--") || rest[0] == b'#' {
            // To the end of the line.
            match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => i += nl,
                None => break,
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}
