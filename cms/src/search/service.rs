//! Keeping the index in step with the database, and answering searches.
//!
//! Every change to an item calls [`SearchService::notify`] after its transaction commits; a
//! background task reads the items' current rows and replaces their documents (one commit per
//! batch, so a burst of changes costs one commit). [`SearchService::settled`] waits until
//! everything notified so far is searchable.
//!
//! At start the index is checked: missing, of another schema version, failing its checksums, or
//! holding a different number of items than the database → it is moved aside and rebuilt from
//! the database in the background (searches answer from what is there meanwhile), with a
//! warning in the log. Items changed since the last commit's watermark (kept in the commit
//! payload) are indexed again, so a crash between a database commit and the index commit loses
//! nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use tokio::sync::{mpsc, watch};

use super::engine::{OpenProblem, TantivyIndex};
use super::text::html_to_text;
use super::{Document, SearchError, SearchIndex, SearchQuery, SearchResults, segment};
use crate::db::entities::{article, article_revision};

/// Items read from the database per batch when rebuilding.
const REBUILD_BATCH: u64 = 1000;

enum Job {
    Items(Vec<i32>),
    /// Check the index against the database (at start).
    Check,
    Rebuild(String),
}

/// The search index of the control plane, with its indexing task.
pub struct SearchService {
    /// Taken away by [`SearchService::close`], which releases the index's writer lock.
    index: std::sync::Mutex<Option<Arc<TantivyIndex>>>,
    /// Why there is no index (another process holds it).
    unavailable: Option<String>,
    tx: std::sync::Mutex<Option<mpsc::UnboundedSender<(Job, u64)>>>,
    requested: AtomicU64,
    done: watch::Receiver<u64>,
    worker: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Batches (or rebuilds) that failed since start.
    failures: Arc<AtomicU64>,
}

/// Where the index lives under the data directory.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("search").join("index")
}

impl SearchService {
    /// Opens (or creates) the index under `data_dir` and starts the indexing task. Never fails:
    /// an index that cannot be used is rebuilt; one held by another process leaves search
    /// unavailable (searches answer with an error the pages show politely).
    pub fn open(data_dir: &Path, db: DatabaseConnection, force_rebuild: bool) -> SearchService {
        let dir = index_dir(data_dir);
        let (index, first) = match TantivyIndex::open(&dir) {
            Ok(index) if force_rebuild => (Ok(index), Job::Rebuild("rebuild requested".into())),
            Ok(index) => (Ok(index), Job::Check),
            Err(OpenProblem::Busy) => (
                Err("the index is in use by another process (is the server running?)".to_string()),
                Job::Check,
            ),
            Err(problem) => {
                let reason = match problem {
                    OpenProblem::Missing => "no index yet".to_string(),
                    OpenProblem::OtherVersion(v) => format!("index of another version ({v})"),
                    OpenProblem::Corrupt(e) => format!("index unreadable: {e}"),
                    OpenProblem::Busy => unreachable!("handled above"),
                };
                if dir.exists() {
                    let aside = dir.with_file_name(format!(
                        "index.broken-{}",
                        Utc::now().format("%Y%m%d%H%M%S")
                    ));
                    tracing::warn!(
                        "search: {reason}; moving {} aside to {} and rebuilding",
                        dir.display(),
                        aside.display()
                    );
                    if let Err(e) = std::fs::rename(&dir, &aside) {
                        tracing::warn!(
                            "search: could not move the old index aside ({e}); removing it"
                        );
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                } else {
                    tracing::info!("search: {reason}; building the index from the database");
                }
                (
                    TantivyIndex::create(&dir).map_err(|e| e.to_string()),
                    Job::Rebuild(reason),
                )
            }
        };
        let (done_tx, done) = watch::channel(0);
        match index {
            Ok(index) => {
                let index = Arc::new(index);
                let (tx, rx) = mpsc::unbounded_channel();
                let _ = tx.send((first, 1));
                let failures = Arc::new(AtomicU64::new(0));
                let worker = tokio::spawn(run(index.clone(), db, rx, done_tx, failures.clone()));
                SearchService {
                    index: std::sync::Mutex::new(Some(index)),
                    unavailable: None,
                    tx: std::sync::Mutex::new(Some(tx)),
                    requested: AtomicU64::new(1),
                    done,
                    worker: std::sync::Mutex::new(Some(worker)),
                    failures,
                }
            }
            Err(reason) => {
                tracing::warn!("search unavailable: {reason}");
                SearchService {
                    index: std::sync::Mutex::new(None),
                    unavailable: Some(reason),
                    tx: std::sync::Mutex::new(None),
                    requested: AtomicU64::new(0),
                    done,
                    worker: std::sync::Mutex::new(None),
                    failures: Arc::new(AtomicU64::new(0)),
                }
            }
        }
    }

    /// Why search is unavailable, if it is.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    fn send(&self, job: Job) {
        if let Ok(tx) = self.tx.lock()
            && let Some(tx) = tx.as_ref()
        {
            let seq = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = tx.send((job, seq));
        }
    }

    /// These items changed (created, edited, moved through the workflow, deleted, purged).
    pub fn notify(&self, ids: &[i32]) {
        if !ids.is_empty() {
            self.send(Job::Items(ids.to_vec()));
        }
    }

    /// Rebuilds the whole index from the database in the background.
    pub fn rebuild(&self, reason: &str) {
        self.send(Job::Rebuild(reason.to_string()));
    }

    /// Waits until every change notified before this call is searchable.
    pub async fn settled(&self) {
        let target = self.requested.load(Ordering::SeqCst);
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d >= target).await;
    }

    /// Finishes the queued work and stops the indexing task (releasing the index).
    pub async fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Ok(mut index) = self.index.lock() {
            index.take();
        }
    }

    fn index(&self) -> Result<Arc<TantivyIndex>, SearchError> {
        self.index
            .lock()
            .ok()
            .and_then(|i| i.clone())
            .ok_or_else(|| {
                SearchError::Unavailable(
                    self.unavailable
                        .clone()
                        .unwrap_or_else(|| "search is closed".into()),
                )
            })
    }

    pub async fn search(&self, query: SearchQuery) -> Result<SearchResults, SearchError> {
        let index = self.index()?;
        tokio::task::spawn_blocking(move || index.search(&query))
            .await
            .map_err(|e| SearchError::Index(e.to_string()))?
    }

    /// How many indexing batches or rebuilds have failed since the index was opened.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }

    /// Staff documents in the index (one per live item).
    pub fn staff_count(&self) -> Result<u64, SearchError> {
        self.index()?.staff_count()
    }
}

/// The indexing task: batches what has queued up, indexes it, reports progress.
async fn run(
    index: Arc<TantivyIndex>,
    db: DatabaseConnection,
    mut rx: mpsc::UnboundedReceiver<(Job, u64)>,
    done: watch::Sender<u64>,
    failures: Arc<AtomicU64>,
) {
    let _ = tokio::task::spawn_blocking(segment::warm_up).await;
    let mut watermark = index
        .payload()
        .and_then(|p| DateTime::parse_from_rfc3339(&p).ok())
        .map(|t| t.with_timezone(&Utc));
    while let Some((job, seq)) = rx.recv().await {
        let mut last = seq;
        let mut ids: HashSet<i32> = HashSet::new();
        let mut rebuild: Option<String> = None;
        let mut check = false;
        let mut take = |job: Job| match job {
            Job::Items(v) => ids.extend(v),
            Job::Check => check = true,
            Job::Rebuild(r) => rebuild = Some(r),
        };
        take(job);
        while let Ok((job, seq)) = rx.try_recv() {
            take(job);
            last = seq;
        }
        if check && rebuild.is_none() {
            match consistency(&index, &db, watermark).await {
                Ok(Consistency::Rebuild(reason)) => rebuild = Some(reason),
                Ok(Consistency::Reindex(stale)) => ids.extend(stale),
                Err(e) => tracing::error!("search: checking the index failed: {e}"),
            }
        }
        let result = match rebuild {
            Some(reason) => rebuild_all(&index, &db, &reason).await,
            None if ids.is_empty() => Ok(None),
            None => {
                let ids: Vec<i32> = ids.into_iter().collect();
                index_items(&index, &db, &ids, watermark).await
            }
        };
        match result {
            Ok(Some(w)) => watermark = Some(w),
            Ok(None) => {}
            // The items stay as they were in the index; the next start's check (or the next
            // change to them) indexes them again.
            Err(e) => {
                failures.fetch_add(1, Ordering::SeqCst);
                tracing::error!("search: indexing failed: {e}");
            }
        }
        let _ = done.send(last);
    }
}

enum Consistency {
    Rebuild(String),
    Reindex(Vec<i32>),
}

/// Compares the index with the database.
async fn consistency(
    index: &Arc<TantivyIndex>,
    db: &DatabaseConnection,
    watermark: Option<DateTime<Utc>>,
) -> anyhow::Result<Consistency> {
    let live = article::Entity::find()
        .filter(article::Column::DeletedAt.is_null())
        .filter(article::Column::CurrentRevisionId.is_not_null())
        .count(db)
        .await?;
    let indexed = index.staff_count()?;
    if live != indexed {
        return Ok(Consistency::Rebuild(format!(
            "index holds {indexed} items, the database {live}"
        )));
    }
    let Some(watermark) = watermark else {
        return Ok(if live == 0 {
            Consistency::Reindex(Vec::new())
        } else {
            Consistency::Rebuild("index has no watermark".into())
        });
    };
    // Changes in the last minutes before the last commit may have been batched after it.
    let since = watermark - chrono::Duration::minutes(5);
    let stale = article::Entity::find()
        .filter(article::Column::UpdatedAt.gt(since))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    Ok(Consistency::Reindex(stale))
}

/// Replaces the documents of `ids` with their current state. Returns the new watermark.
async fn index_items(
    index: &Arc<TantivyIndex>,
    db: &DatabaseConnection,
    ids: &[i32],
    watermark: Option<DateTime<Utc>>,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let mut docs = Vec::new();
    let mut newest = watermark;
    for chunk in ids.chunks(500) {
        let articles = article::Entity::find()
            .filter(article::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        newest = articles.iter().map(|a| a.updated_at).max().max(newest);
        docs.extend(documents_of(db, &articles).await?);
    }
    let newest = newest.unwrap_or_else(Utc::now);
    let ids = ids.to_vec();
    let index = index.clone();
    tokio::task::spawn_blocking(move || {
        index.update(false, &ids, docs, false)?;
        index.commit_with_payload(&newest.to_rfc3339())
    })
    .await??;
    Ok(Some(newest))
}

/// Rebuilds the index from every live item.
async fn rebuild_all(
    index: &Arc<TantivyIndex>,
    db: &DatabaseConnection,
    reason: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let started = std::time::Instant::now();
    tracing::warn!("search: rebuilding the index ({reason})");
    let mut newest: Option<DateTime<Utc>> = None;
    let mut pages = article::Entity::find()
        .filter(article::Column::DeletedAt.is_null())
        .order_by_asc(article::Column::Id)
        .paginate(db, REBUILD_BATCH);
    let mut first = true;
    let mut count = 0usize;
    while let Some(articles) = pages.fetch_and_next().await? {
        newest = articles.iter().map(|a| a.updated_at).max().max(newest);
        let docs = documents_of(db, &articles).await?;
        count += articles.len();
        let index = index.clone();
        let clear = std::mem::take(&mut first);
        tokio::task::spawn_blocking(move || index.update(clear, &[], docs, false)).await??;
    }
    let newest = newest.unwrap_or_else(Utc::now);
    let index2 = index.clone();
    tokio::task::spawn_blocking(move || {
        if first {
            // No items at all: the index must still be emptied.
            index2.update(true, &[], Vec::new(), false)?;
        }
        index2.commit_with_payload(&newest.to_rfc3339())
    })
    .await??;
    tracing::warn!(
        items = count,
        millis = started.elapsed().as_millis() as u64,
        "search: index rebuilt"
    );
    Ok(Some(newest))
}

/// The documents of these items: public text of published ones, staff text of every live one.
async fn documents_of(
    db: &DatabaseConnection,
    articles: &[article::Model],
) -> anyhow::Result<Vec<Document>> {
    let rev_ids: Vec<i32> = articles
        .iter()
        .filter(|a| a.deleted_at.is_none())
        .flat_map(|a| [a.current_revision_id, a.published_revision_id])
        .flatten()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut revisions: HashMap<i32, article_revision::Model> = HashMap::new();
    for chunk in rev_ids.chunks(500) {
        for r in article_revision::Entity::find()
            .filter(article_revision::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            revisions.insert(r.id, r);
        }
    }
    let mut out = Vec::new();
    for a in articles {
        if a.deleted_at.is_some() {
            continue;
        }
        let current = a.current_revision_id.and_then(|id| revisions.get(&id));
        let published = (a.status == "published")
            .then(|| a.published_revision_id.and_then(|id| revisions.get(&id)))
            .flatten();
        match (current, published) {
            (Some(c), Some(p)) if c.id == p.id => out.push(document(a, c, true, true)),
            (c, p) => {
                if let Some(p) = p {
                    out.push(document(a, p, true, false));
                }
                if let Some(c) = c {
                    out.push(document(a, c, false, true));
                }
            }
        }
    }
    Ok(out)
}

fn document(
    a: &article::Model,
    r: &article_revision::Model,
    public: bool,
    staff: bool,
) -> Document {
    let mut body = String::new();
    for part in [&r.subtitle, &r.summary] {
        if !part.is_empty() {
            body.push_str(part);
            body.push(' ');
        }
    }
    body.push_str(&html_to_text(&r.body));
    // Attachment names are searched too ("2026年预算表.xlsx").
    for line in r.attachments.lines() {
        if let Some((_, name)) = line.split_once('\t') {
            body.push(' ');
            body.push_str(name);
        }
    }
    for extra in [&r.topic, &r.index_no] {
        if !extra.is_empty() {
            body.push(' ');
            body.push_str(extra);
        }
    }
    Document {
        id: a.id,
        site_id: a.site_id,
        column_id: a.column_id,
        kind: a.kind.clone(),
        status: a.status.clone(),
        public,
        staff,
        date: r.publish_time.or(a.published_at).unwrap_or(a.created_at),
        title: r.title.clone(),
        body,
        doc_no: r.doc_no.clone(),
        issuer: r.issuer.clone(),
        link_url: r.link_url.clone(),
    }
}
