//! Request rate limits per client address (pingora-limits' `Rate`: a count-min sketch per
//! window, lock-free) and client address allow/deny lists. Each site's limits come with the
//! configuration snapshot.

use std::net::IpAddr;
use std::time::Duration;

use pingora_limits::rate::Rate;
use sitegroup_contract::config::{AccessList, RATE_LIMIT_WINDOWS, RateLimit};
use sitegroup_waf::operators::{ip_in, parse_net};

use crate::routing::Site;

/// One estimator per allowed window (1, 10, 60 s), shared by every site; and, when the group's
/// gateways share limits through Redis, what the others counted.
pub struct RateLimiters {
    windows: Vec<(u32, Rate)>,
    shared: Option<std::sync::Arc<crate::shared_limits::SharedCounts>>,
}

impl Default for RateLimiters {
    fn default() -> Self {
        RateLimiters {
            windows: RATE_LIMIT_WINDOWS
                .iter()
                .map(|&w| (w, Rate::new(Duration::from_secs(u64::from(w)))))
                .collect(),
            shared: None,
        }
    }
}

/// A limit a request went over.
pub struct Exceeded<'a> {
    pub limit: &'a RateLimit,
    /// Whether this is the first request over the limit in its window (worth an event).
    pub first: bool,
}

impl RateLimiters {
    /// Limits counted across the gateways sharing `counts` (see [`crate::shared_limits`]).
    pub fn shared(counts: std::sync::Arc<crate::shared_limits::SharedCounts>) -> Self {
        RateLimiters {
            shared: Some(counts),
            ..RateLimiters::default()
        }
    }

    /// Counts the request against every limit of `site` that applies to `path`; returns the
    /// first one exceeded.
    pub fn check<'s>(&self, site: &'s Site, path: &str, client: &str) -> Option<Exceeded<'s>> {
        for (i, limit) in site.rate_limits.iter().enumerate() {
            if limit
                .path_prefix
                .as_deref()
                .is_some_and(|p| !path.starts_with(p))
            {
                continue;
            }
            let Some((_, rate)) = self.windows.iter().find(|(w, _)| *w == limit.per_seconds) else {
                continue;
            };
            let mut seen = rate.observe(&(site.id, i, client), 1);
            if let Some(shared) = &self.shared {
                let others = shared.observe(site.id, i, client, limit.per_seconds);
                seen = seen.saturating_add(isize::try_from(others).unwrap_or(isize::MAX));
            }
            let allowed = isize::try_from(limit.requests).unwrap_or(isize::MAX);
            if seen > allowed {
                return Some(Exceeded {
                    limit,
                    first: seen == allowed + 1,
                });
            }
        }
        None
    }
}

/// A site's address lists, compiled (the group's deny list merged in).
#[derive(Debug, Default)]
pub struct Access {
    allow: Vec<(IpAddr, u8)>,
    deny: Vec<(IpAddr, u8)>,
}

impl Access {
    /// The site's lists with the group's on top (a group allow list narrows further).
    pub fn compile(site: &AccessList, group: &AccessList) -> Result<Access, String> {
        let nets = |list: &[String]| {
            list.iter()
                .map(|n| parse_net(n))
                .collect::<Result<Vec<_>, _>>()
        };
        let mut deny = nets(&site.deny)?;
        deny.extend(nets(&group.deny)?);
        let mut allow = nets(&site.allow)?;
        let group_allow = nets(&group.allow)?;
        if allow.is_empty() {
            allow = group_allow;
        } else if !group_allow.is_empty() {
            // Both set: only addresses in both.
            allow.retain(|(net, prefix)| {
                group_allow
                    .iter()
                    .any(|(g, gp)| gp <= prefix && ip_in(*g, *gp, *net))
            });
        }
        Ok(Access { allow, deny })
    }

    /// Whether `client` may reach the site. An unparsable address is refused when any list is
    /// set.
    pub fn permits(&self, client: &str) -> bool {
        if self.allow.is_empty() && self.deny.is_empty() {
            return true;
        }
        let Ok(ip) = client.parse::<IpAddr>() else {
            return false;
        };
        if self.deny.iter().any(|(n, p)| ip_in(*n, *p, ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|(n, p)| ip_in(*n, *p, ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(allow: &[&str], deny: &[&str]) -> AccessList {
        AccessList {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            deny: deny.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn deny_wins_and_allow_narrows() {
        let a = Access::compile(
            &list(&["10.0.0.0/8", "::1"], &["10.6.6.6"]),
            &list(&[], &["192.0.2.0/24"]),
        )
        .unwrap();
        assert!(a.permits("10.1.2.3"));
        assert!(a.permits("::1"));
        assert!(!a.permits("10.6.6.6"));
        assert!(!a.permits("203.0.113.5"));
        let open = Access::compile(&list(&[], &[]), &list(&[], &["192.0.2.0/24"])).unwrap();
        assert!(open.permits("203.0.113.5"));
        assert!(!open.permits("192.0.2.7"));
        assert!(Access::compile(&list(&["nonsense"], &[]), &AccessList::default()).is_err());
    }
}

/// Proxies in front of the gateway (load balancers, CDNs) whose `X-Forwarded-For` is believed.
#[derive(Debug, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub fn parse(list: &[String]) -> Result<TrustedProxies, String> {
        list.iter()
            .map(|n| parse_net(n))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(n, p)| ip_in(*n, *p, ip))
    }

    /// The client address: the peer, unless it is a trusted proxy, in which case the
    /// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let Some(chain) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in chain.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // A malformed entry ends what can be believed.
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod trusted_tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            t.client(ip("203.0.113.1"), Some("1.2.3.4")),
            ip("203.0.113.1")
        );
        assert_eq!(t.client(ip("10.0.0.1"), Some("1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(
            t.client(ip("10.0.0.1"), Some("6.6.6.6, 1.2.3.4, 10.0.0.9")),
            ip("1.2.3.4")
        );
        assert_eq!(t.client(ip("10.0.0.1"), Some("junk")), ip("10.0.0.1"));
        assert_eq!(t.client(ip("10.0.0.1"), None), ip("10.0.0.1"));
    }
}
