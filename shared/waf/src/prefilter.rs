//! Required-literal extraction: for a regex, a set of literals one of which every match must
//! contain. The engine uses these sets to skip regexes that cannot match a value (one
//! Aho-Corasick pass instead of hundreds of regex runs on clean traffic).
//!
//! Literals are lowercased and must be searched case-insensitively; this only widens the set of
//! values that pass the filter, never narrows it, so the filter cannot hide a match.

use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};

/// Shortest literal worth filtering on; shorter ones would pass nearly everything.
const MIN_LEN: usize = 2;
/// Most literals kept per regex.
const MAX_LITERALS: usize = 256;

pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(&crate::operators::rewrite_for_syntax(pattern))
        .ok()?;
    let mut best: Option<Vec<Vec<u8>>> = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut ex = Extractor::new();
        ex.kind(kind)
            .limit_class(64)
            .limit_repeat(16)
            .limit_literal_len(32)
            .limit_total(4096);
        let mut seq: Seq = ex.extract(&hir);
        seq.optimize_for_prefix_by_preference();
        let Some(lits) = seq.literals() else { continue };
        let mut set: Vec<Vec<u8>> = lits
            .iter()
            .map(|l| l.as_bytes().to_ascii_lowercase())
            .collect();
        set.sort();
        set.dedup();
        if set.is_empty() || set.len() > MAX_LITERALS {
            continue;
        }
        if set.iter().any(|l| l.len() < MIN_LEN) {
            continue;
        }
        let score = |s: &Vec<Vec<u8>>| s.iter().map(Vec::len).min().unwrap_or(0);
        if best.as_ref().is_none_or(|b| score(&set) > score(b)) {
            best = Some(set);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_of_simple_patterns() {
        let l = required_literals("(?i)union\\s+select").unwrap();
        assert!(
            l.iter()
                .all(|x| x.starts_with(b"unio") || x.ends_with(b"elect"))
        );
        assert!(required_literals(".*").is_none());
        assert!(required_literals("a|bc").is_none());
        let l = required_literals("(?:foo|bar)baz").unwrap();
        assert!(l.iter().all(|x| x.len() >= 3));
    }
}
