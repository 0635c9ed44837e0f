//! `htmlEntityDecode`: decodes `&#DDD;`, `&#xHH;` (the semicolon optional; only the low byte
//! of the code point is kept, as ModSecurity does) and the entities `&quot; &amp; &lt; &gt;
//! &nbsp;` (case-insensitive, semicolon optional). Anything else is left as written.
//!
//! `SecRule ARGS "@rx <script" "t:htmlEntityDecode"`

use super::hex_val;

pub fn html_entity_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut at = memchr::memchr(b'&', input)?;
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..at]);
    // `at` is an `&`; the bytes before it are copied.
    while at < input.len() {
        match entity(&input[at + 1..]) {
            Some((byte, used)) => {
                out.push(byte);
                at += 1 + used;
            }
            None => {
                out.push(b'&');
                at += 1;
            }
        }
        let next = memchr::memchr(b'&', &input[at..]).map_or(input.len(), |n| at + n);
        out.extend_from_slice(&input[at..next]);
        at = next;
    }
    Some(out)
}

/// Decodes the entity after an `&`: the byte and how many input bytes it used.
fn entity(rest: &[u8]) -> Option<(u8, usize)> {
    if rest.first() == Some(&b'#') {
        let (hex, start) = match rest.get(1) {
            Some(b'x' | b'X') => (true, 2),
            _ => (false, 1),
        };
        let mut j = start;
        let mut value: u32 = 0;
        while j < rest.len() {
            let d = if hex {
                hex_val(rest[j]).map(u32::from)
            } else if rest[j].is_ascii_digit() {
                Some(u32::from(rest[j] - b'0'))
            } else {
                None
            };
            let Some(d) = d else { break };
            value = value
                .wrapping_mul(if hex { 16 } else { 10 })
                .wrapping_add(d);
            j += 1;
        }
        if j == start {
            return None;
        }
        if rest.get(j) == Some(&b';') {
            j += 1;
        }
        return Some(((value & 0xff) as u8, j));
    }
    const NAMED: &[(&[u8], u8)] = &[
        (b"quot", b'"'),
        (b"amp", b'&'),
        (b"lt", b'<'),
        (b"gt", b'>'),
        (b"nbsp", 0xa0),
    ];
    for (name, byte) in NAMED {
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name) {
            let mut used = name.len();
            if rest.get(used) == Some(&b';') {
                used += 1;
            }
            return Some((*byte, used));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first version, byte by byte: the current one copies the runs between entities and
    /// must answer the same.
    fn reference(input: &[u8]) -> Option<Vec<u8>> {
        if !input.contains(&b'&') {
            return None;
        }
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            if input[i] != b'&' {
                out.push(input[i]);
                i += 1;
                continue;
            }
            if let Some((byte, used)) = entity(&input[i + 1..]) {
                out.push(byte);
                i += 1 + used;
            } else {
                out.push(b'&');
                i += 1;
            }
        }
        Some(out)
    }

    #[test]
    fn agrees_with_the_reference() {
        crate::transformations::tests::agree(
            html_entity_decode,
            reference,
            b"&&#x;1aFgtlqunbsp \xe4",
        );
    }
}
