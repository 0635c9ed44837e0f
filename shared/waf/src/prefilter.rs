//! Required-literal extraction: for a regex, a set of literals one of which every match must
//! contain. The engine uses these sets to skip regexes that cannot match a value (one
//! Aho-Corasick pass instead of hundreds of regex runs on clean traffic).
//!
//! Literals are lowercased and must be searched case-insensitively; this only widens the set of
//! values that pass the filter, never narrows it, so the filter cannot hide a match. For the
//! same reason the pattern is first case-folded (`[Ss]` becomes the literal `s`), which keeps
//! `(?i)` patterns from exploding into every upper/lower-case spelling.
//!
//! A required set can come from the whole pattern's prefixes or suffixes (regex-syntax's
//! extractor) or from inside it: any one element of a concatenation, a repetition of at least
//! one, or the union over every branch of an alternation. The set whose weakest literal is the
//! most selective wins.

use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Repetition};

/// Most literals kept per regex.
const MAX_LITERALS: usize = 256;
/// Below this depth the extractor also runs on sub-expressions (it is the costly part of
/// loading CRS, and deep sub-expressions rarely give a better set).
const EXTRACT_DEPTH: usize = 3;

type Set = Vec<Vec<u8>>;

/// A regex's filters, from one parse: its required literals, or else (none usable) the
/// bytes every match holds one of (see [`ByteSet`]): the lighter of the set found at one
/// place in the pattern and the one outside the widest clean alphabet it cannot match over,
/// with a second set when another alphabet gives one.
pub fn filters(pattern: &str) -> (Option<Vec<Vec<u8>>>, Option<ByteSet>) {
    let Some(hir) = parsed(pattern) else {
        return (None, None);
    };
    let folded = fold(&hir);
    match literals_of(&folded) {
        Some(literals) => (Some(literals), None),
        None => {
            let bytes = match (bytes_of(&folded), outside_clean_alphabet(&hir)) {
                (Some(a), Some(b)) => Some(if b.weight() < a.weight() { b } else { a }),
                (a, b) => a.or(b),
            };
            (None, bytes.map(|set| with_second_set(&hir, set)))
        }
    }
}

/// The pattern parsed as the engine compiles it (bytes, no Unicode).
fn parsed(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(&crate::operators::rewrite_for_syntax(pattern))
        .ok()
}

/// The pattern parsed and case-folded.
#[cfg(test)]
fn folded(pattern: &str) -> Option<Hir> {
    parsed(pattern).map(|hir| fold(&hir))
}

fn literals_of(folded: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut set = required(folded, 0)?;
    set.sort();
    set.dedup();
    Some(set)
}

/// Bytes that are rare in clean values (request headers, cookies, form fields, Chinese
/// text), so that a one-byte literal of them still filters well.
fn rare_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f || b"<>${}`|~^!\\\"'[]".contains(&b)
}

/// How selective a set is: the length of its weakest literal (one-byte literals count only
/// when rare; 0 means useless), then fewer literals is better.
fn score(set: &Set) -> (usize, std::cmp::Reverse<usize>) {
    let weakest = set
        .iter()
        .map(|l| match l.len() {
            0 => 0,
            1 if rare_byte(l[0]) => 1,
            1 => 0,
            n => n.min(8),
        })
        .min()
        .unwrap_or(0);
    (weakest, std::cmp::Reverse(set.len()))
}

fn better(a: Option<Set>, b: Option<Set>) -> Option<Set> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

fn usable(set: Set) -> Option<Set> {
    (!set.is_empty() && set.len() <= MAX_LITERALS && score(&set).0 > 0).then_some(set)
}

/// The whole expression's prefix or suffix literals, when finite.
fn extracted(hir: &Hir) -> Option<Set> {
    let mut best = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut ex = Extractor::new();
        ex.kind(kind)
            .limit_class(16)
            .limit_repeat(16)
            .limit_literal_len(32)
            .limit_total(512);
        let mut seq: Seq = ex.extract(hir);
        seq.optimize_for_prefix_by_preference();
        let Some(lits) = seq.literals() else { continue };
        let set: Set = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
        best = better(best, usable(set));
    }
    best
}

fn required(hir: &Hir, depth: usize) -> Option<Set> {
    let own = match hir.kind() {
        HirKind::Literal(l) => usable(vec![l.0.to_vec()]),
        HirKind::Class(Class::Bytes(c)) => {
            let bytes: Vec<u8> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .collect();
            if bytes.len() <= 16 {
                usable(bytes.into_iter().map(|b| vec![b]).collect())
            } else {
                None
            }
        }
        HirKind::Capture(c) => required(&c.sub, depth),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub, depth + 1),
        HirKind::Concat(parts) => parts
            .iter()
            .map(|p| required(p, depth + 1))
            .fold(None, better),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required(b, depth + 1)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            usable(all)
        }
        _ => None,
    };
    if depth < EXTRACT_DEPTH && matches!(hir.kind(), HirKind::Concat(_) | HirKind::Alternation(_)) {
        better(own, extracted(hir))
    } else {
        own
    }
}

/// A set of bytes of which every match of some regex holds at least one: the filter for
/// patterns with no usable literal (CRS's command-injection rules allow quotes and
/// backslashes between any two letters, so no literal survives — but every match has a
/// command separator).
#[derive(Debug, Clone)]
pub struct ByteSet {
    set: [bool; 256],
    /// The set's folded bytes (see `needs::FOLD`).
    folded: u64,
    /// Another set every match also holds one of (see [`filters`]).
    and: Option<Box<ByteSet>>,
}

impl ByteSet {
    fn from_table(set: [bool; 256]) -> ByteSet {
        let folded = (0..256)
            .filter(|&b| set[b])
            .fold(0, |f, b| f | crate::needs::FOLD[b]);
        ByteSet {
            set,
            folded,
            and: None,
        }
    }

    /// Whether `input` holds any byte of the set (and of the other set, if any): whether a
    /// match is possible.
    pub fn found_in(&self, input: &[u8]) -> bool {
        input.iter().any(|&b| self.set[usize::from(b)])
            && self.and.as_ref().is_none_or(|and| and.found_in(input))
    }

    /// Whether values whose folded bytes together are `folded` (see `needs::FOLD`) may hold a
    /// byte of the set (and of the other set, if any): `false` when none can.
    pub fn may_be_in(&self, folded: u64) -> bool {
        self.folded & folded != 0 && self.and.as_ref().is_none_or(|and| and.may_be_in(folded))
    }

    /// `found_in` for an input whose folded bytes are `folded`: an input they show holds no
    /// byte of a set is not scanned (most values, whose bytes are letters, digits and text).
    pub fn found_in_folded(&self, input: &[u8], folded: u64) -> bool {
        self.may_be_in(folded) && self.found_in(input)
    }

    /// The bytes of the set (not the other set's), in order.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&b| self.set[usize::from(b)])
    }

    /// The set of exactly these bytes (no case folding).
    pub(crate) fn exact(bytes: impl IntoIterator<Item = u8>) -> ByteSet {
        let mut set = [false; 256];
        for b in bytes {
            set[usize::from(b)] = true;
        }
        ByteSet::from_table(set)
    }

    fn of(bytes: impl IntoIterator<Item = u8>) -> ByteSet {
        let mut set = [false; 256];
        for b in bytes {
            set[usize::from(b)] = true;
            // The expression was case-folded: the original matches either case.
            set[usize::from(b.to_ascii_uppercase())] = true;
        }
        ByteSet::from_table(set)
    }

    fn union(mut self, other: &ByteSet) -> ByteSet {
        for (a, b) in self.set.iter_mut().zip(other.set) {
            *a |= b;
        }
        self.folded |= other.folded;
        self
    }

    /// How often clean values would hold a byte of the set: letters, digits and non-ASCII
    /// bytes (Chinese text) are in nearly every value, space and URL punctuation in many.
    fn weight(&self) -> u32 {
        (0..=255u8)
            .filter(|&b| self.set[usize::from(b)])
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | 0x80..=0xff => 100,
                b' ' => 40,
                b'.' | b'/' | b'-' | b'_' | b',' | b':' | b'=' | b'%' | b'+' | b'(' | b')' => 10,
                b'\t' => 10,
                b if b < 0x20 || b == 0x7f => 1,
                _ => 3,
            })
            .sum()
    }
}

/// Sets heavier than this filter too little to be worth a pass over the value.
const MAX_BYTE_WEIGHT: u32 = 60;

/// The lightest set of bytes every match of a (folded) pattern holds one of, when there is a
/// light enough one (see [`ByteSet::weight`]), or one of two bytes at most, neither a letter,
/// digit or space (CRS 941310's `<` or 0xBC: frequent in Chinese text, but a union of
/// prefilter hits still picks out the values that hold one).
fn bytes_of(folded: &Hir) -> Option<ByteSet> {
    required_set(folded).filter(|s| {
        s.weight() <= MAX_BYTE_WEIGHT
            || s.bytes().count() <= 2 && s.bytes().all(|b| !b.is_ascii_alphanumeric() && b != b' ')
    })
}

fn required_set(hir: &Hir) -> Option<ByteSet> {
    match hir.kind() {
        HirKind::Literal(l) => {
            l.0.iter()
                .map(|&b| ByteSet::of([b]))
                .min_by_key(ByteSet::weight)
        }
        HirKind::Class(Class::Bytes(c)) => Some(ByteSet::of(
            c.ranges().iter().flat_map(|r| r.start()..=r.end()),
        )),
        HirKind::Capture(c) => required_set(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required_set(&r.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(required_set)
            .min_by_key(ByteSet::weight),
        HirKind::Alternation(branches) => {
            let mut all = ByteSet::from_table([false; 256]);
            for b in branches {
                all = all.union(&required_set(b)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// Whether some string made only of the `alphabet`'s bytes matches `hir` somewhere.
/// Look-arounds (`^`, `$`, `\b`) are taken to hold, so a "no" is certain.
fn matches_over(hir: &Hir, alphabet: &[bool; 256]) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => l.0.iter().all(|&b| alphabet[usize::from(b)]),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| alphabet[usize::from(r.start())..=usize::from(r.end())].contains(&true)),
        // Not made with Unicode off; "maybe" is the safe answer.
        HirKind::Class(Class::Unicode(_)) => true,
        HirKind::Repetition(r) => r.min == 0 || matches_over(&r.sub, alphabet),
        HirKind::Capture(c) => matches_over(&c.sub, alphabet),
        HirKind::Concat(parts) => parts.iter().all(|p| matches_over(p, alphabet)),
        HirKind::Alternation(branches) => branches.iter().any(|b| matches_over(b, alphabet)),
    }
}

/// Bytes of clean values, most frequent first (see [`ByteSet::weight`]): the order in which
/// [`outside_clean_alphabet`] tries to take them in.
const CLEAN_GROUPS: &[&[u8]] = &[
    b"0123456789",
    b"abcdefghijklmnopqrstuvwxyz",
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    &HIGH_BYTES,
    b" ",
    b".",
    b"/",
    b"-",
    b"_",
    b",",
    b":",
    b"=",
    b"%",
    b"+",
    b"(",
    b")",
    b"\t",
    b"@",
    b"&",
    b";",
    b"?",
    b"#",
    b"*",
    b"!",
    b"~",
    b"^",
    b"[",
    b"]",
    b"{",
    b"}",
    b"|",
    b"$",
    b"'",
    b"\"",
    b"`",
    b"\\",
    b"<",
    b">",
    &CONTROL_BYTES,
];

const HIGH_BYTES: [u8; 128] = {
    let mut all = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        all[i] = 0x80 + i as u8;
        i += 1;
    }
    all
};

/// Control bytes but tab, and DEL.
const CONTROL_BYTES: [u8; 32] = {
    let mut all = [0u8; 32];
    let mut i = 0;
    while i < 31 {
        all[i] = if i < 9 { i as u8 } else { i as u8 + 1 };
        i += 1;
    }
    all[31] = 0x7f;
    all
};

/// Every byte outside the alphabet grown from `first` (as one group), then from
/// [`CLEAN_GROUPS`], group by group (a group the pattern could match over is split in halves,
/// down to single bytes), over which the pattern cannot match: each match holds one of them.
/// `None` when the pattern may match without them (the empty string, or any frequent byte).
///
/// This sees what one place in the pattern cannot: a digits-only value cannot match CRS
/// 930100's `0x2f` although `0` is as frequent as can be, and a Chinese title cannot match
/// 932230's command names.
fn outside_alphabet(hir: &Hir, first: &[u8]) -> Option<ByteSet> {
    fn grow(hir: &Hir, alphabet: &mut [bool; 256], group: &[u8]) {
        let mut trial = *alphabet;
        for &b in group {
            trial[usize::from(b)] = true;
        }
        if !matches_over(hir, &trial) {
            *alphabet = trial;
        } else if group.len() > 1 {
            let (a, b) = group.split_at(group.len() / 2);
            grow(hir, alphabet, a);
            grow(hir, alphabet, b);
        }
    }
    let mut alphabet = [false; 256];
    if matches_over(hir, &alphabet) {
        return None;
    }
    let first = Some(first).filter(|g| !g.is_empty());
    for group in first.into_iter().chain(CLEAN_GROUPS.iter().copied()) {
        grow(hir, &mut alphabet, group);
    }
    // An alphabet of rare bytes alone (`.` cannot match over a line feed) filters nothing.
    (ByteSet::from_table(alphabet).weight() >= 100)
        .then(|| ByteSet::from_table(alphabet.map(|clean| !clean)))
}

fn outside_clean_alphabet(hir: &Hir) -> Option<ByteSet> {
    outside_alphabet(hir, &[])
}

/// `set` and, when there is one, a second set grown from `set`'s own bytes first: as unlike
/// it as the pattern allows. CRS 932230 needs a byte after its command word (a space, `&`,
/// `|`…) but also the command's letters: `关于开展 工作` holds a space and no such letter.
fn with_second_set(hir: &Hir, mut set: ByteSet) -> ByteSet {
    let own: Vec<u8> = set.bytes().collect();
    if let Some(second) = outside_alphabet(hir, &own)
        && second.set != set.set
    {
        set.and = Some(Box::new(second));
    }
    set
}

/// Case-folds an expression to lowercase: literals lowercased, each class replaced by its
/// lowercase image (a class left with one byte becomes a literal).
fn fold(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Literal(l) => Hir::literal(l.0.to_ascii_lowercase()),
        HirKind::Class(c) => {
            let ranges: Vec<(u32, u32)> = match c {
                Class::Bytes(b) => b
                    .ranges()
                    .iter()
                    .map(|r| (u32::from(r.start()), u32::from(r.end())))
                    .collect(),
                Class::Unicode(u) => u
                    .ranges()
                    .iter()
                    .map(|r| (u32::from(r.start()), u32::from(r.end())))
                    .collect(),
            };
            if ranges.iter().any(|&(_, end)| end > 0xff) {
                return hir.clone();
            }
            let mut set = [false; 256];
            for (start, end) in ranges {
                for b in start..=end {
                    set[usize::from((b as u8).to_ascii_lowercase())] = true;
                }
            }
            let members: Vec<u8> = (0..=255u8).filter(|&b| set[usize::from(b)]).collect();
            if let [only] = members[..] {
                return Hir::literal(vec![only]);
            }
            Hir::class(Class::Bytes(ClassBytes::new(
                members.into_iter().map(|b| ClassBytesRange::new(b, b)),
            )))
        }
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(fold(&r.sub)),
        }),
        HirKind::Capture(c) => fold(&c.sub),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(fold).collect()),
        HirKind::Alternation(branches) => Hir::alternation(branches.iter().map(fold).collect()),
        HirKind::Empty | HirKind::Look(_) => hir.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
        literals_of(&folded(pattern)?)
    }

    fn required_bytes(pattern: &str) -> Option<ByteSet> {
        bytes_of(&folded(pattern)?)
    }

    fn lits(p: &str) -> Vec<String> {
        required_literals(p)
            .unwrap_or_default()
            .into_iter()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect()
    }

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

    #[test]
    fn case_insensitive_patterns_give_one_lowercase_literal() {
        assert_eq!(lits("(?i)<EMBED[\\s/+].*?(?:src|type).*?="), ["<embed"]);
        assert_eq!(lits("(?i)<script[^>]*>[\\s\\S]*?"), ["<script"]);
    }

    #[test]
    fn inner_literals_and_rare_single_bytes() {
        // No literal prefix, but every match holds "ADw-".
        assert_eq!(lits("\\+ADw-.*(?:\\+AD4-|>)"), ["+adw-"]);
        // Line breaks are rare in clean values: worth filtering on.
        let mut l = lits("[\\n\\r]");
        l.sort();
        assert_eq!(l, ["\n", "\r"]);
        // Common single bytes are not.
        assert!(required_literals("[a-z]").is_none());
        assert!(required_literals("^\\d+$").is_none());
        // Every branch must contribute, or nothing is required.
        assert!(required_literals("(?:abc|\\d)").is_none());
        assert_eq!(lits("x*(?:abc|abd)"), ["abc", "abd"]);
    }

    #[test]
    fn required_bytes_of_patterns_without_literals() {
        // CRS 932230's shape: a separator, then a command with quotes allowed anywhere.
        let p = "(?i)(?:[\\n\\r;`\\{]|\\|\\|?|&&?)[\\s\\x0b]*[\"'\\x5c]*l[\"'\\x5c]*s\\b";
        let set = required_bytes(p).unwrap();
        for clean in [
            "第12号通知",
            "12345",
            "ls",
            "zh-CN",
            "Mozilla/5.0 (X11) Gecko/20100101",
        ] {
            assert!(!set.found_in(clean.as_bytes()), "{clean}");
        }
        let re = crate::operators::compile_pcre(p).unwrap();
        for attack in ["a;ls", "x|l\\s", "`ls", "&&ls", "\nls"] {
            assert!(re.is_match(attack.as_bytes()), "{attack}");
            assert!(set.found_in(attack.as_bytes()), "{attack}");
        }
        // Letters, digits and "anything" filter nothing.
        assert!(required_bytes("^\\d+$").is_none());
        assert!(required_bytes("(?i)[a-z]+=").is_some_and(|s| s.found_in(b"a=")));
        assert!(required_bytes("^.*$").is_none());
        assert!(required_bytes("abc|\\d").is_none());
        // Two bytes frequent in Chinese text, but no letter: a set still (CRS 941310).
        let set = required_bytes("\\xbc[^>\\xbe]*[>\\xbe]|<[^\\xbe]*\\xbe").unwrap();
        assert_eq!(set.bytes().collect::<Vec<_>>(), [b'<', 0xbc]);
        assert!(required_bytes("a|b").is_none());
    }

    #[test]
    fn bytes_outside_the_alphabet_a_pattern_cannot_match_over() {
        let outside = |p: &str| outside_clean_alphabet(&parsed(p).unwrap());
        // CRS 930100's shape: `0` is in nearly every number, but `0x` in none.
        let set = outside("(?:%2f|0x2f|/|\\x5c)(?:\\.|%2e){2,3}(?:%2f|0x2f|/|\\x5c)").unwrap();
        for clean in [
            "12345",
            "第0号通知：关于做好冬季安全生产工作的通知",
            "2026-01-01",
        ] {
            assert!(!set.found_in(clean.as_bytes()), "{clean}");
        }
        // CRS 932230's shape: command names, quotes allowed between letters, no separator.
        let set = outside("(?i)(?:b[\"']*u[\"']*s[\"']*y|c[\"']*c[\\s,;])\\b").unwrap();
        assert!(!set.found_in("37".as_bytes()));
        assert!(!set.found_in("第12号通知".as_bytes()));
        assert!(set.found_in(b"BUSY"));
        // What matches over digits alone needs a digit; what matches anything needs nothing.
        let set = outside("^\\d+$").unwrap();
        assert_eq!(set.bytes().collect::<Vec<_>>(), b"0123456789");
        assert!(outside("^.*$").is_none());
        assert!(outside("a*").is_none());
        assert!(outside(".").is_none());
        // A second set: a byte after the command word, and one of the command's letters.
        let set = both_sets("(?i)(?:b[\"']*u[\"']*s[\"']*y|c[\"']*c)[\\s,;&|]");
        assert!(set.bytes().all(|b| b" \t\n\x0b\x0c\r,;&|".contains(&b)));
        assert!(!set.found_in("关于开展 工作".as_bytes()));
        assert!(!set.found_in(b"a d;e"));
        assert!(set.found_in(b"Busy;") && set.found_in(b"cc "));
        // Filters chooses the lighter of the two sets.
        let (_, bytes) = filters("\\xbc[^>\\xbe]*[>\\xbe]|<[^\\xbe]*\\xbe");
        assert_eq!(bytes.unwrap().bytes().collect::<Vec<_>>(), [b'<', 0xbc]);
    }

    fn both_sets(pattern: &str) -> ByteSet {
        let hir = parsed(pattern).unwrap();
        with_second_set(&hir, outside_clean_alphabet(&hir).unwrap())
    }

    /// Fewer than `max` pieces drawn from `pieces` (`x`: the generator's state), joined.
    fn random_string(x: &mut u32, max: usize, pieces: &[&[u8]]) -> Vec<u8> {
        let mut next = || {
            *x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (*x >> 16) as usize
        };
        let len = next() % max;
        (0..len)
            .flat_map(|_| pieces[next() % pieces.len()].iter().copied())
            .collect()
    }

    /// Strings made of the bytes outside a pattern's set never match it, and what matches holds
    /// a byte of both its sets.
    #[test]
    fn no_string_over_the_clean_alphabet_matches() {
        let patterns = [
            "(?:%2f|0x2f|/|\\x5c)(?:\\.|%2e){2,3}",
            "(?i)(?:b[\"']*u[\"']*s[\"']*y|c[\"']*c[\\s,;])\\b",
            "^\\d+$",
            "(?i)\\bon[a-z]+\\s*=",
            "[\\x00-\\x08]|\\xff\\xfe",
            "(?:\\$\\{|<\\?php|\\x5cx[0-9a-f]{2})",
        ];
        let mut x: u32 = 7;
        for p in patterns {
            let Some(set) = outside_clean_alphabet(&parsed(p).unwrap()) else {
                panic!("{p}: no set");
            };
            let clean: Vec<u8> = (0..=255u8).filter(|&b| !set.set[usize::from(b)]).collect();
            assert!(!clean.is_empty(), "{p}");
            let re = crate::operators::compile_pcre(p).unwrap();
            let clean: Vec<&[u8]> = clean.iter().map(std::slice::from_ref).collect();
            for _ in 0..2000 {
                let s = random_string(&mut x, 24, &clean);
                assert!(!re.is_match(&s), "{p} matched {s:?}");
            }
            // Whatever matches holds a byte of each of the two sets.
            let set = both_sets(p);
            let pool: &[&[u8]] = &[
                b"bus",
                b"y",
                b"c",
                b";",
                b"&",
                b"|",
                b"'",
                b"\"",
                b"0x2f",
                b"/",
                b".",
                b"%2e",
                b"\\",
                b"${",
                b"<?php",
                b"on",
                b"load",
                b"=",
                b" ",
                b"\x01",
                b"\xff\xfe",
                "关".as_bytes(),
                b"x4a",
                b"12",
            ];
            let mut matched = 0;
            for _ in 0..20_000 {
                let s = random_string(&mut x, 6, pool);
                if re.is_match(&s) {
                    matched += 1;
                    assert!(
                        set.found_in(&s),
                        "{p} matched {s:?}, which the filter passes over"
                    );
                }
            }
            assert!(matched > 0, "{p}: no random string matched");
        }
    }

    #[test]
    fn a_match_always_contains_a_literal() {
        let cases: &[(&str, &[&str])] = &[
            (
                "(?i)<EMBED[\\s/+].*?(?:src|type).*?=",
                &["<embed src=x>", "<EmBeD/type=1"],
            ),
            ("\\$+(?:[A-Z_a-z]\\w*)\\s*\\(", &["$foo (", "$$a("]),
            ("(?i)(?:\\b(?:on\\w+)\\s*=)", &["onload=", "ONERROR ="]),
        ];
        for (pattern, inputs) in cases {
            let re = crate::operators::compile_pcre(pattern).unwrap();
            let set = required_literals(pattern).unwrap();
            for input in *inputs {
                assert!(re.is_match(input.as_bytes()), "{pattern} on {input}");
                let low = input.to_ascii_lowercase();
                assert!(
                    set.iter()
                        .any(|l| low.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                    "{pattern}: {input} holds none of {set:?}"
                );
            }
        }
    }
}
