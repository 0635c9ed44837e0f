//! A variable collection (TX, IP, …) whose entries outlive the transaction that made them.
//!
//! CRS sets some sixty TX variables at the start of every request. A transaction's
//! collections go back to the rule set's pool when it ends (see `Spare`), emptied but with their
//! keys and value buffers: the next transaction setting the same variables allocates nothing.
//! An entry is there when `present`; every read below sees present entries only.

/// Entries kept (present or not) across transactions at most; a collection that grew past
/// this (keys made from request data, such as CRS's per-header TX entries) is emptied whole.
const KEPT: usize = 512;

/// Entries sorted by key: a lookup is a binary search (CRS's TX has a hundred keys, many
/// sharing long prefixes such as `header_name_920450_`, and is read and written dozens of
/// times per request), a prefix walk a search and a scan. New keys are rare after the first
/// requests (entries stay, see `reset`).
#[derive(Debug, Default)]
pub(crate) struct Collection {
    entries: Vec<(String, Slot)>,
}

#[derive(Debug, Default)]
struct Slot {
    present: bool,
    value: Vec<u8>,
}

impl Collection {
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&Vec<u8>> {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&String, &Vec<u8>)> {
        let (k, s) = &self.entries[self.find(key).ok()?];
        s.present.then_some((k, &s.value))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Vec<u8>> {
        let at = self.find(key).ok()?;
        let slot = &mut self.entries[at].1;
        slot.present.then_some(&mut slot.value)
    }

    /// Sets a value, reusing the entry's buffer when there is one.
    pub fn set(&mut self, key: &str, value: &[u8]) {
        match self.find(key) {
            Ok(at) => {
                let slot = &mut self.entries[at].1;
                slot.present = true;
                slot.value.clear();
                slot.value.extend_from_slice(value);
            }
            Err(at) => self.entries.insert(
                at,
                (
                    key.to_string(),
                    Slot {
                        present: true,
                        value: value.to_vec(),
                    },
                ),
            ),
        }
    }

    pub fn remove(&mut self, key: &str) {
        if let Ok(at) = self.find(key) {
            let slot = &mut self.entries[at].1;
            slot.present = false;
            slot.value.clear();
        }
    }

    /// Present entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.entries
            .iter()
            .filter(|(_, s)| s.present)
            .map(|(k, s)| (k, &s.value))
    }

    /// Present entries whose keys start with `prefix`, in key order.
    pub fn with_prefix<'a, 'p>(
        &'a self,
        prefix: &'p str,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<u8>)> + use<'a, 'p> {
        let from = self.find(prefix).unwrap_or_else(|at| at);
        self.entries[from..]
            .iter()
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(|(_, s)| s.present)
            .map(|(k, s)| (k, &s.value))
    }

    /// Empties the collection for the next transaction, keeping keys and buffers unless
    /// there are too many.
    pub fn reset(&mut self) {
        if self.entries.len() > KEPT {
            self.entries.clear();
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
        for i in 0..=KEPT {
            c.set(&format!("k{i}"), b"x");
        }
        c.reset();
        assert!(c.entries.is_empty());
    }
}
