//! For operators and orchestrators: liveness, readiness, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ApiError, STORAGE_FULL, STORAGE_RETRY_SECS, STORAGE_UNAVAILABLE};
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = crate::schemas::Status)),
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the service takes new work (not while draining for shutdown, nor while the store
/// cannot write).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    description = "503 `draining` once shutdown has begun, so load balancers stop sending work. 503 \
        `storage_full` or `storage_unavailable` while the store cannot write: reads still answer \
        (`reads`: `ok`, `writes`: `failing`, `cause`), and writes resume by themselves once the \
        device takes them again (each call may test it, at most once a second).",
    responses(
        (status = 200, description = "Taking new work", body = crate::schemas::Status),
        (status = 503, description = "Draining, or the store cannot write"),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the service is shutting down",
        )
        .into_response();
    }
    // Also the store's chance to notice that its device takes writes again and recover.
    match state.blocking(|r| r.writable()).await {
        Ok(Ok(())) => {
            Json(json!({ "status": "ready", "reads": "ok", "writes": "ok" })).into_response()
        }
        Ok(Err(fault)) => {
            let (code, detail) = if fault.is_full() {
                (
                    STORAGE_FULL,
                    "the store's disk is full: reads answer, writes are refused until space is freed",
                )
            } else {
                (
                    STORAGE_UNAVAILABLE,
                    "the store cannot write: reads answer, writes are refused until it can",
                )
            };
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
                .retry_after(STORAGE_RETRY_SECS)
                .with("reads", "ok".into())
                .with("writes", "failing".into())
                .with("cause", fault.cause().into())
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// How often `/metrics` refreshes the store's counts.
pub const STORE_COUNTS_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Prometheus text exposition. The store's counts walk the whole store (seconds for millions of
/// codes), so they are refreshed at most every [`STORE_COUNTS_EVERY`]; the record cache's figures
/// are read at every scrape.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
        body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let m = state.metrics();
    let set = |g: &prometheus_client::metrics::gauge::Gauge, v: u64| {
        g.set(i64::try_from(v).unwrap_or(i64::MAX));
    };
    if state.store_counts_due(STORE_COUNTS_EVERY) {
        match state.blocking(|r| r.stats()).await {
            Ok(Ok(stats)) => {
                set(&m.store_codes, stats.codes);
                set(&m.store_events, stats.events);
                set(&m.store_flagged, stats.alerts);
                set(&m.store_bytes, stats.bytes_on_disk);
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot read store statistics"),
            Err(_) => {}
        }
    }
    let cache = state.registry().record_cache();
    set(&m.record_cache_records, cache.records);
    set(&m.record_cache_bytes, cache.bytes);
    set(&m.record_cache_hits, cache.hits);
    set(&m.record_cache_misses, cache.misses);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}
