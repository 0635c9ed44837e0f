//! The internal API the gateways call, authenticated by the shared bearer token.
//!
//! * `GET /internal/v1/config`: the current [`ConfigSnapshot`](sitegroup_contract::config::ConfigSnapshot);
//!   `If-None-Match: "<generation>"` answers 304 when nothing changed.
//! * `GET /internal/v1/objects/{sha256}`: one published object, verified before it is sent.
//! * `POST /internal/v1/events`: security events from the gateways (log intake).
//! * `POST /internal/v1/access`: access-log lines from the gateways' spools, stored once each.
//! * `GET`/`PUT /internal/v1/acme/{name}`: the ACME accounts and certificates the gateways
//!   obtain, kept (sealed) by the control plane for every gateway of the group.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
use sitegroup_contract::log::{AccessBatch, EventBatch};
use sitegroup_contract::store::ObjectError;

use crate::auth::constant_time_eq;
use crate::db::entities::{access_log, security_event};
use crate::error::{AppError, AppResult};
use crate::snapshot;
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/internal/v1/config", get(config))
        .route("/internal/v1/objects/{sha256}", get(object))
        .route("/internal/v1/events", post(events))
        .route("/internal/v1/access", post(access))
        .route("/internal/v1/acme/{name}", get(acme_get).put(acme_put))
}

fn check_token(state: &SharedState, headers: &HeaderMap) -> AppResult<()> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !presented.is_empty()
        && constant_time_eq(presented.as_bytes(), state.gateway_token.as_bytes())
    {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}

async fn config(State(state): State<SharedState>, headers: HeaderMap) -> AppResult<Response> {
    check_token(&state, &headers)?;
    let generation = snapshot::current_generation(&state.db).await?;
    let etag = format!("\"{generation}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let body = {
        let mut cache = state.snapshot_cache.lock().await;
        match cache.as_ref() {
            Some((cached, body)) if *cached == generation => body.clone(),
            _ => {
                // One transaction, so that the generation and the content agree.
                let txn = state.db.begin().await?;
                let snap = snapshot::build(&txn, &state.admin, &state.secrets.get()).await?;
                txn.commit().await?;
                let body =
                    Arc::new(serde_json::to_vec(&snap).map_err(|e| AppError::Internal(e.into()))?);
                let built = i64::try_from(snap.generation).unwrap_or(generation);
                *cache = Some((built, body.clone()));
                body
            }
        }
    };
    let mut response = (*body).clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    Ok(response)
}

async fn object(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> AppResult<Response> {
    check_token(&state, &headers)?;
    let store = state.store.clone();
    let read = tokio::task::spawn_blocking(move || store.read_verified(&hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    match read {
        Ok(bytes) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            bytes,
        )
            .into_response()),
        Err(ObjectError::Missing(_)) => Err(AppError::NotFound),
        Err(e @ ObjectError::Tampered { .. }) => {
            tracing::error!("refusing to hand out a tampered object: {e}");
            Err(AppError::NotFound)
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

async fn events(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Json(batch): Json<EventBatch>,
) -> AppResult<StatusCode> {
    check_token(&state, &headers)?;
    if batch.events.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let now = chrono::Utc::now();
    let rows = batch
        .events
        .into_iter()
        .map(|e| security_event::ActiveModel {
            received_at: Set(now),
            occurred_at: Set(e.time),
            kind: Set(e.kind.as_str().to_string()),
            node: Set(e.node),
            request_id: Set(e.request_id),
            site_id: Set(e.site_id.and_then(|id| i32::try_from(id).ok())),
            host: Set(e.host),
            path: Set(e.path),
            client_ip: Set(e.client_ip),
            detail: Set(e.detail),
            ..Default::default()
        });
    security_event::Entity::insert_many(rows)
        .exec(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn access(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Json(batch): Json<AccessBatch>,
) -> AppResult<StatusCode> {
    check_token(&state, &headers)?;
    if batch.lines.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let now = chrono::Utc::now();
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let rows = batch.lines.into_iter().map(|line| {
        let r = line.record;
        access_log::ActiveModel {
            node: Set(r.node),
            spool: Set(batch.spool.clone()),
            spool_offset: Set(to_i64(line.offset)),
            time: Set(chrono::DateTime::parse_from_rfc3339(&r.time)
                .map_or(now, |t| t.with_timezone(&chrono::Utc))),
            request_id: Set(r.request_id),
            site_id: Set(r.site_id.and_then(|id| i32::try_from(id).ok())),
            client_ip: Set(r.client_ip),
            method: Set(r.method),
            host: Set(r.host),
            path: Set(r.path),
            query: Set(r.query),
            status: Set(i32::from(r.status)),
            bytes_in: Set(to_i64(r.bytes_received)),
            bytes_out: Set(to_i64(r.bytes_sent)),
            duration_us: Set(to_i64(r.duration_ns / 1000)),
            served_by: Set(r.served_by),
            upstream: Set(r.upstream),
            upstream_ms: Set(r.upstream_ms.map(to_i64)),
            waf: Set(r.waf),
            user_agent: Set(r.user_agent),
            referrer: Set(r.referrer),
            tls_version: Set(r.tls_version),
            ..Default::default()
        }
    });
    // A line already stored (a batch resent after a crash) is skipped, not duplicated.
    let inserted = access_log::Entity::insert_many(rows)
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                access_log::Column::Node,
                access_log::Column::Spool,
                access_log::Column::SpoolOffset,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
    tracing::debug!("access log intake: {inserted} lines stored");
    Ok(StatusCode::NO_CONTENT)
}

async fn acme_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> AppResult<Response> {
    check_token(&state, &headers)?;
    if !crate::acme_store::valid_name(&name) {
        return Err(AppError::NotFound);
    }
    match crate::acme_store::get(&state.db, &state.secrets.get(), &name)
        .await
        .map_err(AppError::Internal)?
    {
        Some(bytes) => {
            Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
        }
        None => Err(AppError::NotFound),
    }
}

async fn acme_put(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<StatusCode> {
    check_token(&state, &headers)?;
    if !crate::acme_store::valid_name(&name) {
        return Err(AppError::NotFound);
    }
    if body.is_empty() || body.len() > 64 * 1024 {
        return Err(AppError::Invalid(
            "ACME item must be 1 byte to 64 KiB".into(),
        ));
    }
    crate::acme_store::put(&state.db, &state.secrets.get(), &name, &body)
        .await
        .map_err(AppError::Internal)?;
    tracing::info!("ACME store: {name} saved by a gateway");
    Ok(StatusCode::NO_CONTENT)
}
