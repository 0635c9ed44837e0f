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
    Some(normalize(input, |b| b == b'/'))
}

/// The path with segments split at the bytes `sep` accepts, written with `/`: one pass, the
/// output written as it goes (a `..` takes back the segment written last).
pub(super) fn normalize(input: &[u8], sep: impl Fn(u8) -> bool) -> Vec<u8> {
    let absolute = input.first().is_some_and(|&b| sep(b));
    let ends = |tail: &[u8]| {
        input.len() > tail.len()
            && sep(input[input.len() - tail.len() - 1])
            && input.ends_with(tail)
    };
    let trailing = input.last().is_some_and(|&b| sep(b))
        || ends(b".")
        || ends(b"..")
        || input == b"."
        || input == b"..";
    let mut out = Vec::with_capacity(input.len() + 1);
    if absolute {
        out.push(b'/');
    }
    let base = out.len();
    // Segments written, and how many of them (all first) are `..`.
    let (mut segments, mut climbs) = (0usize, 0usize);
    for seg in input.split(|&b| sep(b)) {
        match seg {
            b"" | b"." => {}
            b".." if segments > climbs => {
                // Back to before the last segment and its slash.
                let cut = out[base..]
                    .iter()
                    .rposition(|&b| b == b'/')
                    .map_or(base, |p| base + p);
                out.truncate(cut);
                segments -= 1;
            }
            b".." if absolute => {}
            _ => {
                if segments > 0 {
                    out.push(b'/');
                }
                out.extend_from_slice(seg);
                climbs += usize::from(seg == b"..");
                segments += 1;
            }
        }
    }
    if trailing && segments > 0 {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first version (a list of segments, then joined): the current one writes as it goes
    /// and must answer the same.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        if input.is_empty() {
            return None;
        }
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

    #[test]
    fn agrees_with_the_reference() {
        crate::transformations::tests::agree(normalize_path, reference, b"/./..a.b/\\");
        crate::transformations::tests::agree(normalize_path, reference, b"//...a");
    }
}
