//! The WAF at the gateway: one rule set for every site (the built-in pack, plus CRS when the
//! operator installs it), tuned per site by the policy in the configuration snapshot.
//!
//! Request phases run in `request_filter`, before an upstream is chosen or a published page
//! is served, so nothing the WAF blocks reaches an origin. A request body is read in full
//! first, up to [`INSPECT_LIMIT`]; see `ARCHITECTURE.md` for what happens above it.

use std::net::IpAddr;

use regex::bytes::Regex;
use sitegroup_contract::config::{OversizedBody, WafMode, WafPolicy};
use sitegroup_waf::actions::IdRange;
use sitegroup_waf::variables::{Exclusion, parse_exclusions};
use sitegroup_waf::{EngineMode, Interruption, MatchedRule, Transaction};

/// The largest request body the gateway buffers for inspection before forwarding it: pingora
/// replays a buffered body to the upstream from its retry buffer, which holds 64 KiB.
pub const INSPECT_LIMIT: usize = 64 * 1024;

/// The largest response body held back for phase 4; beyond it the first part is inspected and
/// the rest streams through.
pub const RESPONSE_INSPECT_LIMIT: usize = 512 * 1024;

/// A site's policy, compiled once per configuration snapshot.
#[derive(Debug)]
pub struct SitePolicy {
    pub mode: WafMode,
    pub paranoia_level: u8,
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    pub oversized_body: OversizedBody,
    /// Path prefixes where an oversized body is inspected on its first part anyway.
    pub large_body_paths: Vec<String>,
    pub inspect_responses: bool,
    allowlist: Vec<(IpAddr, u8)>,
    exclusions: Vec<CompiledExclusion>,
}

#[derive(Debug)]
struct CompiledExclusion {
    path_prefix: Option<String>,
    ids: Vec<IdRange>,
    tags: Vec<Regex>,
    targets: Vec<Exclusion>,
}

impl Default for SitePolicy {
    fn default() -> Self {
        // The default policy has nothing that can fail to compile.
        #[allow(clippy::expect_used)]
        SitePolicy::compile(&WafPolicy::default()).expect("default policy compiles")
    }
}

impl SitePolicy {
    /// Compiles a policy; the error names the exclusion or entry at fault.
    pub fn compile(p: &WafPolicy) -> Result<SitePolicy, String> {
        let mut exclusions = Vec::new();
        for (i, x) in p.exclusions.iter().enumerate() {
            let at = format!("WAF exclusion {}", i + 1);
            let mut ids = Vec::new();
            for spec in &x.rule_ids {
                ids.extend(IdRange::parse_list(spec).map_err(|e| format!("{at}: {e}"))?);
            }
            let tags = x
                .tags
                .iter()
                .map(|t| {
                    regex::bytes::RegexBuilder::new(t)
                        .unicode(false)
                        .build()
                        .map_err(|e| format!("{at}: tag pattern {t:?}: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut targets = Vec::new();
            for t in &x.targets {
                targets
                    .extend(parse_exclusions(t).map_err(|e| format!("{at}: target {t:?}: {e}"))?);
            }
            exclusions.push(CompiledExclusion {
                path_prefix: x.path_prefix.clone(),
                ids,
                tags,
                targets,
            });
        }
        let allowlist = p
            .ip_allowlist
            .iter()
            .map(|n| sitegroup_waf::operators::parse_net(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SitePolicy {
            mode: p.mode,
            paranoia_level: p.paranoia_level,
            inbound_threshold: p.inbound_threshold,
            outbound_threshold: p.outbound_threshold,
            oversized_body: p.oversized_body,
            large_body_paths: p.large_body_paths.clone(),
            inspect_responses: p.inspect_responses,
            allowlist,
            exclusions,
        })
    }

    /// Whether the WAF looks at this request at all.
    pub fn inspects(&self, client_ip: &str) -> bool {
        if self.mode == WafMode::Off {
            return false;
        }
        let Ok(ip) = client_ip.parse::<IpAddr>() else {
            return true;
        };
        !self
            .allowlist
            .iter()
            .any(|(net, prefix)| sitegroup_waf::operators::ip_in(*net, *prefix, ip))
    }

    /// Applies mode, paranoia level, thresholds and the exclusions for `path` to a fresh
    /// transaction.
    pub fn prepare(&self, tx: &mut Transaction, path: &str) {
        tx.set_mode(match self.mode {
            WafMode::Block => EngineMode::On,
            WafMode::DetectOnly => EngineMode::DetectionOnly,
            WafMode::Off => EngineMode::Off,
        });
        let pl = self.paranoia_level.to_string();
        tx.set_tx_var("blocking_paranoia_level", pl.as_bytes());
        tx.set_tx_var("detection_paranoia_level", pl.as_bytes());
        tx.set_tx_var(
            "inbound_anomaly_score_threshold",
            self.inbound_threshold.to_string().as_bytes(),
        );
        tx.set_tx_var(
            "outbound_anomaly_score_threshold",
            self.outbound_threshold.to_string().as_bytes(),
        );
        for x in &self.exclusions {
            if x.path_prefix
                .as_deref()
                .is_some_and(|p| !path.starts_with(p))
            {
                continue;
            }
            if x.targets.is_empty() {
                if !x.ids.is_empty() {
                    tx.remove_rules_by_id(x.ids.clone());
                }
                for t in &x.tags {
                    tx.remove_rules_by_tag(t.clone());
                }
            } else {
                if !x.ids.is_empty() {
                    tx.remove_target_by_id(x.ids.clone(), x.targets.clone());
                }
                for t in &x.tags {
                    tx.remove_target_by_tag(t.clone(), x.targets.clone());
                }
            }
        }
    }
}

/// What a security event says about a WAF decision: rule ids, messages, the anomaly score,
/// matched variable names, and the matched data — truncated and with digits masked, so that
/// logs never carry a visitor's full card number, ID number or password.
pub fn describe(tx: &Transaction, interruption: Option<&Interruption>) -> String {
    let rules: Vec<&MatchedRule> = tx.matched_rules().iter().collect();
    let mut parts = Vec::new();
    if let Some(i) = interruption {
        parts.push(format!(
            "blocked by rule {} (status {})",
            i.rule_id, i.status
        ));
    }
    let score = tx
        .tx_var("blocking_inbound_anomaly_score")
        .or_else(|| tx.tx_var("inbound_anomaly_score"))
        .map(|v| String::from_utf8_lossy(v).into_owned());
    if let Some(score) = score {
        parts.push(format!("inbound anomaly score {score}"));
    }
    for r in rules.iter().take(8) {
        parts.push(format!(
            "[{}] {} @ {} = {}",
            r.id,
            r.message,
            r.matched_var_name,
            mask(&r.matched_value)
        ));
    }
    if rules.len() > 8 {
        parts.push(format!("… {} more rules", rules.len() - 8));
    }
    parts.join("; ")
}

/// At most 64 characters, digits replaced by `*`.
pub fn mask(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out: String = text
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_digit() {
                '*'
            } else if c.is_control() {
                '.'
            } else {
                c
            }
        })
        .collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitegroup_contract::config::WafExclusion;
    use sitegroup_waf::Engine;

    fn run(policy: &SitePolicy, path_and_query: &str, body: &[u8]) -> Option<Interruption> {
        let engine = Engine::builtin();
        let mut tx = engine.transaction();
        let path = path_and_query.split('?').next().unwrap_or("/");
        policy.prepare(&mut tx, path);
        tx.process_uri(b"POST", path_and_query.as_bytes(), b"HTTP/1.1");
        tx.add_request_header(b"Host", b"admin.localhost");
        tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
        if let Some(i) = tx.process_request_headers() {
            return Some(i);
        }
        tx.append_request_body(body);
        tx.process_request_body()
    }

    #[test]
    fn exclusions_apply_under_their_path_only() {
        let policy = SitePolicy::compile(&WafPolicy {
            exclusions: vec![WafExclusion {
                path_prefix: Some("/articles/".into()),
                tags: vec!["sitegroup/xss".into()],
                targets: vec!["ARGS:body".into()],
                reason: "rich text".into(),
                ..Default::default()
            }],
            ..WafPolicy::default()
        })
        .unwrap();
        let xss = b"body=%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        assert!(run(&policy, "/articles/7", xss).is_none());
        assert!(run(&policy, "/comments/7", xss).is_some());
        // Another field on the excluded path is still inspected.
        assert!(
            run(
                &policy,
                "/articles/7",
                b"title=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            )
            .is_some()
        );
    }

    #[test]
    fn detect_only_and_allowlist() {
        let policy = SitePolicy::compile(&WafPolicy {
            mode: WafMode::DetectOnly,
            ip_allowlist: vec!["10.0.0.0/8".into()],
            ..WafPolicy::default()
        })
        .unwrap();
        assert!(run(&policy, "/?id=1%27%20or%20%271%27%3D%271", b"").is_none());
        assert!(!policy.inspects("10.1.2.3"));
        assert!(policy.inspects("192.0.2.1"));
    }

    #[test]
    fn bad_policies_are_rejected_with_the_entry_named() {
        let bad = WafPolicy {
            exclusions: vec![WafExclusion {
                rule_ids: vec!["abc".into()],
                ..Default::default()
            }],
            ..WafPolicy::default()
        };
        let err = SitePolicy::compile(&bad).unwrap_err();
        assert!(err.starts_with("WAF exclusion 1:"), "{err}");
        let bad = WafPolicy {
            exclusions: vec![WafExclusion {
                tags: vec!["x".into()],
                targets: vec!["NOPE:x".into()],
                ..Default::default()
            }],
            ..WafPolicy::default()
        };
        assert!(SitePolicy::compile(&bad).unwrap_err().contains("NOPE"));
    }

    #[test]
    fn masking() {
        assert_eq!(mask(b"card 4111111111111111"), "card ****************");
        assert!(mask(&[b'a'; 100]).ends_with('…'));
    }
}
