//! Plans: the rules that depend on constants only, evaluated once.
//!
//! Much of CRS reads nothing but TX variables every request sets to the same values:
//! REQUEST-901 fills in some forty defaults (`SecRule &TX:x "@eq 0" "setvar:tx.x=…"`) and
//! zeroes the scores, and every rule file opens with paranoia-level checks
//! (`SecRule TX:DETECTION_PARANOIA_LEVEL "@lt 2" "skipAfter:…"`) — about a hundred rule
//! evaluations per request whose outcome follows from the site's policy alone. A plan is
//! made once per distinct start (the TX variables the caller set, the rules it removed) and
//! records, per phase entry, what such a rule does: its TX writes and the entry evaluation
//! goes on at. Transactions replay that instead of evaluating the rule.
//!
//! Making a plan is an abstract interpretation of the phases over TX: each key is known (a
//! value, or absent) or unknown. A rule is *folded* when the caller did not remove it and
//! its links, in order, up to the first that does not match (or all of them):
//! - read only known TX keys: targets `TX:key` or `&TX:key`, the macros of the operator's
//!   argument and of `setvar` values, the keys they add to;
//! - have operators that depend on nothing else (`Operator::depends_on`);
//! - write only TX, by literal keys, and have no `ctl`, `setenv`, `capture` or exclusion;
//!
//! and, when the whole chain matches, the rule neither logs nor disrupts (`pass`, `nolog`):
//! such a match has no effect but its writes, MATCHED_VAR and the severity. A chain whose
//! first link fails on constants (`SecRule &TX:MAX_NUM_ARGS "@eq 1" … chain` with the limit
//! unset) is folded whatever its later links read: they are never reached.
//!
//! Every other rule is evaluated per transaction and makes every key it may write unknown
//! (a `setvar` key built from a macro makes every key with its literal prefix unknown). Where
//! such a rule may jump (`skipAfter`, `skip`), the states of both paths are joined at the
//! target: a key stays known only with the same value on both. Each phase starts from the
//! end of the one before, so its plan holds only when that phase ran to its end by the plan
//! (no `allow`, no interruption) and the caller set no TX variable in between (see
//! `Transaction::plan_done`). Phase 5 has two: after phase 4, and after phase 2 for callers
//! that do not inspect responses.
//!
//! Two kinds of effect are assumed not to happen, as on clean requests they do not: rules
//! removing rules (`ctl:ruleRemoveById`, `…ByTag`, and target removals naming TX; CRS's
//! REQUEST-905 removes every CRS rule for Apache's internal requests from localhost), and
//! additions to TX variables (`setvar:tx.x=+5`: the anomaly scores, which a detection adds
//! to). Counting them would keep nearly every rule out of every plan, the scoring rules
//! (REQUEST-949) above all. When one happens, the transaction leaves its plan
//! (`Transaction::off_plan`) and evaluates every rule from there on: what was replayed
//! before stands, as the effect concerns only the rules after it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{RuleSel, Transaction};
use crate::actions::{Disruptive, Effect, IdRange, SetVar, SetVarOp};
use crate::engine::RuleSet;
use crate::rule::{Entry, Rule};
use crate::variables::{Selector, Target, Variable};

/// Whether target exclusions concern TX (the only variable folded rules read).
pub(super) fn names_tx(exclusions: &[crate::variables::Exclusion]) -> bool {
    exclusions.iter().any(|x| x.variable == Variable::Tx)
}

/// Plans kept per rule set at most; a start beyond them is evaluated rule by rule.
const MAX_PLANS: usize = 16;

/// What a folded rule does, decided when the plan was made.
#[derive(Debug)]
pub(crate) struct Folded {
    /// The entry evaluation goes on at (past the rule, its `skipAfter` marker, or the
    /// phase's end; runs of folded rules that do nothing are passed over at once).
    pub next: u32,
    /// TX keys and their new values (`None`: removed).
    pub writes: Vec<(String, Option<Vec<u8>>)>,
    /// MATCHED_VAR after the rule, when one of its links matched.
    pub matched_var: Option<(Vec<u8>, Vec<u8>)>,
    /// The rule's severity, when the whole chain matched.
    pub severity: Option<u8>,
}

impl Folded {
    fn does_nothing(&self) -> bool {
        self.writes.is_empty() && self.matched_var.is_none() && self.severity.is_none()
    }
}

/// A plan for one start.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The TX variables present at the start, in key order.
    tx: Vec<(String, Vec<u8>)>,
    removed_ids: Vec<IdRange>,
    removed_tags: Vec<Arc<[bool]>>,
    /// Phases 1 to 5 (at 0–4), then phase 5 when it follows phase 2 (no response phases):
    /// per entry, `Some` when the rule is folded.
    pub steps: [Vec<Option<Box<Folded>>>; 6],
}

/// The plans of a rule set (see `RuleSet::plans`).
#[derive(Debug, Default)]
pub(crate) struct Plans(std::sync::RwLock<Vec<Arc<Plan>>>);

impl Transaction {
    /// The plan for this transaction's start (made and kept when new), or `None` when the
    /// start rules plans out: a runtime exclusion of TX targets, or more distinct starts
    /// than are kept.
    pub(super) fn find_plan(&self) -> Option<Arc<Plan>> {
        if self.removed_targets.iter().any(|(_, xs)| names_tx(xs)) {
            return None;
        }
        let tx = self.collections.get("tx")?;
        // TX is empty unless the caller set a variable (a pooled collection keeps emptied
        // entries, which `iter` passes over one by one).
        let same = |p: &Plan| {
            p.removed_ids == self.removed_ids
                && p.removed_tags == self.removed_tags
                && if self.tx_preset {
                    p.tx.iter().map(|(k, v)| (k, v)).eq(tx.iter())
                } else {
                    p.tx.is_empty()
                }
        };
        let plans = &self.rules.plans.0;
        {
            let kept = plans.read().ok()?;
            if let Some(p) = kept.iter().find(|p| same(p)) {
                return Some(p.clone());
            }
            if kept.len() >= MAX_PLANS {
                return None;
            }
        }
        // Made without the lock (a few milliseconds for CRS), so that transactions with
        // other starts are not held up; a plan another transaction made meanwhile wins.
        let plan = Arc::new(make(
            &self.rules,
            tx.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            self.removed_ids.clone(),
            self.removed_tags.clone(),
        ));
        let mut kept = plans.write().ok()?;
        if let Some(p) = kept.iter().find(|p| same(p)) {
            return Some(p.clone());
        }
        if kept.len() < MAX_PLANS {
            kept.push(plan.clone());
        }
        Some(plan)
    }

    /// Replays a folded rule.
    pub(super) fn replay(&mut self, f: &Folded) {
        for (k, v) in &f.writes {
            let tx = self.collections.tx();
            match v {
                Some(v) => tx.set(k, v),
                None => tx.remove(k),
            }
            self.note_tx_key(k);
        }
        if let Some((name, value)) = &f.matched_var {
            let (n, v) = self.matched_var.get_or_insert_default();
            n.clear();
            n.extend_from_slice(name);
            v.clear();
            v.extend_from_slice(value);
        }
        if let Some(s) = f.severity {
            self.highest_severity = self.highest_severity.min(s);
        }
    }
}

/// What is known of TX at a point of the phases.
#[derive(Debug, Clone, Default)]
struct State {
    /// Known present keys. A key neither here nor unknown is known absent.
    known: BTreeMap<String, Vec<u8>>,
    unknown: BTreeSet<String>,
    /// Every key starting with one of these is unknown.
    unknown_prefixes: Vec<String>,
    /// Rules the caller removed.
    removals: Vec<RuleSel>,
}

impl State {
    fn is_known(&self, key: &str) -> bool {
        !self.unknown.contains(key) && !self.unknown_prefixes.iter().any(|p| key.starts_with(p))
    }

    fn forget(&mut self, key: &str) {
        self.known.remove(key);
        self.unknown.insert(key.to_string());
    }

    fn forget_prefix(&mut self, prefix: &str) {
        self.known.retain(|k, _| !k.starts_with(prefix));
        if !self.unknown_prefixes.iter().any(|p| p == prefix) {
            self.unknown_prefixes.push(prefix.to_string());
        }
    }

    /// What holds on both paths.
    fn join(mut self, other: State) -> State {
        let keys: BTreeSet<String> = self
            .known
            .keys()
            .chain(other.known.keys())
            .cloned()
            .collect();
        for k in keys {
            if self.known.get(&k) != other.known.get(&k) {
                self.forget(&k);
            }
        }
        self.unknown.extend(other.unknown);
        for p in other.unknown_prefixes {
            if !self.unknown_prefixes.contains(&p) {
                self.unknown_prefixes.push(p);
            }
        }
        self
    }
}

fn join(a: Option<State>, b: Option<State>) -> Option<State> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.join(b)),
        (a, b) => a.or(b),
    }
}

/// The TX key a target or macro reference names, when it names one TX key.
fn tx_key(t: &Target) -> Option<&str> {
    match &t.selector {
        Selector::Key(k) if t.variable == Variable::Tx => std::str::from_utf8(k).ok(),
        _ => None,
    }
}

/// Whether a link of a rule the caller did not remove can be evaluated in `state` when the
/// plan is made (see the module's documentation).
fn foldable(link: &Rule, state: &State) -> bool {
    let known = |t: &Target| tx_key(t).is_some_and(|k| state.is_known(k));
    if link.actions.capture || !link.exclusions.is_empty() {
        return false;
    }
    let operator = match &link.operator {
        None => true,
        Some(op) => match op.op.depends_on() {
            Some(Some(arg)) => arg.references().all(known),
            Some(None) => true,
            None => false,
        },
    };
    operator
        && link.targets.iter().all(known)
        && link.actions.effects.iter().all(|e| match e {
            Effect::SetVar(sv) => {
                sv.collection == "tx"
                    && sv.key.literal().is_some_and(|k| {
                        std::str::from_utf8(k).is_ok_and(|k| {
                            !matches!(sv.op, SetVarOp::Add(_) | SetVarOp::Sub(_))
                                || state.is_known(k)
                        })
                    })
                    && match &sv.op {
                        SetVarOp::Set(m) | SetVarOp::Add(m) | SetVarOp::Sub(m) => {
                            m.references().all(known)
                        }
                        SetVarOp::Delete => true,
                    }
            }
            Effect::Ctl(_) | Effect::SetEnv(..) => false,
        })
}

/// Whether a whole-chain match of the rule has no effect but its links' (no log, no
/// disruptive action but `pass`).
fn quiet_on_match(rule: &Rule) -> bool {
    let disruptive = match &rule.disruptive {
        Disruptive::Block => &rule.block_as,
        d => d,
    };
    !rule.log && matches!(disruptive, Disruptive::Pass)
}

/// Where evaluation goes on after `rule`, at `i` in `entries`, matched: past its
/// `skipAfter` marker (the phase's end when the marker is not ahead), past `skip` more
/// rules, or at the next entry.
pub(super) fn next_after_match(entries: &[Entry], i: usize, rule: &Rule) -> usize {
    if rule.actions.skip_after.is_some() {
        let at = rule.skip_to as usize;
        return if rule.skip_to != crate::rule::NO_MARKER && at > i {
            at + 1
        } else {
            entries.len()
        };
    }
    let mut next = i + 1;
    let mut left = rule.actions.skip;
    while left > 0 && next < entries.len() {
        if matches!(entries[next], Entry::Rule(_)) {
            left -= 1;
        }
        next += 1;
    }
    next
}

/// Makes every key a rule evaluated per transaction may write unknown.
fn forget_writes(rule: &Rule, state: &mut State) {
    for link in rule.links() {
        if link.actions.capture {
            for d in 0..10 {
                state.forget(&d.to_string());
            }
        }
        for effect in &link.actions.effects {
            match effect {
                // Scores: assumed unchanged (see the module's documentation).
                Effect::SetVar(SetVar {
                    op: SetVarOp::Add(_) | SetVarOp::Sub(_),
                    ..
                }) => {}
                Effect::SetVar(sv) if sv.collection == "tx" => match sv.key.literal() {
                    Some(k) => state.forget(&String::from_utf8_lossy(k)),
                    None => state.forget_prefix(
                        &String::from_utf8_lossy(sv.key.literal_prefix()).to_ascii_lowercase(),
                    ),
                },
                _ => {}
            }
        }
    }
}

/// Makes the plan for a start (see the module's documentation).
fn make(
    rules: &Arc<RuleSet>,
    tx: Vec<(String, Vec<u8>)>,
    removed_ids: Vec<IdRange>,
    removed_tags: Vec<Arc<[bool]>>,
) -> Plan {
    let mut scratch = Transaction::new(rules.clone());
    let mut state = Some(State {
        known: tx.iter().cloned().collect(),
        removals: std::iter::once(RuleSel::Ids(removed_ids.clone()))
            .chain(removed_tags.iter().map(|m| RuleSel::Tags(m.clone())))
            .collect(),
        ..State::default()
    });
    // Phases 1 to 5 in order, and phase 5 straight after phase 2 (no response phases).
    let mut steps: [Vec<Option<Box<Folded>>>; 6] = Default::default();
    let mut after_two = None;
    for (p, phase) in steps.iter_mut().take(5).enumerate() {
        *phase = plan_phase(rules, &mut scratch, p, &mut state);
        if p == 1 {
            after_two = state.clone();
        }
    }
    steps[5] = plan_phase(rules, &mut scratch, 4, &mut after_two);
    Plan {
        tx,
        removed_ids,
        removed_tags,
        steps,
    }
}

/// The steps of one phase, from `state` (its start; brought to its end).
fn plan_phase(
    rules: &RuleSet,
    scratch: &mut Transaction,
    p: usize,
    state: &mut Option<State>,
) -> Vec<Option<Box<Folded>>> {
    let entries = &rules.phases[p];
    let mut steps: Vec<Option<Box<Folded>>> = entries.iter().map(|_| None).collect();
    // States arriving by jumps, per target entry (the last one: the phase's end).
    let mut arriving: Vec<Option<State>> = vec![None; entries.len() + 1];
    for (i, entry) in entries.iter().enumerate() {
        let Some(mut st) = join(state.take(), arriving[i].take()) else {
            // Not reached whatever the request: never evaluated.
            continue;
        };
        let Entry::Rule(rule) = entry else {
            *state = Some(st);
            continue;
        };
        if !st.removals.iter().any(|r| r.applies(rule))
            && let Some(folded) = scratch.fold(rule, &mut st, entries, i)
        {
            let next = folded.next as usize;
            if next == i + 1 {
                *state = Some(st);
            } else {
                arriving[next] = join(arriving[next].take(), Some(st));
            }
            steps[i] = Some(Box::new(folded));
            continue;
        }
        forget_writes(rule, &mut st);
        if rule.actions.skip_after.is_some() || rule.actions.skip > 0 {
            let next = next_after_match(entries, i, rule);
            arriving[next] = join(arriving[next].take(), Some(st.clone()));
        }
        *state = Some(st);
    }
    *state = join(state.take(), arriving[entries.len()].take());
    // Runs of folded rules that do nothing are passed over at once (backwards: every
    // later step is settled first).
    for i in (0..entries.len()).rev() {
        let Some(f) = &steps[i] else { continue };
        if !f.does_nothing() {
            continue;
        }
        let mut next = f.next as usize;
        loop {
            if matches!(entries.get(next), Some(Entry::Marker(_))) {
                next += 1;
            } else if let Some(Some(g)) = steps.get(next)
                && g.does_nothing()
            {
                next = g.next as usize;
            } else {
                break;
            }
        }
        if let Some(f) = &mut steps[i] {
            f.next = next as u32;
        }
    }
    steps
}

impl Transaction {
    /// Evaluates a foldable rule at `i` in `entries` with TX as `state` knows it, and brings
    /// `state` to what follows; `None` (and `state` untouched) when the rule matched but a
    /// match has effects a plan cannot replay.
    fn fold(
        &mut self,
        rule: &Rule,
        state: &mut State,
        entries: &[Entry],
        i: usize,
    ) -> Option<Folded> {
        self.collections.tx().reset();
        for (k, v) in &state.known {
            self.collections.tx().set(k, v);
        }
        self.matched_var = None;
        self.matched_len = 0;
        // Link by link, as far as the outcome is known: a link that does not match ends the
        // chain (what it depends on past there does not matter), a link that cannot be
        // evaluated here before one did not leaves the rule to each transaction.
        let mut matched = true;
        for link in rule.links() {
            if !foldable(link, state) {
                return None;
            }
            if !self.eval_link(rule, link) {
                matched = false;
                break;
            }
        }
        if matched && !quiet_on_match(rule) {
            return None;
        }
        let after: BTreeMap<String, Vec<u8>> = self
            .collections
            .get("tx")?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut writes = Vec::new();
        for (k, v) in &after {
            if state.known.get(k) != Some(v) {
                writes.push((k.clone(), Some(v.clone())));
            }
        }
        for k in state.known.keys() {
            if !after.contains_key(k) {
                writes.push((k.clone(), None));
            }
        }
        for (k, _) in &writes {
            state.unknown.remove(k);
        }
        state.known = after;
        Some(Folded {
            next: if matched {
                next_after_match(entries, i, rule) as u32
            } else {
                i as u32 + 1
            },
            writes,
            matched_var: self.matched_var.take(),
            severity: rule.actions.severity.filter(|_| matched),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Engine;
    use crate::rule::Entry;

    fn engine(rules: &str) -> Engine {
        Engine::from_text(&format!("SecRuleEngine On\n{rules}"), "plan.conf").unwrap()
    }

    /// Runs phases 1 and 2 of a GET after setting `presets`; the status of the
    /// interruption (0 for none) and the ids of the logged matches.
    fn run(engine: &Engine, uri: &str, presets: &[(&str, &str)]) -> (u16, Vec<u32>) {
        let mut tx = engine.transaction();
        for (k, v) in presets {
            tx.set_tx_var(k, v.as_bytes());
        }
        tx.process_uri(b"GET", uri.as_bytes(), b"HTTP/1.1");
        let mut stop = tx.process_request_headers();
        if stop.is_none() {
            stop = tx.process_request_body();
        }
        (
            stop.map_or(0, |s| s.status),
            tx.matched_rules().iter().map(|m| m.id).collect(),
        )
    }

    /// The ids of the rules the plan for `presets` folded, by phase (after a transaction
    /// made it).
    fn folded(engine: &Engine, presets: &[(&str, &str)]) -> [Vec<u32>; 2] {
        run(engine, "/", presets);
        let mut tx = engine.transaction();
        for (k, v) in presets {
            tx.set_tx_var(k, v.as_bytes());
        }
        let plan = tx.find_plan().expect("a plan");
        [0, 1].map(|p| {
            engine.rules.phases[p]
                .iter()
                .zip(&plan.steps[p])
                .filter_map(|(e, s)| match (e, s) {
                    (Entry::Rule(r), Some(_)) => Some(r.id),
                    _ => None,
                })
                .collect()
        })
    }

    #[test]
    fn rules_on_constants_are_folded_and_replayed() {
        let e = engine(
            r#"
SecRule &TX:threshold "@eq 0" "id:1,phase:1,pass,nolog,setvar:tx.threshold=5"
SecRule &TX:pl "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.pl=1"
SecAction "id:3,phase:1,pass,nolog,setvar:tx.score=0"
SecRule TX:pl "@lt 2" "id:4,phase:1,pass,nolog,skipAfter:END-PL2"
SecRule ARGS "@rx evil" "id:5,phase:1,pass,log,setvar:tx.score=+%{tx.threshold}"
SecMarker END-PL2
SecRule ARGS "@rx bad" "id:6,phase:1,pass,log,setvar:tx.score=+%{tx.threshold}"
SecRule TX:score "@ge %{tx.threshold}" "id:7,phase:2,deny,status:403,log"
"#,
        );
        // Rule 7 reads a score: folded as if nothing added to it (it does not match), until
        // rule 5 or 6 adds to it and the transaction leaves the plan.
        assert_eq!(folded(&e, &[]), [vec![1, 2, 3, 4], vec![7]]);
        assert_eq!(run(&e, "/?q=evil", &[]), (0, vec![]));
        assert_eq!(run(&e, "/?q=bad", &[]), (403, vec![6, 7]));
        // Another start, another plan: at level 2, rule 5 runs.
        assert_eq!(folded(&e, &[("pl", "2")]), [vec![1, 2, 3, 4], vec![7]]);
        assert_eq!(run(&e, "/?q=evil", &[("pl", "2")]), (403, vec![5, 7]));
        assert_eq!(run(&e, "/?q=ok", &[("pl", "2")]), (0, vec![]));
        // The replayed writes are there for the caller to read.
        let mut tx = e.transaction();
        tx.process_uri(b"GET", b"/", b"HTTP/1.1");
        tx.process_request_headers();
        assert_eq!(tx.tx_var("threshold"), Some(&b"5"[..]));
        assert_eq!(tx.tx_var("score"), Some(&b"0"[..]));
    }

    #[test]
    fn chains_failing_on_constants_are_folded_whatever_follows() {
        // CRS's limit checks: `&TX:limit "@eq 1"` chained to a test of ARGS.
        let e = engine(
            r#"
SecRule &TX:max_num_args "@eq 1" "id:1,phase:2,block,log,chain"
    SecRule &ARGS "@gt %{tx.max_num_args}" "setvar:tx.score=+5"
SecRule &TX:arg_length "@eq 0" "id:2,phase:2,pass,nolog,setvar:tx.seen=1,chain"
    SecRule ARGS "@rx evil" "setvar:tx.score=+5"
SecRule TX:score "@ge 5" "id:3,phase:2,deny,status:403,log"
"#,
        );
        // Rule 1 fails on its first link without the limit, so it is folded; rule 2 passes
        // its first link and leaves the rest to the request.
        assert_eq!(folded(&e, &[]), [vec![], vec![1, 3]]);
        assert_eq!(run(&e, "/?a=1&b=2&c=3", &[]), (0, vec![]));
        assert_eq!(run(&e, "/?q=evil", &[]), (403, vec![3]));
        // With the limit set, rule 1's chain is the request's to evaluate.
        let limit = [("max_num_args", "2")];
        assert_eq!(folded(&e, &limit), [vec![], vec![3]]);
        assert_eq!(run(&e, "/?a=1&b=2&c=3", &limit), (403, vec![1, 3]));
        assert_eq!(run(&e, "/?a=1", &limit), (0, vec![]));
        // Rule 2's first link ran per request: its write is there.
        let mut tx = e.transaction();
        tx.process_uri(b"GET", b"/?a=1", b"HTTP/1.1");
        tx.process_request_headers();
        tx.process_request_body();
        assert_eq!(tx.tx_var("seen"), Some(&b"1"[..]));
    }

    #[test]
    fn keys_a_request_may_write_are_not_folded() {
        let e = engine(
            r#"
SecRule ARGS:a "@rx ." "id:1,phase:1,pass,nolog,setvar:tx.x=1"
SecRule TX:x "@eq 1" "id:2,phase:1,deny,status:403"
SecRule ARGS:b "@rx ^(\w+)$" "id:3,phase:1,pass,nolog,capture,setvar:'tx.k_%{tx.1}=1'"
SecRule TX:k_z "@eq 1" "id:4,phase:1,deny,status:406"
SecRule &TX:y "@eq 0" "id:5,phase:1,pass,nolog,skip:1"
SecAction "id:6,phase:1,pass,nolog,setvar:tx.y=1"
SecRule TX:y "@eq 1" "id:7,phase:1,deny,status:409"
"#,
        );
        assert_eq!(folded(&e, &[]), [vec![5, 7], vec![]]);
        assert_eq!(run(&e, "/?a=1", &[]).0, 403);
        assert_eq!(run(&e, "/?b=z", &[]).0, 406);
        assert_eq!(run(&e, "/?b=y", &[]).0, 0);
        assert_eq!(run(&e, "/", &[]).0, 0);
    }

    #[test]
    fn jumps_of_request_rules_join_both_paths() {
        let e = engine(
            r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.m=0"
SecRule ARGS:skip "@rx ." "id:2,phase:1,pass,nolog,skipAfter:END"
SecAction "id:3,phase:1,pass,nolog,setvar:tx.m=1,setvar:tx.same=1"
SecMarker END
SecRule TX:m "@eq 1" "id:4,phase:1,deny,status:403"
SecAction "id:5,phase:2,pass,nolog,setvar:tx.same=1"
SecRule TX:same "@eq 1" "id:6,phase:2,pass,nolog,setvar:tx.seen=1"
SecRule TX:seen "@eq 1" "id:7,phase:2,deny,status:406"
"#,
        );
        // 4 reads a key set on one path only; 6 one that both paths leave the same.
        assert_eq!(folded(&e, &[]), [vec![1, 3], vec![5, 6]]);
        assert_eq!(run(&e, "/?skip=1", &[]).0, 406);
        assert_eq!(run(&e, "/", &[]).0, 403);
    }

    #[test]
    fn removals_leave_the_plan_or_make_their_own() {
        let e = engine(
            r#"
SecRule ARGS:off "@rx ." "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=10"
SecAction "id:10,phase:1,pass,nolog,setvar:tx.on=1"
SecRule TX:on "@eq 1" "id:11,phase:2,deny,status:403"
SecAction "id:12,phase:2,pass,nolog,setvar:tx.z=1"
"#,
        );
        // Rule 10 is folded, as if rule 1 never matched; when it does, the transaction
        // leaves the plan and rule 10 is removed.
        assert_eq!(folded(&e, &[]), [vec![10], vec![12]]);
        assert_eq!(run(&e, "/?off=1", &[]).0, 0);
        assert_eq!(run(&e, "/", &[]).0, 403);
        // Removed by the caller (a per-path exclusion): a plan of its own.
        let mut tx = e.transaction();
        tx.remove_rules_by_id(vec![crate::actions::IdRange(10, 10)]);
        tx.process_uri(b"GET", b"/", b"HTTP/1.1");
        assert!(tx.process_request_headers().is_none());
        assert!(tx.process_request_body().is_none());
        assert_eq!(tx.tx_var("on"), None);
        assert_eq!(tx.tx_var("z"), Some(&b"1"[..]));
    }

    #[test]
    fn logging_follows_the_plan_after_the_request_or_the_response() {
        let e = engine(
            r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1"
SecRule RESPONSE_STATUS "@streq 500" "id:2,phase:3,pass,nolog,setvar:tx.a=2"
SecRule TX:a "@eq 1" "id:3,phase:5,pass,nolog,setvar:tx.b=1"
"#,
        );
        let logged = |status: Option<u16>| {
            let mut tx = e.transaction();
            tx.process_uri(b"GET", b"/", b"HTTP/1.1");
            assert!(tx.process_request_headers().is_none());
            assert!(tx.process_request_body().is_none());
            if let Some(status) = status {
                assert!(tx.process_response_headers(status, b"HTTP/1.1").is_none());
                assert!(tx.process_response_body().is_none());
            }
            tx.process_logging();
            tx.tx_var("b").map(<[u8]>::to_vec)
        };
        assert_eq!(logged(None), Some(b"1".to_vec()));
        assert_eq!(logged(Some(200)), Some(b"1".to_vec()));
        assert_eq!(logged(Some(500)), None);
        let plan = e.transaction().find_plan().expect("a plan");
        // After the response phases, rule 3 reads a key rule 2 may have set.
        assert!(plan.steps[4].iter().all(Option::is_none));
        assert!(plan.steps[5].iter().any(Option::is_some));
    }

    #[test]
    fn phase_two_follows_the_plan_only_after_all_of_phase_one() {
        let e = engine(
            r#"
SecRule ARGS:ok "@rx ." "id:1,phase:1,allow:phase"
SecAction "id:2,phase:1,pass,nolog,setvar:tx.v=1"
SecRule TX:v "@eq 1" "id:3,phase:2,pass,nolog,setvar:tx.w=1"
SecRule TX:w "@eq 1" "id:4,phase:2,deny,status:403"
"#,
        );
        assert_eq!(folded(&e, &[]), [vec![2], vec![3]]);
        assert_eq!(run(&e, "/", &[]).0, 403);
        // Phase 1 stopped by `allow:phase` before rule 2.
        assert_eq!(run(&e, "/?ok=1", &[]).0, 0);
        // TX changed by the caller between the phases.
        let mut tx = e.transaction();
        tx.process_uri(b"GET", b"/", b"HTTP/1.1");
        assert!(tx.process_request_headers().is_none());
        tx.set_tx_var("v", b"0");
        assert!(tx.process_request_body().is_none());
    }
}
