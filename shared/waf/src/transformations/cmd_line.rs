//! `cmdLine`: normalises a command line the way shells and `cmd.exe` ignore characters: deletes
//! `\ " ' ^`, deletes blanks before `/` and `(`, turns `,` `;` and runs of blanks into one space,
//! lowercases.
//!
//! `SecRule ARGS "@rx ..." "t:cmdLine"`

pub fn cmd_line(input: &[u8]) -> Option<Vec<u8>> {
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
