//! The public search of every site: `/search/` (the page, in the site's theme) and
//! `/search/api` (the same as JSON). The gateway sends `/search/` of each site's hostnames here;
//! the site is found by the hostname the visitor used (`X-Forwarded-Host`, else `Host`). On a
//! hostname of no running site the page is the group-wide search portal.
//!
//! Whatever the query string holds, the answer is a page (or JSON) — never a server error: bad
//! values are dropped with a notice, the text is cut to its limit, and an index that cannot
//! answer gives a polite 503.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::{Value, context};
use serde_json::json;

use crate::error::AppResult;
use crate::service::search::{self, PublicPage, SearchParams};
use crate::state::SharedState;
use crate::theme::SEARCH_TEMPLATE;

/// Results per page on the public page.
const PER_PAGE: usize = 10;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/search/", get(page))
        .route(
            "/search",
            get(|| async { axum::response::Redirect::permanent("/search/") }),
        )
        .route("/search/api", get(api))
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

async fn page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (params, notices) = SearchParams::from_query(raw.as_deref());
    let found = search::public(&state, &host_of(&headers), params, notices, PER_PAGE).await?;
    let status = if found.outcome.error.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let html = render(&state, &found).await?;
    Ok(no_store((status, Html(html)).into_response()))
}

/// Renders the page with the site's theme (the default theme's page when the theme has none;
/// the default theme for the group portal).
async fn render(state: &SharedState, found: &PublicPage) -> AppResult<String> {
    let o = &found.outcome;
    let p = &o.params;
    let (site_ctx, group) = match &found.site {
        Some(site) => crate::publish::page_context(&state.db, site).await?,
        None => (
            context! {
                name => "网站群统一搜索", domain => "", id_code => "", icp => "", psb => "",
                contact => "", party_gov_mark => false, org_name => "网站群统一平台",
                columns => Vec::<Value>::new(),
            },
            context! { mourning => crate::publish::mourning_mode(&state.db).await? },
        ),
    };
    let theme_name = found.site.as_ref().map_or("default", |s| s.theme.as_str());
    let theme = state
        .themes
        .get(theme_name)
        .filter(|t| t.has(SEARCH_TEMPLATE))
        .or_else(|| state.themes.get("default"))
        .ok_or_else(|| anyhow::anyhow!("the default theme is missing"))?;
    let numbers: Vec<Value> = {
        let first = p.page.saturating_sub(4).max(1);
        let last = (first + 8).min(o.pages);
        (first..=last)
            .map(|n| context! { n => n, url => format!("?{}", p.query_string(n)), current => n == p.page })
            .collect()
    };
    let ctx = context! {
        group => group,
        site => site_ctx,
        search => context! {
            q => p.q.clone(),
            scope => p.scope.clone(),
            has_site => found.site.is_some(),
            advanced => p.site.is_some() || p.column.is_some() || !p.from.is_empty() || !p.to.is_empty()
                || !p.doc_no.is_empty() || !p.issuer.is_empty() || !p.sort.is_empty(),
            sites => found.sites.iter().map(|(id, name)| context! { id => id, name => name, selected => p.site == Some(*id) }).collect::<Vec<_>>(),
            columns => found.columns.iter().map(|(id, name)| context! { id => id, name => name, selected => p.column == Some(*id) }).collect::<Vec<_>>(),
            from => p.from.clone(), to => p.to.clone(), doc_no => p.doc_no.clone(), issuer => p.issuer.clone(),
            sort => p.sort.clone(),
            notices => o.notices.clone(),
            error => o.error.clone(),
            asked => o.asked,
            total => o.total,
            took_ms => o.took_ms,
            hits => Value::from_serialize(&o.items),
            pager => context! {
                pages => o.pages,
                prev => (p.page > 1 && o.pages > 0).then(|| format!("?{}", p.query_string(p.page - 1))),
                next => (p.page < o.pages).then(|| format!("?{}", p.query_string(p.page + 1))),
                numbers => numbers,
            },
            suggestions => Value::from_serialize(&o.suggestions),
        },
    };
    Ok(theme.render(SEARCH_TEMPLATE, ctx)?)
}

async fn api(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (params, notices) = SearchParams::from_query(raw.as_deref());
    let found = search::public(&state, &host_of(&headers), params, notices, PER_PAGE).await?;
    let o = found.outcome;
    let status = if o.error.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "query": o.params,
        "site": found.site.as_ref().map(|s| json!({ "id": s.id, "name": s.name })),
        "total": o.total,
        "page": o.params.page,
        "pages": o.pages,
        "took_ms": o.took_ms,
        "hits": o.items.iter().map(|i| json!({
            "title_html": i.title_html,
            "snippet_html": i.snippet_html,
            "url": i.url,
            "site": i.site_name,
            "column": i.column_name,
            "date": i.date,
            "doc_no": i.doc_no,
            "issuer": i.issuer,
        })).collect::<Vec<_>>(),
        "suggestions": o.suggestions,
        "notices": o.notices,
        "error": o.error,
    });
    Ok(no_store((status, axum::Json(body)).into_response()))
}
