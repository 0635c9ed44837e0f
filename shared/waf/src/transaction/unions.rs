//! Prefilter hits of a transaction's values: the transformation cache (a value under a
//! chain, with its hits), groups of a variable's values by the transformations that may
//! change them, and the unions by which a rule link is skipped without a look at a value.

use std::borrow::Cow;

use super::{Group, NO_HITS, NO_STATE, OWNED, TCache, Transaction, Union, apply_all};
use crate::engine::{Hits, KNOWN_HITS_MAX, Prefilter};
use crate::rule::Rule;
use crate::variables::{
    Each, Selector, Target, Value, Variable, collect, kv_at, kv_lists, kv_values,
};

/// At most this many groups of values per variable (a bit each in `union_of`); values that
/// would make more are treated as made on the fly.
const MAX_GROUPS: usize = 64;

/// A raw state's entry in `TCache::union_hits`, which grows as needed.
fn per_raw(list: &mut Vec<u32>, raw: u32) -> &mut u32 {
    let at = raw as usize;
    if list.len() <= at {
        list.resize(at + 1, NO_HITS);
    }
    &mut list[at]
}

/// The index in `cache.hits` of a state's prefilter hits (see `TCache`), computed once per
/// transaction and shared by states that differ only by ASCII case. `raw`: the value as
/// stored; `head`: a value of the request head, whose hits are kept across transactions
/// (see `Prefilter::head_hits`).
pub(super) fn state_hits(
    cache: &mut TCache,
    p: &Prefilter,
    state: u32,
    raw: &[u8],
    head: bool,
) -> u32 {
    let entry = &cache.entries[state as usize];
    if entry.hits != NO_HITS {
        return entry.hits;
    }
    let like = entry.hits_like;
    let hits = if like == state {
        let value = cache.value(state, raw);
        let hits = if head && value.len() <= KNOWN_HITS_MAX {
            p.head_hits(value, cache.print(state, raw, p.known()))
        } else {
            p.hits(value)
        };
        cache.hits.push(hits);
        (cache.hits.len() - 1) as u32
    } else {
        state_hits(cache, p, like, raw, head)
    };
    cache.entries[state as usize].hits = hits;
    hits
}

impl Transaction {
    /// Runs `f` on a stable value transformed by the rule's chain, and on the prefilter's
    /// hits in it when `want_hits`; both are computed once per transaction and cached by
    /// address. A value the chain leaves unchanged but for ASCII case has the hits of the raw
    /// value (literals match case-insensitively), so one scan serves most chains. `head`: a
    /// value of the request head (see `state_hits`).
    pub(super) fn with_cached<R>(
        &self,
        rule: &Rule,
        value: &[u8],
        want_hits: bool,
        head: bool,
        f: impl FnOnce(&[u8], Option<&Hits>, u32) -> R,
    ) -> R {
        let prefilter = self.rules.prefilter.as_ref().filter(|_| want_hits);
        let at = self.cached_entry(rule, value, prefilter, head);
        let cache = self.tcache.borrow();
        let hits = prefilter.and_then(|_| cache.hits.get(cache.entries[at].hits as usize));
        f(cache.value(at as u32, value), hits, at as u32)
    }

    /// The transformation cache's entry for a stable value under the rule's chain (made if
    /// missing), with its prefilter hits computed when `prefilter` is given.
    pub(super) fn cached_entry(
        &self,
        rule: &Rule,
        value: &[u8],
        prefilter: Option<&Prefilter>,
        head: bool,
    ) -> usize {
        let key = (rule.tchain, value.as_ptr() as usize, value.len());
        let mut guard = self.tcache.borrow_mut();
        let cache = &mut *guard;
        let at = match cache.index.get(&key) {
            Some(&at) => at,
            None => {
                let at = cache.chain_state(&rule.transformations, value);
                cache.index.insert(key, at);
                at
            }
        };
        if let Some(p) = prefilter {
            state_hits(cache, p, at, value, head);
        }
        at as usize
    }

    /// Whether a link with a prefilter slot can match at all: its slot must be among the
    /// hits of some value of some target (unions per chain and variable, cached). Links
    /// without a slot, counting targets or volatile variables always can; `multiMatch` links
    /// (which test every stage of the chain) can unless no value may change.
    pub(super) fn link_may_match(&self, rule: &Rule) -> bool {
        let Some(slot) = rule.union_slot() else {
            return true;
        };
        let Some(prefilter) = self.rules.prefilter.as_ref() else {
            return true;
        };
        for (i, t) in rule.targets.iter().enumerate() {
            let id = rule.union_ids[i];
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
            // chains on clean requests. Kept as the chain's union (without a list: the walk
            // reads the groups' raw hits), so the next link with it looks once. A
            // `multiMatch` link makes no union when it would not cover every stage.
            let raw = self
                .gcache
                .borrow()
                .get(group)
                .and_then(|g| g.raw_for(rule.changes))
                .cloned();
            match raw {
                Some(all) => {
                    let hit = all.contains(slot);
                    self.ucache.borrow_mut().insert(id, Union { all, at: None });
                    if hit {
                        return true;
                    }
                    continue;
                }
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
        // Each raw state once, at its first value; every value then has its raw state's hits.
        if one_key == 0
            && !groups.has_owned
            && let Some((lists, names)) = kv_lists(self, t.variable)
        {
            let mut guard = self.tcache.borrow_mut();
            let cache = &mut *guard;
            let head = t.variable.from_request_head();
            for &j in &groups.firsts {
                let j = j as usize;
                let raw = groups.state_at[j];
                let h = match kv_at(&lists, names, j) {
                    Some((_, b)) if visit & 1 << groups.of_value[j] != 0 => {
                        let state = cache.chain_from(raw, &rule.transformations, b);
                        let h = state_hits(cache, prefilter, state, b, head);
                        all.union(&cache.hits[h as usize]);
                        h
                    }
                    _ => groups.raw_at[j],
                };
                *per_raw(&mut cache.union_hits, raw) = h;
            }
            let at = groups
                .state_at
                .iter()
                .map(|&raw| cache.union_hits[raw as usize])
                .collect();
            return Union { all, at: Some(at) };
        }
        let mut at = Vec::with_capacity(groups.of_value.len());
        self.each_value(t, one_key, &mut |v: Value| {
            let i = at.len();
            let group = groups.of_value.get(i).copied().unwrap_or(OWNED);
            match v.value {
                Cow::Borrowed(b) if group != OWNED => {
                    if visit & 1 << group != 0 {
                        // From the value's raw state by the chain's steps (no lookup).
                        let mut cache = self.tcache.borrow_mut();
                        let state = cache.chain_from(groups.state_at[i], &rule.transformations, b);
                        let head = v.variable.from_request_head();
                        let h = state_hits(&mut cache, prefilter, state, b, head);
                        all.union(&cache.hits[h as usize]);
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
    #[inline]
    pub(super) fn ensure_groups(&self, t: &Target, one_key: u32, id: u32, prefilter: &Prefilter) {
        if self.gcache.borrow().get(id).is_none() {
            self.make_groups(t, one_key, id, prefilter);
        }
    }

    #[inline(never)]
    fn make_groups(&self, t: &Target, one_key: u32, id: u32, prefilter: &Prefilter) {
        let mut groups = self.gcache.borrow_mut().take(id);
        groups.reset();
        self.tcache.borrow_mut().begin_sighting();
        // Names come round in a short cycle (see `TCache::recent`); values seldom do.
        let names = kv_lists(self, t.variable).is_some_and(|(_, names)| names);
        self.each_value(t, one_key, &mut |v: Value| {
            let Cow::Borrowed(b) = v.value else {
                groups.push_value(OWNED, NO_HITS, NO_STATE);
                return;
            };
            // The value's raw state: which transformations may change it, and (below) its
            // prefilter hits, from one lookup.
            let mut guard = self.tcache.borrow_mut();
            let cache = &mut *guard;
            let raw = if v.variable.from_request_head() {
                cache.raw_state(b)
            } else {
                cache.body_raw_state(b, names)
            };
            let j = groups.state_at.len() as u32;
            if let Some(first) = cache.sighted_at(raw, j) {
                // A state met before in this grouping: its group, hits and state are its
                // first value's (the hits already in the group's union; a first value past
                // `MAX_GROUPS` has none).
                groups.repeats = true;
                let first = first as usize;
                let (group, hits, state) = (
                    groups.of_value[first],
                    groups.raw_at[first],
                    groups.state_at[first],
                );
                groups.push_value(group, hits, state);
                return;
            }
            groups.firsts.push(j);
            groups.folded |= cache.folded(raw);
            let may_change = !cache.entries[raw as usize].known;
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
                    groups.push_value(OWNED, NO_HITS, NO_STATE);
                    return;
                }
            };
            let head = v.variable.from_request_head();
            let hits = state_hits(cache, prefilter, raw, b, head);
            groups.groups[at].raw.union(&cache.hits[hits as usize]);
            groups.push_value(at as u16, hits, raw);
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
        if let Some(values) = kv_values(self, t.variable)
            && !t.count
        {
            // Straight from the lists (see `kv_values`): the target's own selector for one
            // key, every value otherwise.
            for (k, v) in values.filter(|(k, _)| one_key == 0 || t.selector.matches(k)) {
                f(Value::stored(t.variable, k, v));
            }
        } else if t.variable == Variable::Xml {
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

#[cfg(test)]
mod tests {
    use crate::Engine;

    /// The values the transformation cache made (its states but the raw ones), in order.
    fn made(cache: &super::TCache) -> Vec<&[u8]> {
        cache
            .entries
            .iter()
            .filter_map(|e| e.value.as_deref())
            .collect()
    }

    /// The rules that matched, each with the value it matched last.
    fn matched_values(tx: &crate::transaction::Transaction) -> Vec<(u32, Vec<u8>)> {
        tx.matched_rules()
            .iter()
            .map(|m| (m.id, m.matched_value.clone()))
            .collect()
    }

    /// Phases 1 and 2 of a GET of `uri` under `rules`; the transaction after them.
    fn run(rules: &str, uri: &str) -> crate::transaction::Transaction {
        let engine = Engine::from_text(&format!("SecRuleEngine On\n{rules}"), "t.conf").unwrap();
        let mut tx = engine.transaction();
        tx.process_uri(b"GET", uri.as_bytes(), b"HTTP/1.1");
        assert!(tx.process_request_headers().is_none());
        assert!(tx.process_request_body().is_none());
        tx
    }

    #[test]
    fn chains_that_differ_by_idle_transformations_end_in_one_state() {
        // On Chinese text, utf8toUnicode and urlDecodeUni change the value; what follows in
        // each chain changes nothing more (lowercase changes case only).
        let tx = run(
            r#"
SecRule ARGS "@rx never-1" "id:1,phase:2,pass,t:none,t:utf8toUnicode,t:urlDecodeUni,t:removeNulls"
SecRule ARGS "@rx never-2" "id:2,phase:2,pass,t:none,t:utf8toUnicode,t:urlDecodeUni,t:htmlEntityDecode"
SecRule ARGS "@rx never-3" "id:3,phase:2,pass,t:none,t:utf8toUnicode,t:urlDecodeUni,t:cssDecode,t:lowercase"
"#,
            "/?q=%E4%B8%AD%E6%96%87",
        );
        assert!(tx.matched_rules().is_empty());
        let cache = tx.tcache.borrow();
        // The value as stored and, decoded by the two as one (see `transformations::fused`),
        // `\x2d\x87`: utf8toUnicode's `%u4e2d%u6587` is not made.
        let made = made(&cache);
        assert_eq!(made, [&b"\x2d\x87"[..]]);
        // All three chains end in the last (nothing else was made); it was scanned by the
        // prefilter once.
        let end = cache
            .entries
            .iter()
            .find(|e| e.value.as_deref() == Some(b"\x2d\x87"));
        assert_ne!(end.unwrap().hits, super::NO_HITS);
        let scans = cache.hits.len();
        let raw_values = cache.entries.iter().filter(|e| e.value.is_none()).count();
        assert_eq!(
            scans,
            raw_values + 1,
            "one scan per stored value, one for the end state"
        );
    }

    #[test]
    fn steps_beyond_a_states_first_few_are_found_again() {
        // Five transformations that each change `A%41  B`: three steps are kept in the raw
        // state's entry, two in the map; the second rule of each pair finds its state.
        let mut rules = String::new();
        for (i, t) in [
            "compressWhitespace",
            "urlDecodeUni",
            "removeWhitespace",
            "cmdLine",
            "base64Decode",
        ]
        .iter()
        .enumerate()
        {
            for n in [0, 10] {
                let id = 100 + i + n;
                rules.push_str(&format!(
                    "SecRule ARGS \"@rx never-{id}\" \"id:{id},phase:2,pass,t:none,t:{t}\"\n"
                ));
            }
        }
        let tx = run(&rules, "/?q=A%2541%20%20B");
        assert!(tx.matched_rules().is_empty());
        let cache = tx.tcache.borrow();
        let made = made(&cache);
        assert_eq!(made.len(), 5, "{made:?}");
        assert_eq!(cache.steps.len(), 2);
        assert!(made.contains(&&b"a%41 b"[..]) && made.contains(&&b"AA  B"[..]));
    }

    #[test]
    fn exclusions_and_keys_hold_on_walks_and_scans() {
        // 20 and 23 have a prefilter slot (their values are walked by hits), 22 none (every
        // value is looked at); 23 loses ARGS:c at run time.
        let tx = run(
            r#"
SecAction "id:5,phase:1,pass,nolog,ctl:ruleRemoveTargetById=23;ARGS:c"
SecRule ARGS|!ARGS:b "@rx attack" "id:20,phase:2,pass,log"
SecRule ARGS:c "@rx attack" "id:21,phase:2,pass,log"
SecRule ARGS|!ARGS:b "@rx ^.{6}$" "id:22,phase:2,pass,log"
SecRule ARGS "@rx attack" "id:23,phase:2,pass,log"
SecRule ARGS_NAMES|!ARGS_NAMES:a "@rx ^[ab]$" "id:24,phase:2,pass,log"
"#,
            "/?a=ok&b=attack&c=attack",
        );
        let matched: Vec<_> = tx
            .matched_rules()
            .iter()
            .map(|m| (m.id, m.matched_var_name.as_str()))
            .collect();
        assert_eq!(
            matched,
            [
                (20, "ARGS:c"),
                (21, "ARGS:c"),
                (22, "ARGS:c"),
                (23, "ARGS:b"),
                (24, "ARGS_NAMES:b")
            ]
        );
    }

    #[test]
    fn values_with_the_same_bytes_share_states_and_each_match_counts() {
        // a, b and c hold the same bytes: one raw state, one decoded one. 30 tests it once
        // and misses; 31 (marks are per link) and 32 (a negated operator) match each value;
        // 33 walks names by states too, multiMatch; 34 misses each raw value and matches its
        // decoded stage, for every value.
        let mut tx = run(
            r#"
SecRule ARGS "@rx never" "id:30,phase:2,pass,log,t:none,t:urlDecodeUni"
SecRule ARGS "@rx <x>" "id:31,phase:2,pass,log,t:none,t:urlDecodeUni,setvar:tx.n31=+1"
SecRule ARGS "!@rx never" "id:32,phase:2,pass,log,t:none,t:urlDecodeUni,setvar:tx.n32=+1"
SecRule ARGS_NAMES "@rx ^[abc]$" "id:33,phase:2,pass,log,multiMatch,t:none,t:lowercase,setvar:tx.n33=+1"
SecRule ARGS "@rx ^<x>$" "id:34,phase:2,pass,log,multiMatch,t:none,t:urlDecodeUni,setvar:tx.n34=+1"
"#,
            "/?a=%253Cx%253E&b=%253Cx%253E&c=%253Cx%253E",
        );
        let ids: Vec<_> = tx.matched_rules().iter().map(|m| m.id).collect();
        assert_eq!(ids, [31, 32, 33, 34]);
        let coll = tx.collections.tx();
        for (key, n) in [("n31", "3"), ("n32", "3"), ("n33", "3"), ("n34", "3")] {
            assert_eq!(
                coll.get(key).map(Vec::as_slice),
                Some(n.as_bytes()),
                "{key}"
            );
        }
        let cache = tx.tcache.borrow();
        let raw = cache.entries.iter().filter(|e| e.value.is_none()).count();
        let made = made(&cache);
        // One raw state for the three values, one per name; one decoded state.
        assert_eq!(raw, 4);
        assert_eq!(made, [&b"<x>"[..]]);
    }

    #[test]
    fn a_walk_by_first_values_falls_back_to_every_value_on_a_match() {
        // Many values with few distinct bytes: the walk tests `ok`, `x` and `attack` once
        // each; `attack` matches, so every value is walked in order, exclusions applied.
        let mut uri = String::from("/?");
        for i in 0..30 {
            uri.push_str(&format!("k{i}={}&", ["ok", "x", "ok"][i % 3]));
        }
        uri.push_str("b=attack&c=ok&d=attack");
        let mut tx = run(
            r#"
SecRule ARGS|!ARGS:b "@rx attack" "id:40,phase:2,pass,log,setvar:tx.n40=+1"
SecRule ARGS|!ARGS:b|!ARGS:d "@rx attack" "id:41,phase:2,pass,log"
SecRule ARGS "@rx ^x$" "id:42,phase:2,pass,log,multiMatch,t:none,t:lowercase,setvar:tx.n42=+1"
SecRule ARGS_NAMES "@rx ^k29$" "id:43,phase:2,pass,log"
"#,
            &uri,
        );
        let matched: Vec<_> = tx
            .matched_rules()
            .iter()
            .map(|m| (m.id, m.matched_var_name.clone()))
            .collect();
        // 41: the only values that match are excluded. The name is the last match's.
        assert_eq!(
            matched,
            [
                (40, "ARGS:d".to_string()),
                (42, "ARGS:k28".to_string()),
                (43, "ARGS_NAMES:k29".to_string())
            ]
        );
        let coll = tx.collections.tx();
        assert_eq!(coll.get("n40").map(Vec::as_slice), Some(&b"1"[..]));
        assert_eq!(coll.get("n42").map(Vec::as_slice), Some(&b"10"[..]));
    }

    #[test]
    fn a_chain_changed_by_an_update_is_its_own() {
        // Rule 2 was written with rule 1's transformations: its chain's id (which keys cached
        // values and unions) is that of what it has once the rule set is built.
        let tx = run(
            r#"
SecRule ARGS "@rx never" "id:1,phase:2,pass,t:none"
SecRule ARGS "@rx a b" "id:2,phase:2,pass,log,t:none"
SecRuleUpdateActionById 2 "t:urlDecode"
"#,
            "/?q=a%2520b",
        );
        let matched: Vec<_> = tx.matched_rules().iter().map(|m| m.id).collect();
        assert_eq!(matched, [2]);
    }

    #[test]
    fn multi_match_passes_over_the_unicode_stage_where_it_would_miss() {
        // Without a `.` or `/`, utf8toUnicode's output cannot match 20; libinjection's quick
        // check reads 21's from the value; 22's `-` is no byte utf8toUnicode writes, but one
        // urlDecodeUni makes of `%u4e2d`.
        let tx = run(
            r#"
SecRule ARGS "@rx \.\./" "id:20,phase:2,pass,log,multiMatch,t:none,t:utf8toUnicode,t:urlDecodeUni"
SecRule ARGS "@detectSQLi" "id:21,phase:2,pass,log,multiMatch,t:none,t:utf8toUnicode,t:urlDecodeUni"
SecRule ARGS "@rx ^\x2d" "id:22,phase:2,pass,log,multiMatch,t:none,t:utf8toUnicode,t:urlDecodeUni"
"#,
            "/?q=%E4%B8%AD%E6%96%87",
        );
        let matched = matched_values(&tx);
        assert_eq!(matched, [(22, b"\x2d\x87".to_vec())]);
        // `%u4e2d%u6587` was never made.
        assert_eq!(made(&tx.tcache.borrow()), [&b"\x2d\x87"[..]]);
    }

    #[test]
    fn multi_match_passes_over_a_stage_without_a_byte_its_operator_needs() {
        let tx = run(
            r#"SecRule ARGS "@rx <" "id:30,phase:2,pass,log,multiMatch,t:none,t:removeWhitespace,t:urlDecode""#,
            "/?q=a+b%253c",
        );
        let matched = matched_values(&tx);
        assert_eq!(matched, [(30, b"ab<".to_vec())]);
        // `ab%3c` holds no `<`: it was not scanned for its prefilter hits (`ab<` was).
        let cache = tx.tcache.borrow();
        let hits = |v: &[u8]| {
            let e = cache.entries.iter().find(|e| e.value.as_deref() == Some(v));
            e.unwrap().hits
        };
        assert_eq!(hits(b"ab%3c"), super::NO_HITS);
        assert_ne!(hits(b"ab<"), super::NO_HITS);
    }

    #[test]
    fn multi_match_tests_every_state_and_shares_them() {
        let tx = run(
            r#"
SecRule ARGS "@rx ^%u4e2d" "id:10,phase:2,pass,log,multiMatch,t:none,t:utf8toUnicode,t:urlDecodeUni"
SecRule ARGS "@rx ^%u4e2d" "id:11,phase:2,pass,log,t:none,t:utf8toUnicode,t:urlDecodeUni"
SecRule ARGS "@rx ^\x2d\x87$" "id:12,phase:2,pass,log,multiMatch,t:none,t:utf8toUnicode,t:removeNulls,t:urlDecodeUni"
"#,
            "/?q=%E4%B8%AD%E6%96%87",
        );
        let matched = matched_values(&tx);
        // 10 matches the middle stage, which 11 (its last stage only) does not see; 12 the
        // last, reached through a transformation that changed nothing.
        assert_eq!(
            matched,
            [(10, b"%u4e2d%u6587".to_vec()), (12, b"\x2d\x87".to_vec())]
        );
        // Both multiMatch chains went through the same states: nothing made twice.
        let cache = tx.tcache.borrow();
        assert_eq!(
            cache.entries.iter().filter(|e| e.value.is_some()).count(),
            2
        );
    }
}
