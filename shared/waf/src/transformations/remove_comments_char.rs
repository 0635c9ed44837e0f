//! `removeCommentsChar`: deletes the comment markers themselves: `/*`, `*/`, `<!--`, `-->`,
//! `--` and `#`.
//!
//! `SecRule ARGS "@rx ..." "t:removeCommentsChar"`

pub fn remove_comments_char(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        if rest.starts_with(b"/*") || rest.starts_with(b"*/") || rest.starts_with(b"--") {
            if rest.starts_with(b"-->") {
                i += 3;
            } else {
                i += 2;
            }
        } else if rest.starts_with(b"<!--") {
            i += 4;
        } else if rest[0] == b'#' {
            i += 1;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    Some(out)
}
