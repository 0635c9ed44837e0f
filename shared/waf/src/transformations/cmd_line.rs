//! `cmdLine`: normalises a command line the way shells and `cmd.exe` ignore characters: deletes
//! `\ " ' ^`, deletes blanks before `/` and `(`, turns `,` `;` and runs of blanks into one space,
//! lowercases.
//!
//! `SecRule ARGS "@rx ..." "t:cmdLine"`

/// What `cmdLine` does with each byte.
const KEEP: u8 = 0;
const DELETE: u8 = 1;
const BLANK: u8 = 2;
const SLASH_OR_PAREN: u8 = 3;
const UPPER: u8 = 4;

const ACTION: [u8; 256] = {
    let mut t = [KEEP; 256];
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = UPPER;
        b += 1;
    }
    let deleted = *b"\\\"'^";
    let mut i = 0;
    while i < deleted.len() {
        t[deleted[i] as usize] = DELETE;
        i += 1;
    }
    let blanks = *b" ,;\t\r\n\x0b\x0c";
    let mut i = 0;
    while i < blanks.len() {
        t[blanks[i] as usize] = BLANK;
        i += 1;
    }
    t[b'/' as usize] = SLASH_OR_PAREN;
    t[b'(' as usize] = SLASH_OR_PAREN;
    t
};

pub fn cmd_line(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    let mut i = 0;
    while i < input.len() {
        // A run of bytes kept as they are, copied at once.
        let run = input[i..]
            .iter()
            .position(|&b| ACTION[usize::from(b)] != KEEP)
            .unwrap_or(input.len() - i);
        if run > 0 {
            out.extend_from_slice(&input[i..i + run]);
            space = false;
            i += run;
            continue;
        }
        let b = input[i];
        match ACTION[usize::from(b)] {
            DELETE => {}
            BLANK => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            SLASH_OR_PAREN => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(b);
            }
            _ => {
                space = false;
                out.push(b.to_ascii_lowercase());
            }
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first version, a match per byte: the current one copies runs of kept bytes at once
    /// and must answer the same.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len());
        let mut space = false;
        for &b in input {
            match b {
                b'\\' | b'"' | b'\'' | b'^' => {}
                b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {
                    if !space {
                        out.push(b' ');
                        space = true;
                    }
                }
                b'/' | b'(' => {
                    if space {
                        out.pop();
                    }
                    space = false;
                    out.push(b);
                }
                _ => {
                    space = false;
                    out.push(b.to_ascii_lowercase());
                }
            }
        }
        Some(out)
    }

    #[test]
    fn agrees_with_the_reference() {
        crate::transformations::tests::agree(
            cmd_line,
            reference,
            b"aZ\\\"'^ ,;\t\r\n\x0b\x0c/(.\xe4",
        );
        let every: Vec<u8> = (0..=255).collect();
        assert_eq!(cmd_line(&every), reference(&every));
    }
}
