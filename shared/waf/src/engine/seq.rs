//! A fixed, lock-free table of entries known by fingerprint, shared by every transaction of
//! a rule set (`KnownHits`, `KnownClean`).
//!
//! Direct-mapped: each entry is overwritten by the next value that maps to it. No lock: an
//! entry is a sequence number, the fingerprint, then its words. A read that met a write in
//! progress (odd number, or changed while read) is a miss, and a writer that finds the entry
//! being written gives up.

use std::sync::atomic::{AtomicU64, Ordering, fence};

/// Words of an entry before its own: the sequence number and the fingerprint.
const HEAD: usize = 2;

pub(super) struct SeqTable {
    /// The key of the fingerprints (SipHash), drawn when the table is made: no one can make
    /// a value pass for another.
    key: std::hash::RandomState,
    /// Words of an entry after its head.
    words: usize,
    entries: usize,
    table: Box<[AtomicU64]>,
}

impl SeqTable {
    pub fn new(entries: usize, words: usize) -> SeqTable {
        SeqTable {
            key: std::hash::RandomState::new(),
            words,
            entries,
            table: (0..entries * (HEAD + words))
                .map(|_| Default::default())
                .collect(),
        }
    }

    /// A value's fingerprint in this table; never 0 (an empty entry).
    pub fn fingerprint(&self, value: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.key.hash_one(value) | 1
    }

    /// Words of an entry (after its head).
    pub fn words(&self) -> usize {
        self.words
    }

    fn entry(&self, fingerprint: u64) -> &[AtomicU64] {
        let stride = HEAD + self.words;
        let at = (fingerprint >> 1) as usize % self.entries * stride;
        &self.table[at..at + stride]
    }

    /// Reads the words of `fingerprint`'s entry by `read`, when the entry is that value's and
    /// no write met the read. Fingerprints are never 0 (an empty entry).
    pub fn read<R>(&self, fingerprint: u64, read: impl FnOnce(&[AtomicU64]) -> R) -> Option<R> {
        let e = self.entry(fingerprint);
        let seq = e[0].load(Ordering::Acquire);
        if seq & 1 == 1 || e[1].load(Ordering::Relaxed) != fingerprint {
            return None;
        }
        let r = read(&e[HEAD..]);
        fence(Ordering::Acquire);
        (e[0].load(Ordering::Relaxed) == seq).then_some(r)
    }

    /// Writes the words of `fingerprint`'s entry by `write`, making the entry that value's
    /// (another value's words are zeroed first), its sequence number held odd meanwhile;
    /// gives up when another thread holds it.
    pub fn write(&self, fingerprint: u64, write: impl FnOnce(&[AtomicU64])) {
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
            for w in &e[HEAD..] {
                w.store(0, Ordering::Relaxed);
            }
        }
        write(&e[HEAD..]);
        e[0].store(seq + 2, Ordering::Release);
    }

    /// Whether any entry is taken (for tests).
    #[cfg(test)]
    pub fn taken(&self) -> usize {
        self.table
            .chunks(HEAD + self.words)
            .filter(|e| e[1].load(Ordering::Relaxed) != 0)
            .count()
    }
}
