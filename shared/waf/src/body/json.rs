//! `application/json`: every scalar becomes an argument named by its path as ModSecurity 2
//! names them: `a.b` for objects, and array items under the array's own name (`{"r":[1,2]}`
//! gives `r=1`, `r=2`). A top-level scalar or array is named `json`. Depth is limited so that
//! a hostile body cannot exhaust the stack.

use serde_json::Value;

use super::Pairs;

/// Nesting deeper than this is a body error.
pub const MAX_DEPTH: usize = 256;

pub fn parse(input: &[u8]) -> Result<Pairs, String> {
    let value: Value =
        serde_json::from_slice(input).map_err(|e| format!("JSON parsing error: {e}"))?;
    let mut out = Vec::new();
    let mut path = if value.is_object() {
        Vec::new()
    } else {
        b"json".to_vec()
    };
    flatten(&value, &mut path, 0, &mut out)?;
    Ok(out)
}

fn flatten(v: &Value, path: &mut Vec<u8>, depth: usize, out: &mut Pairs) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("JSON nesting deeper than {MAX_DEPTH}"));
    }
    let here = path.len();
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                if !path.is_empty() {
                    path.push(b'.');
                }
                path.extend_from_slice(k.as_bytes());
                flatten(item, path, depth + 1, out)?;
                path.truncate(here);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten(item, path, depth + 1, out)?;
                path.truncate(here);
            }
        }
        Value::String(s) => out.push((path.clone(), s.as_bytes().to_vec())),
        Value::Number(n) => out.push((path.clone(), n.to_string().into_bytes())),
        Value::Bool(b) => out.push((path.clone(), b.to_string().into_bytes())),
        Value::Null => out.push((path.clone(), Vec::new())),
    }
    Ok(())
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
        let deep = "[".repeat(MAX_DEPTH + 10) + &"]".repeat(MAX_DEPTH + 10);
        assert!(parse(deep.as_bytes()).is_err());
    }
}
