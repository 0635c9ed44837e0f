//! A matched link's non-disruptive actions: `setvar` on the collections, `ctl` on the
//! transaction, `setenv`.

use std::borrow::Cow;
use std::io::Write as _;

use super::{RuleSel, Transaction, collection_key, plan};
use crate::actions::{Ctl, Effect, SetVar, SetVarOp};
use crate::rule::Rule;
use crate::variables::atoi;

impl Transaction {
    /// Runs a matched link's non-disruptive actions: `setvar`, `ctl`, `setenv`.
    pub(super) fn run_effects(&mut self, rule: &Rule) {
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
}
