//! `application/x-www-form-urlencoded` (also the query string): `a=1&b=2`, `+` as space,
//! `%HH` decoded; an invalid `%` sequence is kept as written and flagged.

use super::Pairs;

/// Parses `input`; returns the pairs and whether an invalid `%` sequence was seen.
pub fn parse(input: &[u8]) -> (Pairs, bool) {
    let mut out = Vec::new();
    let mut invalid = false;
    for part in input.split(|&b| b == b'&') {
        if part.is_empty() {
            continue;
        }
        let (name, value) = match part.iter().position(|&b| b == b'=') {
            Some(eq) => (&part[..eq], &part[eq + 1..]),
            None => (part, &b""[..]),
        };
        invalid |= has_invalid_escape(name) || has_invalid_escape(value);
        out.push((
            crate::transformations::form_decode(name),
            crate::transformations::form_decode(value),
        ));
    }
    (out, invalid)
}

fn has_invalid_escape(s: &[u8]) -> bool {
    s.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(i + 2 < s.len() && s[i + 1].is_ascii_hexdigit() && s[i + 2].is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        let (p, bad) = parse(b"a=1&b=x+y%21&&c&=v&d=%zz");
        assert_eq!(
            p,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x y!".to_vec()),
                (b"c".to_vec(), b"".to_vec()),
                (b"".to_vec(), b"v".to_vec()),
                (b"d".to_vec(), b"%zz".to_vec()),
            ]
        );
        assert!(bad);
        assert!(!parse("q=%E4%B8%AD".as_bytes()).1);
        assert_eq!(parse(b"q=%E4%B8%AD").0[0].1, "中".as_bytes());
    }
}
