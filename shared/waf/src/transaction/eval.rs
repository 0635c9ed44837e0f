//! Rule evaluation: phases, chains, links, effects and disruptive actions.

use std::borrow::Cow;
use std::io::Write as _;

use super::{
    Cached, InterruptAction, Interruption, MatchedRule, Matches, RuleSel, TCache, Transaction,
};
use super::{Group, OWNED, Union};
use super::{NO_HITS, RAW_CHAIN, apply_all, collection_key, plan};
use crate::actions::{AllowScope, Ctl, Disruptive, Effect, SetVar, SetVarOp};
use crate::engine::EngineMode;
use crate::engine::{Hits, Prefilter};
use crate::rule::{Entry, NO_UNION, Rule, RuleOperator};
use crate::variables::{
    Each, Exclusion, Selector, Target, Value, Variable, atoi, collect, count, decimal,
};

/// At most this many groups of values per variable (a bit each in `union_of`); values that
/// would make more are treated as made on the fly.
const MAX_GROUPS: usize = 64;

/// The union (see `Transaction::ucache`) that lists a target's values in the order the
/// target yields them, for the targets where there is one: stable, all values or one key's,
/// not XML, not counted, in a link that is not `multiMatch`.
fn walks_union(rule: &Rule, i: usize, t: &Target) -> Option<u32> {
    if rule.actions.multi_match
        || t.variable == Variable::Xml
        || !matches!(t.selector, Selector::All | Selector::Key(_))
    {
        return None;
    }
    rule.union_ids.get(i).copied().filter(|&id| id != NO_UNION)
}

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
    pub(super) fn run_phase(&mut self, phase: u8) -> Option<Interruption> {
        let p = usize::from(phase - 1);
        if self.phases_done[p] {
            return self.interruption.clone();
        }
        self.phases_done[p] = true;
        if self.mode == EngineMode::Off {
            return None;
        }
        if phase < 5 {
            if self.interruption.is_some() {
                return self.interruption.clone();
            }
            match self.allow {
                Some(AllowScope::All) => return None,
                Some(AllowScope::Request) if phase <= 2 => return None,
                _ => {}
            }
        }
        let rules = self.rules.clone();
        let entries = &rules.phases[p];
        // Rules on constants are replayed from the plan (see `plan`).
        let at = match (phase, self.plan_done) {
            (1, _) => {
                self.plan = self.find_plan();
                Some(0)
            }
            (2..=5, done) if done == phase - 1 => Some(p),
            (5, 2) => Some(5),
            _ => None,
        };
        self.plan_done = 0;
        let plan = at.and(self.plan.clone());
        let steps = plan
            .as_deref()
            .zip(at)
            .map_or(&[][..], |(plan, at)| &plan.steps[at]);
        let mut i = 0;
        let mut allowed = false;
        while i < entries.len() {
            if !self.off_plan
                && let Some(Some(folded)) = steps.get(i)
            {
                self.replay(folded);
                i = folded.next as usize;
                continue;
            }
            let Entry::Rule(rule) = &entries[i] else {
                i += 1;
                continue;
            };
            if self.is_removed(rule) {
                i += 1;
                continue;
            }
            self.current_rule = Some((rule.id, phase));
            self.matched_len = 0;
            if !self.eval_chain(rule) {
                i += 1;
                continue;
            }
            allowed = self.on_match(rule, phase);
            if self.interruption.is_some() && phase < 5 {
                return self.interruption.clone();
            }
            if allowed {
                break;
            }
            i = plan::next_after_match(entries, i, rule);
        }
        if plan.is_some() && !allowed && !self.off_plan {
            self.plan_done = phase;
        }
        self.current_rule = None;
        self.interruption.clone()
    }

    fn is_removed(&self, rule: &Rule) -> bool {
        self.removed_ids.iter().any(|r| r.contains(rule.id))
            || self.removed_tags.iter().any(|mask| {
                rule.tag_ids
                    .iter()
                    .any(|&t| mask.get(usize::from(t)).copied().unwrap_or(false))
            })
    }

    pub(super) fn eval_chain(&mut self, starter: &Rule) -> bool {
        starter.links().all(|rule| self.eval_link(starter, rule))
    }

    /// Evaluates one link; on a match, records it and runs the link's non-disruptive actions
    /// once per matching value.
    fn eval_link(&mut self, starter: &Rule, rule: &Rule) -> bool {
        let mut found = std::mem::take(&mut self.found);
        found.len = 0;
        self.find_matches(starter, rule, &mut found);
        if found.len == 0 {
            self.found = found;
            return false;
        }
        for f in &mut found.items[..found.len] {
            if let Some(caps) = f.captures.take() {
                const KEYS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
                let tx = self.collections.tx();
                for (i, key) in KEYS.iter().enumerate() {
                    let bit = 1 << i;
                    match caps.get(i) {
                        Some(c) => {
                            tx.set(key, c);
                            self.digit_keys |= bit;
                        }
                        // Only keys that may be there are looked for (see `digit_keys`).
                        None if self.digit_keys & bit != 0 => {
                            tx.remove(key);
                            self.digit_keys &= !bit;
                        }
                        None => {}
                    }
                }
            }
            // MATCHED_VAR outlives the rule (MATCHED_VARS does not): its buffers are reused.
            let (name, value) = self.matched_var.get_or_insert_default();
            name.clear();
            name.extend_from_slice(&f.name);
            value.clear();
            value.extend_from_slice(&f.value);
            if self.matched_len == self.matched_vars.len() {
                self.matched_vars.push(Default::default());
            }
            let (name, value) = &mut self.matched_vars[self.matched_len];
            self.matched_len += 1;
            name.clear();
            name.extend_from_slice(&f.name);
            value.clear();
            value.extend_from_slice(&f.value);
            self.run_effects(rule);
        }
        self.found = found;
        true
    }

    /// Puts the link's matches in `found` (empty on entry).
    fn find_matches(&self, starter: &Rule, rule: &Rule, found: &mut Matches) {
        let Some(op) = &rule.operator else {
            // `SecAction`: one match, of nothing.
            found.next();
            return;
        };
        if !self.link_may_match(rule) {
            return;
        }
        // Runtime exclusions (`ctl:ruleRemoveTarget…`) that concern this rule, decided once
        // (a bit each; beyond 64 of them, the rest are asked every time).
        let applies = self
            .removed_targets
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, (sel, _))| sel.applies(starter))
            .fold(0u64, |m, (i, _)| m | 1 << i);
        let excluded = |v: Variable, k: &[u8]| {
            rule.exclusions.iter().any(|x| x.excludes(v, k))
                || self
                    .removed_targets
                    .iter()
                    .enumerate()
                    .filter(|(i, (sel, _))| {
                        if *i < 64 {
                            applies & 1 << i != 0
                        } else {
                            sel.applies(starter)
                        }
                    })
                    .any(|(_, (_, xs))| xs.iter().any(|x: &Exclusion| x.excludes(v, k)))
        };
        let capture = rule.actions.capture;
        let mut handle = |v: Value| {
            let test = |input: &[u8], found: &mut Matches| {
                let mut caps = capture.then(Vec::new);
                if self.test(op, input, caps.as_mut()) {
                    found.push(&v, input, caps.filter(|c| !c.is_empty()));
                    true
                } else {
                    false
                }
            };
            // No transformation: the value as it is (the operator's own literal check stands
            // in for the prefilter's where the walk did not already apply it).
            if rule.transformations.is_empty() {
                test(&v.value, found);
                return;
            }
            if !rule.actions.multi_match
                && v.variable.is_stable()
                && matches!(v.value, Cow::Borrowed(_))
            {
                self.with_cached(rule, &v.value, rule.slot.is_some(), |input, hits| {
                    if let (Some(slot), Some(hits)) = (rule.slot, hits)
                        && !hits.contains(slot)
                    {
                        return;
                    }
                    test(input, found);
                });
                return;
            }
            let mut cur: Cow<[u8]> = Cow::Borrowed(&v.value);
            if rule.actions.multi_match {
                test(&cur, found);
                // While the value is still the stored one, transformations its byte classes
                // rule out are passed over (`known_unchanged`).
                let stable = v.variable.is_stable() && matches!(v.value, Cow::Borrowed(_));
                let known = if stable {
                    self.known_unchanged(&v.value)
                } else {
                    0
                };
                for t in &rule.transformations {
                    if matches!(cur, Cow::Borrowed(_)) && known & 1 << t.index != 0 {
                        continue;
                    }
                    if let Some(next) = (t.apply)(&cur)
                        && next != *cur
                    {
                        cur = Cow::Owned(next);
                        test(&cur, found);
                    }
                }
            } else {
                for t in &rule.transformations {
                    if let Some(next) = (t.apply)(&cur) {
                        cur = Cow::Owned(next);
                    }
                }
                test(&cur, found);
            }
        };
        for (i, t) in rule.targets.iter().enumerate() {
            // With the target's union at hand, values whose hits lack the link's slot are
            // passed over without a look at their transformation (the union lists each
            // value's hits in collection order; exclusions are applied here so that the
            // order is the union's).
            let unions = self.ucache.borrow();
            let gcache = self.gcache.borrow();
            let walk = rule
                .slot
                .zip(walks_union(rule, i, t))
                .and_then(|(slot, id)| {
                    let groups = gcache.get(rule.group_ids.get(i).copied().unwrap_or(NO_UNION));
                    let at = match unions.get(id) {
                        Some(Union { at: Some(at), .. }) => at.as_slice(),
                        Some(Union { at: None, .. }) => groups.map_or(&[][..], |g| &g.raw_at),
                        // No union: the chain changes no value, whose raw hits stand for its
                        // (see `link_may_match`).
                        None => groups
                            .filter(|g| g.raw_for(rule.changes).is_some())
                            .map(|g| g.raw_at.as_slice())?,
                    };
                    Some((slot, at))
                });
            let Some((slot, at)) = walk else {
                drop(unions);
                drop(gcache);
                if t.count {
                    // `&TX:name`: the count, under the name the rule gives (borrowed from it).
                    handle(Value {
                        variable: t.variable,
                        key: match &t.selector {
                            Selector::Key(k) => Cow::Borrowed(k.as_slice()),
                            _ => Cow::Borrowed(b""),
                        },
                        value: decimal(count(self, t, &excluded)),
                    });
                    continue;
                }
                collect(self, t, &excluded, &mut Each(&mut handle));
                continue;
            };
            let mut at = at.iter();
            collect(
                self,
                t,
                &|_, _| false,
                &mut Each(|v: Value| {
                    let hits = at.next().copied().unwrap_or(NO_HITS);
                    if excluded(v.variable, &v.key)
                        || hits != NO_HITS
                            && !self.tcache.borrow().hits[hits as usize].contains(slot)
                    {
                        return;
                    }
                    handle(v);
                }),
            );
        }
    }

    /// Runs `f` on a stable value transformed by the rule's chain, and on the prefilter's
    /// hits in it when `want_hits`; both are computed once per transaction and cached by
    /// address. A value the chain leaves unchanged but for ASCII case has the hits of the raw
    /// value (literals match case-insensitively), so one scan serves most chains.
    fn with_cached<R>(
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
    fn cached_entry(&self, rule: &Rule, value: &[u8], prefilter: Option<&Prefilter>) -> usize {
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
    fn hits_index(&self, rule: &Rule, value: &[u8], p: &Prefilter) -> u32 {
        let at = self.cached_entry(rule, value, Some(p));
        self.tcache.borrow().entries[at].hits
    }

    /// Whether a link with a prefilter slot can match at all: its slot must be among the
    /// hits of some value of some target (unions per chain and variable, cached). Links
    /// without a slot, counting targets or volatile variables always can; `multiMatch` links
    /// (which test every stage of the chain) can unless no value may change.
    fn link_may_match(&self, rule: &Rule) -> bool {
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
    fn union_of(
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
    fn ensure_groups(&self, t: &Target, one_key: u32, id: u32, prefilter: &Prefilter) {
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
    fn each_value<'a>(&'a self, t: &Target, one_key: u32, f: &mut dyn FnMut(Value<'a>)) {
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

    fn test(&self, op: &RuleOperator, input: &[u8], caps: Option<&mut Vec<Vec<u8>>>) -> bool {
        if let Some(pre) = &op.prefilter
            && !pre.is_match(input)
        {
            return op.negated;
        }
        if let Some(bytes) = &op.bytes
            && !bytes.found_in(input)
        {
            return op.negated;
        }
        // Inputs this costly operator already found clean in this transaction.
        if op.op.quick_miss(input) {
            return op.negated;
        }
        let memo = op.op.memoize_misses() && input.len() <= 4096;
        let key = memo.then(|| {
            use std::hash::BuildHasher;
            (
                std::ptr::from_ref(op) as usize,
                self.miss_key.hash_one(input),
            )
        });
        if let Some(key) = key
            && self.misses.borrow().contains_key(&key)
        {
            return op.negated;
        }
        let hit = op
            .op
            .evaluate(self, input, if op.negated { None } else { caps });
        if let Some(key) = key
            && !hit
        {
            self.misses.borrow_mut().insert(key, ());
        }
        hit != op.negated
    }

    fn run_effects(&mut self, rule: &Rule) {
        for effect in &rule.actions.effects {
            match effect {
                Effect::SetVar(sv) => {
                    let mut scratch = std::mem::take(&mut self.scratch);
                    self.set_var(sv, &mut scratch);
                    self.scratch = scratch;
                }
                Effect::Ctl(ctl) => self.apply_ctl(ctl),
                Effect::SetEnv(k, v) => {
                    let key = k.expand_string(self);
                    let value = v.expand(self).into_owned();
                    self.env.insert(key, value);
                }
            }
        }
    }

    /// Runs a `setvar`; `scratch` holds expanded keys and values (buffers reused from
    /// effect to effect).
    fn set_var(&mut self, sv: &SetVar, scratch: &mut (Vec<u8>, Vec<u8>)) {
        let Some(coll) = collection_key(&sv.collection) else {
            return;
        };
        let is_tx = coll == "tx";
        // Keys are lowercased when parsed; most are literal. Others are expanded into a
        // buffer kept from effect to effect (CRS's 920450 makes one per request header).
        let key: Cow<str> = match sv.key.literal() {
            Some(k) => String::from_utf8_lossy(k),
            None => {
                scratch.0.clear();
                sv.key.expand_into(self, &mut scratch.0);
                scratch.0.make_ascii_lowercase();
                String::from_utf8_lossy(&scratch.0)
            }
        };
        if is_tx {
            self.note_tx_key(&key);
        }
        match &sv.op {
            SetVarOp::Delete => {
                if let Some(m) = self.collections.get_mut(coll) {
                    m.remove(key.as_ref());
                }
            }
            // Written into the entry's buffer.
            SetVarOp::Set(m) => {
                let value = match m.literal() {
                    Some(literal) => literal,
                    None => {
                        scratch.1.clear();
                        m.expand_into(self, &mut scratch.1);
                        &scratch.1
                    }
                };
                if let Some(c) = self.collections.get_mut(coll) {
                    c.set(&key, value);
                }
            }
            SetVarOp::Add(m) | SetVarOp::Sub(m) => {
                // Plans assume TX is never added to (see `plan`).
                self.off_plan |= is_tx;
                let delta = atoi(&m.expand(self));
                let Some(c) = self.collections.get_mut(coll) else {
                    return;
                };
                let cur = c.get(key.as_ref()).map_or(0, |v| atoi(v));
                let n = if matches!(sv.op, SetVarOp::Add(_)) {
                    cur.saturating_add(delta)
                } else {
                    cur.saturating_sub(delta)
                };
                // Scores are added to all the time: written in place, no new buffer.
                match c.get_mut(key.as_ref()) {
                    Some(slot) => {
                        slot.clear();
                        let _ = write!(slot, "{n}");
                    }
                    None => c.set(&key, n.to_string().as_bytes()),
                }
            }
        }
    }

    fn apply_ctl(&mut self, ctl: &Ctl) {
        match ctl {
            Ctl::RuleEngine(m) => self.mode = *m,
            Ctl::RuleRemoveById(ids) => {
                self.off_plan = true;
                self.removed_ids.extend(ids.iter().copied());
            }
            Ctl::RuleRemoveByTag(re) => {
                self.off_plan = true;
                let mask = self.rules.tag_mask(re);
                self.removed_tags.push(mask);
            }
            Ctl::RuleRemoveTargetById(ids, xs) => {
                self.off_plan |= plan::names_tx(xs);
                self.removed_targets
                    .push((RuleSel::Ids(ids.clone()), xs.clone()));
            }
            Ctl::RuleRemoveTargetByTag(re, xs) => {
                self.off_plan |= plan::names_tx(xs);
                let mask = self.rules.tag_mask(re);
                self.removed_targets.push((RuleSel::Tags(mask), xs.clone()));
            }
            Ctl::RequestBodyProcessor(p) => {
                self.body_processor_override = Some(*p);
                if !self.phases_done[1] {
                    self.request.body_processor = Some(*p);
                }
            }
            Ctl::ForceRequestBodyVariable(b) => self.force_body_variable = *b,
            Ctl::RequestBodyAccess(b) => self.request_body_access = *b,
            Ctl::ResponseBodyAccess(b) => self.response_body_access = *b,
            Ctl::RequestBodyLimit(n) => self.request_body_limit = *n,
            Ctl::ResponseBodyLimit(n) => self.response_body_limit = *n,
            Ctl::Audit => {}
        }
    }

    /// A whole chain matched: log it and apply the disruptive action. Returns whether the
    /// rest of the phase is skipped (`allow`).
    fn on_match(&mut self, rule: &Rule, phase: u8) -> bool {
        if let Some(s) = rule.actions.severity {
            self.highest_severity = self.highest_severity.min(s);
        }
        // `block` and the default status are those of the SecDefaultAction in force where the
        // rule was written (a later rule file's defaults do not change CRS's `block`).
        let disruptive = match &rule.disruptive {
            Disruptive::Block => rule.block_as.clone(),
            d => d.clone(),
        };
        let status = rule.actions.status.or(rule.default_status).unwrap_or(403);
        let enforce = self.mode == EngineMode::On;
        let mut interrupted = false;
        let mut stop = false;
        if enforce && phase < 5 {
            let action = match &disruptive {
                Disruptive::Deny => Some(InterruptAction::Deny),
                Disruptive::Drop => Some(InterruptAction::Drop),
                Disruptive::Redirect(url) => Some(InterruptAction::Redirect(
                    crate::macros::Macro::parse(url)
                        .map(|m| m.expand_string(self))
                        .unwrap_or_else(|_| url.clone()),
                )),
                Disruptive::Allow(scope) => {
                    self.allow = Some(*scope);
                    stop = true;
                    None
                }
                Disruptive::Pass | Disruptive::Block => None,
            };
            if let Some(action) = action {
                let status = match action {
                    InterruptAction::Redirect(_) if !(300..400).contains(&status) => 302,
                    _ => status,
                };
                self.interruption = Some(Interruption {
                    status,
                    rule_id: rule.id,
                    message: rule
                        .actions
                        .msg
                        .as_ref()
                        .map(|m| m.expand_string(self))
                        .unwrap_or_default(),
                    action,
                });
                interrupted = true;
            }
        }
        if rule.log {
            let (name, value) = self.matched_var.clone().unwrap_or_default();
            self.matched.push(MatchedRule {
                id: rule.id,
                phase,
                file: rule.file.clone(),
                line: rule.line,
                message: rule
                    .actions
                    .msg
                    .as_ref()
                    .map(|m| m.expand_string(self))
                    .unwrap_or_default(),
                data: rule
                    .actions
                    .logdata
                    .as_ref()
                    .map(|m| m.expand_string(self))
                    .unwrap_or_default(),
                severity: rule.actions.severity,
                tags: rule.actions.tags.clone(),
                ver: rule.actions.ver.clone(),
                matched_var_name: String::from_utf8_lossy(&name).into_owned(),
                matched_value: value,
                disruptive: interrupted,
            });
        }
        stop
    }
}
