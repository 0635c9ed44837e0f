//! Searching, for visitors and for staff: reading the request's parameters, deciding what the
//! searcher may see, and turning index hits into results with names and addresses.
//!
//! * Visitors ([`public`]) search the published text of the sites that are running: the site
//!   whose hostname they came on, or the whole group.
//! * Staff ([`staff`]) search the current text of every item in any status, within the sites
//!   and columns their grants cover — the same scope as the content lists. Items outside it are
//!   not in their results and not in the counts.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::authz::Actor;
use super::content::parse_beijing;
use super::workflow::Status;
use crate::db::entities::{article, site, site_column, site_hostname};
use crate::error::{AppError, AppResult};
use crate::publish::{article_path, beijing};
use crate::search::{
    Audience, SearchError, SearchQuery, SearchResults, Sort, Suggestion, Visibility,
};
use crate::state::AppState;

/// The status a site must have for its content to be searchable by visitors.
const PUBLIC_STATUS: &str = "运行";
/// Longest value kept from any parameter.
const MAX_PARAM_CHARS: usize = 200;

/// A search request's parameters, as the page and the JSON endpoint take them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchParams {
    pub q: String,
    /// `site` (the site of the hostname) or `all` (the whole group).
    pub scope: String,
    pub site: Option<i32>,
    pub column: Option<i32>,
    /// `YYYY-MM-DD`, Beijing dates, both inclusive.
    pub from: String,
    pub to: String,
    pub doc_no: String,
    pub issuer: String,
    /// Staff only.
    pub status: String,
    /// empty (relevance) or `date`.
    pub sort: String,
    pub page: usize,
}

fn cut(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_PARAM_CHARS)
        .collect()
}

impl SearchParams {
    /// Reads a raw query string leniently: unknown keys are ignored, malformed values are
    /// dropped (with a notice for dates), nothing fails.
    pub fn from_query(raw: Option<&str>) -> (SearchParams, Vec<String>) {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
        let mut p = SearchParams {
            page: 1,
            ..Default::default()
        };
        let mut notices = Vec::new();
        let id = |v: &str| v.trim().parse::<i32>().ok().filter(|&n| n > 0);
        for (k, v) in pairs {
            match k.as_str() {
                "q" | "wd" | "keyword" => p.q = cut(&v),
                "scope" => {
                    p.scope = if v == "all" {
                        "all".into()
                    } else {
                        "site".into()
                    }
                }
                "site" => p.site = id(&v),
                "column" => p.column = id(&v),
                "from" | "to" => {
                    let v = v.trim();
                    if v.is_empty() {
                        continue;
                    }
                    if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
                        if k == "from" {
                            p.from = v.to_string();
                        } else {
                            p.to = v.to_string();
                        }
                    } else if notices.is_empty() {
                        notices
                            .push("日期格式应为“年-月-日”（如 2026-01-31），已忽略该条件。".into());
                    }
                }
                "doc_no" => p.doc_no = cut(&v),
                "issuer" => p.issuer = cut(&v),
                "status" => p.status = cut(&v),
                "sort" => {
                    p.sort = if v == "date" {
                        "date".into()
                    } else {
                        String::new()
                    }
                }
                "page" => p.page = v.trim().parse::<usize>().unwrap_or(1).clamp(1, 10_000),
                _ => {}
            }
        }
        (p, notices)
    }

    /// The query string for these parameters on another page (empty values left out).
    pub fn query_string(&self, page: usize) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("scope", &self.scope),
            ("from", &self.from),
            ("to", &self.to),
            ("doc_no", &self.doc_no),
            ("issuer", &self.issuer),
            ("status", &self.status),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                pairs.push((k, v.clone()));
            }
        }
        if let Some(s) = self.site {
            pairs.push(("site", s.to_string()));
        }
        if let Some(c) = self.column {
            pairs.push(("column", c.to_string()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The same text with no filters.
    fn without_filters(&self) -> SearchParams {
        SearchParams {
            q: self.q.clone(),
            scope: if self.scope == "site" && self.site.is_none() && self.column.is_none() {
                // The only filter left to drop is the site itself.
                "all".into()
            } else {
                self.scope.clone()
            },
            page: 1,
            ..Default::default()
        }
    }

    fn has_advanced(&self) -> bool {
        self.site.is_some()
            || self.column.is_some()
            || !self.from.is_empty()
            || !self.to.is_empty()
            || !self.doc_no.is_empty()
            || !self.issuer.is_empty()
            || !self.sort.is_empty()
            || !self.status.is_empty()
    }

    fn to_query(&self, audience: Audience, per_page: usize) -> SearchQuery {
        let mut q = SearchQuery::new(&self.q, audience);
        q.site = self.site;
        q.column = self.column;
        // Beijing dates, both inclusive.
        q.from = parse_beijing(&self.from);
        q.to = parse_beijing(&format!("{} 23:59:59", self.to));
        q.doc_no = self.doc_no.clone();
        q.issuer = self.issuer.clone();
        q.status = (!self.status.is_empty()).then(|| self.status.clone());
        q.sort = if self.sort == "date" {
            Sort::Newest
        } else {
            Sort::Relevance
        };
        q.page = self.page;
        q.per_page = per_page;
        q
    }
}

/// One result, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct ResultItem {
    pub id: i32,
    pub title_html: String,
    pub snippet_html: String,
    pub url: String,
    pub site_id: i32,
    pub site_name: String,
    pub column_name: String,
    /// `YYYY-MM-DD`, Beijing time.
    pub date: String,
    pub doc_no: String,
    pub issuer: String,
    pub kind: String,
    pub status_label: String,
}

/// A suggestion with the address that follows it.
#[derive(Debug, Clone, Serialize)]
pub struct SuggestionLink {
    pub label: String,
    pub url: String,
    pub hits: u64,
}

/// What a search page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub params: SearchParams,
    /// Whether anything was asked (a first visit shows the form only).
    pub asked: bool,
    pub total: u64,
    pub pages: usize,
    pub items: Vec<ResultItem>,
    pub suggestions: Vec<SuggestionLink>,
    pub notices: Vec<String>,
    pub took_ms: u64,
    /// Set when search cannot answer now (the page says so; never a server error).
    pub error: Option<String>,
}

/// A `Host` value without its port, lower-cased.
fn host_without_port(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    match host.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (h.ends_with(']') || !h.contains(':')) =>
        {
            h.to_string()
        }
        _ => host,
    }
}

/// What the public page needs besides the results.
pub struct PublicPage {
    /// The site of the hostname, when it is a running site.
    pub site: Option<site::Model>,
    /// Running sites: (id, name).
    pub sites: Vec<(i32, String)>,
    /// Columns of the hostname's site: (id, name).
    pub columns: Vec<(i32, String)>,
    pub outcome: Outcome,
}

/// A visitor's search on `host`.
pub async fn public(
    state: &AppState,
    host: &str,
    mut params: SearchParams,
    mut notices: Vec<String>,
    per_page: usize,
) -> AppResult<PublicPage> {
    // Every site and hostname, read once: the hostname's site, the running sites visitors may
    // search (with their first hostname), and the others, hidden.
    let all_sites = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?;
    let hostnames = site_hostname::Entity::find()
        .order_by_asc(site_hostname::Column::Id)
        .all(&state.db)
        .await?;
    let host = host_without_port(host);
    let site = hostnames
        .iter()
        .find(|h| h.hostname == host)
        .and_then(|h| all_sites.iter().find(|s| s.id == h.site_id))
        .filter(|s| s.status == PUBLIC_STATUS)
        .cloned();
    // On a site's hostname the default scope is the site; elsewhere (no site) the group.
    if site.is_none() || params.scope != "site" && params.scope != "all" {
        params.scope = if site.is_some() { "site" } else { "all" }.into();
    }
    let (running, hidden): (Vec<site::Model>, Vec<site::Model>) = all_sites
        .into_iter()
        .partition(|s| s.status == PUBLIC_STATUS);
    let hidden_sites: Vec<i32> = hidden.iter().map(|s| s.id).collect();
    let sites: Vec<(site::Model, String)> = running
        .into_iter()
        .map(|s| {
            let first = hostnames
                .iter()
                .find(|h| h.site_id == s.id)
                .map(|h| h.hostname.clone())
                .unwrap_or_default();
            (s, first)
        })
        .collect();
    let mut query_params = params.clone();
    if params.scope == "site" {
        let own = site.as_ref().map(|s| s.id);
        query_params.site = own;
        params.site = None;
    } else {
        query_params.column = None;
        params.column = None;
    }
    let columns = match &site {
        Some(s) => site_column::Entity::find()
            .filter(site_column::Column::SiteId.eq(s.id))
            .order_by_asc(site_column::Column::SortOrder)
            .order_by_asc(site_column::Column::Id)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect(),
        None => Vec::new(),
    };
    let query = query_params.to_query(Audience::Public { hidden_sites }, per_page);
    let hosts: HashMap<i32, String> = sites.iter().map(|(s, h)| (s.id, h.clone())).collect();
    let names: HashMap<i32, String> = sites.iter().map(|(s, _)| (s.id, s.name.clone())).collect();
    let own = site.as_ref().map(|s| s.id);
    let outcome = run(
        state,
        query,
        &params,
        &mut notices,
        &names,
        |hit, column| {
            if hit.kind == "link" {
                return hit.link_url.clone();
            }
            let path = column.map(|c| article_path(c, hit.id)).unwrap_or_default();
            if Some(hit.site_id) == own {
                path
            } else {
                // Another site of the group: protocol-relative, so http and https both work.
                format!(
                    "//{}{path}",
                    hosts.get(&hit.site_id).cloned().unwrap_or_default()
                )
            }
        },
    )
    .await?;
    Ok(PublicPage {
        site,
        sites: sites.into_iter().map(|(s, _)| (s.id, s.name)).collect(),
        columns,
        outcome,
    })
}

/// The sites and columns an actor may read, as the index filters them.
pub fn visibility(actor: &Actor) -> Visibility {
    if actor.is_sysadmin() {
        return Visibility {
            all_sites: true,
            ..Default::default()
        };
    }
    let mut v = Visibility::default();
    for g in &actor.grants {
        match g.column_id {
            None => v.sites.push(g.site_id),
            Some(c) => v.columns.push((g.site_id, c)),
        }
    }
    v.sites.sort_unstable();
    v.sites.dedup();
    v.columns.sort_unstable();
    v.columns.dedup();
    v
}

/// A staff member's search over drafts and published items alike.
pub async fn staff(
    state: &AppState,
    actor: &Actor,
    mut params: SearchParams,
    mut notices: Vec<String>,
) -> AppResult<Outcome> {
    params.scope = "all".into();
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|s| actor.can_view_site(s.id))
        .map(|s| (s.id, s.name))
        .collect();
    let query = params.to_query(Audience::Staff(visibility(actor)), 20);
    let mut outcome = run(state, query, &params, &mut notices, &names, |hit, _| {
        format!("/articles/{}", hit.id)
    })
    .await?;
    // Status labels from the rows (the index does not keep review levels).
    let ids: Vec<i32> = outcome.items.iter().map(|i| i.id).collect();
    let rows: HashMap<i32, article::Model> = article::Entity::find()
        .filter(article::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    for item in &mut outcome.items {
        if let Some(a) = rows.get(&item.id) {
            item.status_label = Status::from_row(&a.status, a.review_level).label();
        }
    }
    Ok(outcome)
}

/// Runs the query and turns hits into results; `url` gives each hit's address.
async fn run(
    state: &AppState,
    query: SearchQuery,
    params: &SearchParams,
    notices: &mut Vec<String>,
    site_names: &HashMap<i32, String>,
    url: impl Fn(&crate::search::Hit, Option<&site_column::Model>) -> String,
) -> AppResult<Outcome> {
    let asked = !params.q.trim().is_empty() || params.has_advanced();
    let mut outcome = Outcome {
        params: params.clone(),
        asked,
        total: 0,
        pages: 0,
        items: Vec::new(),
        suggestions: Vec::new(),
        notices: Vec::new(),
        took_ms: 0,
        error: None,
    };
    if !asked {
        outcome.notices = std::mem::take(notices);
        return Ok(outcome);
    }
    let started = std::time::Instant::now();
    let results: SearchResults = match state.search.search(query).await {
        Ok(r) => r,
        Err(SearchError::Unavailable(reason)) => {
            tracing::warn!("search unavailable: {reason}");
            outcome.error = Some("搜索服务暂时不可用，请稍后再试。".into());
            return Ok(outcome);
        }
        Err(e) => return Err(AppError::Internal(anyhow::anyhow!(e))),
    };
    outcome.took_ms = started.elapsed().as_millis() as u64;
    let column_ids: HashSet<i32> = results.hits.iter().map(|h| h.column_id).collect();
    let columns: HashMap<i32, site_column::Model> = site_column::Entity::find()
        .filter(site_column::Column::Id.is_in(column_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    outcome.items = results
        .hits
        .iter()
        .map(|h| {
            let column = columns.get(&h.column_id);
            ResultItem {
                id: h.id,
                title_html: h.title_html.clone(),
                snippet_html: h.snippet_html.clone(),
                url: url(h, column),
                site_id: h.site_id,
                site_name: site_names.get(&h.site_id).cloned().unwrap_or_default(),
                column_name: column.map(|c| c.name.clone()).unwrap_or_default(),
                date: beijing(h.date).format("%Y-%m-%d").to_string(),
                doc_no: h.doc_no.clone(),
                issuer: h.issuer.clone(),
                kind: h.kind.clone(),
                status_label: String::new(),
            }
        })
        .collect();
    outcome.total = results.total;
    outcome.pages = results.pages;
    notices.extend(results.notice);
    outcome.notices = std::mem::take(notices);
    outcome.suggestions = results
        .suggestions
        .iter()
        .map(|s| match s {
            Suggestion::Query { text, hits } => SuggestionLink {
                label: text.clone(),
                url: format!(
                    "?{}",
                    SearchParams {
                        q: text.clone(),
                        ..params.clone()
                    }
                    .query_string(1)
                ),
                hits: *hits,
            },
            Suggestion::WithoutFilters { hits } => SuggestionLink {
                label: if params.scope == "site" && !params.has_advanced() {
                    "在全部网站中搜索".into()
                } else {
                    "去掉筛选条件".into()
                },
                url: format!("?{}", params.without_filters().query_string(1)),
                hits: *hits,
            },
        })
        .collect();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_beijing_days() {
        let (p, notices) = SearchParams::from_query(Some("from=2026-01-31&to=2026-02-01"));
        assert!(notices.is_empty());
        let q = p.to_query(Audience::Staff(Visibility::default()), 10);
        assert_eq!(
            q.from.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-30T16:00:00+00:00")
        );
        assert_eq!(
            q.to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-01T15:59:59+00:00")
        );
        let (p, _) = SearchParams::from_query(Some("q=x"));
        let q = p.to_query(Audience::Staff(Visibility::default()), 10);
        assert!(q.from.is_none() && q.to.is_none());
        assert_eq!(
            host_without_port("WWW.Demo.localhost:8080"),
            "www.demo.localhost"
        );
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
    }
}
