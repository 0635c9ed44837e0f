//! A variable collection (TX, IP, …) whose entries outlive the transaction that made them.
//!
//! CRS sets some sixty TX variables at the start of every request. A transaction's
//! collections go back to the rule set's pool when it ends (see `Spare`), emptied but with their
//! keys and value buffers: the next transaction setting the same variables allocates nothing.
//! An entry is there when `present`; every read below sees present entries only.

use std::collections::HashMap;

/// Entries kept (present or not) across transactions at most; a collection that grew past
/// this (keys made from request data, such as CRS's per-header TX entries) is emptied whole.
const KEPT: usize = 512;

/// Entries in the order their keys first came, found through a hash index (CRS's TX has a
/// hundred keys, many sharing long prefixes such as `header_name_920450_`, and is read and
/// written dozens of times per request: a search comparing key after key, each in its own
/// allocation, cost more in cache misses than in instructions), and listed in key order by
/// `order` for walks. New keys are rare after the first requests (entries stay, see `reset`).
/// The index's hash is seeded per collection: keys come from requests (header names).
#[derive(Debug, Default)]
pub(crate) struct Collection {
    entries: Vec<(String, Slot)>,
    index: HashMap<String, u32, Seeded>,
    /// Indexes of `entries` by key.
    order: Vec<u32>,
    /// The entry after the one set last: where `set` looks first. A plan's replay (see
    /// `plan`) sets the same keys in the same order every request, the order in which they
    /// first came: most sets then find their entry without hashing the key.
    next: u32,
}

/// `FastHash` from a random start: a multiply-and-rotate hash costs a fraction of SipHash's
/// on keys of a few dozen bytes, and no one can tell in advance which keys would collide.
/// (A collection holds at most [`KEPT`] keys a request could choose, whose collisions would
/// cost comparisons, not a wrong answer.)
#[derive(Debug, Clone)]
struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Seeded {
        use std::hash::BuildHasher;
        Seeded(std::hash::RandomState::new().hash_one(0u8))
    }
}

impl std::hash::BuildHasher for Seeded {
    type Hasher = super::caches::FastHasher;
    fn build_hasher(&self) -> Self::Hasher {
        super::caches::FastHasher(self.0)
    }
}

#[derive(Debug, Default)]
struct Slot {
    present: bool,
    value: Vec<u8>,
}

impl Collection {
    fn find(&self, key: &str) -> Option<usize> {
        self.index.get(key).map(|&i| i as usize)
    }

    pub fn get(&self, key: &str) -> Option<&Vec<u8>> {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&String, &Vec<u8>)> {
        let (k, s) = &self.entries[self.find(key)?];
        s.present.then_some((k, &s.value))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Vec<u8>> {
        let at = self.find(key)?;
        let slot = &mut self.entries[at].1;
        slot.present.then_some(&mut slot.value)
    }

    /// Sets a value, reusing the entry's buffer when there is one.
    pub fn set(&mut self, key: &str, value: &[u8]) {
        let guess = self.next as usize;
        let at = match self.entries.get(guess) {
            Some((k, _)) if k == key => Some(guess),
            _ => self.find(key),
        };
        if let Some(at) = at {
            self.next = at as u32 + 1;
            let slot = &mut self.entries[at].1;
            slot.present = true;
            slot.value.clear();
            slot.value.extend_from_slice(value);
            return;
        }
        let at = self.entries.len() as u32;
        self.next = at + 1;
        let entries = &self.entries;
        let pos = self
            .order
            .partition_point(|&i| entries[i as usize].0.as_str() < key);
        self.order.insert(pos, at);
        self.index.insert(key.to_string(), at);
        self.entries.push((
            key.to_string(),
            Slot {
                present: true,
                value: value.to_vec(),
            },
        ));
    }

    pub fn remove(&mut self, key: &str) {
        if let Some(at) = self.find(key) {
            let slot = &mut self.entries[at].1;
            slot.present = false;
            slot.value.clear();
        }
    }

    /// Present entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.in_order(0)
    }

    /// Present entries whose keys start with `prefix`, in key order.
    pub fn with_prefix<'a, 'p>(
        &'a self,
        prefix: &'p str,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<u8>)> + use<'a, 'p> {
        let entries = &self.entries;
        let from = self
            .order
            .partition_point(|&i| entries[i as usize].0.as_str() < prefix);
        self.in_order(from)
            .take_while(move |(k, _)| k.starts_with(prefix))
    }

    /// Present entries in key order from the `from`th key on.
    fn in_order(&self, from: usize) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.order[from..]
            .iter()
            .map(|&i| &self.entries[i as usize])
            .filter(|(_, s)| s.present)
            .map(|(k, s)| (k, &s.value))
    }

    /// Empties the collection for the next transaction, keeping keys and buffers unless
    /// there are too many.
    pub fn reset(&mut self) {
        self.next = 0;
        if self.entries.len() > KEPT {
            self.entries.clear();
            self.index.clear();
            self.order.clear();
            return;
        }
        for (_, slot) in &mut self.entries {
            slot.present = false;
            slot.value.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_entries_are_gone_but_reused() {
        let mut c = Collection::default();
        c.set("a", b"1");
        c.set("b_x", b"2");
        c.set("b_y", b"3");
        c.remove("b_y");
        assert_eq!(c.get("a").map(Vec::as_slice), Some(&b"1"[..]));
        assert_eq!(c.get("b_y"), None);
        assert_eq!(
            c.with_prefix("b_")
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["b_x"]
        );
        c.reset();
        assert_eq!(c.iter().count(), 0);
        assert_eq!(c.get("a"), None);
        assert_eq!(c.get_key_value("a"), None);
        assert!(c.get_mut("a").is_none());
        c.set("a", b"4");
        assert_eq!(
            c.iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect::<Vec<_>>(),
            [("a", &b"4"[..])]
        );
        // Keys come in any order; walks list them in key order.
        for k in ["c", "b_y", "b_x", "ba"] {
            c.set(k, k.as_bytes());
        }
        let keys: Vec<_> = c.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b_x", "b_y", "ba", "c"]);
        let keys: Vec<_> = c.with_prefix("b_").map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b_x", "b_y"]);
        assert_eq!(c.with_prefix("z").count(), 0);
        // Sets in another order than the keys first came (the guess at the next entry
        // misses) land where they belong.
        c.reset();
        for k in ["c", "a", "ba", "b_x"] {
            c.set(k, format!("{k}!").as_bytes());
        }
        c.set("a", b"again");
        let kept: Vec<_> = c
            .iter()
            .map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        assert_eq!(
            kept,
            [("a", "again"), ("b_x", "b_x!"), ("ba", "ba!"), ("c", "c!")]
                .map(|(k, v)| (k, v.to_string()))
        );
        assert_eq!(c.entries.len(), 5);
        for i in 0..=KEPT {
            c.set(&format!("k{i}"), b"x");
        }
        c.reset();
        assert!(c.entries.is_empty() && c.index.is_empty() && c.order.is_empty());
    }
}
