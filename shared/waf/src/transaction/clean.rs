//! Links passed over because every value of their targets is known not to match them
//! (`engine::KnownClean`), and what a link that matched no value teaches that memo.

use super::{FastHash, Transaction};
use crate::engine::KNOWN_HITS_MAX;
use crate::rule::Rule;
use crate::variables::{
    Each, Selector, Target, Variable, collect, kv_at, kv_lists, request_line_value,
};
use std::collections::HashMap;

/// What `KnownClean` knows of the sets of values a transaction's link targets read (see
/// `Rule::clean_sets`), each read once (those of the variables the body fills, again once it
/// is parsed).
#[derive(Debug, Default)]
pub(crate) struct CleanCache {
    /// Per set id: 0 when not read, else 1 + its index in `sets`.
    at: Vec<u32>,
    sets: Vec<ValueSet>,
    /// The values read, by address (a value read for several sets is read once).
    by_address: HashMap<(usize, usize), u32, FastHash>,
    /// Per value read: its fingerprint.
    prints: Vec<u64>,
    /// Per value read, `words` each: the links known not to match it.
    bits: Vec<u64>,
    /// The values of the sets: per member, its value and its position in its variable's
    /// values (see `kv_at`).
    members: Vec<(u32, u32)>,
    /// Per set, `words` each: the links known not to match any of its values read.
    all: Vec<u64>,
    /// Words of link bits (`KnownClean::words`).
    words: usize,
}

/// The values of a variable, or of one key of it, less a link's exclusions, in `CleanCache`.
#[derive(Debug)]
struct ValueSet {
    variable: Variable,
    /// Its first member's index in `members`.
    first: usize,
    /// Values read.
    len: usize,
    /// Whether every value was read: values are read while they are kept, and the first
    /// that is not (a body's other than an empty one, or one longer than `KNOWN_HITS_MAX`)
    /// ends the reading.
    complete: bool,
}

impl CleanCache {
    pub fn clear(&mut self) {
        self.at.clear();
        self.sets.clear();
        self.by_address.clear();
        self.prints.clear();
        self.bits.clear();
        self.members.clear();
        self.all.clear();
    }

    /// Forgets the values of the variables the request body may have filled (the head's
    /// stay).
    pub fn clear_body(&mut self) {
        for at in &mut self.at {
            if let Some(set) = at.checked_sub(1).map(|i| &self.sets[i as usize])
                && !set.variable.from_request_head()
            {
                *at = 0;
            }
        }
    }
}

/// What `KnownClean` tells of a link (see `Transaction::clean_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CleanState {
    /// Every value of its targets is known not to match it: it cannot match.
    Known,
    /// Every value is kept, but some are not known: if the link matches nothing, they are
    /// (`learn_clean`).
    Learn,
    /// Neither: a value that is not kept (the body's) is there.
    Neither,
}

impl Transaction {
    /// The index in `cache.sets` of the values of the link's `i`th target, read first if
    /// they were not.
    #[inline]
    fn clean_set(&self, cache: &mut CleanCache, rule: &Rule, i: usize) -> usize {
        let at = rule.clean_sets[i] as usize;
        match cache.at.get(at) {
            Some(&set) if set != 0 => set as usize - 1,
            _ => self.read_clean_set(cache, rule, &rule.targets[i], at),
        }
    }

    /// Reads the values of the link's target `t` (its set is `at`): all of its variable's,
    /// or one key's, less those the link excludes.
    #[inline(never)]
    fn read_clean_set(&self, cache: &mut CleanCache, rule: &Rule, t: &Target, at: usize) -> usize {
        let known = &self.rules.known_clean;
        if cache.at.is_empty() {
            cache.at.resize(self.rules.clean_sets, 0);
            cache.words = known.words();
        }
        let v = t.variable;
        let one_key = matches!(t.selector, Selector::Key(_));
        let excluded = |k: &[u8]| rule.exclusions.iter().any(|x| x.excludes(v, k));
        let words = cache.words;
        let first = cache.members.len();
        let all = cache.all.len();
        cache.all.resize(all + words, !0);
        let mut complete = true;
        // Adds a value to the set; whether the set is still complete.
        let mut add = |j: usize, value: &[u8], head: bool| -> bool {
            if !complete {
                return false;
            }
            // The empty value (`REQUEST_BODY` of a GET) is the same in every request.
            if !head && !value.is_empty() || value.len() > KNOWN_HITS_MAX {
                complete = false;
                return false;
            }
            let next = cache.prints.len() as u32;
            let v = *cache
                .by_address
                .entry((value.as_ptr() as usize, value.len()))
                .or_insert(next);
            if v == next {
                let print = known.fingerprint(value);
                let at = cache.bits.len();
                cache.bits.resize(at + words, 0);
                known.read(print, &mut cache.bits[at..]);
                cache.prints.push(print);
            }
            cache.members.push((v, j as u32));
            let at = v as usize * words;
            for w in 0..words {
                cache.all[all + w] &= cache.bits[at + w];
            }
            true
        };
        let head = v.from_request_head();
        if let Some((lists, names)) = kv_lists(self, v) {
            // `ARGS`: the query's, then the body's.
            let query = head || matches!(v, Variable::Args | Variable::ArgsNames);
            let kept = |j: usize| if j < lists[0].len() { query } else { head };
            let mut j = 0;
            while let Some((k, value)) = kv_at(&lists, names, j) {
                if (!one_key || t.selector.matches(k)) && !excluded(k) && !add(j, value, kept(j)) {
                    // A value that is not kept: the set is incomplete, whatever follows (a
                    // JSON body's hundreds of values are not looked at).
                    break;
                }
                j += 1;
            }
        } else if v == Variable::Xml {
            // A document's nodes are not kept.
            if self.request.xml.is_some() {
                complete = false;
            }
        } else if let Some(value) = request_line_value(&self.request, v) {
            // Read directly: `collect` costs a sink per value.
            if !excluded(b"") {
                add(0, value, true);
            }
        } else {
            let all = Target {
                variable: v,
                selector: Selector::All,
                count: false,
            };
            collect(
                self,
                &all,
                &|_, _| false,
                &mut Each(|x: crate::variables::Value| {
                    if !excluded(&x.key) {
                        add(0, &x.value, head);
                    }
                }),
            );
        }
        cache.sets.push(ValueSet {
            variable: v,
            first,
            len: cache.members.len() - first,
            complete,
        });
        cache.at[at] = cache.sets.len() as u32;
        cache.sets.len() - 1
    }

    /// What `KnownClean` tells of the link (which must have a bit, `Rule::clean`) in the
    /// chain of `starter`: whether every value of its targets it is asked about is known not
    /// to match it, so that it cannot match. A value that is not kept (a body's) ends the
    /// look at once: the link is then `Neither`, and the kept values it reads are left to be
    /// learnt from requests without a body.
    pub(super) fn clean_state(&self, starter: &Rule, rule: &Rule) -> CleanState {
        let (w, bit) = rule.clean_bit();
        let mut cache = self.clean.borrow_mut();
        let mut unknown = false;
        for i in 0..rule.targets.len() {
            let s = self.clean_set(&mut cache, rule, i);
            if !cache.sets[s].complete {
                return CleanState::Neither;
            }
            unknown |= cache.all[s * cache.words + w] & bit == 0;
        }
        if !unknown {
            return CleanState::Known;
        }
        // Values a runtime exclusion removes (CRS's 941010 removes REQUEST_FILENAME from
        // the XSS rules of every request whose path is plain) are not asked about.
        if self.removed_targets.is_empty() {
            return CleanState::Learn;
        }
        let excluded = self.exclusions(starter, rule);
        let asked_unknown = (0..rule.targets.len()).any(|i| {
            let s = self.clean_set(&mut cache, rule, i);
            self.unknown_values(&cache, rule, i, s, &excluded)
                .next()
                .is_some()
        });
        if asked_unknown {
            CleanState::Learn
        } else {
            CleanState::Known
        }
    }

    /// The values (indexes in `cache.prints`) of the link's `i`th target (set `s`) that
    /// the link is asked about — its selector takes them, no exclusion removes them — and
    /// that are not known not to match it.
    fn unknown_values<'a>(
        &'a self,
        cache: &'a CleanCache,
        rule: &'a Rule,
        i: usize,
        s: usize,
        excluded: &'a impl Fn(Variable, &[u8]) -> bool,
    ) -> impl Iterator<Item = usize> + 'a {
        let (w, bit) = rule.clean_bit();
        let words = cache.words;
        let t = &rule.targets[i];
        let (first, len) = match cache.all[s * words + w] & bit {
            0 => (cache.sets[s].first, cache.sets[s].len),
            _ => (0, 0),
        };
        let kv = (len > 0).then(|| kv_lists(self, t.variable)).flatten();
        cache.members[first..first + len]
            .iter()
            .filter(move |&&(v, pos)| {
                if cache.bits[v as usize * words + w] & bit != 0 {
                    return false;
                }
                // Scalars have no key (and selectors do not apply to them).
                let key = match &kv {
                    Some((lists, names)) => match kv_at(lists, *names, pos as usize) {
                        Some((k, _)) if t.selector.matches(k) => k,
                        _ => return false,
                    },
                    None => b"",
                };
                !excluded(t.variable, key)
            })
            .map(|&(v, _)| v as usize)
    }

    /// After the link matched none of its targets' values: each kept value it was asked
    /// about is known not to match it from now on.
    pub(super) fn learn_clean(&self, starter: &Rule, rule: &Rule) {
        let known = &self.rules.known_clean;
        let (w, bit) = rule.clean_bit();
        let excluded = self.exclusions(starter, rule);
        let mut cache = self.clean.borrow_mut();
        let mut learnt = Vec::new();
        for i in 0..rule.targets.len() {
            let s = self.clean_set(&mut cache, rule, i);
            learnt.extend(self.unknown_values(&cache, rule, i, s, &excluded));
            let words = cache.words;
            for at in learnt.drain(..) {
                known.note(cache.prints[at], rule.clean);
                cache.bits[at * words + w] |= bit;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Engine;
    use crate::rule::{Entry, Rule};

    /// A request: method, URI, headers, body; the rule that stopped it, if any.
    fn run(engine: &Engine, uri: &str, headers: &[(&str, &str)], body: &str) -> Option<u32> {
        let mut tx = engine.transaction();
        tx.process_uri(
            if body.is_empty() { b"GET" } else { b"POST" },
            uri.as_bytes(),
            b"HTTP/1.1",
        );
        for (k, v) in headers {
            tx.add_request_header(k.as_bytes(), v.as_bytes());
        }
        if !body.is_empty() {
            tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
        }
        if let Some(i) = tx.process_request_headers() {
            return Some(i.rule_id);
        }
        tx.append_request_body(body.as_bytes());
        tx.process_request_body().map(|i| i.rule_id)
    }

    fn engine(rules: &str) -> Engine {
        Engine::from_text(&format!("SecRuleEngine On\n{rules}"), "t.conf").unwrap()
    }

    fn rule(engine: &Engine, id: u32) -> &Rule {
        engine.rules().phases[..]
            .iter()
            .flatten()
            .find_map(|e| match e {
                Entry::Rule(r) if r.id == id => Some(&**r),
                _ => None,
            })
            .unwrap()
    }

    /// Whether the value is known not to match the link.
    fn known(engine: &Engine, link: &Rule, value: &str) -> bool {
        let known = &engine.rules().known_clean;
        let mut bits = vec![0; known.words()];
        known.read(known.fingerprint(value.as_bytes()), &mut bits);
        let (w, bit) = link.clean_bit();
        bits[w] & bit != 0
    }

    const UA: (&str, &str) = ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)");

    #[test]
    fn clean_values_are_kept_per_link_and_attacks_are_stopped_every_time() {
        let e = engine(
            "SecRule REQUEST_HEADERS \"@rx evil\" \"id:1,phase:1,deny,t:lowercase\"\n\
             SecRule REQUEST_HEADERS:User-Agent \"@detectSQLi\" \"id:2,phase:1,deny\"\n\
             SecRule REQUEST_HEADERS \"@within %{tx.x}\" \"id:3,phase:1,deny\"",
        );
        let (r1, r2, r3) = (rule(&e, 1), rule(&e, 2), rule(&e, 3));
        assert_ne!(r1.clean, crate::engine::NO_CLEAN);
        assert_ne!(r2.clean, crate::engine::NO_CLEAN);
        // An argument from TX: the answer is not the value's alone.
        assert_eq!(r3.clean, crate::engine::NO_CLEAN);
        let headers = [UA, ("Accept", "text/html")];
        for _ in 0..3 {
            assert_eq!(run(&e, "/", &headers, ""), None);
        }
        assert!(known(&e, r1, UA.1) && known(&e, r1, "text/html"));
        assert!(known(&e, r2, UA.1));
        // Rule 2 reads the User-Agent alone: the other header was not asked about.
        assert!(!known(&e, r2, "text/html"));
        for _ in 0..2 {
            assert_eq!(run(&e, "/", &[UA, ("Accept", "EVIL/1")], ""), Some(1));
            assert_eq!(run(&e, "/", &[("User-Agent", "1' or '1'='1")], ""), Some(2));
        }
        assert!(!known(&e, r1, "EVIL/1") && !known(&e, r2, "1' or '1'='1"));
    }

    #[test]
    fn values_a_link_did_not_read_are_not_learnt() {
        // Excluded by the rule, by a runtime exclusion, or not the selected key: the value
        // was never asked about, and the same bytes elsewhere are still caught.
        let e = engine(
            "SecRule REQUEST_HEADERS|!REQUEST_HEADERS:Referer \"@rx evil\" \"id:1,phase:1,deny\"\n\
             SecRule REQUEST_HEADERS:User-Agent \"@rx bad\" \"id:2,phase:1,deny\"\n\
             SecRule REQUEST_HEADERS:/^x-a/ \"@rx bad\" \"id:5,phase:1,deny\"\n\
             SecRule REQUEST_URI \"@beginsWith /admin\" \
                \"id:3,phase:1,pass,nolog,ctl:ruleRemoveTargetById=4;ARGS:q\"\n\
             SecRule ARGS \"@rx evil\" \"id:4,phase:1,deny\"",
        );
        for _ in 0..2 {
            assert_eq!(run(&e, "/", &[UA, ("Referer", "evil.example")], ""), None);
            assert_eq!(run(&e, "/", &[UA, ("X-Note", "bad.example")], ""), None);
            assert_eq!(run(&e, "/admin?q=evil", &[UA], ""), None);
        }
        assert!(!known(&e, rule(&e, 1), "evil.example"));
        assert!(known(&e, rule(&e, 1), "bad.example"));
        assert!(!known(&e, rule(&e, 2), "bad.example"));
        assert!(!known(&e, rule(&e, 5), "bad.example"));
        assert!(!known(&e, rule(&e, 4), "evil"));
        assert_eq!(run(&e, "/", &[UA, ("X-Note", "evil.example")], ""), Some(1));
        assert_eq!(run(&e, "/", &[("User-Agent", "bad.example")], ""), Some(2));
        assert_eq!(run(&e, "/", &[UA, ("X-Abc", "bad.example")], ""), Some(5));
        assert_eq!(run(&e, "/search?q=evil", &[UA], ""), Some(4));
    }

    #[test]
    fn body_values_and_long_values_are_evaluated_every_time() {
        let e = engine(
            "SecRequestBodyAccess On\n\
             SecRule ARGS|REQUEST_HEADERS \"@rx evil\" \"id:1,phase:2,deny\"",
        );
        let r1 = rule(&e, 1);
        for _ in 0..2 {
            assert_eq!(run(&e, "/", &[UA], "a=good"), None);
            assert_eq!(run(&e, "/", &[UA], "a=evil"), Some(1));
        }
        // A body's values are not kept; the head's are learnt from requests without one.
        assert!(!known(&e, r1, "good") && !known(&e, r1, UA.1));
        assert_eq!(run(&e, "/?a=good", &[UA], ""), None);
        assert!(known(&e, r1, "good") && known(&e, r1, UA.1));
        assert_eq!(run(&e, "/?a=good", &[UA], "b=evil"), Some(1));
        // A value too long to be kept is read every time.
        let long = format!("{}evil", "a".repeat(2000));
        for _ in 0..2 {
            assert_eq!(run(&e, "/", &[UA, ("X-Long", &long)], ""), Some(1));
            assert_eq!(run(&e, "/", &[UA, ("X-Long", &long[..1990])], ""), None);
        }
    }

    #[test]
    fn links_are_known_clean_through_their_exclusions_and_the_empty_body() {
        // Rule 1 excludes the Cookie header, whose value it would match; rule 3 has
        // REQUEST_FILENAME, which it would match, removed at run time, and reads the empty
        // REQUEST_BODY a forced body variable gives a GET.
        let e = engine(
            "SecRule REQUEST_HEADERS|!REQUEST_HEADERS:Cookie \"@rx evil\" \"id:1,phase:1,deny\"\n\
             SecRule REQUEST_URI \"@unconditionalMatch\" \"id:2,phase:1,pass,nolog,\
                ctl:ruleRemoveTargetById=3;REQUEST_FILENAME,ctl:forceRequestBodyVariable=On\"\n\
             SecRule REQUEST_FILENAME|ARGS|REQUEST_BODY \"@rx evil\" \"id:3,phase:2,deny\"",
        );
        let headers = [UA, ("Cookie", "evil=1")];
        for _ in 0..2 {
            assert_eq!(run(&e, "/evil/page?x=1", &headers, ""), None);
        }
        let mut tx = e.transaction();
        tx.process_uri(b"GET", b"/evil/page?x=1", b"HTTP/1.1");
        for (k, v) in headers {
            tx.add_request_header(k.as_bytes(), v.as_bytes());
        }
        assert!(tx.process_request_headers().is_none());
        assert!(tx.process_request_body().is_none());
        for id in [1, 3] {
            let r = rule(&e, id);
            assert_eq!(tx.clean_state(r, r), super::CleanState::Known, "rule {id}");
        }
        // The same bytes where the links read them are stopped.
        assert_eq!(run(&e, "/", &[UA, ("X-Note", "evil=1")], ""), Some(1));
        assert_eq!(run(&e, "/?q=evil", &[UA], ""), Some(3));
    }

    #[test]
    fn the_request_line_is_read_as_collect_reads_it() {
        use crate::variables::{Each, Selector, Target, Variable as V, collect};
        let e = engine("SecRule ARGS \"@rx x\" \"id:1,phase:1,deny\"");
        for uri in [
            "/a/b.php?x=1&y=2",
            "/",
            "http://h.example/p/q?",
            "/%7e/x.html#f",
        ] {
            let mut tx = e.transaction();
            tx.process_uri(b"GET", uri.as_bytes(), b"HTTP/1.1");
            for v in [
                V::QueryString,
                V::RequestBasename,
                V::RequestFilename,
                V::RequestLine,
                V::RequestMethod,
                V::RequestProtocol,
                V::RequestUri,
                V::RequestUriRaw,
            ] {
                let t = Target {
                    variable: v,
                    selector: Selector::All,
                    count: false,
                };
                let mut collected = Vec::new();
                collect(
                    &tx,
                    &t,
                    &|_, _| false,
                    &mut Each(|x: crate::variables::Value| collected.push(x.value.into_owned())),
                );
                let direct =
                    crate::variables::request_line_value(&tx.request, v).map(<[u8]>::to_vec);
                assert_eq!(collected, Vec::from_iter(direct), "{v:?} of {uri}");
            }
        }
    }
}
