//! `application/json`: every scalar becomes an argument named by its path as ModSecurity 2
//! names them: `a.b` for objects, and array items under the array's own name (`{"r":[1,2]}`
//! gives `r=1`, `r=2`). A top-level scalar or array is named `json`. Depth is limited so that
//! a hostile body cannot exhaust the stack.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Pairs;

/// Nesting deeper than this is a body error.
pub const MAX_DEPTH: usize = 256;

/// Parses and flattens in one pass (no document tree is built): names and values are written
/// out as the parser meets them, in document order, repeated keys included (as ModSecurity's
/// parser gives them).
pub fn parse(input: &[u8]) -> Result<Pairs, String> {
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
    .map_err(|e| {
        let e = e.to_string();
        match e.strip_prefix(DEPTH_ERROR) {
            Some(_) => format!("JSON nesting deeper than {MAX_DEPTH}"),
            None => format!("JSON parsing error: {e}"),
        }
    })?;
    Ok(out)
}

const DEPTH_ERROR: &str = "sitegroup: nesting";

/// A value at `path` (`depth` levels down): scalars become pairs, objects and arrays are
/// walked.
struct Flatten<'a> {
    path: &'a mut Vec<u8>,
    out: &'a mut Pairs,
    depth: usize,
}

impl Flatten<'_> {
    /// An item or member of this array or object (at the path as it stands).
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
        if self.depth > MAX_DEPTH {
            return Err(serde::de::Error::custom(DEPTH_ERROR));
        }
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

    // Numbers as serde_json writes them (`1`, `-2`, `1.5`, `1e+300`).
    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.push(n.to_string().into_bytes());
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.push(n.to_string().into_bytes());
        Ok(())
    }

    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        let text = serde_json::Number::from_f64(n).map_or_else(String::new, |n| n.to_string());
        self.push(text.into_bytes());
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

    /// Items are named by the array's own name.
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let here = self.path.len();
        while seq.next_element_seed(self.deeper())?.is_some() {
            self.path.truncate(here);
        }
        Ok(())
    }

    /// Members are named `path.key`; the top-level object's just `key`.
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

/// An object's key, appended to the path.
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
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn keeps_document_order_repeats_and_number_forms() {
        let p = parse(br#"{"z":1,"a":{"k":"v\u00e9","k":-2},"f":[1.5,1e300,2.0],"n":null,"e":{}}"#)
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
            ("a.k", "vé"),
            ("a.k", "-2"),
            ("f", "1.5"),
            ("f", "1e+300"),
            ("f", "2.0"),
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
}
