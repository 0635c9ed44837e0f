//! The compiled rule set ([`Engine`]) and its configuration. An engine is immutable and
//! shared (`Arc`) by every transaction; loading a new rule set builds a new engine, so a
//! failed load leaves the running one untouched.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::actions::Disruptive;
use crate::rule::Entry;
use crate::seclang::{self, ParseError};
use crate::transaction::Transaction;
use crate::transformations::Transformation;

mod clean;
mod known;
mod prefilter;
mod seq;

use clean::assign_clean;
pub(crate) use clean::{KnownClean, NO_CLEAN};
pub(crate) use known::{KNOWN_HITS_MAX, KnownHits, KnownMisses};
pub(crate) use prefilter::{Hits, MAX_SLOT_BYTES, Prefilter};
use prefilter::{RawPrefilter, assign_memos, assign_slots};

/// The built-in rule pack, in SecLang.
pub const BUILTIN_RULES: &str = include_str!("../../rules/builtin.conf");

/// `SecRuleEngine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    On,
    DetectionOnly,
    Off,
}

impl EngineMode {
    pub fn parse(v: &str) -> Result<EngineMode, String> {
        match v.trim().to_ascii_lowercase().as_str() {
            "on" => Ok(EngineMode::On),
            "detectiononly" => Ok(EngineMode::DetectionOnly),
            "off" => Ok(EngineMode::Off),
            other => Err(format!("expected On, DetectionOnly or Off, got {other:?}")),
        }
    }
}

/// What happens to a body beyond the inspection limit (`SecRequestBodyLimitAction`,
/// `SecResponseBodyLimitAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitAction {
    /// Reject the request (413) / response (500).
    Reject,
    /// Inspect the part within the limit, let the rest through, record `INBOUND_DATA_ERROR`.
    ProcessPartial,
}

/// Settings from the configuration directives.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: EngineMode,
    pub request_body_access: bool,
    pub request_body_limit: usize,
    pub request_body_no_files_limit: usize,
    pub request_body_limit_action: LimitAction,
    pub response_body_access: bool,
    pub response_body_limit: usize,
    pub response_body_limit_action: LimitAction,
    pub response_body_mime_types: Vec<String>,
    pub arguments_limit: usize,
    pub component_signatures: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: EngineMode::On,
            request_body_access: true,
            request_body_limit: 13_107_200,
            request_body_no_files_limit: 131_072,
            request_body_limit_action: LimitAction::Reject,
            response_body_access: false,
            response_body_limit: 524_288,
            response_body_limit_action: LimitAction::ProcessPartial,
            response_body_mime_types: vec!["text/plain".into(), "text/html".into()],
            arguments_limit: 1000,
            component_signatures: Vec::new(),
        }
    }
}

/// `SecDefaultAction` for one phase.
#[derive(Debug, Clone)]
pub struct DefaultAction {
    pub disruptive: Disruptive,
    pub status: Option<u16>,
    pub log: bool,
    pub transformations: Vec<Transformation>,
}

impl Default for DefaultAction {
    fn default() -> Self {
        DefaultAction {
            disruptive: Disruptive::Pass,
            status: None,
            log: true,
            transformations: Vec::new(),
        }
    }
}

/// A rule's first link as far as its unions of prefilter hits go: its slot and the unions
/// of its targets. When every union is known and lacks the slot, the link cannot match, nor
/// can the chain: evaluation passes over the rule without reading it (on a clean request,
/// most of CRS: a short record read in order instead of a rule's scattered allocations).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Skip {
    pub slot: u32,
    unions: [u32; SKIP_UNIONS],
    len: u8,
}

/// Targets of a link with a `Skip` at most (CRS's have up to seven).
const SKIP_UNIONS: usize = 8;

impl Skip {
    /// A rule's, when its first link's unions can rule it out (`Rule::union_slot`) by the
    /// slot alone (not so for `multiMatch`, which tests every stage of the chain).
    fn of(entry: &Entry) -> Option<Skip> {
        let Entry::Rule(rule) = entry else {
            return None;
        };
        let slot = rule.union_slot()?;
        if rule.operator.is_none() || rule.actions.multi_match || rule.union_ids.len() > SKIP_UNIONS
        {
            return None;
        }
        let mut unions = [0; SKIP_UNIONS];
        unions[..rule.union_ids.len()].copy_from_slice(&rule.union_ids);
        Some(Skip {
            slot,
            unions,
            len: rule.union_ids.len() as u8,
        })
    }

    pub fn unions(&self) -> &[u32] {
        &self.unions[..usize::from(self.len)]
    }
}

/// A compiled rule set.
#[derive(Debug)]
pub struct RuleSet {
    pub config: Config,
    /// Phases 1–5 at indexes 0–4.
    pub(crate) phases: [Vec<Entry>; 5],
    /// One automaton over the required literals of every rule link. One pass over a
    /// (transformed) value tells which links can match it at all.
    pub(crate) prefilter: Option<Prefilter>,
    /// Every distinct tag of every rule; rules refer to them by index.
    pub(crate) tags: Vec<String>,
    /// Number of distinct unions of prefilter hits rules use (see `Rule::union_ids`).
    pub(crate) union_count: usize,
    /// Per phase and entry, what tells that a rule's first link cannot match from the
    /// unions alone (see `Skip`).
    pub(crate) skips: [Vec<Option<Skip>>; 5],
    /// The variable of each union, by id.
    pub(crate) union_vars: Vec<crate::variables::Variable>,
    /// The variable of each group of values (see `Rule::group_ids`), by id.
    pub(crate) group_vars: Vec<crate::variables::Variable>,
    /// See `tag_mask`.
    tag_masks: HashMap<String, Arc<[bool]>>,
    /// Caches, collections and match buffers of finished transactions, emptied but with their
    /// capacity and keys, so that a request does not pay for growing (and faulting in) fresh
    /// ones (see `transaction::Spare`).
    pub(crate) spare_caches: std::sync::Mutex<Vec<crate::transaction::Spare>>,
    /// Per distinct start of a transaction (TX the caller set, rules it removed), the rules
    /// that depend on constants only, evaluated once (see `transaction::plan`).
    pub(crate) plans: crate::transaction::Plans,
    /// Request-head inputs costly operators did not match, for every transaction (see
    /// `KnownMisses`).
    pub(crate) known_misses: KnownMisses,
    /// The links each request-head value did not match, across transactions (see
    /// `KnownClean`).
    pub(crate) known_clean: KnownClean,
    /// The number of distinct sets of values links with a `KnownClean` bit read (see
    /// `Rule::clean_sets`).
    pub(crate) clean_sets: usize,
}

/// Puts the fused `utf8toUnicode,urlDecodeUni` (see `transformations::fused`) in place of each
/// `utf8toUnicode` directly followed by `urlDecodeUni` in a link that tests only its chain's
/// last value (a `multiMatch` link tests the value between them: its walk fuses the pair
/// value by value, where it can tell that test would miss), then numbers each distinct chain
/// (`Rule::tchain`, which keys transformed values in a transaction's cache: two links share
/// one only with the same transformations).
fn assign_chains(rule: &mut crate::rule::Rule, chains: &mut HashMap<Vec<u8>, u32>) {
    use crate::transformations::Transformation;
    let utf8 = Transformation::find("utf8toUnicode").map(|t| t.index);
    let decode = Transformation::find("urlDecodeUni").map(|t| t.index);
    let is_pair = |ts: &[Transformation], i: usize| {
        ts.get(i..i + 2)
            .is_some_and(|p| Some(p[0].index) == utf8 && Some(p[1].index) == decode)
    };
    let mut link = Some(rule);
    while let Some(r) = link {
        if r.actions.multi_match {
            r.unicode_stage = (0..r.transformations.len())
                .find(|&i| is_pair(&r.transformations, i))
                .map(|at| crate::rule::UnicodeStage {
                    at,
                    fused: Transformation::utf8_url_decode_uni(),
                    needs: None,
                });
        } else {
            let mut fused = Vec::with_capacity(r.transformations.len());
            let mut i = 0;
            while i < r.transformations.len() {
                if is_pair(&r.transformations, i) {
                    fused.push(Transformation::utf8_url_decode_uni());
                    i += 2;
                } else {
                    fused.push(r.transformations[i]);
                    i += 1;
                }
            }
            r.transformations = fused;
        }
        let key: Vec<u8> = r.transformations.iter().map(|t| t.index).collect();
        let next = chains.len() as u32;
        r.tchain = *chains.entry(key).or_insert(next);
        link = r.chain.as_deref_mut();
    }
}

/// Gives each one-key target of every link the id of its key (see `Rule::union_keys`), and
/// each target with a union the index of that union (see `Rule::union_ids`).
fn assign_union_keys(
    rule: &mut crate::rule::Rule,
    ids: &mut HashMap<Vec<u8>, u32>,
    unions: &mut HashMap<(u32, crate::variables::Variable, u32), u32>,
    groups: &mut HashMap<(crate::variables::Variable, u32), u32>,
) {
    let mut link = Some(rule);
    while let Some(r) = link {
        r.changes = r.transformations.iter().fold(0u64, |m, x| m | 1 << x.index)
            & !crate::transformations::case_only();
        r.union_keys = r
            .targets
            .iter()
            .map(|t| match &t.selector {
                crate::variables::Selector::Key(k) => {
                    let next = ids.len() as u32 + 1;
                    *ids.entry(k.clone()).or_insert(next)
                }
                _ => 0,
            })
            .collect();
        r.union_ids = r
            .targets
            .iter()
            .zip(&r.union_keys)
            .map(|(t, &key)| {
                if t.count || !t.variable.is_stable() {
                    return crate::rule::NO_UNION;
                }
                let next = unions.len() as u32;
                *unions.entry((r.tchain, t.variable, key)).or_insert(next)
            })
            .collect();
        r.group_ids = r
            .targets
            .iter()
            .zip(&r.union_keys)
            .zip(&r.union_ids)
            .map(|((t, &key), &union)| {
                if union == crate::rule::NO_UNION {
                    return crate::rule::NO_UNION;
                }
                let next = groups.len() as u32;
                *groups.entry((t.variable, key)).or_insert(next)
            })
            .collect();
        link = r.chain.as_deref_mut();
    }
}

/// Which of `tags` a tag pattern matches.
fn mask_of(tags: &[String], pattern: &regex::bytes::Regex) -> Arc<[bool]> {
    tags.iter()
        .map(|t| pattern.is_match(t.as_bytes()))
        .collect()
}

/// The tag masks of every `ctl:ruleRemove…ByTag` in the rules (see `RuleSet::tag_mask`).
fn ctl_tag_masks(phases: &[Vec<Entry>; 5], tags: &[String]) -> HashMap<String, Arc<[bool]>> {
    use crate::actions::{Ctl, Effect};
    let mut masks = HashMap::new();
    for entry in phases.iter().flatten() {
        let Entry::Rule(r) = entry else { continue };
        for effect in r.links().flat_map(|l| &l.actions.effects) {
            if let Effect::Ctl(Ctl::RuleRemoveByTag(re) | Ctl::RuleRemoveTargetByTag(re, _)) =
                effect
            {
                masks
                    .entry(re.as_str().to_string())
                    .or_insert_with(|| mask_of(tags, re));
            }
        }
    }
    masks
}

/// Forgets every link's prefilter slot (when the prefilter could not be built).
fn clear_slots(phases: &mut [Vec<Entry>; 5]) {
    for entry in phases.iter_mut().flatten() {
        if let Entry::Rule(r) = entry {
            let mut link = Some(&mut **r);
            while let Some(l) = link {
                l.slot = None;
                link = l.chain.as_deref_mut();
            }
        }
    }
}

impl RuleSet {
    pub(crate) fn new(config: Config, mut phases: [Vec<Entry>; 5]) -> RuleSet {
        let mut raw = RawPrefilter::default();
        let mut memos = 0;
        let mut clean = 0;
        let mut clean_sets = clean::CleanSets::new();
        let mut tags: Vec<String> = Vec::new();
        let mut tag_index: HashMap<String, u16> = HashMap::new();
        let mut key_ids: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut union_ids = HashMap::new();
        let mut group_ids = HashMap::new();
        let mut chains = HashMap::new();
        for entry in phases.iter_mut().flatten() {
            if let Entry::Rule(r) = entry {
                assign_chains(r, &mut chains);
                assign_slots(r, &mut raw);
                assign_memos(r, &mut memos);
                assign_clean(r, &mut clean, &mut clean_sets);
                crate::needs::assign_needs(r);
                assign_union_keys(r, &mut key_ids, &mut union_ids, &mut group_ids);
                r.tag_ids = r
                    .actions
                    .tags
                    .iter()
                    .map(|t| {
                        *tag_index.entry(t.clone()).or_insert_with(|| {
                            tags.push(t.clone());
                            (tags.len() - 1) as u16
                        })
                    })
                    .collect();
            }
        }
        let prefilter = if raw.is_empty() {
            None
        } else {
            let built = raw.build(memos);
            // Too large to build: every link is then evaluated (slower, same answers).
            if built.is_none() {
                clear_slots(&mut phases);
            }
            built
        };
        // `skipAfter` resolved to the marker's position once (see `Rule::skip_to`).
        let markers: [HashMap<String, usize>; 5] = std::array::from_fn(|p| {
            phases[p]
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e {
                    Entry::Marker(m) => Some((m.clone(), i)),
                    Entry::Rule(_) => None,
                })
                .collect()
        });
        for (p, entries) in phases.iter_mut().enumerate() {
            for entry in entries {
                if let Entry::Rule(r) = entry
                    && let Some(marker) = &r.actions.skip_after
                {
                    r.skip_to = markers[p]
                        .get(marker)
                        .map_or(crate::rule::NO_MARKER, |&at| at as u32);
                }
            }
        }
        let mut union_vars = vec![crate::variables::Variable::Args; union_ids.len()];
        for (&(_, variable, _), &id) in &union_ids {
            union_vars[id as usize] = variable;
        }
        let mut group_vars = vec![crate::variables::Variable::Args; group_ids.len()];
        for (&(variable, _), &id) in &group_ids {
            group_vars[id as usize] = variable;
        }
        let skips = std::array::from_fn(|p| phases[p].iter().map(Skip::of).collect());
        RuleSet {
            config,
            union_count: union_ids.len(),
            skips,
            union_vars,
            group_vars,
            tag_masks: ctl_tag_masks(&phases, &tags),
            phases,
            prefilter,
            tags,
            spare_caches: std::sync::Mutex::new(Vec::new()),
            plans: Default::default(),
            known_misses: KnownMisses::default(),
            known_clean: KnownClean::new(clean),
            clean_sets: clean_sets.len(),
        }
    }

    /// Which tags match a tag pattern (`ctl:ruleRemoveByTag=…`), as a mask over `tags`;
    /// for the patterns of the rules' own `ctl` actions, worked out when the set was built.
    pub(crate) fn tag_mask(&self, pattern: &regex::bytes::Regex) -> Arc<[bool]> {
        match self.tag_masks.get(pattern.as_str()) {
            Some(mask) => mask.clone(),
            None => mask_of(&self.tags, pattern),
        }
    }

    /// Number of rules (chains count once).
    pub fn rule_count(&self) -> usize {
        self.phases
            .iter()
            .flatten()
            .filter(|e| matches!(e, Entry::Rule(_)))
            .count()
    }

    /// Every rule id, in load order per phase.
    pub fn rule_ids(&self) -> Vec<u32> {
        self.phases
            .iter()
            .flatten()
            .filter_map(|e| match e {
                Entry::Rule(r) if r.id != 0 => Some(r.id),
                _ => None,
            })
            .collect()
    }
}

/// The WAF engine: a compiled rule set, cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) rules: Arc<RuleSet>,
}

impl Engine {
    /// Compiles SecLang text (`file` names it in error messages; `Include` and data files are
    /// resolved against the current directory).
    pub fn from_text(text: &str, file: &str) -> Result<Engine, ParseError> {
        let mut b = seclang::Builder::new();
        b.load_text(text, file, Path::new("."))?;
        Ok(b.build())
    }

    /// Compiles a list of files in order.
    pub fn from_files<P: AsRef<Path>>(files: &[P]) -> Result<Engine, ParseError> {
        let mut b = seclang::Builder::new();
        for f in files {
            b.load_file(f.as_ref())?;
        }
        Ok(b.build())
    }

    /// The built-in rule pack (`rules/builtin.conf`), on top of ModSecurity's recommended
    /// engine settings: the protection every site has with no other rule set installed.
    pub fn builtin() -> Engine {
        let mut b = seclang::Builder::new();
        // Both texts ship inside the binary and are covered by tests; failing to load them is
        // a build defect, not an operating condition.
        #[allow(clippy::expect_used)]
        {
            b.load_text(crate::ftw::BASE_CONFIG, "base.conf", Path::new("."))
                .expect("base.conf loads");
            b.load_text(BUILTIN_RULES, "builtin.conf", Path::new("."))
                .expect("builtin.conf loads");
        }
        b.build()
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Starts a transaction.
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.rules.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule that stops a GET of `uri` in phase 1 or 2, if any.
    fn stopped_by(engine: &Engine, uri: &str) -> Option<u32> {
        let mut tx = engine.transaction();
        tx.process_uri(b"GET", uri.as_bytes(), b"HTTP/1.1");
        tx.process_request_headers();
        tx.process_request_body().map(|i| i.rule_id)
    }

    #[test]
    fn rules_whose_unions_rule_them_out_are_passed_over() {
        let engine = Engine::from_text(
            "SecRuleEngine On\n\
             SecRule ARGS \"@rx evil\" \"id:1,phase:2,deny,status:403\"\n\
             SecRule ARGS \"@rx evil\" \"id:2,phase:2,deny,status:403,multiMatch,t:lowercase\"\n\
             SecRule ARGS|REQUEST_URI \"@rx ^.+$\" \"id:3,phase:2,pass,nolog\"\n\
             SecRule ARGS \"@rx bad\" \"id:4,phase:2,deny,status:403,chain\"\n\
             SecRule ARGS \"@rx worse\" \"t:none\"",
            "t.conf",
        )
        .unwrap();
        // multiMatch tests every stage; a link without literals has no slot.
        let kinds: Vec<bool> = engine.rules().skips[1]
            .iter()
            .map(Option::is_some)
            .collect();
        assert_eq!(kinds, [true, false, false, true]);
        let run = |uri: &str| stopped_by(&engine, uri);
        assert_eq!(run("/?a=evil"), Some(1));
        assert_eq!(run("/?a=bad&b=worse"), Some(4));
        assert_eq!(run("/?a=bad"), None);
        assert_eq!(run("/?a=fine"), None);
    }

    #[test]
    fn multi_match_stages_are_passed_over_by_their_own_hits() {
        let engine = Engine::from_text(
            "SecRuleEngine On\n\
             SecRule ARGS \"@rx <script\" \"id:1,phase:2,deny,status:403,multiMatch,\
             t:none,t:urlDecodeUni,t:lowercase\"",
            "t.conf",
        )
        .unwrap();
        let run = |uri: &str| stopped_by(&engine, uri);
        // The literal is only in a later stage (decoded, then lowercased): found there.
        assert_eq!(run("/?a=%253CSCRIPT%253E"), Some(1));
        assert_eq!(run("/?a=%3Cscript&b=%3Cscript"), Some(1));
        // In no stage: no match, the same value again answered from its marks.
        assert_eq!(run("/?a=%253Cscrip&b=%253Cscrip"), None);
        assert_eq!(run("/?a=plain"), None);
        // Stages longer than `STAGE_HITS_MAX`: tested through the operator's own literals,
        // with the same answers.
        let pad = "x".repeat(100);
        assert_eq!(run(&format!("/?a={pad}%253CSCRIPT%253E")), Some(1));
        assert_eq!(run(&format!("/?a={pad}%3CsCrIpT")), Some(1));
        assert_eq!(run(&format!("/?a={pad}%253Cscrip&b={pad}")), None);
    }
}
