//! Splitting a SecLang file into directives.
//!
//! A directive is one logical line: physical lines ending in `\` continue on the next line.
//! Lines whose first non-blank character is `#` are comments. Arguments are separated by blanks;
//! an argument in double quotes may contain blanks, and inside it only `\"` is an escape (every
//! other backslash is kept, so regular expressions arrive unchanged) — as Apache's
//! `ap_getword_conf`, which ModSecurity relies on, does it.

use super::ParseError;

/// One directive as written: its name, its arguments, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDirective {
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
}

/// Splits `text` into directives.
pub fn directives(text: &str, file: &str) -> Result<Vec<RawDirective>, ParseError> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut start_line = 0;
    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.trim_end_matches('\r');
        if logical.is_empty() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            start_line = line_no;
        }
        let trimmed_end = line.trim_end();
        if let Some(body) = trimmed_end.strip_suffix('\\') {
            logical.push_str(body);
            continue;
        }
        logical.push_str(line);
        out.push(split_directive(&logical, file, start_line)?);
        logical.clear();
    }
    if !logical.is_empty() {
        out.push(split_directive(&logical, file, start_line)?);
    }
    Ok(out)
}

fn split_directive(text: &str, file: &str, line: usize) -> Result<RawDirective, ParseError> {
    let mut words = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b'"' || bytes[i] == b'\'' {
            let quote = bytes[i];
            i += 1;
            let mut word = Vec::new();
            let mut closed = false;
            while i < bytes.len() {
                if bytes[i] == b'\\' && i + 1 < bytes.len() && bytes[i + 1] == quote {
                    word.push(quote);
                    i += 2;
                    continue;
                }
                if bytes[i] == quote {
                    closed = true;
                    i += 1;
                    break;
                }
                word.push(bytes[i]);
                i += 1;
            }
            if !closed {
                return Err(ParseError::new(file, line, "unterminated quoted argument"));
            }
            words.push(String::from_utf8_lossy(&word).into_owned());
        } else {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            words.push(text[start..i].to_string());
        }
    }
    let mut words = words.into_iter();
    let name = words
        .next()
        .ok_or_else(|| ParseError::new(file, line, "empty directive"))?;
    Ok(RawDirective {
        name,
        args: words.collect(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_comments_and_quotes() {
        let text = "# comment\n\nSecRule ARGS \"@rx a\\\"b\\d\" \\\n    \"id:1,\\\n    phase:2\"\n  # indented comment\nSecRuleEngine On\n";
        let d = directives(text, "t.conf").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "SecRule");
        assert_eq!(d[0].args, vec!["ARGS", "@rx a\"b\\d", "id:1,    phase:2"]);
        assert_eq!(d[0].line, 3);
        assert_eq!(d[1].args, vec!["On"]);
        assert_eq!(d[1].line, 7);
    }

    #[test]
    fn unterminated_quote_is_an_error_with_position() {
        let err = directives("\nSecRule ARGS \"@rx a", "x.conf").unwrap_err();
        assert_eq!(err.to_string(), "x.conf:2: unterminated quoted argument");
    }
}
