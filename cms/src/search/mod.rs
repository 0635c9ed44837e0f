//! Full-text search over the whole site group, with Chinese word segmentation.
//!
//! The rest of the control plane sees only this module's own types: a [`SearchQuery`] says who
//! searches ([`Audience`]), for what and with which filters; [`SearchIndex`] is what an index
//! can do; [`SearchService`] keeps the index in step with the database (every content change
//! notifies it; a background task indexes the item within the second) and answers queries.
//! tantivy appears in [`engine`] only, jieba in [`segment`] only.
//!
//! One item has up to two documents: its *public* text (the published revision, what visitors
//! search) and its *staff* text (the current revision, any status, what editors search). When
//! the two are the same revision, one document carries both.

pub mod engine;
pub mod query;
pub mod segment;
pub mod service;
pub mod text;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use engine::TantivyIndex;
pub use query::ParsedQuery;
pub use service::SearchService;

/// The longest query text taken (characters); longer input is cut, with a notice.
pub const MAX_QUERY_CHARS: usize = 100;
/// Results per page at most.
pub const MAX_PER_PAGE: usize = 50;
/// How deep pagination goes (results); deeper pages are refused politely.
pub const MAX_DEPTH: usize = 5000;

/// Who is searching, which decides which documents exist for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Visitors: the published text of items on every site but these (the sites that are not
    /// running). Hiding the few is much cheaper than listing the many on every query.
    Public { hidden_sites: Vec<i32> },
    /// Staff: the current text of items in any status, within what they may read.
    Staff(Visibility),
}

/// What a staff member may read: every site, or whole sites and single columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    pub all_sites: bool,
    pub sites: Vec<i32>,
    /// (site, column) pairs granted column by column.
    pub columns: Vec<(i32, i32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Sort {
    #[default]
    Relevance,
    Newest,
}

/// One search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// What the user typed: words (all required), `"quoted phrases"`, `-excluded` words.
    pub text: String,
    pub audience: Audience,
    pub site: Option<i32>,
    pub column: Option<i32>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// 信息公开 filters: 文号 and 发文机关 (matched as phrases).
    pub doc_no: String,
    pub issuer: String,
    /// Staff only: one workflow status.
    pub status: Option<String>,
    pub sort: Sort,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
    pub snippets: bool,
}

impl SearchQuery {
    pub fn new(text: &str, audience: Audience) -> SearchQuery {
        SearchQuery {
            text: text.to_string(),
            audience,
            site: None,
            column: None,
            from: None,
            to: None,
            doc_no: String::new(),
            issuer: String::new(),
            status: None,
            sort: Sort::Relevance,
            page: 1,
            per_page: 10,
            snippets: true,
        }
    }

    /// Whether anything narrows the search beyond its text.
    pub fn has_filters(&self) -> bool {
        self.site.is_some()
            || self.column.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || !self.doc_no.trim().is_empty()
            || !self.issuer.trim().is_empty()
            || self.status.is_some()
    }
}

/// What gets indexed for one item (one audience or both).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: i32,
    pub site_id: i32,
    pub column_id: i32,
    pub kind: String,
    pub status: String,
    /// Part of the public search.
    pub public: bool,
    /// Part of the staff search.
    pub staff: bool,
    pub date: DateTime<Utc>,
    pub title: String,
    /// Plain text: subtitle, summary and body.
    pub body: String,
    pub doc_no: String,
    pub issuer: String,
    /// For link items: the external address.
    pub link_url: String,
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: i32,
    pub site_id: i32,
    pub column_id: i32,
    pub kind: String,
    pub status: String,
    /// Escaped HTML with the query's words in `<em>`.
    pub title_html: String,
    /// Escaped HTML (empty when snippets were not asked for).
    pub snippet_html: String,
    pub date: DateTime<Utc>,
    pub doc_no: String,
    pub issuer: String,
    pub link_url: String,
    pub score: f32,
}

/// A way forward when a search found nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Suggestion {
    /// Another query text that has results.
    Query { text: String, hits: u64 },
    /// The same text without the filters has results.
    WithoutFilters { hits: u64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub total: u64,
    pub page: usize,
    pub per_page: usize,
    pub pages: usize,
    pub hits: Vec<Hit>,
    pub suggestions: Vec<Suggestion>,
    /// Something about the query the user should know (cut short, too deep a page).
    pub notice: Option<String>,
}

impl SearchResults {
    pub fn empty(page: usize, per_page: usize, notice: Option<String>) -> SearchResults {
        SearchResults {
            total: 0,
            page,
            per_page,
            pages: 0,
            hits: Vec::new(),
            suggestions: Vec::new(),
            notice,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(String),
    #[error("search index is not available: {0}")]
    Unavailable(String),
}

/// What a search index does. Implementations are synchronous; callers run them off the async
/// runtime.
pub trait SearchIndex: Send + Sync {
    /// Removes every document of the items `remove`, adds `add`, and (when `commit`) makes the
    /// change durable and visible to searches. `clear` empties the index first (rebuilds).
    fn update(
        &self,
        clear: bool,
        remove: &[i32],
        add: Vec<Document>,
        commit: bool,
    ) -> Result<(), SearchError>;
    fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError>;
    /// Staff documents in the index (one per item), for consistency checks.
    fn staff_count(&self) -> Result<u64, SearchError>;
}

#[cfg(test)]
mod tests;
