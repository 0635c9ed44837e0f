//! Rule evaluation: phases, chains, links and disruptive actions (the non-disruptive ones are
//! in `effects`).

use std::borrow::Cow;

use super::clean::CleanState;
use super::{Groups, Union, Unions};
use super::{InterruptAction, Interruption, MatchedRule, Matches, Transaction};
use super::{NO_HITS, NO_STATE, plan};
use crate::actions::{AllowScope, Disruptive};
use crate::engine::{EngineMode, NO_CLEAN};
use crate::rule::{Entry, NO_UNION, Rule, RuleOperator};
use crate::variables::{
    Each, Exclusion, Selector, Target, Value, Variable, collect, count, decimal, kv_at, kv_lists,
    kv_values,
};

/// States up to this long get prefilter hits in a `multiMatch` walk (a longer one uses them
/// only when another link made them): CRS 930110's stages of a JSON body's titles — the
/// `%uXXXX` form `utf8toUnicode` makes is four times the text — cost less through the
/// operator's own literals than a scan of the rule set's automaton each (10 KB JSON −6 %
/// instructions and time, 1 KB form −2 %, against 256 bytes).
const STAGE_HITS_MAX: usize = 32;

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

/// The link's slot and the per-value prefilter hits a walk of the target passes values over
/// by: its union's list, or the groups' raw hits where the chain changes no value (case
/// aside), which stand for its own (see `link_may_match`); `None` when neither is at hand.
fn walk_hits<'a>(
    rule: &Rule,
    i: usize,
    t: &Target,
    unions: &'a Unions,
    groups: Option<&'a Groups>,
) -> Option<(u32, &'a [u32])> {
    let (slot, id) = rule.slot.zip(walks_union(rule, i, t))?;
    let at = match unions.get(id) {
        Some(Union { at: Some(at), .. }) => at.as_slice(),
        Some(Union { at: None, .. }) => &groups?.raw_at,
        None => groups
            .filter(|g| g.raw_for(rule.changes).is_some())
            .map(|g| g.raw_at.as_slice())?,
    };
    Some((slot, at))
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
        let skips = &rules.skips[p];
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
            if let Some(Some(skip)) = skips.get(i)
                && self.ruled_out(skip)
            {
                i += 1;
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

    /// Whether the unions tell that a rule's first link cannot match (see `Skip`); `false`
    /// when one is not made yet (evaluating the link makes it).
    fn ruled_out(&self, skip: &crate::engine::Skip) -> bool {
        let unions = self.ucache.borrow();
        skip.unions()
            .iter()
            .all(|&id| unions.get(id).is_some_and(|u| !u.all.contains(skip.slot)))
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
    pub(super) fn eval_link(&mut self, starter: &Rule, rule: &Rule) -> bool {
        let clean = if rule.clean == NO_CLEAN {
            CleanState::Neither
        } else {
            self.clean_state(starter, rule)
        };
        if clean == CleanState::Known {
            return false;
        }
        let mut found = std::mem::take(&mut self.found);
        found.len = 0;
        self.find_matches(starter, rule, &mut found);
        if found.len == 0 {
            self.found = found;
            if clean == CleanState::Learn {
                self.learn_clean(starter, rule);
            }
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

    /// Whether the operator surely does not match what `utf8toUnicode` makes of a state (`raw`:
    /// the value as stored), told without making it: the state lacks every byte that would
    /// have to be there (`UnicodeStage::needs`), or the operator's quick check says so.
    fn unicode_stage_misses(
        &self,
        op: &RuleOperator,
        stage: &crate::rule::UnicodeStage,
        state: u32,
        raw: &[u8],
    ) -> bool {
        if op.negated {
            return false;
        }
        let cache = self.tcache.borrow();
        let input = cache.value(state, raw);
        stage
            .needs
            .as_ref()
            .is_some_and(|n| !cache.holds_any(n, state, input))
            || op.op.quick_miss_after_utf8_to_unicode(input)
    }

    /// Whether a value is excluded from the link's targets: by the link's own `!VAR:key`, or a
    /// runtime exclusion (`ctl:ruleRemoveTarget…`) that concerns the chain's rule.
    pub(super) fn exclusions<'s>(
        &'s self,
        starter: &'s Rule,
        rule: &'s Rule,
    ) -> impl Fn(Variable, &[u8]) -> bool + 's {
        // Which runtime exclusions concern this rule, decided once (a bit each; beyond 64 of
        // them, the rest are asked every time).
        let applies = self
            .removed_targets
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, (sel, _))| sel.applies(starter))
            .fold(0u64, |m, (i, _)| m | 1 << i);
        move |v: Variable, k: &[u8]| {
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
        }
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
        let excluded = self.exclusions(starter, rule);
        let capture = rule.actions.capture;
        // `state`: the input's state in the transformation cache, or `NO_STATE`.
        let test = |v: &Value, input: &[u8], state: u32, found: &mut Matches| {
            let mut caps = capture.then(Vec::new);
            let head = v.variable.from_request_head();
            if self.test(op, input, state, head, caps.as_mut()) {
                found.push(v, input, caps.filter(|c| !c.is_empty()));
                true
            } else {
                false
            }
        };
        let handle = |v: Value, found: &mut Matches| {
            // A value without a byte the link needs (see `needs`).
            if let Some(needs) = &rule.needs
                && !needs.found_in(&v.value)
            {
                return;
            }
            // No transformation: the value as it is (the operator's own literal check stands
            // in for the prefilter's where the walk did not already apply it).
            if rule.transformations.is_empty() {
                test(&v, &v.value, NO_STATE, found);
                return;
            }
            if !rule.actions.multi_match
                && v.variable.is_stable()
                && matches!(v.value, Cow::Borrowed(_))
            {
                let head = v.variable.from_request_head();
                let want_hits = rule.slot.is_some();
                self.with_cached(rule, &v.value, want_hits, head, |input, hits, state| {
                    if let (Some(slot), Some(hits)) = (rule.slot, hits)
                        && !hits.contains(slot)
                    {
                        return;
                    }
                    test(&v, input, state, found);
                });
                return;
            }
            let mut cur: Cow<[u8]> = Cow::Borrowed(&v.value);
            if rule.actions.multi_match {
                test(&v, &cur, NO_STATE, found);
                for t in &rule.transformations {
                    if let Some(next) = (t.apply)(&cur)
                        && next != *cur
                    {
                        cur = Cow::Owned(next);
                        test(&v, &cur, NO_STATE, found);
                    }
                }
            } else {
                for t in &rule.transformations {
                    if let Some(next) = (t.apply)(&cur) {
                        cur = Cow::Owned(next);
                    }
                }
                test(&v, &cur, NO_STATE, found);
            }
        };
        // A state the operator did not match in this walk is not tested again (values with
        // the same bytes share states, see `TCache`): the walk's outcome is the same, as the
        // operator's answer depends on its input alone while the link runs.
        let prefilter = self.rules.prefilter.as_ref();
        if prefilter.is_some() {
            self.tcache.borrow_mut().begin_walk();
        }
        // Tests a state of a stable value (`raw`: its bytes as stored) unless it missed
        // before; marks it if it misses. Whether it matched.
        let test_state = |v: &Value, state: u32, raw: &[u8], found: &mut Matches| {
            if self.tcache.borrow().missed(state) {
                return false;
            }
            let hit = {
                let cache = self.tcache.borrow();
                test(v, cache.value(state, raw), state, found)
            };
            if !hit {
                self.tcache.borrow_mut().mark_missed(state);
            }
            hit
        };
        // Whether the body's arguments are known not to match: they are UTF-8, the operator
        // matches only what is not, and no transformation comes between.
        let post_passed = self.request.args_post_utf8
            && rule.transformations.is_empty()
            && !op.negated
            && op.op.misses_valid_utf8();
        // A key-value target's values (key, value) walked as they are: its selector and the
        // exclusions applied, each value handled.
        let walk_plainly =
            |t: &Target, values: &mut dyn Iterator<Item = (&[u8], &[u8])>, found: &mut Matches| {
                for (k, v) in values {
                    if t.selector.matches(k) && !excluded(t.variable, k) {
                        handle(Value::stored(t.variable, k, v), found);
                    }
                }
            };
        for (i, t) in rule.targets.iter().enumerate() {
            let post: &[super::data::Kv] = &self.request.args_post;
            if post_passed
                && !t.count
                && let Some((lists, names)) = kv_lists(self, t.variable)
                && lists.iter().any(|l| std::ptr::eq(*l, post))
            {
                // The other values (the query's) as they are.
                let mut rest = lists
                    .into_iter()
                    .filter(|l| !std::ptr::eq(*l, post))
                    .flatten()
                    .map(|(k, v)| (k.as_slice(), if names { k } else { v }.as_slice()));
                walk_plainly(t, &mut rest, found);
                continue;
            }
            // Key-value collections are read straight from their lists (see `kv_values`).
            let mut kv = if t.count {
                None
            } else {
                kv_values(self, t.variable)
            };
            let group = rule.group_ids.get(i).copied().unwrap_or(NO_UNION);
            if group != NO_UNION
                && let Some(prefilter) = prefilter
                && let Some(values) = kv.take()
            {
                // Walked by the values' states: the raw ones from the target's groups (made
                // for links with a slot, whose hits they hold; others use them when they are
                // there), the rest by the chain's steps from them (no lookup per value).
                let one_key = rule.union_keys.get(i).copied().unwrap_or(0);
                // Links with a slot need the groups' hits. Others walk a body's values by
                // their distinct states through them (a JSON body's hundreds of values are a
                // few hundred states); the request head's few values are walked as they are.
                if rule.slot.is_some() || !t.variable.from_request_head() {
                    self.ensure_groups(t, one_key, group, prefilter);
                }
                let gcache = self.gcache.borrow();
                let unions = self.ucache.borrow();
                let groups = gcache.get(group);
                // No value holds a byte the link needs: the target is passed over whole.
                if let (Some(needs), Some(g)) = (&rule.needs, groups)
                    && !g.has_owned
                    && !needs.may_be_in(g.folded)
                {
                    continue;
                }
                // Values whose hits lack the link's slot are passed over at once.
                let at = walk_hits(rule, i, t, &unions, groups);
                // Values with the same bytes are passed over whole once one missed (where
                // there are such values: marking costs a little on every value).
                let repeats = groups.is_none_or(|g| g.repeats);
                // The groups' values: all of the variable's, or one key's.
                let all = matches!(t.selector, Selector::All);
                let in_group = |k: &[u8]| one_key == 0 || t.selector.matches(k);
                // One value (the `j`th of the groups'), tested unless it is passed over;
                // whether it matched. `every`: the walk of every value in order, where
                // exclusions apply and a raw state that matched in no way is marked, so that
                // later values with its bytes are passed over. (The walk of each raw state's
                // first value meets no raw state twice, so it marks none; when it falls back
                // to every value, the states it tested are still marked missed.)
                let visit =
                    |j: usize, k: &[u8], v: &[u8], every: bool, found: &mut Matches| -> bool {
                        if let Some((slot, at)) = at {
                            let hits = at.get(j).copied().unwrap_or(NO_HITS);
                            if hits != NO_HITS
                                && !self.tcache.borrow().hits[hits as usize].contains(slot)
                            {
                                return false;
                            }
                        }
                        // The groups' raw state of the value (no lookup), if grouped.
                        let grouped = groups.map(|g| *g.state_at.get(j).unwrap_or(&NO_STATE));
                        if let Some(needs) = &rule.needs
                            && !self.tcache.borrow().holds_any(
                                needs,
                                grouped.unwrap_or(NO_STATE),
                                v,
                            )
                        {
                            return false;
                        }
                        let raw = match grouped {
                            Some(raw) => raw,
                            None => self.tcache.borrow_mut().raw_state(v),
                        };
                        let mark = repeats && every;
                        // A value with the same bytes as one that matched in no way.
                        if mark && raw != NO_STATE && self.tcache.borrow().value_missed(raw) {
                            return false;
                        }
                        if every && excluded(t.variable, k) {
                            return false;
                        }
                        let value = Value::stored(t.variable, k, v);
                        if raw == NO_STATE {
                            let before = found.len;
                            handle(value, found);
                            return found.len > before;
                        }
                        if rule.actions.multi_match {
                            // The raw state, then each state a transformation changed; a state
                            // whose prefilter hits (one scan per state, shared by every link that
                            // meets it) lack the link's slot is not tested. A long one without
                            // hits yet is left to the operator's own literals: a scan of the rule
                            // set's automaton, megabytes visited at random, costs more than a few
                            // scans of a link's.
                            let head = t.variable.from_request_head();
                            let stage = |state: u32, found: &mut Matches| {
                                let mut cache = self.tcache.borrow_mut();
                                if cache.missed(state) {
                                    return false;
                                }
                                // A state without a byte the operator needs, found without
                                // its hits where they are not at hand (a scan costs more).
                                if !cache.has_hits(state)
                                    && rule.stage_needs.as_ref().is_some_and(|n| {
                                        !cache.holds_any(n, state, cache.value(state, v))
                                    })
                                {
                                    cache.mark_missed(state);
                                    return false;
                                }
                                if let Some(slot) = rule.slot {
                                    if cache.value(state, v).len() > STAGE_HITS_MAX
                                        && !cache.has_hits(state)
                                    {
                                        drop(cache);
                                        return test_state(&value, state, v, found);
                                    }
                                    let hits = super::unions::state_hits(
                                        &mut cache, prefilter, state, v, head,
                                    );
                                    if !cache.hits[hits as usize].contains(slot) {
                                        cache.mark_missed(state);
                                        return false;
                                    }
                                }
                                drop(cache);
                                test_state(&value, state, v, found)
                            };
                            let mut hit = stage(raw, found);
                            let mut state = raw;
                            let chain = &rule.transformations;
                            let mut k = 0;
                            while let Some(tr) = chain.get(k) {
                                // `utf8toUnicode` then `urlDecodeUni`: as one step where the
                                // value between them would not match, else one at a time
                                // (ending where the fused pair does).
                                if let Some(u) = rule.unicode_stage.as_ref().filter(|u| u.at == k) {
                                    if self.unicode_stage_misses(op, u, state, v) {
                                        let next =
                                            self.tcache.borrow_mut().step(state, &u.fused, v);
                                        if next != state {
                                            hit |= stage(next, found);
                                        }
                                        state = next;
                                    } else {
                                        let pair = [tr, &chain[k + 1]];
                                        let (between, last) = self
                                            .tcache
                                            .borrow_mut()
                                            .step_pair(state, pair, &u.fused, v);
                                        if between != state {
                                            hit |= stage(between, found);
                                        }
                                        if last != between {
                                            hit |= stage(last, found);
                                        }
                                        state = last;
                                    }
                                    k += 2;
                                    continue;
                                }
                                let next = self.tcache.borrow_mut().step(state, tr, v);
                                if next != state {
                                    hit |= stage(next, found);
                                }
                                state = next;
                                k += 1;
                            }
                            if mark && !hit {
                                self.tcache.borrow_mut().mark_value_missed(raw);
                            }
                            return hit;
                        }
                        let state =
                            self.tcache
                                .borrow_mut()
                                .chain_from(raw, &rule.transformations, v);
                        // Without the union's, the hits of the transformed value.
                        if let (Some(slot), None) = (rule.slot, at) {
                            let mut cache = self.tcache.borrow_mut();
                            let head = t.variable.from_request_head();
                            let hits =
                                super::unions::state_hits(&mut cache, prefilter, state, v, head);
                            if !cache.hits[hits as usize].contains(slot) {
                                if mark {
                                    cache.mark_value_missed(raw);
                                }
                                return false;
                            }
                        }
                        let hit = test_state(&value, state, v, found);
                        if !hit && mark {
                            self.tcache.borrow_mut().mark_value_missed(raw);
                        }
                        hit
                    };
                // Each raw state once, at its first value: when none matches (as on clean
                // traffic), no value does, whatever its key or exclusions, and the many values
                // with bytes seen before are not looked at. When one matches, its tests are
                // undone and every value is walked in order, each state's misses kept.
                if one_key == 0
                    && all
                    && let Some(g) = groups.filter(|g| !g.has_owned)
                    && let Some((lists, names)) = kv_lists(self, t.variable)
                {
                    let before = found.len;
                    let matched = g.firsts.iter().any(|&j| {
                        let j = j as usize;
                        kv_at(&lists, names, j).is_none_or(|(k, v)| visit(j, k, v, false, found))
                    });
                    if !matched {
                        continue;
                    }
                    found.len = before;
                }
                for (j, (k, v)) in values.filter(|(k, _)| in_group(k)).enumerate() {
                    if one_key == 0 && !all && !t.selector.matches(k) {
                        continue;
                    }
                    visit(j, k, v, true, found);
                }
                continue;
            }
            // With the target's union at hand, values whose hits lack the link's slot are
            // passed over without a look at their transformation (the union lists each
            // value's hits in collection order; exclusions are applied here so that the
            // order is the union's).
            let unions = self.ucache.borrow();
            let gcache = self.gcache.borrow();
            let Some((slot, at)) = walk_hits(rule, i, t, &unions, gcache.get(group)) else {
                drop(unions);
                drop(gcache);
                if let Some(mut values) = kv {
                    walk_plainly(t, &mut values, found);
                    continue;
                }
                if t.count {
                    // `&TX:name`: the count, under the name the rule gives (borrowed from it).
                    handle(
                        Value {
                            variable: t.variable,
                            key: match &t.selector {
                                Selector::Key(k) => Cow::Borrowed(k.as_slice()),
                                _ => Cow::Borrowed(b""),
                            },
                            value: decimal(count(self, t, &excluded)),
                        },
                        found,
                    );
                    continue;
                }
                collect(self, t, &excluded, &mut Each(|v| handle(v, found)));
                continue;
            };
            let mut at = at.iter();
            // Hits first: most values lack the slot.
            let passes = |hits: u32| {
                hits == NO_HITS || self.tcache.borrow().hits[hits as usize].contains(slot)
            };
            collect(
                self,
                t,
                &|_, _| false,
                &mut Each(|v: Value| {
                    let hits = at.next().copied().unwrap_or(NO_HITS);
                    if passes(hits) && !excluded(v.variable, &v.key) {
                        handle(v, found);
                    }
                }),
            );
        }
    }

    /// Whether the operator matches the input (`state`: its state in the transformation
    /// cache, or `NO_STATE`; `head`: a value of the request head, whose misses are remembered
    /// across transactions).
    fn test(
        &self,
        op: &RuleOperator,
        input: &[u8],
        state: u32,
        head: bool,
        caps: Option<&mut Vec<Vec<u8>>>,
    ) -> bool {
        if let Some(pre) = &op.prefilter
            && !pre.is_match(input)
        {
            return op.negated;
        }
        if let Some(bytes) = &op.bytes
            && !self.tcache.borrow().holds_any(bytes, state, input)
        {
            return op.negated;
        }
        if op.op.quick_miss(input) {
            return op.negated;
        }
        let memo = self.miss_memo(op, input, state, head);
        if memo.as_ref().is_some_and(|m| m.knows(self)) {
            return op.negated;
        }
        let hit = op
            .op
            .evaluate(self, input, if op.negated { None } else { caps });
        if !hit && let Some(m) = memo {
            m.note(self);
        }
        hit != op.negated
    }

    /// Where a miss of `op` on `input` is remembered, if anywhere: for a request-head value
    /// (or a state made of one), across transactions — by the state's fingerprint, computed
    /// once for every operator (`KnownHits`), or for a costly operator on a head value without
    /// a state, by its own (`KnownMisses`); for a costly operator's other inputs, in this
    /// transaction.
    fn miss_memo(&self, op: &RuleOperator, input: &[u8], state: u32, head: bool) -> Option<Memo> {
        if head
            && state != NO_STATE
            && op.memo != crate::rule::NO_MEMO
            && input.len() <= crate::engine::KNOWN_HITS_MAX
            && let Some(p) = &self.rules.prefilter
        {
            let print = self.tcache.borrow().print(state, input, p.known());
            return Some(Memo::Head(print, op.memo));
        }
        if !op.op.memoize_misses() || input.len() > 4096 {
            return None;
        }
        let op_id = std::ptr::from_ref(op) as usize;
        Some(if head {
            Memo::Detector(self.rules.known_misses.fingerprint(op_id, input))
        } else {
            use std::hash::BuildHasher;
            Memo::Transaction((op_id, self.miss_key.hash_one(input)))
        })
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

/// Where a miss of an operator on an input is remembered (see `Transaction::miss_memo`).
enum Memo {
    /// `KnownHits`: a state's fingerprint, the operator's bit.
    Head(u64, u32),
    /// `KnownMisses`: the fingerprint of operator and input.
    Detector(u64),
    /// `Transaction::misses`.
    Transaction((usize, u64)),
}

impl Memo {
    /// Whether the miss is remembered.
    fn knows(&self, tx: &Transaction) -> bool {
        match self {
            Memo::Head(print, bit) => tx
                .rules
                .prefilter
                .as_ref()
                .is_some_and(|p| p.known().missed(*print, *bit)),
            Memo::Detector(fingerprint) => tx.rules.known_misses.contains(*fingerprint),
            Memo::Transaction(key) => tx.misses.borrow().contains_key(key),
        }
    }

    /// Remembers the miss.
    fn note(self, tx: &Transaction) {
        match self {
            Memo::Head(print, bit) => {
                if let Some(p) = &tx.rules.prefilter {
                    p.known().note_miss(print, bit);
                }
            }
            Memo::Detector(fingerprint) => tx.rules.known_misses.insert(fingerprint),
            Memo::Transaction(key) => {
                tx.misses.borrow_mut().insert(key, ());
            }
        }
    }
}
