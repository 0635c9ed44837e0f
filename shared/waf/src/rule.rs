//! A compiled rule: targets, operator, actions, and the links of its chain.

use std::sync::Arc;

use crate::actions::{Actions, Disruptive};
use crate::operators::Operator;
use crate::transformations::Transformation;
use crate::variables::{Exclusion, Target};

/// The operator of a rule, with its negation.
#[derive(Debug)]
pub struct RuleOperator {
    pub negated: bool,
    pub op: Box<dyn Operator>,
    /// When set, a value can only match if it contains one of the operator's required
    /// literals (ASCII case-insensitively): one automaton pass instead of a regex run. Only
    /// ever set for non-negated operators.
    pub prefilter: Option<aho_corasick::AhoCorasick>,
    /// The literals behind `prefilter`, for the rule set's prefilter.
    pub literals: Vec<Vec<u8>>,
    /// Without literals: bytes of which a value must hold one to match. Only ever set for
    /// non-negated operators.
    pub bytes: Option<crate::prefilter::ByteSet>,
    /// For an operator whose answer depends on its input alone, its bit in the rule set's
    /// memo of request-head values (`engine::KnownHits`: the operators each value did not
    /// match), or [`NO_MEMO`].
    pub memo: u32,
}

/// `RuleOperator::memo` of an operator without a bit.
pub const NO_MEMO: u32 = u32::MAX;

/// `Rule::skip_to` when the marker is not in the phase.
pub const NO_MARKER: u32 = u32::MAX;

/// `Rule::union_ids` of a target without a union.
pub const NO_UNION: u32 = u32::MAX;

#[derive(Debug)]
pub struct Rule {
    /// 0 for chain links.
    pub id: u32,
    pub phase: u8,
    pub file: Arc<str>,
    pub line: usize,
    pub targets: Vec<Target>,
    pub exclusions: Vec<Exclusion>,
    /// `None` for `SecAction`, which matches once, unconditionally.
    pub operator: Option<RuleOperator>,
    pub actions: Actions,
    /// Transformations after merging the phase's defaults and `t:none` (with the fused pair in
    /// place of `utf8toUnicode,urlDecodeUni` once the rule set is built: see
    /// `engine::assign_chains`).
    pub transformations: Vec<Transformation>,
    /// Identifies `transformations` (rules with equal lists share the id), for the
    /// per-transaction transformation cache; set when the rule set is built.
    pub tchain: u32,
    /// The transformations of `transformations` that may change more than ASCII case (bits
    /// by `Transformation::index`); set when the rule set is built.
    pub changes: u64,
    /// This link's bit in the rule set's prefilter (see `RuleSet::prefilter`), when its
    /// operator has required literals or a small set of required bytes.
    pub slot: Option<u32>,
    /// Per target: which key a one-key target (`REQUEST_HEADERS:User-Agent`) names, as an id
    /// shared by every rule naming the same key (0 for other targets); set when the rule set
    /// is built. Keys the per-transaction prefilter unions, so rules naming one header share
    /// its union.
    pub union_keys: Vec<u32>,
    /// Per target: the index of its union of prefilter hits in a transaction's union cache
    /// (one per distinct chain, variable and key), or [`NO_UNION`] for targets without one
    /// (counted or volatile); set when the rule set is built.
    pub union_ids: Vec<u32>,
    /// Per target with a union: the index of its variable's (or key's) groups of values in
    /// a transaction's group cache (one per distinct variable and key; see `Groups`), else
    /// [`NO_UNION`]; set when the rule set is built.
    pub group_ids: Vec<u32>,
    /// With `skipAfter`: the position of its marker in the phase's entries, or
    /// [`NO_MARKER`] when the phase has none of that name (the rest of the phase is skipped);
    /// set when the rule set is built.
    pub skip_to: u32,
    /// Bytes of which a value must hold one for this link to match it (see `needs`), when
    /// known; set when the rule set is built.
    pub needs: Option<Box<crate::prefilter::ByteSet>>,
    /// In a `multiMatch` link, its `utf8toUnicode` directly followed by `urlDecodeUni`, which
    /// the walk fuses for a value where the test between them would miss; set when the rule
    /// set is built.
    pub unicode_stage: Option<UnicodeStage>,
    /// In a `multiMatch` link, the bytes of which each stage it tests must hold one for the
    /// operator to match it (the operator's own part of `needs`), when known; set when the
    /// rule set is built.
    pub stage_needs: Option<Box<crate::prefilter::ByteSet>>,
    /// This link's bit in the rule set's memo of the request-head values it did not match
    /// (`engine::KnownClean`), or `engine::NO_CLEAN`; set when the rule set is built.
    pub clean: u32,
    /// With a `clean` bit: per target, the id of the set of values it reads (its variable,
    /// the one key it names or every key, less the link's exclusions of that variable),
    /// shared by every link reading the same set; set when the rule set is built.
    pub clean_sets: Vec<u32>,
    /// The disruptive action after resolving defaults (`block` stays `Block` and is resolved
    /// against the phase default when it fires).
    pub disruptive: Disruptive,
    /// What `block` means for this rule: the disruptive action of the phase's
    /// `SecDefaultAction` in force where the rule was written.
    pub block_as: Disruptive,
    /// That `SecDefaultAction`'s status.
    pub default_status: Option<u16>,
    /// Whether a match is logged (the rule's `log`/`nolog`, else the phase default).
    pub log: bool,
    pub chain: Option<Box<Rule>>,
    /// Indexes of this rule's tags in `RuleSet::tags` (set when the rule set is built), so
    /// that removals by tag test a bit instead of running a regex per tag.
    pub tag_ids: Vec<u16>,
}

impl Rule {
    /// The link's prefilter slot, when the unions of its targets' hits can rule the link out:
    /// it has a slot, and every target a union (the one condition both the walk,
    /// `link_may_match`, and the phase's `Skip` records go by).
    pub(crate) fn union_slot(&self) -> Option<u32> {
        let slot = self.slot?;
        (self.union_ids.len() == self.targets.len() && !self.union_ids.contains(&NO_UNION))
            .then_some(slot)
    }

    /// The word and the bit of `clean` in a value's link bits (see `engine::KnownClean`).
    pub(crate) fn clean_bit(&self) -> (usize, u64) {
        (self.clean as usize / 64, 1 << (self.clean % 64))
    }

    pub fn tags(&self) -> &[String] {
        &self.actions.tags
    }

    /// The links of the chain this rule starts: itself, then each `chain` link in turn.
    pub fn links(&self) -> impl Iterator<Item = &Rule> {
        std::iter::successors(Some(self), |r| r.chain.as_deref())
    }
}

/// One entry of a phase's rule list.
#[derive(Debug)]
pub enum Entry {
    Rule(Box<Rule>),
    Marker(String),
}

/// A `multiMatch` link's `utf8toUnicode` directly followed by `urlDecodeUni` (see
/// `Rule::unicode_stage`): the walk tests the value between them only where its operator might
/// match it, and otherwise goes on with the fused pair, which does not make that value (four
/// times a Chinese text's length).
#[derive(Debug, Clone)]
pub struct UnicodeStage {
    /// The position of `utf8toUnicode` in the link's transformations.
    pub at: usize,
    /// The pair as one (`transformations::UTF8_URL_DECODE_UNI`).
    pub fused: Transformation,
    /// Bytes of which the input of `utf8toUnicode` must hold one for the operator to match
    /// its output (see `needs`), when known.
    pub needs: Option<Box<crate::prefilter::ByteSet>>,
}
