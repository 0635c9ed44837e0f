//! `application/x-www-form-urlencoded` (also the query string): `a=1&b=2`, `+` as space,
//! `%HH` decoded; an invalid `%` sequence is kept as written and flagged.

use super::Pairs;
use crate::operators::first_invalid_escape;

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
        invalid |= first_invalid_escape(name).is_some() || first_invalid_escape(value).is_some();
        out.push((
            crate::transformations::form_decode(name),
            crate::transformations::form_decode(value),
        ));
    }
    (out, invalid)
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
