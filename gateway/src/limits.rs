//! Request rate limits per client address (pingora-limits' `Rate`: a count-min sketch per
//! window, lock-free). Each site's limits come with the configuration snapshot.

use std::time::Duration;

use pingora_limits::rate::Rate;
use sitegroup_contract::config::{RATE_LIMIT_WINDOWS, RateLimit};

use crate::routing::Site;

/// One estimator per allowed window (1, 10, 60 s), shared by every site.
pub struct RateLimiters {
    windows: Vec<(u32, Rate)>,
}

impl Default for RateLimiters {
    fn default() -> Self {
        RateLimiters {
            windows: RATE_LIMIT_WINDOWS
                .iter()
                .map(|&w| (w, Rate::new(Duration::from_secs(u64::from(w)))))
                .collect(),
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
            let seen = rate.observe(&(site.id, i, client), 1);
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
