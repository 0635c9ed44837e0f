//! Listings: filtered, paginated items within the actor's scope; dashboard lists; to-do.

use super::*;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListFilter {
    pub site_id: Option<i32>,
    pub column_id: Option<i32>,
    pub status: Option<String>,
    /// Title contains.
    pub q: Option<String>,
    /// The recycle bin instead of live items.
    pub deleted: bool,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArticleRow {
    pub id: i32,
    pub site_id: i32,
    pub column_id: i32,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// The condition limiting rows to what the actor may read.
fn read_scope(actor: &Actor) -> Condition {
    if actor.is_sysadmin() {
        return Condition::all();
    }
    let mut any = Condition::any();
    for g in &actor.grants {
        let mut c = Condition::all().add(article::Column::SiteId.eq(g.site_id));
        if let Some(col) = g.column_id {
            c = c.add(article::Column::ColumnId.eq(col));
        }
        any = any.add(c);
    }
    // No grants: an empty OR, which matches nothing.
    any
}

pub async fn list(state: &AppState, actor: &Actor, f: &ListFilter) -> AppResult<Page<ArticleRow>> {
    let per_page = f.per_page.unwrap_or(20).clamp(1, 200);
    let page = f.page.unwrap_or(1).max(1);
    let mut q = article::Entity::find().filter(read_scope(actor));
    if let Some(s) = f.site_id {
        q = q.filter(article::Column::SiteId.eq(s));
    }
    if let Some(c) = f.column_id {
        q = q.filter(article::Column::ColumnId.eq(c));
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(article::Column::Status.eq(s));
    }
    q = if f.deleted {
        q.filter(article::Column::DeletedAt.is_not_null())
    } else {
        q.filter(article::Column::DeletedAt.is_null())
    };
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // Titles live in revisions; match the current revision's title (a subquery: no
        // revision rows are read into the application).
        let matching = sea_orm::sea_query::Query::select()
            .column(article_revision::Column::Id)
            .from(article_revision::Entity)
            .and_where(article_revision::Column::Title.contains(text))
            .to_owned();
        q = q.filter(article::Column::CurrentRevisionId.in_subquery(matching));
    }
    let paginator = q
        .order_by_desc(article::Column::UpdatedAt)
        .order_by_desc(article::Column::Id)
        .paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    Ok(Page {
        items: rows_of(state, rows).await?,
        total,
        page,
        per_page,
    })
}

async fn rows_of(state: &AppState, rows: Vec<article::Model>) -> AppResult<Vec<ArticleRow>> {
    let rev_ids: Vec<i32> = rows.iter().filter_map(|a| a.current_revision_id).collect();
    let titles: HashMap<i32, String> = article_revision::Entity::find()
        .filter(article_revision::Column::Id.is_in(rev_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.title))
        .collect();
    Ok(rows
        .into_iter()
        .map(|a| ArticleRow {
            id: a.id,
            site_id: a.site_id,
            column_id: a.column_id,
            kind: a.kind.clone(),
            title: a
                .current_revision_id
                .and_then(|r| titles.get(&r).cloned())
                .unwrap_or_default(),
            status_label: Status::from_row(&a.status, a.review_level).label(),
            status: a.status,
            updated_at: format_beijing(a.updated_at),
        })
        .collect())
}

/// The actor's own drafts and returned items, most recently changed first.
pub async fn my_drafts(state: &AppState, actor: &Actor, limit: u64) -> AppResult<Vec<ArticleRow>> {
    let rows = article::Entity::find()
        .filter(read_scope(actor))
        .filter(article::Column::CreatedBy.eq(actor.id()))
        .filter(article::Column::Status.is_in(["draft", "returned"]))
        .filter(article::Column::DeletedAt.is_null())
        .order_by_desc(article::Column::UpdatedAt)
        .paginate(&state.db, limit.max(1))
        .fetch_page(0)
        .await?;
    rows_of(state, rows).await
}

/// The latest publications the actor may see.
pub async fn recently_published(
    state: &AppState,
    actor: &Actor,
    limit: u64,
) -> AppResult<Vec<ArticleRow>> {
    let rows = article::Entity::find()
        .filter(read_scope(actor))
        .filter(article::Column::Status.eq("published"))
        .filter(article::Column::DeletedAt.is_null())
        .order_by_desc(article::Column::PublishedAt)
        .paginate(&state.db, limit.max(1))
        .fetch_page(0)
        .await?;
    rows_of(state, rows).await
}

/// Per site the actor may see: (site id, status, count) of live items.
pub async fn counts_by_site(
    state: &AppState,
    actor: &Actor,
) -> AppResult<HashMap<i32, HashMap<String, i64>>> {
    use sea_orm::{FromQueryResult, QuerySelect};
    #[derive(FromQueryResult)]
    struct Row {
        site_id: i32,
        status: String,
        n: i64,
    }
    let rows = article::Entity::find()
        .select_only()
        .column(article::Column::SiteId)
        .column(article::Column::Status)
        .column_as(article::Column::Id.count(), "n")
        .filter(read_scope(actor))
        .filter(article::Column::DeletedAt.is_null())
        .group_by(article::Column::SiteId)
        .group_by(article::Column::Status)
        .into_model::<Row>()
        .all(&state.db)
        .await?;
    let mut out: HashMap<i32, HashMap<String, i64>> = HashMap::new();
    for r in rows {
        out.entry(r.site_id).or_default().insert(r.status, r.n);
    }
    Ok(out)
}

/// Items waiting for a decision this actor may take.
pub async fn todo(state: &AppState, actor: &Actor) -> AppResult<Vec<ArticleRow>> {
    let pending = article::Entity::find()
        .filter(read_scope(actor))
        .filter(article::Column::Status.eq("pending"))
        .filter(article::Column::DeletedAt.is_null())
        .order_by_asc(article::Column::UpdatedAt)
        .all(&state.db)
        .await?;
    let mine = pending
        .into_iter()
        .filter(|a| actor.can_review(a.site_id, a.column_id, a.review_level))
        .collect();
    rows_of(state, mine).await
}
