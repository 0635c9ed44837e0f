//! `normalizePathWin` (also `normalisePathWin`): `normalizePath` after turning backslashes
//! into slashes.
//!
//! `SecRule REQUEST_FILENAME "@rx /windows/win.ini" "t:normalizePathWin"`

pub fn normalize_path_win(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'\\') {
        return super::normalize_path::normalize_path(input);
    }
    Some(super::normalize_path::normalize(input, |b| {
        b == b'/' || b == b'\\'
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first version: backslashes turned into slashes in a copy, then `normalizePath`.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        if !input.contains(&b'\\') {
            return super::super::normalize_path::normalize_path(input);
        }
        let slashed: Vec<u8> = input
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        Some(super::super::normalize_path::normalize_path(&slashed).unwrap_or(slashed))
    }

    #[test]
    fn agrees_with_the_reference() {
        crate::transformations::tests::agree(normalize_path_win, reference, b"/\\./..a.b");
        crate::transformations::tests::agree(normalize_path_win, reference, b"\\\\..a:");
    }
}
