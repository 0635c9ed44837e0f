//! Plain text of an article body for the index, and highlighted snippets of it for results.
//!
//! Snippets are built here rather than with tantivy's `SnippetGenerator`: that one follows the
//! tokenizer's offsets, which go backwards with search-mode tokens (a word's parts come after
//! it), and it panics on such Chinese documents. This highlighter matches the query's words in
//! the stored text directly.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Text of sanitised HTML: tags removed (script and style with their content), block
/// boundaries kept as a space, entities decoded, runs of white space collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        push_text(&mut out, &rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let tag = rest[1..end.saturating_sub(1).max(1)].trim_start_matches('/');
            let name: String = tag
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            rest = &rest[end..];
            if (name == "script" || name == "style") && !tag.ends_with('/') {
                let close = format!("</{name}");
                let lower = rest.to_ascii_lowercase();
                let skip = lower.find(&close).unwrap_or(rest.len());
                rest = &rest[skip..];
                if let Some(e) = rest.find('>') {
                    rest = &rest[e + 1..];
                }
            }
            if !matches!(
                name.as_str(),
                "b" | "i" | "em" | "strong" | "span" | "a" | "u" | "sub" | "sup" | "font"
            ) {
                push_text(&mut out, " ");
            }
        } else {
            let (decoded, used) = entity(rest);
            push_text(&mut out, &decoded);
            rest = &rest[used..];
        }
    }
    push_text(&mut out, rest);
    out.trim().to_string()
}

/// Appends text with white space collapsed.
fn push_text(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_whitespace() || c == '\u{a0}' {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !c.is_control() {
            out.push(c);
        }
    }
}

/// Decodes the entity at the start of `s` (which starts with `&`): (text, bytes used).
fn entity(s: &str) -> (String, usize) {
    let Some(end) = s[..s.len().min(12)].find(';') else {
        return ("&".into(), 1);
    };
    let name = &s[1..end];
    let c = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "ldquo" => Some('“'),
        "rdquo" => Some('”'),
        "mdash" => Some('—'),
        "hellip" => Some('…'),
        n if n.starts_with("#x") || n.starts_with("#X") => u32::from_str_radix(&n[2..], 16)
            .ok()
            .and_then(char::from_u32),
        n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
        _ => None,
    };
    match c {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}

/// Escapes text for HTML.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Finds the query's words in texts and marks them.
pub struct Highlighter {
    matcher: Option<AhoCorasick>,
}

impl Highlighter {
    /// `words`: the normalised query words (lower-case ASCII; matched case-insensitively).
    pub fn new(words: &[String]) -> Highlighter {
        let mut words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .filter(|w| !w.is_empty())
            .collect();
        words.sort_unstable();
        words.dedup();
        let matcher = (!words.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&words)
                    .ok()
            })
            .flatten();
        Highlighter { matcher }
    }

    /// The whole text, escaped, with every match in `<em>`.
    pub fn mark(&self, text: &str) -> String {
        self.window(text, usize::MAX)
    }

    /// Up to `max_chars` characters of the text around the densest run of matches, escaped,
    /// with the matches in `<em>` and `…` where text was cut.
    pub fn snippet(&self, text: &str, max_chars: usize) -> String {
        self.window(text, max_chars)
    }

    fn window(&self, text: &str, max_chars: usize) -> String {
        let matches: Vec<(usize, usize, usize)> = match &self.matcher {
            Some(m) => m
                .find_iter(text)
                .take(2000)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect(),
            None => Vec::new(),
        };
        // Choose the window: the match from which the most distinct words follow within
        // `max_chars` (measured in bytes / 3, near enough for Chinese text).
        let span = max_chars.saturating_mul(3);
        let mut best = (0usize, 0usize); // (distinct words, index of first match)
        for i in 0..matches.len() {
            let mut seen: Vec<usize> = Vec::new();
            for m in matches[i..]
                .iter()
                .take_while(|m| m.1 - matches[i].0 <= span)
            {
                if !seen.contains(&m.2) {
                    seen.push(m.2);
                }
            }
            if seen.len() > best.0 {
                best = (seen.len(), i);
            }
        }
        let start = if max_chars == usize::MAX || matches.is_empty() {
            0
        } else {
            // A little context before the first match, on a character boundary.
            let first = matches[best.1].0;
            let mut s = first.saturating_sub(30);
            while !text.is_char_boundary(s) {
                s += 1;
            }
            // Prefer to start the snippet at a sentence boundary when one is near.
            match text[s..first].rfind(['。', '；', '！', '？', '.', ' ']) {
                Some(p) => {
                    let p = s + p;
                    p + text[p..].chars().next().map_or(0, char::len_utf8)
                }
                None => s,
            }
        };
        let end = match text[start..].char_indices().nth(max_chars.min(text.len())) {
            Some((i, _)) if max_chars != usize::MAX => start + i,
            _ => text.len(),
        };
        let mut out = String::with_capacity((end - start) * 5 / 4 + 16);
        if start > 0 {
            out.push('…');
        }
        let mut at = start;
        for &(s, e, _) in matches.iter().filter(|m| m.0 >= start && m.1 <= end) {
            if s < at {
                continue;
            }
            escape(&text[at..s], &mut out);
            out.push_str("<em>");
            escape(&text[s..e], &mut out);
            out.push_str("</em>");
            at = e;
        }
        escape(&text[at..end], &mut out);
        if end < text.len() {
            out.push('…');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            html_to_text(
                "<p>第一段&nbsp;<b>重点</b></p><p>第二段 &amp; &#x4e2d;&#25991;</p><script>x()</script><style>p{}</style>尾"
            ),
            "第一段 重点 第二段 & 中文 尾"
        );
        assert_eq!(html_to_text("a &bogus; b < c"), "a &bogus; b");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn snippets_mark_words_escape_the_rest_and_cut_on_characters() {
        let h = Highlighter::new(&["信息公开".to_string(), "waf".to_string()]);
        let text = format!(
            "{}本机关<script>依法做好政府信息公开工作，WAF 规则统一下发。{}",
            "开头的话。".repeat(40),
            "结尾".repeat(100)
        );
        let s = h.snippet(&text, 60);
        assert!(s.contains("<em>信息公开</em>"), "{s}");
        assert!(s.contains("<em>WAF</em>"), "{s}");
        assert!(s.contains("&lt;script&gt;"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.chars().count() < 60 + 40, "{s}");
        // No match: the start of the text.
        let plain = Highlighter::new(&["无关".to_string()]).snippet("甲乙丙丁", 2);
        assert_eq!(plain, "甲乙…");
        assert_eq!(Highlighter::new(&[]).mark("<b>"), "&lt;b&gt;");
    }
}
