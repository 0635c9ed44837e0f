//! The tantivy index behind [`SearchIndex`](super::SearchIndex).
//!
//! Schema: numeric fields for ids and filters (`id`, `site`, `column`, `date` — indexed and
//! fast), raw strings for `scope` (`pub` / `staff`), `status` and `kind`, and four text fields
//! segmented by the registered `jieba` tokenizer with positions (`title`, `body`, `doc_no`,
//! `issuer`). Token positions are character offsets (see [`segment`](super::segment)), so phrase
//! queries carry the offsets of their tokens.

use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

use super::query::{Group, ParsedQuery};
use super::segment::{self, Piece};
use super::text::Highlighter;
use super::{
    Audience, Document, Hit, MAX_DEPTH, MAX_PER_PAGE, SearchError, SearchIndex, SearchQuery,
    SearchResults, Sort, Suggestion,
};

/// Bumped when the schema or the tokenizer changes: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 2;
const VERSION_FILE: &str = "sitegroup-search-version";
const TOKENIZER: &str = "jieba";
/// `scope` terms of documents only one audience sees.
const PUBLIC_ONLY: &str = "public_only";
const STAFF_ONLY: &str = "staff_only";
/// Characters of a body indexed and kept for snippets (a body longer than a long report is
/// cut).
const MAX_BODY_CHARS: usize = 120_000;
const SNIPPET_CHARS: usize = 120;

/// The jieba adapter, registered under [`TOKENIZER`].
#[derive(Clone, Default)]
pub struct JiebaTokenizer;

pub struct JiebaStream {
    pieces: std::vec::IntoIter<Piece>,
    token: Token,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaStream {
        JiebaStream {
            pieces: segment::for_index(text).into_iter(),
            token: Token::default(),
        }
    }
}

impl TokenStream for JiebaStream {
    fn advance(&mut self) -> bool {
        match self.pieces.next() {
            Some(p) => {
                self.token.text = p.text;
                self.token.position = p.position;
                self.token.position_length = p.len.max(1);
                self.token.offset_from = p.byte_from;
                self.token.offset_to = p.byte_to;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    scope: Field,
    site: Field,
    column: Field,
    status: Field,
    kind: Field,
    date: Field,
    title: Field,
    body: Field,
    doc_no: Field,
    issuer: Field,
    link: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | STORED | FAST),
        scope: b.add_text_field("scope", STRING),
        site: b.add_u64_field("site", INDEXED | STORED | FAST),
        column: b.add_u64_field("column", INDEXED | STORED | FAST),
        status: b.add_text_field("status", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        date: b.add_i64_field("date", INDEXED | STORED | FAST),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        doc_no: b.add_text_field("doc_no", text.clone()),
        issuer: b.add_text_field("issuer", text),
        link: b.add_text_field("link", STORED),
    };
    (b.build(), fields)
}

fn u64_of(v: i32) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i32_of(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(0)
}

/// A tantivy index on disk (or in memory for tests).
pub struct TantivyIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

/// Why an index directory could not be used as it is.
#[derive(Debug)]
pub enum OpenProblem {
    /// Nothing there yet.
    Missing,
    /// Written by another schema version.
    OtherVersion(String),
    /// Unreadable or failing its checksums.
    Corrupt(String),
    /// Another process holds the index's writer lock (a running server).
    Busy,
}

impl TantivyIndex {
    /// Opens the index in `dir`, checking it. The caller decides what to do with a problem
    /// (the service moves the directory aside and rebuilds).
    pub fn open(dir: &Path) -> Result<TantivyIndex, OpenProblem> {
        if !dir.join("meta.json").exists() {
            return Err(OpenProblem::Missing);
        }
        let version = std::fs::read_to_string(dir.join(VERSION_FILE)).unwrap_or_default();
        if version.trim() != SCHEMA_VERSION.to_string() {
            return Err(OpenProblem::OtherVersion(version.trim().to_string()));
        }
        let index = Index::open_in_dir(dir).map_err(|e| OpenProblem::Corrupt(e.to_string()))?;
        let (expected, _) = schema();
        if index.schema() != expected {
            return Err(OpenProblem::OtherVersion("schema differs".into()));
        }
        // Take the writer lock before reading the files, so a running server's index is never
        // judged (or moved aside) while it is being written.
        let opened = Self::with_index(index).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => OpenProblem::Busy,
            e => OpenProblem::Corrupt(e.to_string()),
        })?;
        let bad = opened
            .index
            .validate_checksum()
            .map_err(|e| OpenProblem::Corrupt(e.to_string()))?;
        if !bad.is_empty() {
            let names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
            return Err(OpenProblem::Corrupt(format!(
                "checksum mismatch in {}",
                names.join(", ")
            )));
        }
        Ok(opened)
    }

    /// Creates an empty index in `dir` (which must not hold one).
    pub fn create(dir: &Path) -> Result<TantivyIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Index(e.to_string()))?;
        let (schema, _) = schema();
        let index = Index::create_in_dir(dir, schema).map_err(index_err)?;
        std::fs::write(dir.join(VERSION_FILE), SCHEMA_VERSION.to_string())
            .map_err(|e| SearchError::Index(e.to_string()))?;
        Self::with_index(index).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => SearchError::Unavailable(
                "the index is in use by another process (is the server running?)".into(),
            ),
            e => index_err(e),
        })
    }

    /// An index in memory (tests and benchmarks).
    pub fn in_memory() -> Result<TantivyIndex, SearchError> {
        let (schema, _) = schema();
        Self::with_index(Index::create_in_ram(schema)).map_err(index_err)
    }

    fn with_index(index: Index) -> tantivy::Result<TantivyIndex> {
        index.tokenizers().register(TOKENIZER, JiebaTokenizer);
        let (_, f) = schema();
        let writer = index.writer_with_num_threads(1, 64 * 1024 * 1024)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(TantivyIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            f,
        })
    }

    /// The payload of the last commit (the service keeps its watermark there).
    pub fn payload(&self) -> Option<String> {
        self.index.load_metas().ok()?.payload
    }

    /// Commits with a payload.
    pub fn commit_with_payload(&self, payload: &str) -> Result<(), SearchError> {
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        let mut prepared = w.prepare_commit().map_err(index_err)?;
        prepared.set_payload(payload);
        prepared.commit().map_err(index_err)?;
        drop(w);
        self.reader.reload().map_err(index_err)
    }

    fn to_tantivy(&self, d: Document) -> TantivyDocument {
        let f = self.f;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.id, u64_of(d.id));
        // Most documents are both; only the exceptions carry a term, so that audiences are
        // told apart by excluding a short posting list rather than intersecting a long one.
        match (d.public, d.staff) {
            (true, false) => doc.add_text(f.scope, PUBLIC_ONLY),
            (false, true) => doc.add_text(f.scope, STAFF_ONLY),
            _ => {}
        }
        doc.add_u64(f.site, u64_of(d.site_id));
        doc.add_u64(f.column, u64_of(d.column_id));
        doc.add_text(f.status, &d.status);
        doc.add_text(f.kind, &d.kind);
        doc.add_i64(f.date, d.date.timestamp());
        doc.add_text(f.title, &d.title);
        doc.add_text(f.body, &d.body);
        doc.add_text(f.doc_no, &d.doc_no);
        doc.add_text(f.issuer, &d.issuer);
        doc.add_text(f.link, &d.link_url);
        doc
    }

    /// A term, or the phrase of several, in one field.
    fn phrase_in(&self, field: Field, pieces: &[Piece]) -> Box<dyn Query> {
        match pieces {
            [one] => Box::new(TermQuery::new(
                Term::from_field_text(field, &one.text),
                IndexRecordOption::WithFreqs,
            )),
            _ => {
                let base = pieces[0].position;
                Box::new(PhraseQuery::new_with_offset(
                    pieces
                        .iter()
                        .map(|p| (p.position - base, Term::from_field_text(field, &p.text)))
                        .collect(),
                ))
            }
        }
    }

    /// A query in each searched field, title counting most.
    fn in_text_fields(&self, per_field: impl Fn(Field) -> Box<dyn Query>) -> Box<dyn Query> {
        let f = self.f;
        let fields = [
            (f.title, 3.0),
            (f.body, 1.0),
            (f.doc_no, 2.0),
            (f.issuer, 1.0),
        ];
        Box::new(BooleanQuery::new(
            fields
                .iter()
                .map(|&(field, boost)| {
                    let q: Box<dyn Query> = Box::new(BoostQuery::new(per_field(field), boost));
                    (Occur::Should, q)
                })
                .collect(),
        ))
    }

    /// One piece in a field: the word itself, or the shorter words tiling it standing together.
    fn piece_in(&self, field: Field, piece: &Piece, cover: &[Piece]) -> Box<dyn Query> {
        let word = self.phrase_in(field, std::slice::from_ref(piece));
        if cover.is_empty() {
            return word;
        }
        Box::new(BooleanQuery::new(vec![
            (Occur::Should, word),
            (Occur::Should, self.phrase_in(field, cover)),
        ]))
    }

    /// The group's tokens standing together in a field (as segmented, or finer).
    fn group_phrase_in(&self, field: Field, g: &Group) -> Box<dyn Query> {
        let coarse = self.phrase_in(field, &g.pieces);
        let fine = g.fine();
        if fine == g.pieces {
            return coarse;
        }
        Box::new(BooleanQuery::new(vec![
            (Occur::Should, coarse),
            (Occur::Should, self.phrase_in(field, &fine)),
        ]))
    }

    fn group_query(&self, g: &Group) -> Box<dyn Query> {
        if g.phrase || g.pieces.len() == 1 {
            return self.in_text_fields(|field| self.group_phrase_in(field, g));
        }
        // Every token somewhere; more where they stand together.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = g
            .pieces
            .iter()
            .zip(&g.covers)
            .map(|(p, cover)| {
                (
                    Occur::Must,
                    self.in_text_fields(|field| self.piece_in(field, p, cover)),
                )
            })
            .collect();
        clauses.push((
            Occur::Should,
            self.in_text_fields(|field| self.group_phrase_in(field, g)),
        ));
        Box::new(BooleanQuery::new(clauses))
    }

    fn text_query(&self, parsed: &ParsedQuery) -> Option<Box<dyn Query>> {
        if parsed.is_empty() {
            return None;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = parsed
            .required
            .iter()
            .map(|g| (Occur::Must, self.group_query(g)))
            .collect();
        for g in &parsed.excluded {
            clauses.push((
                Occur::MustNot,
                self.in_text_fields(|field| self.group_phrase_in(field, g)),
            ));
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    fn u64_terms(&self, field: Field, values: impl IntoIterator<Item = i32>) -> Box<dyn Query> {
        let mut terms: Vec<Term> = values
            .into_iter()
            .map(|v| Term::from_field_u64(field, u64_of(v)))
            .collect();
        if terms.len() == 1 {
            // One value: its posting list, walked lazily, rather than a bitset of the segment.
            if let Some(term) = terms.pop() {
                return Box::new(TermQuery::new(term, IndexRecordOption::Basic));
            }
        }
        Box::new(TermSetQuery::new(terms))
    }

    /// Segments of the index now (a benchmark figure).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    fn term(&self, field: Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    }

    /// Who may see what, and the filters: clauses to add to the text query (`MustNot` for what
    /// is hidden, `Must` for the rest); `None` when the audience can see nothing.
    fn filter_query(&self, q: &SearchQuery, with_filters: bool) -> Option<Vec<Clause>> {
        let f = self.f;
        let mut out: Vec<Clause> = Vec::new();
        match &q.audience {
            Audience::Public { hidden_sites } => {
                out.push((Occur::MustNot, self.term(f.scope, STAFF_ONLY)));
                if !hidden_sites.is_empty() {
                    out.push((
                        Occur::MustNot,
                        self.u64_terms(f.site, hidden_sites.iter().copied()),
                    ));
                }
            }
            Audience::Staff(v) => {
                out.push((Occur::MustNot, self.term(f.scope, PUBLIC_ONLY)));
                if !v.all_sites {
                    let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                    if !v.sites.is_empty() {
                        any.push((
                            Occur::Should,
                            self.u64_terms(f.site, v.sites.iter().copied()),
                        ));
                    }
                    for &(site, column) in &v.columns {
                        any.push((
                            Occur::Should,
                            Box::new(BooleanQuery::new(vec![
                                (Occur::Must, self.u64_terms(f.site, [site])),
                                (Occur::Must, self.u64_terms(f.column, [column])),
                            ])),
                        ));
                    }
                    if any.is_empty() {
                        return None;
                    }
                    out.push((Occur::Must, Box::new(BooleanQuery::new(any))));
                }
            }
        }
        if !with_filters {
            return Some(out);
        }
        if let Some(site) = q.site {
            out.push((Occur::Must, self.u64_terms(f.site, [site])));
        }
        if let Some(column) = q.column {
            out.push((Occur::Must, self.u64_terms(f.column, [column])));
        }
        if q.from.is_some() || q.to.is_some() {
            let bound = |t: Option<DateTime<Utc>>| match t {
                Some(t) => Bound::Included(Term::from_field_i64(f.date, t.timestamp())),
                None => Bound::Unbounded,
            };
            out.push((
                Occur::Must,
                Box::new(RangeQuery::new(bound(q.from), bound(q.to))),
            ));
        }
        for (field, value) in [(f.doc_no, &q.doc_no), (f.issuer, &q.issuer)] {
            let pieces = segment::for_query(value.trim());
            if !pieces.is_empty() {
                out.push((Occur::Must, self.phrase_in(field, &pieces)));
            }
        }
        if let (Some(status), Audience::Staff(_)) = (&q.status, &q.audience) {
            out.push((Occur::Must, self.term(f.status, status)));
        }
        Some(out)
    }

    fn combined(&self, text: Option<Box<dyn Query>>, filters: Vec<Clause>) -> BooleanQuery {
        let mut clauses: Vec<Clause> = Vec::new();
        match text {
            Some(t) => clauses.push((Occur::Must, t)),
            None => clauses.push((Occur::Must, Box::new(AllQuery))),
        }
        for (occur, q) in filters {
            // Filters decide membership only; relevance comes from the text.
            clauses.push(match occur {
                Occur::Must => (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))),
                other => (other, q),
            });
        }
        BooleanQuery::new(clauses)
    }

    fn count(&self, query: &dyn Query) -> Result<u64, SearchError> {
        let searcher = self.reader.searcher();
        searcher
            .search(query, &Count)
            .map(|n| n as u64)
            .map_err(index_err)
    }

    /// Ways forward when nothing was found.
    fn suggest(
        &self,
        q: &SearchQuery,
        parsed: &ParsedQuery,
    ) -> Result<Vec<Suggestion>, SearchError> {
        let mut out = Vec::new();
        let Some(base) = self.filter_query(q, false) else {
            return Ok(out);
        };
        if parsed.is_empty() {
            return Ok(out);
        }
        // The same words without the filters.
        if q.has_filters() {
            let n = self.count(&self.combined(self.text_query(parsed), clone_all(&base)))?;
            if n > 0 {
                out.push(Suggestion::WithoutFilters { hits: n });
            }
        }
        // Fewer words: leave out each group that matches nothing for this audience.
        if parsed.required.len() > 1 || parsed.required.iter().any(|g| g.pieces.len() > 1) {
            let mut kept: Vec<&Group> = Vec::new();
            for g in &parsed.required {
                let alone = ParsedQuery {
                    required: vec![g.clone()],
                    ..Default::default()
                };
                if self.count(&self.combined(self.text_query(&alone), clone_all(&base)))? > 0 {
                    kept.push(g);
                }
            }
            if !kept.is_empty() && kept.len() < parsed.required.len() {
                let reduced = ParsedQuery {
                    required: kept.iter().map(|g| (*g).clone()).collect(),
                    ..Default::default()
                };
                let n = self.count(&self.combined(self.text_query(&reduced), clone_all(&base)))?;
                if n > 0 {
                    out.push(Suggestion::Query {
                        text: ParsedQuery::describe(&kept),
                        hits: n,
                    });
                }
            }
        }
        // Misspelt Latin words: a term one or two edits away.
        for g in &parsed.required {
            for p in &g.pieces {
                if p.text.len() < 4 || !p.text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    continue;
                }
                if let Some(better) = self.closest_term(&p.text)? {
                    let text = parsed
                        .required
                        .iter()
                        .map(|g| g.raw.to_lowercase().replace(&p.text, &better))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let reparsed = ParsedQuery::parse(&text);
                    let n =
                        self.count(&self.combined(self.text_query(&reparsed), clone_all(&base)))?;
                    if n > 0 {
                        out.push(Suggestion::Query { text, hits: n });
                    }
                }
            }
        }
        out.truncate(4);
        Ok(out)
    }

    /// The most frequent title or body term within edit distance 1 (2 for long words) of
    /// `word`, sharing its first letter.
    fn closest_term(&self, word: &str) -> Result<Option<String>, SearchError> {
        let max = if word.len() >= 7 { 2 } else { 1 };
        let searcher = self.reader.searcher();
        let mut best: Option<(u64, String)> = None;
        let first = &word[..1];
        let mut upper = first.as_bytes().to_vec();
        upper[0] += 1;
        for segment in searcher.segment_readers() {
            for field in [self.f.title, self.f.body] {
                let inverted = segment.inverted_index(field).map_err(index_err)?;
                let mut stream = inverted
                    .terms()
                    .range()
                    .ge(first.as_bytes())
                    .lt(&upper)
                    .into_stream()
                    .map_err(|e| SearchError::Index(e.to_string()))?;
                let mut seen = 0;
                while stream.advance() && seen < 50_000 {
                    seen += 1;
                    let Ok(term) = std::str::from_utf8(stream.key()) else {
                        continue;
                    };
                    if term == word || term.len().abs_diff(word.len()) > max {
                        continue;
                    }
                    if edit_distance(term, word) <= max {
                        let df = u64::from(stream.value().doc_freq);
                        if best.as_ref().is_none_or(|(n, _)| df > *n) {
                            best = Some((df, term.to_string()));
                        }
                    }
                }
            }
        }
        Ok(best.map(|(_, t)| t))
    }

    fn hit(&self, doc: &TantivyDocument, score: f32, hl: &Highlighter, snippets: bool) -> Hit {
        let f = self.f;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let num = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        let date = doc.get_first(f.date).and_then(|v| v.as_i64()).unwrap_or(0);
        let body = text(f.body);
        Hit {
            id: i32_of(num(f.id)),
            site_id: i32_of(num(f.site)),
            column_id: i32_of(num(f.column)),
            kind: text(f.kind),
            status: text(f.status),
            title_html: hl.mark(&text(f.title)),
            snippet_html: if snippets {
                hl.snippet(&body, SNIPPET_CHARS)
            } else {
                String::new()
            },
            date: DateTime::from_timestamp(date, 0).unwrap_or_default(),
            doc_no: text(f.doc_no),
            issuer: text(f.issuer),
            link_url: text(f.link),
            score,
        }
    }
}

/// Edit distance over bytes, a swap of neighbours counting one edit (optimal string
/// alignment); the callers compare ASCII words.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

type Clause = (Occur, Box<dyn Query>);

fn clone_all(clauses: &[Clause]) -> Vec<Clause> {
    clauses.iter().map(|(o, q)| (*o, q.box_clone())).collect()
}

fn index_err(e: tantivy::TantivyError) -> SearchError {
    SearchError::Index(e.to_string())
}

fn poisoned() -> SearchError {
    SearchError::Index("index writer lock poisoned".into())
}

impl SearchIndex for TantivyIndex {
    fn update(
        &self,
        clear: bool,
        remove: &[i32],
        add: Vec<Document>,
        commit: bool,
    ) -> Result<(), SearchError> {
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        if clear {
            w.delete_all_documents().map_err(index_err)?;
        }
        let mut removed: HashSet<i32> = HashSet::new();
        for &id in remove {
            if removed.insert(id) {
                w.delete_term(Term::from_field_u64(self.f.id, u64_of(id)));
            }
        }
        for mut d in add {
            if let Some((cut, _)) = d.body.char_indices().nth(MAX_BODY_CHARS) {
                d.body.truncate(cut);
            }
            w.add_document(self.to_tantivy(d)).map_err(index_err)?;
        }
        if commit {
            w.commit().map_err(index_err)?;
            drop(w);
            self.reader.reload().map_err(index_err)?;
        }
        Ok(())
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
        let page = q.page.max(1);
        let parsed = ParsedQuery::parse(&q.text);
        let mut notice = parsed
            .truncated
            .then(|| format!("关键词过长，只按前 {} 个字搜索。", super::MAX_QUERY_CHARS));
        let Some(filters) = self.filter_query(q, true) else {
            return Ok(SearchResults::empty(page, per_page, notice));
        };
        if parsed.is_empty() && !q.has_filters() {
            return Ok(SearchResults::empty(page, per_page, notice));
        }
        let offset = (page - 1) * per_page;
        if offset >= MAX_DEPTH {
            notice = Some(format!("只能查看前 {MAX_DEPTH} 条结果，请缩小搜索范围。"));
            return Ok(SearchResults::empty(page, per_page, notice));
        }
        let text = self.text_query(&parsed);
        let sort = if text.is_none() { Sort::Newest } else { q.sort };
        let query = self.combined(text, filters);
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(per_page).and_offset(offset);
        let (total, docs): (usize, Vec<(f32, DocAddress)>) = match sort {
            Sort::Relevance => searcher
                .search(&query, &(Count, top.order_by_score()))
                .map_err(index_err)?,
            Sort::Newest => {
                let (n, docs) = searcher
                    .search(
                        &query,
                        &(Count, top.order_by_fast_field::<i64>("date", Order::Desc)),
                    )
                    .map_err(index_err)?;
                (n, docs.into_iter().map(|(_, d)| (0.0, d)).collect())
            }
        };
        let hl = Highlighter::new(&parsed.highlight_words());
        let mut hits = Vec::with_capacity(docs.len());
        for (score, address) in docs {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_err)?;
            hits.push(self.hit(&doc, score, &hl, q.snippets));
        }
        let total = total as u64;
        let suggestions = if total == 0 {
            self.suggest(q, &parsed)?
        } else {
            Vec::new()
        };
        Ok(SearchResults {
            total,
            page,
            per_page,
            pages: usize::try_from(total)
                .unwrap_or(usize::MAX)
                .min(MAX_DEPTH)
                .div_ceil(per_page),
            hits,
            suggestions,
            notice,
        })
    }

    fn staff_count(&self) -> Result<u64, SearchError> {
        let all = self.reader.searcher().num_docs();
        let public_only = self.count(&TermQuery::new(
            Term::from_field_text(self.f.scope, PUBLIC_ONLY),
            IndexRecordOption::Basic,
        ))?;
        Ok(all - public_only)
    }
}
