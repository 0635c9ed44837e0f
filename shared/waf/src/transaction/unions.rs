//! Prefilter hits of a transaction's values: the transformation cache (a value under a
//! chain, with its hits), groups of a variable's values by the transformations that may
//! change them, and the unions by which a rule link is skipped without a look at a value.

use std::borrow::Cow;

use super::{Cached, Group, NO_HITS, OWNED, RAW_CHAIN, TCache, Transaction, Union, apply_all};
use crate::engine::{Hits, Prefilter};
use crate::rule::{NO_UNION, Rule};
use crate::variables::{Each, Selector, Target, Value, Variable, collect};

/// At most this many groups of values per variable (a bit each in `union_of`); values that
/// would make more are treated as made on the fly.
const MAX_GROUPS: usize = 64;

/// The index in `cache.hits` of an untransformed stable value's prefilter hits, computed
/// once per transaction.
fn raw_hits(cache: &mut TCache, p: &Prefilter, value: &[u8]) -> usize {
    let raw = (RAW_CHAIN, value.as_ptr() as usize, value.len());
    match cache.index.get(&raw) {
        Some(&r) => cache.entries[r as usize].hits as usize,
        None => {
            cache.hits.push(p.hits(value));
            let h = cache.hits.len() - 1;
            cache.entries.push(Cached {
                value: None,
                hits: h as u32,
            });
            cache.index.insert(raw, (cache.entries.len() - 1) as u32);
            h
        }
    }
}

impl Transaction {
    /// Runs `f` on a stable value transformed by the rule's chain, and on the prefilter's
    /// hits in it when `want_hits`; both are computed once per transaction and cached by
    /// address. A value the chain leaves unchanged but for ASCII case has the hits of the raw
    /// value (literals match case-insensitively), so one scan serves most chains.
    pub(super) fn with_cached<R>(
        &self,
        rule: &Rule,
        value: &[u8],
        want_hits: bool,
        f: impl FnOnce(&[u8], Option<&Hits>) -> R,
    ) -> R {
        let prefilter = self.rules.prefilter.as_ref().filter(|_| want_hits);
        let at = self.cached_entry(rule, value, prefilter);
        let cache = self.tcache.borrow();
        let entry = &cache.entries[at];
        let hits = prefilter.and_then(|_| cache.hits.get(entry.hits as usize));
        f(entry.value.as_deref().unwrap_or(value), hits)
    }

    /// The transformation cache's entry for a stable value under the rule's chain (made if
    /// missing), with its prefilter hits computed when `prefilter` is given.
    pub(super) fn cached_entry(
        &self,
        rule: &Rule,
        value: &[u8],
        prefilter: Option<&Prefilter>,
    ) -> usize {
        let key = (rule.tchain, value.as_ptr() as usize, value.len());
        let mut guard = self.tcache.borrow_mut();
        let cache = &mut *guard;
        let at = match cache.index.get(&key) {
            Some(&at) => at as usize,
            None => {
                let transformed = self.apply_chain(&rule.transformations, value);
                cache.entries.push(Cached {
                    value: transformed,
                    hits: NO_HITS,
                });
                let at = cache.entries.len() - 1;
                cache.index.insert(key, at as u32);
                at
            }
        };
        if let Some(p) = prefilter
            && cache.entries[at].hits == NO_HITS
        {
            let hits = match cache.entries[at].value.as_deref() {
                Some(t) if !t.eq_ignore_ascii_case(value) => {
                    cache.hits.push(p.hits(t));
                    cache.hits.len() - 1
                }
                _ => raw_hits(cache, p, value),
            };
            cache.entries[at].hits = hits as u32;
        }
        at
    }

    /// The index in `TCache::hits` of a stable value's prefilter hits after the rule's
    /// transformations (as [`Self::with_cached`] finds them).
    pub(super) fn hits_index(&self, rule: &Rule, value: &[u8], p: &Prefilter) -> u32 {
        let at = self.cached_entry(rule, value, Some(p));
        self.tcache.borrow().entries[at].hits
    }

    /// Whether a link with a prefilter slot can match at all: its slot must be among the
    /// hits of some value of some target (unions per chain and variable, cached). Links
    /// without a slot, counting targets or volatile variables always can; `multiMatch` links
    /// (which test every stage of the chain) can unless no value may change.
    pub(super) fn link_may_match(&self, rule: &Rule) -> bool {
        let Some(slot) = rule.slot else { return true };
        let Some(prefilter) = self.rules.prefilter.as_ref() else {
            return true;
        };
        if rule.union_ids.len() != rule.targets.len() {
            return true;
        }
        for (i, t) in rule.targets.iter().enumerate() {
            let id = rule.union_ids[i];
            if id == NO_UNION {
                return true;
            }
            // A `multiMatch` link tests every stage of the chain, which the union (hits of the
            // last) covers only when the chain changes no value (case aside): `at` is `None`.
            let may =
                |u: &Union| u.all.contains(slot) || rule.actions.multi_match && u.at.is_some();
            if let Some(u) = self.ucache.borrow().get(id) {
                if may(u) {
                    return true;
                }
                continue;
            }
            // A target naming one key (`REQUEST_HEADERS:User-Agent`) needs the union over that
            // key's values only; rules naming the same key share it (`Rule::union_keys`, 0 for
            // the others).
            let (one_key, group) = (rule.union_keys[i], rule.group_ids[i]);
            self.ensure_groups(t, one_key, group, prefilter);
            // A chain that changes no value (case aside) has the values' raw hits: most
            // chains on clean requests, without a union of their own. A `multiMatch` link
            // makes no union either when it would not cover every stage.
            let raw = self
                .gcache
                .borrow()
                .get(group)
                .and_then(|g| g.raw_for(rule.changes))
                .map(|raw| raw.contains(slot));
            match raw {
                Some(true) => return true,
                Some(false) => continue,
                None if rule.actions.multi_match => return true,
                None => {}
            }
            let union = self.union_of(rule, t, one_key, group, prefilter);
            let hit = may(&union);
            self.ucache.borrow_mut().insert(id, union);
            if hit {
                return true;
            }
        }
        false
    }

    /// The prefilter hits of a target's values (all of the variable, or one key's) after the
    /// rule's transformations: groups of values the chain cannot change (case aside) give
    /// their raw hits at once; only the values of the other groups are transformed.
    pub(super) fn union_of(
        &self,
        rule: &Rule,
        t: &Target,
        one_key: u32,
        group: u32,
        prefilter: &Prefilter,
    ) -> Union {
        let mut all = Hits::empty(prefilter.slots());
        let chain = rule.changes;
        self.ensure_groups(t, one_key, group, prefilter);
        let gcache = self.gcache.borrow();
        let Some(groups) = gcache.get(group) else {
            return Union {
                all,
                at: Some(Vec::new()),
            };
        };
        // Bit g: the chain may change group g's values, which are then transformed.
        let mut visit = 0u64;
        for (g, group) in groups.groups.iter().enumerate() {
            if group.may_change & chain != 0 {
                visit |= 1 << g;
            } else {
                all.union(&group.raw);
            }
        }
        if visit == 0 && !groups.has_owned {
            return Union { all, at: None };
        }
        let mut at = Vec::with_capacity(groups.of_value.len());
        self.each_value(t, one_key, &mut |v: Value| {
            let i = at.len();
            let group = groups.of_value.get(i).copied().unwrap_or(OWNED);
            match v.value {
                Cow::Borrowed(b) if group != OWNED => {
                    if visit & 1 << group != 0 {
                        let h = self.hits_index(rule, b, prefilter);
                        all.union(&self.tcache.borrow().hits[h as usize]);
                        at.push(h);
                    } else {
                        at.push(groups.raw_at[i]);
                    }
                }
                value => {
                    let t = apply_all(&rule.transformations, &value);
                    all.union(&prefilter.hits(t.as_deref().unwrap_or(&value)));
                    at.push(NO_HITS);
                }
            }
        });
        Union { all, at: Some(at) }
    }

    /// Groups a target's values by the transformations that may change them (see `Groups`).
    pub(super) fn ensure_groups(&self, t: &Target, one_key: u32, id: u32, prefilter: &Prefilter) {
        if self.gcache.borrow().get(id).is_some() {
            return;
        }
        let mut groups = self.gcache.borrow_mut().take(id);
        groups.reset();
        self.each_value(t, one_key, &mut |v: Value| {
            let Cow::Borrowed(b) = v.value else {
                groups.of_value.push(OWNED);
                groups.raw_at.push(NO_HITS);
                groups.has_owned = true;
                return;
            };
            let may_change = !self.known_unchanged(b);
            let at = match groups
                .groups
                .iter()
                .position(|g| g.may_change == may_change)
            {
                Some(at) => at,
                None if groups.groups.len() < MAX_GROUPS => {
                    groups.groups.push(Group {
                        may_change,
                        raw: Hits::empty(prefilter.slots()),
                    });
                    groups.groups.len() - 1
                }
                None => {
                    groups.of_value.push(OWNED);
                    groups.raw_at.push(NO_HITS);
                    groups.has_owned = true;
                    return;
                }
            };
            let raw = raw_hits(&mut self.tcache.borrow_mut(), prefilter, b);
            groups.groups[at].raw.union(&self.tcache.borrow().hits[raw]);
            groups.of_value.push(at as u16);
            groups.raw_at.push(raw as u32);
            groups.may_change |= may_change;
        });
        let mut raw = Hits::empty(prefilter.slots());
        for g in &groups.groups {
            raw.union(&g.raw);
        }
        groups.raw = Some(raw);
        self.gcache.borrow_mut().insert(id, groups);
    }

    /// Every value a target can yield, whatever its selector (but for one-key targets): for
    /// XML, element text and attributes. Always in the same order while the data stay.
    pub(super) fn each_value<'a>(&'a self, t: &Target, one_key: u32, f: &mut dyn FnMut(Value<'a>)) {
        let all = |selector| Target {
            variable: t.variable,
            selector,
            count: false,
        };
        if t.variable == Variable::Xml {
            for selector in [Selector::All, Selector::XPath("//@*".into())] {
                collect(self, &all(selector), &|_, _| false, &mut Each(&mut *f));
            }
        } else if one_key != 0 {
            // The target itself (one key, not counted: targets with a union never are).
            collect(self, t, &|_, _| false, &mut Each(&mut *f));
        } else {
            collect(self, &all(Selector::All), &|_, _| false, &mut Each(&mut *f));
        }
    }
}
