//! Field decoders shared by the service inputs, which arrive as HTML forms (every value a
//! string) or as JSON (numbers and booleans typed).

use serde::{Deserialize, Deserializer};

/// A number given as a number or as a string (empty meaning 0).
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i32),
        Str(String),
    }
    match IntOrString::deserialize(d)? {
        IntOrString::Int(n) => Ok(n),
        IntOrString::Str(s) if s.trim().is_empty() => Ok(0),
        IntOrString::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("not a number: {s:?}"))),
    }
}

/// An HTML checkbox (present as "on") or a JSON boolean.
pub fn checkbox<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        Str(String),
    }
    Ok(match BoolOrString::deserialize(d)? {
        BoolOrString::Bool(b) => b,
        BoolOrString::Str(s) => matches!(s.as_str(), "on" | "true" | "1" | "yes"),
    })
}
