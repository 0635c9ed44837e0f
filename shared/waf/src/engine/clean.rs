//! The rule links each request-head value is known not to match, across transactions
//! (`KnownClean`), and which links can be known that way.
//!
//! A link whose operator depends on its input alone gives the same answer on the same bytes
//! in every transaction: its transformations and operator are fixed when the rule set is
//! built. When it matched none of its targets' values, each of those values is clean for it,
//! for good. Browsers send the same header names and values, cookie names and often the same
//! cookies with every request; a link all of whose values are known clean for it is passed
//! over without a look at a value (`Transaction::known_clean`) — on a clean request, most of
//! the rule set. A value never seen, or seen in another link's walk only, is evaluated as
//! always, and what its walk finds is kept for the next request.

use std::sync::atomic::Ordering;

use super::seq::SeqTable;
use crate::rule::Rule;
use crate::variables::{Selector, Variable};

/// For each request-head value (by fingerprint: SipHash under a key drawn when the rule set
/// is built, so no one can make a value pass for one seen clean), a bit per link
/// (`Rule::clean`) that did not match it. A [`SeqTable`]: bounded memory, no lock.
pub(crate) struct KnownClean {
    table: SeqTable,
}

/// Entries of `KnownClean`. A request head holds some thirty values (names and values of
/// headers and cookies, the request line's parts); with this many entries two rarely share
/// one.
const KNOWN_CLEAN: usize = 8192;

/// Links with a bit at most (CRS v4: 285, reading 51 distinct sets of values).
const MAX_CLEAN_LINKS: u32 = 1024;

/// `Rule::clean` of a link without a bit.
pub const NO_CLEAN: u32 = u32::MAX;

impl std::fmt::Debug for KnownClean {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("KnownClean")
            .field("words", &self.table.words())
            .finish_non_exhaustive()
    }
}

impl KnownClean {
    /// A table for `links` link bits.
    pub(super) fn new(links: u32) -> KnownClean {
        let words = (links as usize).div_ceil(64);
        KnownClean {
            table: SeqTable::new(if words == 0 { 1 } else { KNOWN_CLEAN }, words),
        }
    }

    /// Words of link bits per value.
    pub fn words(&self) -> usize {
        self.table.words()
    }

    /// A value's fingerprint; never 0 (an empty entry).
    pub fn fingerprint(&self, value: &[u8]) -> u64 {
        self.table.fingerprint(value)
    }

    /// Copies the link bits of the value into `out` (`words()` long); all zero when the
    /// table does not hold the value.
    pub fn read(&self, fingerprint: u64, out: &mut [u64]) {
        let read = self.table.read(fingerprint, |e| {
            for (o, w) in out.iter_mut().zip(e) {
                *o = w.load(Ordering::Relaxed);
            }
        });
        if read.is_none() {
            out.fill(0);
        }
    }

    /// Notes that the link with bit `bit` did not match the value (unless another thread is
    /// writing its entry).
    pub fn note(&self, fingerprint: u64, bit: u32) {
        let at = bit as usize / 64;
        if at < self.table.words() {
            self.table.write(fingerprint, |e| {
                e[at].fetch_or(1 << (bit % 64), Ordering::Relaxed);
            });
        }
    }
}

/// Whether a variable's values can be known clean: the request head's (their values are
/// kept), and the variables the body fills (their values are not kept, so a link reading
/// them is only passed over when the request has none: every GET). `ARGS` and `ARGS_NAMES`
/// are the query's, kept, then the body's.
fn kept_variable(v: Variable) -> bool {
    use Variable::*;
    v.from_request_head()
        || matches!(
            v,
            Args | ArgsNames
                | ArgsPost
                | ArgsPostNames
                | Files
                | FilesNames
                | FilesSizes
                | FilesTmpContent
                | MultipartFilename
                | MultipartName
                | MultipartPartHeaders
                | RequestBody
                | Xml
        )
}

/// The sets of values links read, as `assign_clean` numbers them: a variable, the key a
/// one-key target names (else every key), and the link's exclusions of that variable.
pub(super) type CleanSets = std::collections::HashMap<(Variable, Vec<u8>, String), u32>;

/// Gives a bit in `KnownClean` to each link whose answer on a value depends on the value's
/// bytes alone: an operator on its input alone (a regex, a phrase list, libinjection, a
/// constant argument), and targets that are values of `kept_variable`s (not counted); and
/// gives each of its targets the id of the set of values it reads (`Rule::clean_sets`).
pub(super) fn assign_clean(rule: &mut Rule, bits: &mut u32, sets: &mut CleanSets) {
    let mut link = Some(rule);
    while let Some(r) = link {
        let pure = r.operator.as_ref().is_some_and(|op| {
            op.op.memoize_misses()
                || match op.op.depends_on() {
                    Some(None) => true,
                    Some(Some(m)) => m.literal().is_some(),
                    None => false,
                }
        });
        if pure
            && !r.targets.is_empty()
            && r.targets
                .iter()
                .all(|t| !t.count && kept_variable(t.variable))
            && *bits < MAX_CLEAN_LINKS
        {
            r.clean = *bits;
            *bits += 1;
            r.clean_sets = r
                .targets
                .iter()
                .map(|t| {
                    let key = match &t.selector {
                        Selector::Key(k) => k.clone(),
                        _ => Vec::new(),
                    };
                    let excluded: String = r
                        .exclusions
                        .iter()
                        .filter(|x| x.variable == t.variable)
                        .map(|x| match &x.selector {
                            Selector::All => "*\n".to_string(),
                            Selector::Key(k) => format!("={}\n", String::from_utf8_lossy(k)),
                            Selector::Regex(re, _) => format!("/{}\n", re.as_str()),
                            Selector::XPath(p) => format!("@{p}\n"),
                        })
                        .collect();
                    let next = sets.len() as u32;
                    *sets.entry((t.variable, key, excluded)).or_insert(next)
                })
                .collect();
        }
        link = r.chain.as_deref_mut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_kept_per_value_and_lost_to_the_next_value_of_an_entry() {
        let known = KnownClean::new(130);
        assert_eq!(known.words(), 3);
        let a = known.fingerprint(b"Mozilla/5.0");
        assert_ne!(a, known.fingerprint(b"Mozilla/5.1"));
        let mut out = [7u64; 3];
        known.read(a, &mut out);
        assert_eq!(out, [0, 0, 0]);
        known.note(a, 0);
        known.note(a, 129);
        known.read(a, &mut out);
        assert_eq!(out, [1, 0, 2]);
        // A bit beyond the table's is never set.
        known.note(a, 192);
        known.read(a, &mut out);
        assert_eq!(out, [1, 0, 2]);
        // Another value for the same entry takes it, with none of the first one's bits.
        let b = a ^ (1 << 62);
        known.note(b, 5);
        known.read(b, &mut out);
        assert_eq!(out, [1 << 5, 0, 0]);
        known.read(a, &mut out);
        assert_eq!(out, [0, 0, 0]);
        assert_eq!(known.table.taken(), 1);
    }
}
