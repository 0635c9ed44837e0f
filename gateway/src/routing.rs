//! The routing table: a validated [`ConfigSnapshot`] compiled once into lookup structures, so
//! that nothing on the request path parses or scans configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sitegroup_contract::config::{ConfigSnapshot, PublishedFile, Target};

/// The compiled form of one snapshot. Swapped as a whole (see [`crate::sync`]).
#[derive(Debug)]
pub struct RoutingTable {
    pub generation: u64,
    exact: HashMap<String, Arc<Site>>,
    /// `*.demo.localhost` is stored under `demo.localhost`.
    wildcard: HashMap<String, Arc<Site>>,
    /// Uploaded certificates by the names in them.
    pub certificates: crate::tls::CertIndex,
    /// Hostname sets of the sites that want ACME certificates (sorted, wildcards left out).
    acme: Vec<Vec<String>>,
}

/// Where a published site keeps its error-page template (see `cms::theme::ERROR_PAGE_PATH`).
pub const ERROR_TEMPLATE_PATH: &str = "/_sg/error.html";

#[derive(Debug)]
pub struct Site {
    pub id: i64,
    pub name: String,
    /// Longest prefix first.
    routes: Vec<Route>,
    manifest: HashMap<String, PublishedFile>,
    pub waf: crate::waf::SitePolicy,
    /// Hardening headers as (name, value), empty values left out.
    pub security_headers: Vec<(&'static str, String)>,
    pub rate_limits: Vec<sitegroup_contract::config::RateLimit>,
    /// The switch in force: the group's unless it is normal service (the admin site, id 0,
    /// follows only its own).
    pub service: sitegroup_contract::config::Service,
    pub access: crate::limits::Access,
    pub request_limits: sitegroup_contract::config::RequestLimits,
    /// HTTPS redirect and ACME.
    pub tls: sitegroup_contract::config::SiteTls,
    /// Banned client addresses and the Unix time each ban ends (shared by every public site;
    /// empty for the admin site).
    pub bans: Arc<HashMap<std::net::IpAddr, i64>>,
}

impl Site {
    /// When `client` is banned from this site at `now` (Unix seconds), the end of the ban.
    pub fn banned_until(&self, client: &str, now: i64) -> Option<i64> {
        if self.bans.is_empty() {
            return None;
        }
        let ip = client.parse::<std::net::IpAddr>().ok()?;
        self.bans.get(&ip).copied().filter(|until| *until > now)
    }
}

#[derive(Debug)]
pub struct Route {
    pub prefix: String,
    pub deny_prefixes: Vec<String>,
    pub target: RouteTarget,
}

#[derive(Debug)]
pub enum RouteTarget {
    Published,
    Proxy(Upstreams),
}

/// A round-robin pool of upstream addresses.
#[derive(Debug)]
pub struct Upstreams {
    addrs: Vec<String>,
    next: AtomicUsize,
    /// Per upstream: until when (ms since the UNIX epoch) it is considered down; 0: up.
    down_until: Vec<std::sync::atomic::AtomicU64>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Upstreams {
    pub fn new(addrs: Vec<String>) -> Upstreams {
        let down_until = addrs
            .iter()
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect();
        Upstreams {
            addrs,
            next: AtomicUsize::new(0),
            down_until,
        }
    }

    /// The next upstream in round-robin order that is not marked down (any, if all are).
    pub fn pick(&self) -> &str {
        let n = self.addrs.len().max(1);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = now_ms();
        let i = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| {
                self.down_until
                    .get(i)
                    .is_none_or(|d| d.load(Ordering::Relaxed) <= now)
            })
            .unwrap_or(start % n);
        self.addrs.get(i).map(String::as_str).unwrap_or("")
    }

    /// Takes `addr` out of rotation for `for_ms` (a failed connection or health check).
    pub fn mark_down(&self, addr: &str, for_ms: u64) {
        if let Some(i) = self.addrs.iter().position(|a| a == addr) {
            self.down_until[i].store(now_ms() + for_ms, Ordering::Relaxed);
        }
    }

    /// Puts `addr` back in rotation (a health check succeeded).
    pub fn mark_up(&self, addr: &str) {
        if let Some(i) = self.addrs.iter().position(|a| a == addr) {
            self.down_until[i].store(0, Ordering::Relaxed);
        }
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }
}

/// What a published site has at a request path.
#[derive(Debug, PartialEq, Eq)]
pub enum PageLookup<'a> {
    Found(&'a str, &'a PublishedFile),
    /// The path names a directory: redirect to it with a trailing slash.
    RedirectToDir(String),
    NotFound,
}

impl RoutingTable {
    /// Hostname sets of the sites that want ACME certificates.
    pub fn acme_domains(&self) -> Vec<Vec<String>> {
        self.acme.clone()
    }

    /// Compiles a snapshot. The snapshot must have passed [`ConfigSnapshot::validate`]; a WAF
    /// policy that does not compile is an error naming the site.
    pub fn compile(snapshot: &ConfigSnapshot) -> Result<Self, String> {
        let mut bans = HashMap::new();
        for b in &snapshot.bans {
            let ip = b
                .address
                .parse::<std::net::IpAddr>()
                .map_err(|_| format!("banned address {:?} is not an IP address", b.address))?;
            let until = bans.entry(ip).or_insert(b.until);
            *until = (*until).max(b.until);
        }
        let bans = Arc::new(bans);
        let no_bans = Arc::new(HashMap::new());
        let mut exact = HashMap::new();
        let mut wildcard = HashMap::new();
        let mut acme = Vec::new();
        for site in &snapshot.sites {
            if site.tls.acme {
                let mut hosts: Vec<String> = site
                    .hostnames
                    .iter()
                    .filter(|h| !h.starts_with("*."))
                    .cloned()
                    .collect();
                hosts.sort();
                acme.push(hosts);
            }
            let mut routes: Vec<Route> = site
                .routes
                .iter()
                .map(|r| Route {
                    prefix: r.path_prefix.clone(),
                    deny_prefixes: r.deny_prefixes.clone(),
                    target: match &r.target {
                        Target::Published => RouteTarget::Published,
                        Target::Proxy { upstreams } => {
                            RouteTarget::Proxy(Upstreams::new(upstreams.clone()))
                        }
                    },
                })
                .collect();
            routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
            let waf = crate::waf::SitePolicy::compile(&site.waf)
                .map_err(|e| format!("site {} ({}): {e}", site.id, site.name))?;
            let h = &site.security_headers;
            let security_headers = [
                ("x-frame-options", h.frame_options.clone()),
                ("referrer-policy", h.referrer_policy.clone()),
                ("content-security-policy", h.content_security_policy.clone()),
                (
                    "strict-transport-security",
                    h.strict_transport_security.clone(),
                ),
                ("x-xss-protection", h.xss_protection.clone()),
                (
                    "x-content-type-options",
                    if h.nosniff {
                        "nosniff".into()
                    } else {
                        String::new()
                    },
                ),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
            let compiled = Arc::new(Site {
                id: site.id,
                name: site.name.clone(),
                waf,
                security_headers,
                rate_limits: site.rate_limits.clone(),
                request_limits: site.request_limits.clone(),
                tls: site.tls.clone(),
                bans: if site.id == 0 {
                    no_bans.clone()
                } else {
                    bans.clone()
                },
                access: crate::limits::Access::compile(&site.access, &snapshot.group_access)
                    .map_err(|e| format!("site {} ({}): access list: {e}", site.id, site.name))?,
                service: if site.id != 0
                    && snapshot.group_service != sitegroup_contract::config::Service::Normal
                {
                    snapshot.group_service.clone()
                } else {
                    site.service.clone()
                },
                routes,
                manifest: site
                    .manifest
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
            for host in &site.hostnames {
                match host.strip_prefix("*.") {
                    Some(parent) => wildcard.insert(parent.to_string(), compiled.clone()),
                    None => exact.insert(host.clone(), compiled.clone()),
                };
            }
        }
        Ok(RoutingTable {
            generation: snapshot.generation,
            certificates: crate::tls::CertIndex::compile(&snapshot.certificates)?,
            acme,
            exact,
            wildcard,
        })
    }

    /// The site answering for a `Host` header value (any case, optional port, optional
    /// trailing dot). Exact hostnames win over wildcards.
    /// Every site once (a site with several hostnames is listed once).
    pub fn sites(&self) -> Vec<&Arc<Site>> {
        let mut seen = std::collections::HashSet::new();
        self.exact
            .values()
            .chain(self.wildcard.values())
            .filter(|s| seen.insert(Arc::as_ptr(s)))
            .collect()
    }

    pub fn site_for_host(&self, host: &str) -> Option<&Arc<Site>> {
        let host = normalize_host(host)?;
        if let Some(site) = self.exact.get(host.as_str()) {
            return Some(site);
        }
        let (_, parent) = host.split_once('.')?;
        self.wildcard.get(parent)
    }
}

/// Lowercases and strips the port and a trailing dot. `None` for an empty or malformed host.
pub fn normalize_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let without_port = if raw.starts_with('[') {
        // IPv6 literal: keep as is, up to the closing bracket.
        raw.split_once(']').map(|(h, _)| &raw[..h.len() + 1])?
    } else {
        raw.rsplit_once(':').map_or(raw, |(h, _)| h)
    };
    let host = without_port.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

impl Site {
    /// The route for a path: the longest matching prefix.
    pub fn route_for(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| path.starts_with(&r.prefix))
    }

    /// Every route (longest prefix first).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the published file for a request path (without query string).
    pub fn lookup_page(&self, path: &str) -> PageLookup<'_> {
        // The gateway's own files (the error-page template) are not pages.
        if path.starts_with("/_sg/") {
            return PageLookup::NotFound;
        }
        let key = if path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_string()
        };
        if let Some((k, file)) = self.manifest.get_key_value(&key) {
            return PageLookup::Found(k, file);
        }
        if !path.ends_with('/') && self.manifest.contains_key(&format!("{path}/index.html")) {
            return PageLookup::RedirectToDir(format!("{path}/"));
        }
        PageLookup::NotFound
    }

    /// The site's own 404 page, when it published one.
    pub fn not_found_page(&self) -> Option<&PublishedFile> {
        self.manifest.get("/404.html")
    }

    /// The site's error-page template (its theme's look, placeholders for the gateway), when
    /// it published one.
    pub fn error_template(&self) -> Option<&PublishedFile> {
        self.manifest.get(ERROR_TEMPLATE_PATH)
    }
}

impl Route {
    pub fn denies(&self, path: &str) -> bool {
        self.deny_prefixes.iter().any(|d| path.starts_with(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitegroup_contract::config::{Route as CRoute, SiteConfig};
    use std::collections::BTreeMap;

    fn file(c: char) -> PublishedFile {
        PublishedFile {
            sha256: c.to_string().repeat(64),
            content_type: "text/html; charset=utf-8".into(),
        }
    }

    fn table() -> RoutingTable {
        let snapshot = ConfigSnapshot {
            generation: 7,
            sites: vec![
                SiteConfig {
                    id: 1,
                    name: "门户".into(),
                    hostnames: vec!["www.demo.localhost".into()],
                    routes: vec![
                        CRoute {
                            path_prefix: "/".into(),
                            deny_prefixes: vec![],
                            target: Target::Published,
                        },
                        CRoute {
                            path_prefix: "/legacy/".into(),
                            deny_prefixes: vec!["/legacy/.git".into()],
                            target: Target::Proxy {
                                upstreams: vec!["10.0.0.1:80".into(), "10.0.0.2:80".into()],
                            },
                        },
                    ],
                    manifest: BTreeMap::from([
                        ("/index.html".to_string(), file('a')),
                        ("/news/index.html".to_string(), file('b')),
                        ("/news/1.html".to_string(), file('c')),
                    ]),
                    waf: Default::default(),
                    security_headers: Default::default(),
                    rate_limits: Vec::new(),
                    service: Default::default(),
                    access: Default::default(),
                    request_limits: Default::default(),
                    tls: Default::default(),
                },
                SiteConfig {
                    id: 2,
                    name: "通配".into(),
                    hostnames: vec!["*.demo.localhost".into()],
                    routes: vec![CRoute {
                        path_prefix: "/".into(),
                        deny_prefixes: vec![],
                        target: Target::Published,
                    }],
                    manifest: BTreeMap::new(),
                    waf: Default::default(),
                    security_headers: Default::default(),
                    rate_limits: Vec::new(),
                    service: Default::default(),
                    access: Default::default(),
                    request_limits: Default::default(),
                    tls: Default::default(),
                },
            ],
            ..ConfigSnapshot::empty()
        };
        assert_eq!(snapshot.validate(), Ok(()));
        RoutingTable::compile(&snapshot).unwrap()
    }

    #[test]
    fn upstreams_marked_down_leave_the_rotation() {
        let pool = Upstreams::new(vec!["a:1".into(), "b:1".into(), "c:1".into()]);
        pool.mark_down("b:1", 60_000);
        let picks: Vec<&str> = (0..6).map(|_| pool.pick()).collect();
        assert!(!picks.contains(&"b:1"), "{picks:?}");
        assert!(picks.contains(&"a:1") && picks.contains(&"c:1"));
        pool.mark_up("b:1");
        assert!((0..6).any(|_| pool.pick() == "b:1"));
        // All down: still answer with one of them rather than nothing.
        for a in ["a:1", "b:1", "c:1"] {
            pool.mark_down(a, 60_000);
        }
        assert!(!pool.pick().is_empty());
    }

    #[test]
    fn hosts_resolve_exact_before_wildcard() {
        let t = table();
        assert_eq!(t.generation, 7);
        assert_eq!(t.site_for_host("www.demo.localhost").unwrap().id, 1);
        assert_eq!(t.site_for_host("WWW.Demo.Localhost:8080").unwrap().id, 1);
        assert_eq!(t.site_for_host("www.demo.localhost.").unwrap().id, 1);
        assert_eq!(t.site_for_host("edu.demo.localhost").unwrap().id, 2);
        assert!(t.site_for_host("a.b.demo.localhost").is_none());
        assert!(t.site_for_host("demo.localhost").is_none());
        assert!(t.site_for_host("").is_none());
        assert!(t.site_for_host("[::1]:8080").is_none());
    }

    #[test]
    fn longest_prefix_wins_and_round_robin_rotates() {
        let t = table();
        let site = t.site_for_host("www.demo.localhost").unwrap();
        assert!(matches!(
            site.route_for("/index.html").unwrap().target,
            RouteTarget::Published
        ));
        let route = site.route_for("/legacy/a").unwrap();
        assert!(route.denies("/legacy/.git/config"));
        assert!(!route.denies("/legacy/a"));
        let RouteTarget::Proxy(pool) = &route.target else {
            panic!("expected proxy route");
        };
        let picks: Vec<_> = (0..4).map(|_| pool.pick().to_string()).collect();
        assert_eq!(
            picks,
            ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.2:80"]
        );
    }

    #[test]
    fn page_lookup() {
        let t = table();
        let site = t.site_for_host("www.demo.localhost").unwrap();
        assert!(matches!(
            site.lookup_page("/"),
            PageLookup::Found("/index.html", _)
        ));
        assert!(matches!(
            site.lookup_page("/news/"),
            PageLookup::Found("/news/index.html", _)
        ));
        assert_eq!(
            site.lookup_page("/news"),
            PageLookup::RedirectToDir("/news/".into())
        );
        assert!(matches!(
            site.lookup_page("/news/1.html"),
            PageLookup::Found(..)
        ));
        assert_eq!(site.lookup_page("/nope"), PageLookup::NotFound);
        assert!(site.not_found_page().is_none());
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_host("A.B:80").as_deref(), Some("a.b"));
        assert_eq!(normalize_host("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(normalize_host(":80"), None);
    }
}
