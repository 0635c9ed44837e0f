//! The per-transaction caches (transformed values and their prefilter hits, groups of values,
//! unions) and the pool that hands them, emptied, to the next transaction of the same rule
//! set.

use std::collections::HashMap;

use super::{Collections, Matches, Transaction};
use crate::prefilter::ByteSet;
use crate::transformations::Transformation;

/// The transformations a value's byte classes show will leave it unchanged, and its folded
/// bytes (`needs::FOLD`), from one pass over it (none, and every bit, for a value too long
/// to classify).
pub(super) fn classified(value: &[u8]) -> (u64, u64) {
    if value.len() > CLASSIFY_MAX {
        return (0, u64::MAX);
    }
    let (classes, folded) = crate::transformations::classify_folded(value);
    (!crate::transformations::may_change(classes), folded)
}

/// Values by dense id (`Rule::union_ids`, `Rule::group_ids`), current while their
/// generation is the cache's (never 0): clearing is a new generation, not a pass over every
/// slot, and a stale value keeps its buffers for the next build (`take`).
#[derive(Debug, Default)]
pub(crate) struct Slots<T> {
    generation: u32,
    slots: Vec<(u32, T)>,
}

impl<T: Default> Slots<T> {
    pub(super) fn sized(mut self, n: usize) -> Slots<T> {
        if self.slots.len() < n {
            self.slots.resize_with(n, Default::default);
        }
        if self.generation == 0 {
            self.generation = 1;
        }
        self
    }

    pub(crate) fn get(&self, id: u32) -> Option<&T> {
        match self.slots.get(id as usize) {
            Some((g, value)) if *g == self.generation => Some(value),
            _ => None,
        }
    }

    /// What slot `id` holds, current or stale (its buffers, for a new value), left empty.
    pub(super) fn take(&mut self, id: u32) -> T {
        self.slots
            .get_mut(id as usize)
            .map(|(g, value)| {
                *g = 0;
                std::mem::take(value)
            })
            .unwrap_or_default()
    }

    pub(crate) fn insert(&mut self, id: u32, value: T) {
        if let Some(slot) = self.slots.get_mut(id as usize) {
            *slot = (self.generation, value);
        }
    }

    pub(super) fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            for (g, _) in &mut self.slots {
                *g = 0;
            }
            self.generation = 1;
        }
    }

    /// Forgets the values `keep` does not keep (by id).
    pub(super) fn clear_except(&mut self, keep: impl Fn(u32) -> bool) {
        for (id, (g, _)) in self.slots.iter_mut().enumerate() {
            if !keep(id as u32) {
                *g = 0;
            }
        }
    }
}

/// See `Transaction::ucache`.
pub(crate) type Unions = Slots<Union>;

/// The prefilter hits of a variable's values (or one key's) after a transformation chain.
#[derive(Debug)]
pub(crate) struct Union {
    /// All of them together.
    pub(super) all: crate::engine::Hits,
    /// Per value, in collection order: its hits (index in `TCache::hits`), or [`NO_HITS`]
    /// for a value made on the fly. A link whose slot passed `all` visits only the values
    /// whose hits hold it. `None`: the chain changes no value (case aside), so these are the
    /// raw hits (`Groups::raw_at`).
    pub(super) at: Option<Vec<u32>>,
}

/// An empty slot's (never read: `Slots::get` answers only for current ones).
impl Default for Union {
    fn default() -> Union {
        Union {
            all: crate::engine::Hits::empty(0),
            at: None,
        }
    }
}

/// See `Transaction::gcache`.
pub(crate) type GroupCache = Slots<Groups>;

/// The values of a variable (or of one key) in collection order, grouped by the set of
/// transformations that may change them, with the union of each group's raw prefilter hits.
/// A chain none of whose transformations (case aside) may change a group's values has that
/// group's raw hits: a union over a variable is then a few bitset unions, not a visit of
/// every value per chain.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub(super) groups: Vec<Group>,
    /// Group of each value ([`OWNED`] for values made on the fly, which every chain visits).
    pub(super) of_value: Vec<u16>,
    /// Raw hits of each value (index in `TCache::hits`; [`NO_HITS`] with `OWNED`).
    pub(super) raw_at: Vec<u32>,
    /// Raw state of each value (see `TCache`; [`NO_STATE`] with `OWNED`).
    pub(super) state_at: Vec<u32>,
    /// The position of each raw state's first value, in order: a walk tests these first, and
    /// looks at every value only when one matched (see `Transaction::find_matches`).
    pub(super) firsts: Vec<u32>,
    /// Whether some values have the same bytes (one raw state): only then does a walk mark
    /// the raw states of values that matched in no way (`TCache::mark_value_missed`).
    pub(super) repeats: bool,
    /// Whether some value is `OWNED`.
    pub(super) has_owned: bool,
    /// The folded bytes (`needs::FOLD`) of all the values together (but `OWNED` ones): a
    /// link needing bytes none of them holds passes the whole target over.
    pub(super) folded: u64,
    /// Every transformation that may change some value (the groups' `may_change` together).
    pub(super) may_change: u64,
    /// The raw hits of every value together: the union of any chain that changes no value
    /// (none of `may_change` but for case, no `OWNED` value), without a union of its own.
    pub(super) raw: Option<crate::engine::Hits>,
}

impl Groups {
    /// The values' raw hits, when they are a chain's: it changes none of the values but
    /// for case (`changes`: its transformations that may change more, see `Rule::changes`).
    pub(super) fn raw_for(&self, changes: u64) -> Option<&crate::engine::Hits> {
        self.raw
            .as_ref()
            .filter(|_| !self.has_owned && self.may_change & changes == 0)
    }

    /// Adds the next value: its group ([`OWNED`] for one made on the fly), raw hits and raw
    /// state.
    pub(super) fn push_value(&mut self, group: u16, hits: u32, state: u32) {
        self.of_value.push(group);
        self.raw_at.push(hits);
        self.state_at.push(state);
        self.has_owned |= group == OWNED;
    }

    /// Emptied for a new build, keeping its buffers.
    pub(super) fn reset(&mut self) {
        self.groups.clear();
        self.of_value.clear();
        self.raw_at.clear();
        self.state_at.clear();
        self.firsts.clear();
        self.repeats = false;
        self.has_owned = false;
        self.folded = 0;
        self.may_change = 0;
        self.raw = None;
    }
}

#[derive(Debug)]
pub(crate) struct Group {
    /// Transformations (bits by `Transformation::index`) that may change the values.
    pub(super) may_change: u64,
    pub(super) raw: crate::engine::Hits,
}

/// `Groups::of_value` of a value that is not stored in the transaction.
pub(super) const OWNED: u16 = u16::MAX;

/// Values longer than this are not classified (see `transformations::classify`): every
/// transformation is assumed to change them, and runs once to find out.
pub(super) const CLASSIFY_MAX: usize = 16 * 1024;

/// A finished transaction's caches, emptied, kept for the next one (no allocation and no
/// table growth per request).
#[derive(Debug, Default)]
pub(crate) struct Spare {
    pub(super) collections: Collections,
    pub(super) found: Matches,
    pub(super) matched_vars: Vec<(Vec<u8>, Vec<u8>)>,
    pub(super) tcache: TCache,
    pub(super) ucache: Unions,
    pub(super) gcache: GroupCache,
    pub(super) clean: super::CleanCache,
    /// The list of a body's arguments (`Request::args_post`), emptied: a JSON body's
    /// hundreds are pushed without the list growing.
    pub(super) args: Vec<super::data::Kv>,
}

/// The chain id under which the cache keeps the prefilter hits of untransformed values.
pub(super) const RAW_CHAIN: u32 = u32::MAX;

/// The transformation cache of a transaction (see `Transaction::tcache`).
///
/// Its entries are the *states* a stable value passes through under transformations: the
/// value as stored (the raw state, indexed under [`RAW_CHAIN`]), and each distinct value a
/// transformation makes of a state (`steps`). A transformation that leaves a state as it is
/// leads back to the same entry, so chains that differ only by transformations that do
/// nothing to a value (most of CRS's, on most values) end in one entry: it is transformed,
/// and scanned by the prefilter, once. `index` maps (chain id, value address, length) to the
/// entry a whole chain ends in; values that differ only by ASCII case share prefilter hits
/// (`Cached::hits_like`).
///
/// Values with the same bytes share their raw state (`content`), hence every state after
/// it: a JSON body's hundreds of `items.title` names are one state, transformed and scanned
/// once, and a link's walk tests each state once (`begin_walk`, `missed`).
#[derive(Debug, Default)]
pub(crate) struct TCache {
    pub(super) index: HashMap<(u32, usize, usize), u32, FastHash>,
    pub(super) entries: Vec<Cached>,
    /// (state, transformation index) → the state it leads to (only where it changes it),
    /// for the steps beyond a state's first few (`Cached::next`).
    pub(super) steps: HashMap<(u32, u32), u32, FastHash>,
    pub(super) hits: Vec<crate::engine::Hits>,
    /// Hash of a raw value's bytes → (its raw state, where a copy of the bytes is in
    /// `arena`): values are interned by content, the copy telling a collision from a repeat
    /// (a collision only goes without sharing). Values longer than [`INTERN_MAX`] are not.
    content: HashMap<u64, (u32, u32, u32), FastHash>,
    arena: Vec<u8>,
    /// The last few body values found by content (state, where their bytes are in `arena`,
    /// length + 1: 0 is an empty place), compared before the content table is: a JSON body's
    /// names come round in a short cycle (`items.id`, `items.title`, …), and a few compares
    /// cost less than a hash and a probe.
    recent: [(u32, u32, u32); RECENT],
    recent_at: usize,
    /// Per state, the walk in which the link's operator did not match it: `2 * stamp`, or
    /// `2 * stamp + 1` when, as a raw state, no value with it matched in any way (a
    /// `multiMatch` link tests more than the raw state).
    marks: Vec<u32>,
    stamp: u32,
    /// Per state, the grouping (`sighting`) that last met it and the position of its first
    /// value there (see `Groups::repeats`).
    sightings: Vec<(u32, u32)>,
    sighting: u32,
    /// Per raw state, the hits a union found for it (see `Transaction::union_of`): read only
    /// where written in the same union, so never cleared.
    pub(super) union_hits: Vec<u32>,
}

/// A state's entry in a per-state stamp list (`TCache::marks`, `sightings`), which grows
/// with the states (`states`: how many there are) and reads as the default (stamp 0) for those
/// it has not reached.
fn per_state<T: Clone + Default>(list: &mut Vec<T>, state: u32, states: usize) -> &mut T {
    let at = state as usize;
    if list.len() <= at {
        // With room for as many states again: states are made one at a time between
        // marks, and a resize per state cost more than the marks.
        list.resize(states.max(at + 1).max(2 * list.len()), T::default());
    }
    &mut list[at]
}

/// Values up to this long are interned by content (see `TCache::content`).
const INTERN_MAX: usize = 4096;

/// How many body values `TCache::recent` keeps.
const RECENT: usize = 8;

/// A body's values up to this long are found by content alone (see `TCache::body_raw_state`).
const BY_CONTENT_MAX: usize = 64;

/// The raw state of a value with these bytes in `TCache` (its `entries`, `content` and
/// `arena`), made if missing.
fn intern(
    entries: &mut Vec<Cached>,
    content: &mut HashMap<u64, (u32, u32, u32), FastHash>,
    arena: &mut Vec<u8>,
    value: &[u8],
) -> (u32, Option<u32>) {
    use std::collections::hash_map::Entry;
    let at = entries.len() as u32;
    let mut copy = None;
    if value.len() <= INTERN_MAX {
        match content.entry(content_hash(value)) {
            Entry::Occupied(e) => {
                let (state, from, len) = *e.get();
                if arena[from as usize..][..len as usize] == *value {
                    return (state, Some(from));
                }
            }
            Entry::Vacant(e) => {
                let from = arena.len() as u32;
                arena.extend_from_slice(value);
                e.insert((at, from, value.len() as u32));
                copy = Some(from);
            }
        }
    }
    let (known, folded) = classified(value);
    entries.push(Cached {
        value: None,
        hits: NO_HITS,
        hits_like: at,
        known,
        folded,
        next: NO_STEPS,
        print: Default::default(),
    });
    (at, copy)
}

/// A hash of a value's bytes, eight at a time (`FastHasher`'s mixing).
fn content_hash(value: &[u8]) -> u64 {
    use std::hash::Hasher as _;
    let mut h = FastHasher(value.len() as u64);
    let mut chunks = value.chunks_exact(8);
    for c in &mut chunks {
        h.write_u64(u64::from_le_bytes(c.try_into().unwrap_or_default()));
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h.write_u64(u64::from_le_bytes(last));
    h.finish()
}

impl TCache {
    pub(super) fn with_capacity(n: usize) -> TCache {
        TCache {
            index: HashMap::with_capacity_and_hasher(n, FastHash),
            entries: Vec::with_capacity(n),
            steps: HashMap::with_capacity_and_hasher(n / 4, FastHash),
            hits: Vec::with_capacity(n / 4),
            content: HashMap::with_capacity_and_hasher(n, FastHash),
            arena: Vec::with_capacity(n * 16),
            recent: Default::default(),
            recent_at: 0,
            marks: Vec::with_capacity(n),
            stamp: 0,
            sightings: Vec::with_capacity(n),
            sighting: 0,
            union_hits: Vec::with_capacity(n),
        }
    }

    /// A state's fingerprint in `known` (`raw`: the value as stored), computed once.
    pub(super) fn print(&self, state: u32, raw: &[u8], known: &crate::engine::KnownHits) -> u64 {
        let entry = &self.entries[state as usize];
        match entry.print.get() {
            0 => {
                let print = known.fingerprint(self.value(state, raw));
                entry.print.set(print);
                print
            }
            print => print,
        }
    }

    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.entries.clear();
        self.steps.clear();
        self.hits.clear();
        self.content.clear();
        self.arena.clear();
        self.recent = Default::default();
        // States are numbered afresh: no mark may stand for a new state.
        self.marks.clear();
        self.sightings.clear();
    }

    /// The raw state of a stable value (made if missing; shared by values with the same
    /// bytes), found by its address first: the request head's values are asked for many times.
    pub(super) fn raw_state(&mut self, value: &[u8]) -> u32 {
        use std::collections::hash_map::Entry;
        let raw = (RAW_CHAIN, value.as_ptr() as usize, value.len());
        // One probe of each map for a value met the first time (`entry`, not a lookup and
        // then an insert).
        let TCache {
            index,
            entries,
            content,
            arena,
            ..
        } = self;
        match index.entry(raw) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(slot) => *slot.insert(intern(entries, content, arena, value).0),
        }
    }

    /// `raw_state` for a value of a body as its values are grouped, which is met there once:
    /// a short one is found by its bytes alone (which cost no more to hash than its address),
    /// as most of a JSON body's hundreds are (its names repeat).
    pub(super) fn body_raw_state(&mut self, value: &[u8], recent: bool) -> u32 {
        if value.len() > BY_CONTENT_MAX {
            return self.raw_state(value);
        }
        if !recent {
            return intern(&mut self.entries, &mut self.content, &mut self.arena, value).0;
        }
        for &(state, from, len) in &self.recent {
            if len as usize == value.len() + 1
                && self.arena[from as usize..][..value.len()] == *value
            {
                return state;
            }
        }
        let (state, copy) = intern(&mut self.entries, &mut self.content, &mut self.arena, value);
        if let Some(from) = copy {
            self.recent[self.recent_at] = (state, from, value.len() as u32 + 1);
            self.recent_at = (self.recent_at + 1) % RECENT;
        }
        state
    }

    /// Whether a state's prefilter hits are known (its own, or those of the state it shares
    /// them with).
    pub(super) fn has_hits(&self, state: u32) -> bool {
        let entry = &self.entries[state as usize];
        entry.hits != NO_HITS || self.entries[entry.hits_like as usize].hits != NO_HITS
    }

    /// A state's folded bytes (`needs::FOLD`).
    pub(super) fn folded(&self, state: u32) -> u64 {
        self.entries[state as usize].folded
    }

    /// Whether `value` — the value of `state`, or of none ([`NO_STATE`]) — holds a byte of
    /// `set`: told by the state's folded bytes where they rule it out, else by a scan.
    pub(super) fn holds_any(&self, set: &ByteSet, state: u32, value: &[u8]) -> bool {
        if state == NO_STATE {
            set.found_in(value)
        } else {
            set.found_in_folded(value, self.folded(state))
        }
    }

    /// A state's value: `raw` for the raw state.
    pub(super) fn value<'a>(&'a self, state: u32, raw: &'a [u8]) -> &'a [u8] {
        self.entries[state as usize].value.as_deref().unwrap_or(raw)
    }

    /// The state a stable value reaches under a chain of transformations.
    pub(super) fn chain_state(&mut self, chain: &[Transformation], value: &[u8]) -> u32 {
        let raw = self.raw_state(value);
        self.chain_from(raw, chain, value)
    }

    /// The state a chain of transformations leads a state of a stable value to (`value`: the
    /// value as stored).
    pub(super) fn chain_from(&mut self, state: u32, chain: &[Transformation], value: &[u8]) -> u32 {
        chain
            .iter()
            .fold(state, |state, t| self.step(state, t, value))
    }

    /// Starts a link's walk: no state is marked missed in it yet.
    pub(super) fn begin_walk(&mut self) {
        self.stamp += 1;
        if self.stamp >= u32::MAX / 2 {
            self.marks.fill(0);
            self.stamp = 1;
        }
    }

    /// Starts a grouping of values (see `seen_again`).
    pub(super) fn begin_sighting(&mut self) {
        self.sighting = self.sighting.wrapping_add(1);
        if self.sighting == 0 {
            self.sightings.fill((0, 0));
            self.sighting = 1;
        }
    }

    /// Where the grouping met this state first, if it met it before; otherwise notes that
    /// it meets it first at `at`.
    pub(super) fn sighted_at(&mut self, state: u32, at: u32) -> Option<u32> {
        let sighting = self.sighting;
        let slot = per_state(&mut self.sightings, state, self.entries.len());
        if slot.0 == sighting {
            return Some(slot.1);
        }
        *slot = (sighting, at);
        None
    }

    /// Whether the walk's operator was found not to match the state's value.
    pub(super) fn missed(&self, state: u32) -> bool {
        self.marks
            .get(state as usize)
            .is_some_and(|&m| m >> 1 == self.stamp)
    }

    /// Whether a value with this raw state was found not to match in the walk at all.
    pub(super) fn value_missed(&self, raw: u32) -> bool {
        self.marks.get(raw as usize) == Some(&(self.stamp * 2 + 1))
    }

    /// Notes that the walk's operator does not match the state's value: other values with the
    /// same state are passed over.
    pub(super) fn mark_missed(&mut self, state: u32) {
        self.mark(state, self.stamp * 2);
    }

    /// Notes that a value with this raw state matched in no way: other values with it are
    /// passed over whole.
    pub(super) fn mark_value_missed(&mut self, raw: u32) {
        self.mark(raw, self.stamp * 2 + 1);
    }

    fn mark(&mut self, state: u32, mark: u32) {
        let slot = per_state(&mut self.marks, state, self.entries.len());
        *slot = (*slot).max(mark);
    }

    /// The state a transformation leads a stable value's state to: each runs at most once
    /// per state, and not at all where the state's byte classes show it would change
    /// nothing. `value`: the value as stored.
    #[inline]
    pub(super) fn step(&mut self, state: u32, t: &Transformation, value: &[u8]) -> u32 {
        let entry = &self.entries[state as usize];
        if entry.known & 1u64 << t.index != 0 {
            return state;
        }
        let index = u32::from(t.index);
        if let Some(&(_, next)) = entry.next.iter().find(|(i, _)| *i == index) {
            return next;
        }
        self.step_further(state, t, value)
    }

    /// `step` beyond a state's known transformations and first few steps: the map, or the
    /// transformation itself.
    #[inline(never)]
    fn step_further(&mut self, state: u32, t: &Transformation, value: &[u8]) -> u32 {
        let entry = &self.entries[state as usize];
        if entry.next[2] != NO_STEP
            && let Some(&next) = self.steps.get(&(state, u32::from(t.index)))
        {
            return next;
        }
        let cur = self.value(state, value);
        let next = match (t.apply)(cur) {
            Some(next) if next != cur => {
                let at = self.entries.len() as u32;
                // Literals match case-insensitively: a change of case keeps the hits.
                let hits_like = if next.eq_ignore_ascii_case(cur) {
                    self.entries[state as usize].hits_like
                } else {
                    at
                };
                let (known, folded) = classified(&next);
                self.entries.push(Cached {
                    value: Some(next),
                    hits: NO_HITS,
                    hits_like,
                    known,
                    folded,
                    next: NO_STEPS,
                    print: Default::default(),
                });
                at
            }
            _ => state,
        };
        self.link(state, t, next);
        next
    }

    /// The state `t` leads `state` to, if known without running it.
    fn peek(&self, state: u32, t: &Transformation) -> Option<u32> {
        let entry = &self.entries[state as usize];
        if entry.known & 1u64 << t.index != 0 {
            return Some(state);
        }
        let index = u32::from(t.index);
        match entry.next.iter().find(|(i, _)| *i == index) {
            Some(&(_, next)) => Some(next),
            None if entry.next[2] != NO_STEP => self.steps.get(&(state, index)).copied(),
            None => None,
        }
    }

    /// Notes that `t` leads `state` to `next` (itself: it leaves it unchanged).
    fn link(&mut self, state: u32, t: &Transformation, next: u32) {
        let entry = &mut self.entries[state as usize];
        if next == state {
            entry.known |= 1u64 << t.index;
            return;
        }
        let index = u32::from(t.index);
        match entry.next.iter_mut().find(|s| **s == NO_STEP) {
            Some(free) => *free = (index, next),
            None => {
                self.steps.insert((state, index), next);
            }
        }
    }

    /// `utf8toUnicode` then `urlDecodeUni` (`pair`) from a state one at a time, for a walk that
    /// tests the state between them: (that state, the last). The last is the one the two as
    /// one (`fused`) lead to, made by whichever came first, so that links with either share it.
    pub(super) fn step_pair(
        &mut self,
        state: u32,
        pair: [&Transformation; 2],
        fused: &Transformation,
        value: &[u8],
    ) -> (u32, u32) {
        let between = self.step(state, pair[0], value);
        let last = match (self.peek(between, pair[1]), self.peek(state, fused)) {
            (Some(last), None) => {
                self.link(state, fused, last);
                last
            }
            (None, Some(last)) => {
                self.link(between, pair[1], last);
                last
            }
            (Some(last), Some(_)) => last,
            (None, None) => {
                let last = self.step(between, pair[1], value);
                self.link(state, fused, last);
                last
            }
        };
        (between, last)
    }
}

/// `Cached::hits` of an entry whose hits were not computed yet.
pub(super) const NO_HITS: u32 = u32::MAX;

/// `Groups::state_at` of a value that has no state (made on the fly).
pub(super) const NO_STATE: u32 = u32::MAX;

/// At most this many spare caches are kept per rule set (one per concurrent transaction is
/// enough); larger ones than this many entries are dropped rather than kept.
pub(super) const SPARE_CACHES: usize = 64;
pub(super) const SPARE_CACHE_MAX_ENTRIES: usize = 1 << 16;
/// Nor are caches whose copies of interned values (`TCache::arena`) grew past this.
const SPARE_ARENA_MAX: usize = 1 << 20;

/// A spare list of body arguments keeps room for at most this many.
const SPARE_ARGS_MAX: usize = 4096;

impl Drop for Transaction {
    fn drop(&mut self) {
        let mut cache = std::mem::take(self.tcache.get_mut());
        if cache.index.capacity() > SPARE_CACHE_MAX_ENTRIES
            || cache.arena.capacity() > SPARE_ARENA_MAX
        {
            return;
        }
        cache.clear();
        let mut ucache = std::mem::take(self.ucache.get_mut());
        ucache.clear();
        let mut gcache = std::mem::take(self.gcache.get_mut());
        gcache.clear();
        let mut clean = std::mem::take(self.clean.get_mut());
        clean.clear();
        let mut collections = std::mem::take(&mut self.collections);
        collections.reset();
        let found = std::mem::take(&mut self.found);
        let matched_vars = std::mem::take(&mut self.matched_vars);
        let mut args = std::mem::take(&mut self.request.args_post);
        args.clear();
        if args.capacity() > SPARE_ARGS_MAX {
            args = Vec::new();
        }
        if let Ok(mut spare) = self.rules.spare_caches.lock()
            && spare.len() < SPARE_CACHES
        {
            spare.push(Spare {
                collections,
                found,
                matched_vars,
                tcache: cache,
                ucache,
                gcache,
                clean,
                args,
            });
        }
    }
}

/// A state of a stable value under transformations (see [`TCache`]) and its prefilter hits.
#[derive(Debug)]
pub(crate) struct Cached {
    /// `None`: the raw state (the value as stored).
    pub(super) value: Option<Vec<u8>>,
    /// Index in `TCache::hits` of the prefilter slots whose literals occur in the
    /// (transformed) value, or [`NO_HITS`].
    pub(super) hits: u32,
    /// The entry whose hits stand for this one's: itself, or, when the value differs from the
    /// state it was made from by ASCII case alone, that state's (literals match
    /// case-insensitively).
    pub(super) hits_like: u32,
    /// Transformations (bits by `Transformation::index`) known to leave the value unchanged:
    /// at first those its byte classes rule out (`classified`), then also those
    /// that ran and changed nothing. Most chains start with transformations that do nothing
    /// to a clean value; each then runs once per value, not once per chain.
    pub(super) known: u64,
    /// The value's folded bytes (`needs::FOLD`): a link needing bytes they show it lacks
    /// passes it over without a scan.
    pub(super) folded: u64,
    /// The first few steps out of this state that change it: (transformation index, state),
    /// [`NO_STEP`] where free; the rest are in `TCache::steps`. Most states have one or two,
    /// found here without a hash lookup.
    pub(super) next: [(u32, u32); 3],
    /// The value's fingerprint (see `TCache::print`), 0 until asked for.
    pub(super) print: std::cell::Cell<u64>,
}

/// `Cached::next` of a free slot, and of a state with none.
pub(super) const NO_STEP: (u32, u32) = (u32::MAX, u32::MAX);
pub(super) const NO_STEPS: [(u32, u32); 3] = [NO_STEP; 3];

/// FxHash-style hashing for the cache's integer keys (SipHash costs more than the lookup).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

pub(crate) struct FastHasher(pub(super) u64);

impl std::hash::Hasher for FastHasher {
    /// Mixed down (murmur3's finaliser): the table indexes buckets by the low bits, which
    /// the multiply alone leaves depending on the keys' low bits only (aligned addresses).
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    /// Eight bytes at a time (strings: collection keys).
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(last) ^ (bytes.len() as u64) << 56);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_interned_by_content_and_collisions_kept_apart() {
        let mut c = TCache::default();
        let (a, a2, b) = (b"first".to_vec(), b"first".to_vec(), b"other".to_vec());
        let sa = c.raw_state(&a);
        // The same bytes elsewhere: the same state, found by address from then on.
        assert_eq!(c.raw_state(&a2), sa);
        assert_eq!(c.index.len(), 2);
        // A value whose hash collides with `first`'s gets a state of its own.
        let entry = c.content[&content_hash(&a)];
        c.content.insert(content_hash(&b), entry);
        let sb = c.raw_state(&b);
        assert_ne!(sb, sa);
        assert_eq!(c.raw_state(&b), sb);
        // Too long to intern: a state per value.
        let (l1, l2) = (vec![b'x'; INTERN_MAX + 1], vec![b'x'; INTERN_MAX + 1]);
        assert_ne!(c.raw_state(&l1), c.raw_state(&l2));
    }

    #[test]
    fn a_bodys_short_values_are_found_by_content_alone() {
        let mut c = TCache::default();
        let (a, a2) = (b"json.items.title".to_vec(), b"json.items.title".to_vec());
        let sa = c.body_raw_state(&a, false);
        assert_eq!(c.body_raw_state(&a2, true), sa);
        assert_eq!(c.raw_state(&a2), sa);
        // Neither address was noted by the body's lookups.
        assert_eq!(c.index.len(), 1);
        // A longer value is noted by address, and met again there without a hash of it.
        let (l1, l2) = (
            vec![b'x'; BY_CONTENT_MAX + 1],
            vec![b'x'; BY_CONTENT_MAX + 1],
        );
        let sl = c.body_raw_state(&l1, true);
        assert_eq!(c.index.len(), 2);
        assert_eq!(c.body_raw_state(&l2, false), sl);
        assert_eq!(c.raw_state(&l1), sl);
    }

    /// Names found among the last few (`TCache::recent`) are the states the content table
    /// gives: in a cycle shorter than the ring, longer than it, with the empty name and
    /// names of one length, and after the cache is cleared.
    #[test]
    fn recent_names_are_the_content_tables() {
        let mut c = TCache::default();
        for cycle in [3, RECENT, RECENT + 3] {
            let names: Vec<Vec<u8>> = (0..cycle)
                .map(|i| {
                    if i == 0 {
                        Vec::new()
                    } else {
                        format!("json.a{i:02}").into_bytes()
                    }
                })
                .collect();
            for _ in 0..2 {
                c.clear();
                let firsts: Vec<u32> = names.iter().map(|n| c.body_raw_state(n, false)).collect();
                for round in 0..3 {
                    for (n, &first) in names.iter().zip(&firsts) {
                        let copy = n.clone();
                        assert_eq!(c.body_raw_state(&copy, true), first, "{cycle} {round}");
                    }
                }
                assert_eq!(c.entries.len(), cycle);
            }
        }
    }

    #[test]
    fn marks_hold_for_one_walk() {
        let mut c = TCache::default();
        let v = b"v".to_vec();
        let s = c.raw_state(&v);
        c.begin_walk();
        assert!(!c.missed(s));
        c.mark_missed(s);
        assert!(c.missed(s) && !c.value_missed(s));
        // A value missed whole: its raw state missed too; a stage mark does not undo it.
        c.mark_value_missed(s);
        c.mark_missed(s);
        assert!(c.missed(s) && c.value_missed(s));
        c.begin_walk();
        assert!(!c.missed(s) && !c.value_missed(s));
        c.mark_missed(s);
        // Sightings: a state met again in one grouping (where first), not across groupings.
        c.begin_sighting();
        assert_eq!(c.sighted_at(s, 3), None);
        assert_eq!(c.sighted_at(s, 5), Some(3));
        c.begin_sighting();
        assert_eq!(c.sighted_at(s, 7), None);
        assert_eq!(c.sighted_at(s, 8), Some(7));
        // Cleared with the states (their numbers are reused).
        c.clear();
        let s = c.raw_state(&v);
        assert!(!c.missed(s));
    }
}
