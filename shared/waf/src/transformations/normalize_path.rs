//! `normalizePath` (also `normalisePath`): removes `./` segments, collapses `//`, resolves
//! `dir/../`. A relative path keeps leading `../`; an absolute one cannot climb above `/`.
//!
//! `SecRule REQUEST_FILENAME "@rx /etc/passwd" "t:normalizePath"`

pub fn normalize_path(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() {
        return None;
    }
    // Without a slash only "." and ".." change (see the `DOTS` class).
    if !input.contains(&b'/') && input != b"." && input != b".." {
        return None;
    }
    let absolute = input[0] == b'/';
    let trailing = input.ends_with(b"/")
        || input.ends_with(b"/.")
        || input.ends_with(b"/..")
        || input == b"."
        || input == b"..";
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in input.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if segs.last().is_some_and(|s| *s != b"..") {
                    segs.pop();
                } else if !absolute {
                    segs.push(seg);
                }
            }
            _ => segs.push(seg),
        }
    }
    let mut out = Vec::with_capacity(input.len());
    if absolute {
        out.push(b'/');
    }
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    Some(out)
}
