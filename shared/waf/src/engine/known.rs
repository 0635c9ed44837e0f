//! What is remembered of request-head values across transactions: their prefilter hits and
//! the operators that did not match them (`KnownHits`), and the misses of costly operators
//! on head values without a state (`KnownMisses`). The rule links a raw value did not match
//! are in `clean` (`KnownClean`).

use std::sync::atomic::Ordering;

use super::prefilter::Hits;
use super::seq::SeqTable;

/// What is known of request-head values (headers, cookies, the request line, and the states
/// transformations make of them) across transactions: their prefilter hits, and the
/// operators that did not match them. Browsers send the same User-Agent, Accept and
/// Accept-Language with every request; the walk of the prefilter's automaton (megabytes,
/// visited at random) costs more in cache misses than any other step of a clean request, and
/// the rules without literals (path traversal, command injection, libinjection) would run
/// on every one of them. Values are known by their fingerprint (SipHash under a key drawn
/// when the rule set is built: no one can make a value pass for another), computed once per
/// state (`TCache::print`). A [`SeqTable`] (no lock) whose entries hold the hits and a bit
/// per operator (`RuleOperator::memo`) that did not match.
pub(crate) struct KnownHits {
    /// Words of hits per entry.
    words: usize,
    /// Per entry: 1 when the hits are there (an entry made by `note_miss` has only bits),
    /// `words` of hits, then the operator bits.
    table: SeqTable,
}

/// Operators with a bit in `KnownHits` at most (CRS v4: about 600).
pub(super) const MAX_MEMOS: u32 = 2048;

/// Entries of `KnownHits` (CRS: about 140 bytes each). A request head makes some fifty
/// states; with this many entries two of them rarely share one (they would take it from each
/// other on every request).
const KNOWN_HITS: usize = 8192;

/// Values longer than this are not kept in `KnownHits` (nor in `KnownClean`).
pub(crate) const KNOWN_HITS_MAX: usize = 1024;

impl std::fmt::Debug for KnownHits {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("KnownHits")
            .field("words", &self.words)
            .finish_non_exhaustive()
    }
}

impl KnownHits {
    pub(super) fn new(slots: usize, memos: u32) -> KnownHits {
        let words = slots.div_ceil(64);
        let misses = (memos as usize).div_ceil(64);
        KnownHits {
            words,
            table: SeqTable::new(KNOWN_HITS, 1 + words + misses),
        }
    }

    /// A value's fingerprint; never 0 (an empty entry).
    pub fn fingerprint(&self, value: &[u8]) -> u64 {
        self.table.fingerprint(value)
    }

    /// The hits kept for a fingerprint, when they are there and were not being written.
    pub(super) fn get(&self, fingerprint: u64, slots: usize) -> Option<Hits> {
        self.table
            .read(fingerprint, |e| {
                (e[0].load(Ordering::Relaxed) == 1).then(|| {
                    let mut hits = Hits::empty(slots);
                    for (w, kept) in hits.words_mut().iter_mut().zip(&e[1..]) {
                        *w = kept.load(Ordering::Relaxed);
                    }
                    hits
                })
            })
            .flatten()
    }

    /// Keeps the hits of a fingerprint (unless another thread is writing the entry).
    pub(super) fn put(&self, fingerprint: u64, hits: &Hits) {
        self.table.write(fingerprint, |e| {
            for (kept, w) in e[1..=self.words].iter().zip(hits.words()) {
                kept.store(*w, Ordering::Relaxed);
            }
            e[0].store(1, Ordering::Relaxed);
        });
    }

    /// The word and bit of operator bit `memo` in an entry, when the table has them.
    fn bit(&self, memo: u32) -> Option<(usize, u64)> {
        let at = 1 + self.words + memo as usize / 64;
        (at < self.table.words()).then(|| (at, 1 << (memo % 64)))
    }

    /// Whether the operator with bit `memo` is known not to match the value.
    pub fn missed(&self, fingerprint: u64, memo: u32) -> bool {
        let Some((at, bit)) = self.bit(memo) else {
            return false;
        };
        self.table
            .read(fingerprint, |e| e[at].load(Ordering::Relaxed) & bit != 0)
            .unwrap_or(false)
    }

    /// Notes that the operator with bit `memo` did not match the value (unless another
    /// thread is writing its entry).
    pub fn note_miss(&self, fingerprint: u64, memo: u32) {
        if let Some((at, bit)) = self.bit(memo) {
            self.table.write(fingerprint, |e| {
                e[at].fetch_or(bit, Ordering::Relaxed);
            });
        }
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
                    p.head_hits(input, p.known().fingerprint(input)).words(),
                    p.hits(input).words(),
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        // Kept: the second round found every input in the table (unless two share an
        // entry, which these do not).
        for input in inputs {
            let print = p.known().fingerprint(input);
            let kept = p.known().get(print, p.slots()).expect("kept");
            assert_eq!(kept.words(), p.hits(input).words());
        }
        // Another value for the same entry takes it; a fingerprint not there is a miss.
        let a = p.known().fingerprint(inputs[0]);
        let b = a ^ (1 << 62);
        assert!(p.known().get(b, p.slots()).is_none());
        p.known().put(b, &p.hits(b"<script>"));
        assert!(p.known().get(a, p.slots()).is_none());
        assert_eq!(
            p.known().get(b, p.slots()).map(|h| h.words().to_vec()),
            Some(p.hits(b"<script>").words().to_vec())
        );
    }

    #[test]
    fn known_hits_keep_the_operators_a_value_missed() {
        let engine = Engine::builtin();
        let known = &engine.rules().prefilter.as_ref().unwrap().known();
        assert!(
            known.table.words() > 1 + known.words,
            "the built-in pack has operators with bits"
        );
        let misses = known.table.words() - 1 - known.words;
        let last = (misses * 64 - 1) as u32;
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
        let known = &engine.rules().prefilter.as_ref().unwrap().known();
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
        let known = &rules.prefilter.as_ref().unwrap().known();
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
