//! The internal API the gateways call, authenticated by the shared bearer token.
//!
//! * `GET /internal/v1/config`: the current [`ConfigSnapshot`](sitegroup_contract::config::ConfigSnapshot);
//!   `If-None-Match: "<generation>"` answers 304 when nothing changed.
//! * `GET /internal/v1/objects/{sha256}`: one published object, verified before it is sent.
//! * `POST /internal/v1/events`: security events from the gateways (log intake).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
use sitegroup_contract::log::EventBatch;
use sitegroup_contract::store::ObjectError;

use crate::auth::constant_time_eq;
use crate::db::entities::security_event;
use crate::error::{AppError, AppResult};
use crate::snapshot;
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/internal/v1/config", get(config))
        .route("/internal/v1/objects/{sha256}", get(object))
        .route("/internal/v1/events", post(events))
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
                let snap = snapshot::build(&txn, &state.admin).await?;
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
