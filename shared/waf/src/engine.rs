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

/// The built-in rule pack, in SecLang.
pub const BUILTIN_RULES: &str = include_str!("../rules/builtin.conf");

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

/// A compiled rule set.
#[derive(Debug)]
pub struct RuleSet {
    pub config: Config,
    /// Phases 1–5 at indexes 0–4.
    pub(crate) phases: [Vec<Entry>; 5],
    /// Per phase: marker name → index of the marker entry.
    pub(crate) markers: [HashMap<String, usize>; 5],
    /// Per transformation chain: one automaton over the required literals of every rule link
    /// using that chain. One pass over a transformed value tells which of those links can
    /// match it at all.
    pub(crate) groups: Vec<Option<PrefilterGroup>>,
    /// Every distinct tag of every rule; rules refer to them by index.
    pub(crate) tags: Vec<String>,
    /// Transformation caches of finished transactions, emptied but with their capacity, so
    /// that a large request does not pay for growing (and faulting in) a fresh table.
    pub(crate) spare_caches: std::sync::Mutex<Vec<crate::transaction::TCache>>,
}

/// The grouped prefilter of one transformation chain.
#[derive(Debug)]
pub(crate) struct PrefilterGroup {
    pub ac: aho_corasick::AhoCorasick,
    /// Pattern index → slot (rule link) it belongs to.
    pub slot_of: Vec<u32>,
    pub slots: usize,
}

impl PrefilterGroup {
    /// The slots whose literals occur in `value`.
    pub fn hits(&self, value: &[u8]) -> Hits {
        let mut small = [0u64; 4];
        let mut large = (self.slots > 256).then(|| vec![0u64; self.slots.div_ceil(64)]);
        for m in self.ac.find_overlapping_iter(value) {
            let s = self.slot_of[m.pattern().as_usize()] as usize;
            match large.as_mut() {
                Some(bits) => bits[s / 64] |= 1 << (s % 64),
                None => small[s / 64] |= 1 << (s % 64),
            }
        }
        match large {
            Some(bits) => Hits::Large(std::sync::Arc::from(bits)),
            None => Hits::Small(small),
        }
    }
}

/// A bitset of prefilter slots; groups of up to 256 slots (all of CRS's) need no allocation.
#[derive(Debug, Clone)]
pub(crate) enum Hits {
    Small([u64; 4]),
    Large(std::sync::Arc<[u64]>),
}

impl Hits {
    pub fn empty(slots: usize) -> Hits {
        if slots > 256 {
            Hits::Large(std::sync::Arc::from(vec![0u64; slots.div_ceil(64)]))
        } else {
            Hits::Small([0; 4])
        }
    }

    /// Adds `other`'s slots to these.
    pub fn union(&mut self, other: &Hits) {
        match (self, other) {
            (Hits::Small(a), Hits::Small(b)) => {
                for (x, y) in a.iter_mut().zip(b) {
                    *x |= y;
                }
            }
            (Hits::Large(a), Hits::Large(b)) => {
                let merged: Vec<u64> = a.iter().zip(b.iter()).map(|(x, y)| x | y).collect();
                *a = std::sync::Arc::from(merged);
            }
            // Both sides come from the same group, so they have the same size.
            _ => {}
        }
    }

    pub fn contains(&self, slot: u32) -> bool {
        let s = slot as usize;
        let word = match self {
            Hits::Small(b) => b.get(s / 64),
            Hits::Large(b) => b.get(s / 64),
        };
        word.is_some_and(|w| w & (1 << (s % 64)) != 0)
    }
}

/// A prefilter group being built: patterns, the slot of each pattern, number of slots.
type RawGroup = (Vec<Vec<u8>>, Vec<u32>, usize);

fn assign_slots(rule: &mut crate::rule::Rule, groups: &mut Vec<RawGroup>) {
    let mut link = Some(rule);
    while let Some(r) = link {
        if let Some(op) = &r.operator
            && !op.literals.is_empty()
        {
            let g = r.tchain as usize;
            if groups.len() <= g {
                groups.resize_with(g + 1, Default::default);
            }
            let (pats, slot_of, slots) = &mut groups[g];
            let slot = *slots as u32;
            *slots += 1;
            for l in &op.literals {
                pats.push(l.clone());
                slot_of.push(slot);
            }
            r.slot = Some(slot);
        }
        link = r.chain.as_deref_mut();
    }
}

impl RuleSet {
    pub(crate) fn new(config: Config, mut phases: [Vec<Entry>; 5]) -> RuleSet {
        let mut raw = Vec::new();
        let mut tags: Vec<String> = Vec::new();
        let mut tag_index: HashMap<String, u16> = HashMap::new();
        for entry in phases.iter_mut().flatten() {
            if let Entry::Rule(r) = entry {
                assign_slots(r, &mut raw);
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
        let groups = raw
            .into_iter()
            .map(|(pats, slot_of, slots)| {
                if slots == 0 {
                    return None;
                }
                aho_corasick::AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(&pats)
                    .ok()
                    .map(|ac| PrefilterGroup { ac, slot_of, slots })
            })
            .collect();
        let markers = std::array::from_fn(|p| {
            phases[p]
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e {
                    Entry::Marker(m) => Some((m.clone(), i)),
                    Entry::Rule(_) => None,
                })
                .collect()
        });
        RuleSet {
            config,
            phases,
            markers,
            groups,
            tags,
            spare_caches: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Which tags match a tag pattern (`ctl:ruleRemoveByTag=…`), as a mask over `tags`.
    pub(crate) fn tag_mask(&self, pattern: &regex::bytes::Regex) -> Vec<bool> {
        self.tags
            .iter()
            .map(|t| pattern.is_match(t.as_bytes()))
            .collect()
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
