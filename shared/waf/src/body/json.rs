//! `application/json`: every scalar becomes an argument named by its path as ModSecurity 2
//! names them: `a.b` for objects, and array items under the array's own name (`{"r":[1,2]}`
//! gives `r=1`, `r=2`). A top-level scalar or array is named `json`. Values are what the
//! document says: strings unescaped, numbers as written (as ModSecurity's parser passes them),
//! `true`/`false`, and `null` as an empty value.
//!
//! One pass over the bytes with an explicit stack (no recursion, no document tree): names and
//! values are written out in document order, repeated keys included. Nesting is limited, and
//! anything that is not JSON (RFC 8259: a single value, UTF-8, no control characters in
//! strings, no lone surrogates) is an error naming the byte where it went wrong.

use super::Pairs;

/// Nesting deeper than this is a body error.
pub const MAX_DEPTH: usize = 256;

pub fn parse(input: &[u8]) -> Result<Pairs, String> {
    parse_into(input, Vec::new())
}

/// [`parse`], pushing the arguments onto `out` (empty: a list kept from an earlier body, with
/// room for its arguments).
pub fn parse_into(input: &[u8], out: Pairs) -> Result<Pairs, String> {
    if !crate::is_utf8(input) {
        let at = std::str::from_utf8(input).map_or_else(|e| e.valid_up_to(), |_| 0);
        return Err(format!("JSON parsing error: invalid UTF-8 at byte {at}"));
    }
    let mut p = Parser {
        s: input,
        i: 0,
        path: b"json".to_vec(),
        out,
    };
    match p.document() {
        Ok(()) => Ok(p.out),
        Err(Error::Depth) => Err(format!("JSON nesting deeper than {MAX_DEPTH}")),
        Err(Error::Syntax(what)) => Err(format!("JSON parsing error: {what} at byte {}", p.i)),
    }
}

enum Error {
    Depth,
    Syntax(&'static str),
}

/// The bytes that end a run of a string's plain bytes: a quote, a backslash or a control
/// character.
const STOPS: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// An open object or array, with the length of the path its members are named under.
#[derive(Clone, Copy)]
enum Open {
    Object(usize),
    Array(usize),
}

impl Open {
    /// The length of the path its members are named under.
    fn here(self) -> usize {
        match self {
            Open::Object(here) | Open::Array(here) => here,
        }
    }

    /// The byte that closes it.
    fn close(self) -> u8 {
        match self {
            Open::Object(_) => b'}',
            Open::Array(_) => b']',
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// The name of the value being read.
    path: Vec<u8>,
    out: Pairs,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), Error> {
        self.skip_whitespace();
        if self.peek() != Some(b) {
            return Err(Error::Syntax(what));
        }
        self.i += 1;
        Ok(())
    }

    fn push(&mut self, value: Vec<u8>) {
        self.out.push((self.path.clone(), value));
    }

    fn document(&mut self) -> Result<(), Error> {
        let mut stack: Vec<Open> = Vec::new();
        'value: loop {
            // A value, where one must be.
            self.skip_whitespace();
            let Some(b) = self.peek() else {
                return Err(Error::Syntax("a value expected"));
            };
            match b {
                b'{' | b'[' => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(Error::Depth);
                    }
                    self.i += 1;
                    let open = if b == b'{' {
                        // Members of the top-level object are named by their keys alone.
                        if stack.is_empty() {
                            self.path.clear();
                        }
                        Open::Object(self.path.len())
                    } else {
                        Open::Array(self.path.len())
                    };
                    self.skip_whitespace();
                    if self.peek() == Some(open.close()) {
                        self.i += 1;
                    } else {
                        stack.push(open);
                        if let Open::Object(_) = open {
                            self.key()?;
                        }
                        continue 'value;
                    }
                }
                b'"' => {
                    self.i += 1;
                    let value = self.string()?;
                    self.push(value);
                }
                b't' => self.literal(b"true", b"true")?,
                b'f' => self.literal(b"false", b"false")?,
                b'n' => self.literal(b"null", b"")?,
                b'-' | b'0'..=b'9' => {
                    let from = self.i;
                    self.number()?;
                    self.push(self.s[from..self.i].to_vec());
                }
                _ => return Err(Error::Syntax("a value expected")),
            }
            // After a value: the next member or item, or the end of containers.
            loop {
                self.skip_whitespace();
                let Some(&open) = stack.last() else {
                    if self.i < self.s.len() {
                        return Err(Error::Syntax("trailing characters"));
                    }
                    return Ok(());
                };
                self.path.truncate(open.here());
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if let Open::Object(_) = open {
                            self.skip_whitespace();
                            self.key()?;
                        }
                        continue 'value;
                    }
                    Some(b) if b == open.close() => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => {
                        return Err(Error::Syntax(
                            "`,` or the end of the object or array expected",
                        ));
                    }
                }
            }
        }
    }

    /// An object's key and its `:`: the key is appended to the path.
    fn key(&mut self) -> Result<(), Error> {
        if self.peek() != Some(b'"') {
            return Err(Error::Syntax("a key expected"));
        }
        self.i += 1;
        if !self.path.is_empty() {
            self.path.push(b'.');
        }
        let mut path = std::mem::take(&mut self.path);
        let read = self.string_into(&mut path);
        self.path = path;
        read?;
        self.expect(b':', "`:` expected")
    }

    /// A string value (the opening quote is read): as it is written when it has no escape.
    fn string(&mut self) -> Result<Vec<u8>, Error> {
        let from = self.i;
        let end = self.plain_run();
        if self.peek() == Some(b'"') {
            self.i += 1;
            return Ok(self.s[from..end].to_vec());
        }
        self.i = from;
        let mut out = Vec::with_capacity(end - from + 16);
        self.string_into(&mut out)?;
        Ok(out)
    }

    /// Moves past bytes that are neither a quote, a backslash nor a control character; where
    /// it stopped.
    fn plain_run(&mut self) -> usize {
        let rest = &self.s[self.i..];
        self.i += rest
            .iter()
            .position(|&b| STOPS[usize::from(b)])
            .unwrap_or(rest.len());
        self.i
    }

    /// A string's contents, unescaped, appended to `out` (the opening quote is read; the
    /// closing one is read too).
    fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        loop {
            let from = self.i;
            let end = self.plain_run();
            out.extend_from_slice(&self.s[from..end]);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(out)?;
                }
                Some(_) => return Err(Error::Syntax("control character in a string")),
                None => return Err(Error::Syntax("unterminated string")),
            }
        }
    }

    /// An escape after its backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(b) = self.peek() else {
            return Err(Error::Syntax("unterminated string"));
        };
        self.i += 1;
        let byte = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut c = u32::from(self.hex4()?);
                if (0xdc00..0xe000).contains(&c) {
                    return Err(Error::Syntax("lone trailing surrogate"));
                }
                if (0xd800..0xdc00).contains(&c) {
                    if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                        return Err(Error::Syntax("lone leading surrogate"));
                    }
                    self.i += 2;
                    let low = u32::from(self.hex4()?);
                    if !(0xdc00..0xe000).contains(&low) {
                        return Err(Error::Syntax("lone leading surrogate"));
                    }
                    c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                }
                let c = char::from_u32(c).ok_or(Error::Syntax("invalid escape"))?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(Error::Syntax("invalid escape")),
        };
        out.push(byte);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, Error> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or(Error::Syntax("unterminated string"))?;
        let mut n = 0u16;
        for &d in digits {
            let v = crate::transformations::HEX_VALUES[usize::from(d)];
            if v >= 16 {
                return Err(Error::Syntax("invalid \\u escape"));
            }
            n = n << 4 | u16::from(v);
        }
        self.i += 4;
        Ok(n)
    }

    /// `true`, `false` or `null`, pushed as `value`.
    fn literal(&mut self, word: &[u8], value: &[u8]) -> Result<(), Error> {
        if self.s.get(self.i..self.i + word.len()) != Some(word) {
            return Err(Error::Syntax("a value expected"));
        }
        self.i += word.len();
        self.push(value.to_vec());
        Ok(())
    }

    /// A number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<(), Error> {
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.i += 1;
            }
            p.i > from
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(Error::Syntax("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(Error::Syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !digits(self) {
                return Err(Error::Syntax("invalid number"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_paths() {
        let p = parse(br#"{"a":{"b":"x"},"c":[1,true,null]}"#).unwrap();
        let names: Vec<_> = p
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert_eq!(names, ["a.b", "c", "c", "c"]);
        assert_eq!(parse(b"[1]").unwrap()[0].0, b"json");
        assert_eq!(p[0].1, b"x");
        assert!(parse(b"{").is_err());
        assert!(parse(b"{} x").is_err());
        let deep = "[".repeat(MAX_DEPTH + 10) + &"]".repeat(MAX_DEPTH + 10);
        assert_eq!(
            parse(deep.as_bytes()),
            Err(format!("JSON nesting deeper than {MAX_DEPTH}"))
        );
        // As deep as allowed is fine (serde_json stopped at 128).
        let deep = "[".repeat(MAX_DEPTH) + "1" + &"]".repeat(MAX_DEPTH);
        assert_eq!(parse(deep.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn keeps_document_order_repeats_and_number_forms() {
        let p = parse(
            br#"{"z":1,"a":{"k":"v\u00e9\ud83d\ude00\n","k":-2},"f":[1.5,1e300,2.0,-0],"n":null,"e":{}}"#,
        )
        .unwrap();
        let pairs: Vec<_> = p
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        let want = [
            ("z", "1"),
            ("a.k", "vé😀\n"),
            ("a.k", "-2"),
            ("f", "1.5"),
            ("f", "1e300"),
            ("f", "2.0"),
            ("f", "-0"),
            ("n", ""),
        ];
        assert_eq!(pairs, want.map(|(k, v)| (k.to_string(), v.to_string())));
        // A top-level array or scalar is named `json`; nested objects in arrays `json.key`.
        let p = parse(br#"[{"a":true},"s"]"#).unwrap();
        assert_eq!(
            p,
            [
                (b"json.a".to_vec(), b"true".to_vec()),
                (b"json".to_vec(), b"s".to_vec())
            ]
        );
    }

    #[test]
    fn rejects_what_is_not_json_and_says_where() {
        for (body, at) in [
            (&b"{\"a\":01}"[..], "at byte 6"),
            (b"[1,]", "at byte 3"),
            (b"{\"a\" 1}", "at byte 5"),
            (b"\"\\ud800\"", "lone leading surrogate"),
            (b"\"\\udc00\"", "lone trailing surrogate"),
            (b"\"a\x01\"", "control character"),
            (b"\"\xff\"", "invalid UTF-8 at byte 1"),
            (b"[1 2]", "at byte 3"),
            (b"tru", "at byte 0"),
            (b"-", "invalid number"),
            (b"1.", "invalid number"),
            (b"\"\\x\"", "invalid escape"),
        ] {
            let e = parse(body).unwrap_err();
            assert!(e.contains(at), "{:?}: {e}", String::from_utf8_lossy(body));
        }
    }

    /// The previous processor, on serde_json: the same pairs (numbers compared as numbers:
    /// serde_json rewrote them, `1e300` as `1e+300`), and the same documents refused but
    /// numbers too large for an `f64`, on generated JSON-ish inputs.
    #[test]
    fn agrees_with_serde_json() {
        let pieces: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"a\"",
            "\"b\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "1",
            "-2.5e3",
            "0",
            "true",
            "null",
            " ",
            "\"\"",
            "\"中\"",
            "\"x\\\"y\"",
            "01",
            "\"\\q\"",
        ];
        let mut next = crate::xorshift(0x1234_5678_9abc_def1);
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut doc = String::new();
            for _ in 0..(next() % 12) {
                doc.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let ours = parse(doc.as_bytes());
            let theirs = reference(doc.as_bytes());
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => {
                    accepted += 1;
                    assert_eq!(a.len(), b.len(), "{doc}");
                    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                        assert_eq!(ka, kb, "{doc}");
                        let num = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<f64>().ok();
                        assert!(
                            va == vb || num(va).is_some() && num(va) == num(vb),
                            "{doc}: {va:?} {vb:?}"
                        );
                    }
                }
                (Err(_), Err(_)) => {}
                // serde_json refused numbers beyond f64 (`1e400`); as written, they are fine.
                (Ok(_), Err(e)) if e.starts_with("number out of range") => {}
                _ => panic!("{doc}: ours {ours:?}, serde_json {theirs:?}"),
            }
        }
        assert!(accepted > 5_000, "only {accepted} documents accepted");
    }

    /// The previous processor: serde_json, flattened as it parses.
    fn reference(input: &[u8]) -> Result<Pairs, String> {
        use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
        use std::fmt;

        struct Flatten<'a> {
            path: &'a mut Vec<u8>,
            out: &'a mut Pairs,
            depth: usize,
        }
        impl Flatten<'_> {
            fn deeper(&mut self) -> Flatten<'_> {
                Flatten {
                    path: &mut *self.path,
                    out: &mut *self.out,
                    depth: self.depth + 1,
                }
            }
            fn push(self, value: Vec<u8>) {
                self.out.push((self.path.clone(), value));
            }
        }
        impl<'de> DeserializeSeed<'de> for Flatten<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_any(self)
            }
        }
        impl<'de> Visitor<'de> for Flatten<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<(), E> {
                self.push(if b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                });
                Ok(())
            }
            fn visit_i64<E>(self, n: i64) -> Result<(), E> {
                self.push(n.to_string().into_bytes());
                Ok(())
            }
            fn visit_u64<E>(self, n: u64) -> Result<(), E> {
                self.push(n.to_string().into_bytes());
                Ok(())
            }
            fn visit_f64<E>(self, n: f64) -> Result<(), E> {
                self.push(n.to_string().into_bytes());
                Ok(())
            }
            fn visit_str<E>(self, s: &str) -> Result<(), E> {
                self.push(s.as_bytes().to_vec());
                Ok(())
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                self.push(Vec::new());
                Ok(())
            }
            fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
                let here = self.path.len();
                while seq.next_element_seed(self.deeper())?.is_some() {
                    self.path.truncate(here);
                }
                Ok(())
            }
            fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
                if self.depth == 0 {
                    self.path.clear();
                }
                let here = self.path.len();
                while map.next_key_seed(Key(&mut *self.path))?.is_some() {
                    map.next_value_seed(self.deeper())?;
                    self.path.truncate(here);
                }
                Ok(())
            }
        }
        struct Key<'a>(&'a mut Vec<u8>);
        impl<'de> DeserializeSeed<'de> for Key<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_str(self)
            }
        }
        impl<'de> Visitor<'de> for Key<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, k: &str) -> Result<(), E> {
                if !self.0.is_empty() {
                    self.0.push(b'.');
                }
                self.0.extend_from_slice(k.as_bytes());
                Ok(())
            }
        }

        let mut out = Vec::new();
        let mut path = b"json".to_vec();
        let mut de = serde_json::Deserializer::from_slice(input);
        Flatten {
            path: &mut path,
            out: &mut out,
            depth: 0,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| e.to_string())?;
        Ok(out)
    }
}
