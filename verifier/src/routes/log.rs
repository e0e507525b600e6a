//! The transparency log, served as c2sp.org/tlog-tiles: the signed checkpoint, the log's key, and
//! tiles. Tiles never change once served (a partial tile of width W is the same forever too), so
//! caches may keep them a year; the checkpoint moves every second or so.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tlog::TilePath;

use crate::error::ApiError;
use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const CHECKPOINT_MAX_AGE: &str = "public, max-age=2";

/// The log's latest checkpoint.
#[utoipa::path(
    get,
    path = "/log/checkpoint",
    tag = "log",
    summary = "The log's signed checkpoint",
    description = "A c2sp.org/tlog-checkpoint (origin, tree size, root hash), signed as a \
        c2sp.org/signed-note with the log's own Ed25519 key (`/log/key`), with the cosignatures \
        (c2sp.org/tlog-cosignature) of the log's witnesses: the newest checkpoint, or one a few \
        seconds older that more witnesses cosigned. Renewed about once a second; cacheable for two.",
    responses((status = 200, description = "The signed note", content_type = "text/plain", body = String)),
)]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let key = state.log_key().await?;
    let head = state
        .blocking(
            move |r| -> Result<registry::store::log::LogHead, registry::RegistryError> {
                let head = r.log_head()?;
                if !head.checkpoint.is_empty() {
                    return Ok(head);
                }
                // A store whose log was never sequenced: sign its tree now rather than answer nothing.
                r.sequence_log(&key)?;
                r.log_head()
            },
        )
        .await??;
    // With the witnesses' cosignatures: the newest checkpoint, or one a moment older that they
    // cosigned (`log_witnesses`).
    let served =
        state
            .log_witnesses()
            .served(head.size, &head.checkpoint, std::time::Instant::now());
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, CHECKPOINT_MAX_AGE),
        ],
        served.note,
    )
        .into_response())
}

/// The log's public key.
#[utoipa::path(
    get,
    path = "/log/key",
    tag = "log",
    summary = "The log's public key",
    description = "The note verifier key, `<origin>+<key id hex>+<base64(0x01 || Ed25519 public \
        key)>`: what checks `/log/checkpoint` and receipts. The log's own key, never the \
        authority's or a maker's.",
    responses((status = 200, description = "The verifier key and a newline", content_type = "text/plain", body = String)),
)]
pub async fn key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let key = state.log_key().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, CHECKPOINT_MAX_AGE),
        ],
        format!("{}\n", key.verifier_key()),
    )
        .into_response())
}

/// A tile of the log.
#[utoipa::path(
    get,
    // The router's `{*path}`: OpenAPI has no wildcard, so the document names one parameter.
    path = "/log/tile/{path}",
    tag = "log",
    summary = "A tile of the log",
    description = "`tile/<L>/<N>[.p/<W>]`: hashes of level L; `tile/entries/<N>[.p/<W>]`: the \
        entries, each prefixed by its length in two bytes, big-endian (c2sp.org/tlog-tiles). \
        Immutable: cacheable for a year.",
    params(("path" = String, Path, description = "The tile's coordinates after `tile/`, e.g. `0/x001/234.p/8` or `entries/000`")),
    responses(
        (status = 200, description = "The tile's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "Not a tile path, or a tile the tree does not hold yet (`not_found`)"),
    ),
)]
pub async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let tile = TilePath::parse(&format!("tile/{path}"))
        .map_err(|_| ApiError::not_found("not a tile of this log"))?;
    let bytes = state
        .blocking(
            move |r| -> Result<Option<Vec<u8>>, registry::RegistryError> {
                let size = r.log_head()?.size;
                if !tile.within(size) {
                    return Ok(None);
                }
                r.log_tile(&tile, size).map(Some)
            },
        )
        .await??
        .ok_or_else(|| ApiError::not_found("the log does not hold this tile yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        bytes,
    )
        .into_response())
}
