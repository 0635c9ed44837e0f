//! What the user typed, read into groups of tokens.
//!
//! * `word word` — every word is required; a word the segmenter cuts in several tokens needs
//!   all of them, and scores higher where they stand together;
//! * `"a phrase"` (also `“…”` and `「…」`) — the tokens must stand together, in order;
//! * `-word` — items containing the word are left out.
//!
//! Input of any length or content is accepted: it is cut to [`MAX_QUERY_CHARS`](super::MAX_QUERY_CHARS)
//! characters and at most [`MAX_GROUPS`] groups, and anything that is not a word is ignored.

use super::segment::{self, Piece};

/// Groups taken from one query.
pub const MAX_GROUPS: usize = 12;

/// Words the query ignores inside an unquoted word when others remain ("的" in "工作的通知").
const STOP: &[&str] = &["的", "了", "和", "与", "及", "在", "是", "之", "或", "等"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// What the user typed for this group.
    pub raw: String,
    pub pieces: Vec<Piece>,
    /// For each piece of four or more characters, the shorter words tiling it (see
    /// [`segment::cover`]), positions relative to the piece; empty otherwise.
    pub covers: Vec<Vec<Piece>>,
    /// Tokens must stand together (quoted, or a single word of several tokens when used to
    /// boost).
    pub phrase: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    pub required: Vec<Group>,
    pub excluded: Vec<Group>,
    /// The input was longer than the limits and was cut.
    pub truncated: bool,
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}'
}

fn closing(open: char) -> Option<&'static [char]> {
    match open {
        '"' | '“' | '”' => Some(&['"', '”', '“']),
        '「' => Some(&['」']),
        _ => None,
    }
}

impl Group {
    /// The group's tokens with every long piece replaced by its tiling, when it has one.
    pub fn fine(&self) -> Vec<Piece> {
        let mut out = Vec::new();
        for (p, cover) in self.pieces.iter().zip(&self.covers) {
            if cover.is_empty() {
                out.push(p.clone());
            } else {
                out.extend(cover.iter().map(|c| Piece {
                    position: p.position + c.position,
                    ..c.clone()
                }));
            }
        }
        out
    }
}

impl ParsedQuery {
    pub fn parse(text: &str) -> ParsedQuery {
        let text = text.trim();
        let mut out = ParsedQuery::default();
        let chars: Vec<char> = text.chars().take(super::MAX_QUERY_CHARS).collect();
        out.truncated = text.chars().nth(super::MAX_QUERY_CHARS).is_some();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if is_space(c) {
                i += 1;
                continue;
            }
            if out.required.len() + out.excluded.len() >= MAX_GROUPS {
                out.truncated = true;
                break;
            }
            if let Some(close) = closing(c) {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && !close.contains(&chars[end]) {
                    end += 1;
                }
                let raw: String = chars[start..end].iter().collect();
                out.push(raw, true, false);
                i = end + 1;
                continue;
            }
            let exclude = c == '-' || c == '－';
            let start = if exclude { i + 1 } else { i };
            let mut end = start;
            while end < chars.len() && !is_space(chars[end]) && closing(chars[end]).is_none() {
                end += 1;
            }
            let raw: String = chars[start..end].iter().collect();
            out.push(raw, false, exclude);
            i = end.max(i + 1);
        }
        out
    }

    fn push(&mut self, raw: String, quoted: bool, exclude: bool) {
        let mut pieces = segment::for_query(&raw);
        if pieces.is_empty() {
            return;
        }
        if !quoted && pieces.len() > 1 {
            let kept: Vec<Piece> = pieces
                .iter()
                .filter(|p| !STOP.contains(&p.text.as_str()))
                .cloned()
                .collect();
            if !kept.is_empty() {
                pieces = kept;
            }
        }
        let covers = pieces.iter().map(|p| segment::cover(&p.text)).collect();
        let group = Group {
            raw,
            pieces,
            covers,
            phrase: quoted,
        };
        if exclude {
            self.excluded.push(group);
        } else {
            self.required.push(group);
        }
    }

    /// Nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty()
    }

    /// Texts to mark in titles and snippets: every token, and each phrase whole.
    pub fn highlight_words(&self) -> Vec<String> {
        let mut out = Vec::new();
        for g in &self.required {
            if g.phrase {
                out.push(g.raw.trim().to_lowercase());
            }
            out.extend(g.pieces.iter().map(|p| p.text.clone()));
        }
        out
    }

    /// The tokens as one line, for suggestions.
    pub fn describe(groups: &[&Group]) -> String {
        groups
            .iter()
            .map(|g| {
                if g.phrase {
                    format!("\"{}\"", g.raw.trim())
                } else {
                    g.raw.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_exclusions() {
        let q = ParsedQuery::parse("  政府信息公开 “安全 生产” -招聘 「通知」 ");
        assert_eq!(q.required.len(), 3);
        assert!(!q.required[0].phrase);
        assert!(q.required[1].phrase);
        assert_eq!(q.required[1].raw, "安全 生产");
        assert_eq!(q.excluded.len(), 1);
        assert_eq!(q.excluded[0].raw, "招聘");
        assert!(q.required[2].phrase);
        assert!(!q.truncated);
        let words = q.highlight_words();
        assert!(words.contains(&"安全 生产".to_string()) && words.contains(&"通知".to_string()));
    }

    #[test]
    fn hostile_input_is_cut_and_harmless() {
        let long = "税".repeat(10_000);
        let q = ParsedQuery::parse(&long);
        assert!(q.truncated);
        assert!(
            q.required
                .iter()
                .map(|g| g.raw.chars().count())
                .sum::<usize>()
                <= 100
        );
        for text in [
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "\"",
            "-",
            "--",
            "“",
            "😀🎉",
            "\u{0}\u{1f}",
            "a b c d e f g h i j k l m n o p",
        ] {
            let q = ParsedQuery::parse(text);
            assert!(q.required.len() + q.excluded.len() <= MAX_GROUPS, "{text}");
        }
        assert!(ParsedQuery::parse("😀🎉，。").is_empty());
        assert!(ParsedQuery::parse("").is_empty());
    }

    #[test]
    fn stop_words_are_dropped_only_beside_other_words() {
        let q = ParsedQuery::parse("工作的通知");
        let t: Vec<&str> = q.required[0]
            .pieces
            .iter()
            .map(|p| p.text.as_str())
            .collect();
        assert!(!t.contains(&"的"), "{t:?}");
        let q = ParsedQuery::parse("的");
        assert_eq!(q.required[0].pieces.len(), 1);
    }
}
