//! Chinese word segmentation for the index and for queries, over `jieba-rs`.
//!
//! * Documents are cut in **search mode** (every word plus the dictionary words inside it), so
//!   that "信息公开" is found inside "政府信息公开".
//! * Queries are cut in **default mode**: one reading of the text, whose words the index holds.
//! * Both run without the HMM: a run of characters the dictionary does not know is cut into
//!   single characters the same way wherever it occurs, so a query for an unknown name still
//!   meets the document's tokens.
//!
//! A token's *position* is the character offset where it starts. Overlapping search-mode
//! tokens therefore sit where they are in the text, and a phrase is matched by offsets: the
//! query's tokens must occur at the same distances from each other as in the query.

use std::sync::LazyLock;

use jieba_rs::Jieba;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Loads the dictionary now (it takes a moment) rather than on the first search.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// One token: normalised text, character position and byte range in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    /// Character offset of the token's start.
    pub position: usize,
    /// Length in characters.
    pub len: usize,
    pub byte_from: usize,
    pub byte_to: usize,
}

/// Folds full-width ASCII to half width and ASCII letters to lower case; `None` for tokens
/// with nothing searchable (punctuation, spaces).
fn normalise(word: &str) -> Option<String> {
    if !word.chars().any(char::is_alphanumeric) {
        return None;
    }
    Some(
        word.chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)
                    .unwrap_or(c)
                    .to_ascii_lowercase(),
                c => c.to_ascii_lowercase(),
            })
            .collect(),
    )
}

fn pieces(tokens: Vec<jieba_rs::Token<'_>>) -> Vec<Piece> {
    let mut out: Vec<Piece> = tokens
        .into_iter()
        .filter_map(|t| {
            Some(Piece {
                text: normalise(t.word)?,
                position: t.start,
                len: t.end - t.start,
                byte_from: t.byte_start,
                byte_to: t.byte_end,
            })
        })
        .collect();
    // Search mode emits a word's parts before the word; the index wants positions in order.
    out.sort_by_key(|p| (p.position, p.len));
    out.dedup_by(|a, b| a.position == b.position && a.text == b.text);
    out
}

/// Full-width ASCII (`ＷＡＦ２０２６`) as half width, before segmenting, so that it is cut as
/// the Latin word or number it is. Character positions are unchanged.
fn fold_width(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            })
            .collect(),
    )
}

/// Tokens of a document's text (search mode). Byte ranges refer to the text with full-width
/// ASCII folded.
pub fn for_index(text: &str) -> Vec<Piece> {
    pieces(JIEBA.cut_for_search(&fold_width(text), false))
}

/// Tokens of a query's word or phrase (default mode).
pub fn for_query(text: &str) -> Vec<Piece> {
    pieces(JIEBA.cut(&fold_width(text), false))
}

/// A word of four or more characters as shorter dictionary words that tile it
/// ("中华人民共和国" → 中华 人民 共和国), positions relative to the word; empty when no tiling
/// exists. A document may hold the word inside a longer one ("中华人民共和国政府"), where search
/// mode indexes the 2- and 3-character words inside but not the 7-character one; the tiling
/// finds it there.
pub fn cover(word: &str) -> Vec<Piece> {
    let n = word.chars().count();
    if n < 4 {
        return Vec::new();
    }
    let grams: Vec<Piece> = pieces(JIEBA.cut_for_search(word, false))
        .into_iter()
        .filter(|p| (2..=3).contains(&p.len) && p.len < n)
        .collect();
    // Fewest grams covering 0..n without overlap: best[i] = (count, gram ending at i).
    let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, usize::MAX));
    for i in 1..=n {
        for (g, p) in grams.iter().enumerate() {
            if p.position + p.len == i
                && let Some((count, _)) = best[p.position]
                && best[i].is_none_or(|(c, _)| count + 1 < c)
            {
                best[i] = Some((count + 1, g));
            }
        }
    }
    let mut out = Vec::new();
    let mut at = n;
    while at > 0 {
        let Some((_, g)) = best[at] else {
            return Vec::new();
        };
        out.push(grams[g].clone());
        at = grams[g].position;
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &[Piece]) -> Vec<&str> {
        p.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn search_mode_indexes_the_words_inside_words_at_their_offsets() {
        let p = for_index("市政府信息公开");
        let t = texts(&p);
        for w in ["政府", "信息", "公开"] {
            assert!(t.contains(&w), "{w} missing from {t:?}");
        }
        let gongkai = p.iter().find(|p| p.text == "公开").expect("公开");
        assert_eq!(gongkai.position, 5, "character offset");
        assert_eq!(
            &"市政府信息公开"[gongkai.byte_from..gongkai.byte_to],
            "公开"
        );
        let positions: Vec<usize> = p.iter().map(|p| p.position).collect();
        assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{positions:?}");
    }

    #[test]
    fn long_words_are_tiled_by_the_words_inside_them() {
        let c = cover("中华人民共和国");
        let t: Vec<(&str, usize)> = c.iter().map(|p| (p.text.as_str(), p.position)).collect();
        assert_eq!(t, vec![("中华", 0), ("人民", 2), ("共和国", 4)]);
        assert!(cover("政府").is_empty());
        // Every tile is a token of a document holding the word inside a longer one.
        let doc = for_index("中华人民共和国政府信息公开条例");
        for p in &c {
            assert!(
                doc.iter()
                    .any(|d| d.text == p.text && d.position == p.position),
                "{p:?}"
            );
        }
    }

    #[test]
    fn punctuation_is_dropped_and_latin_folded() {
        let p = for_query("ＷＡＦ，规则！Nginx");
        assert_eq!(texts(&p), vec!["waf", "规则", "nginx"]);
        assert!(for_query("，。！ ").is_empty());
    }

    #[test]
    fn query_words_are_found_among_index_words() {
        let doc = for_index("关于做好2026年政府信息公开工作的通知");
        let q = for_query("政府信息公开");
        let base = doc
            .iter()
            .find(|d| d.text == q[0].text)
            .expect("first word")
            .position;
        for piece in &q {
            assert!(
                doc.iter()
                    .any(|d| d.text == piece.text && d.position == base + piece.position),
                "{} at +{} not in {:?}",
                piece.text,
                piece.position,
                doc
            );
        }
    }
}
