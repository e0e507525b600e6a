//! A signed manifest registered as it streams in, for the parties' API (`POST /api/v1/manifests`)
//! and the dashboard's upload (`POST /dashboard/manifests`) alike: the body is registered chunk by
//! chunk as it arrives, so a million lines need no more memory than a few thousand, and both
//! routes answer with the same summary and the same problems.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::TryStreamExt;
use registry::{Registration, register_manifest};
use serde::Serialize;
use signer::Timestamp;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest manifest upload: 2 GiB, about eight million lines.
pub const MAX_MANIFEST_BYTES: u64 = 2 << 30;
/// Rejected lines listed in an upload's answer; the counts cover every line.
pub const MAX_LISTED_REJECTIONS: usize = 1000;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadSummary {
    pub lines: u64,
    pub registered: u64,
    pub already_registered: u64,
    /// Rejected lines by reason code.
    pub rejected: BTreeMap<&'static str, u64>,
    /// The first rejected lines with their reasons.
    pub rejections: Vec<LineRejection>,
    pub rejections_truncated: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LineRejection {
    pub line: u64,
    pub code: &'static str,
    pub reason: String,
}

/// Registers a manifest body for `party` as it streams in: the API's upload and the dashboard's
/// (`POST /dashboard/manifests`) alike, so both answer with the same summary and problems.
pub async fn register_streamed(
    state: &AppState,
    party: registry::PartyId,
    headers: &HeaderMap,
    body: Body,
) -> Result<UploadSummary, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_MANIFEST_BYTES) {
        return Err(manifest_too_large(
            "split it into manifests of at most that size; nothing was registered",
        ));
    }
    // A body without a length (chunked) is counted as it streams in.
    let too_large = Arc::new(AtomicBool::new(false));
    let overflowed = too_large.clone();
    let mut seen = 0u64;
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            seen += chunk.len() as u64;
            let result = if seen > MAX_MANIFEST_BYTES {
                overflowed.store(true, Ordering::Relaxed);
                Err(std::io::Error::other(format!(
                    "the manifest is larger than {MAX_MANIFEST_BYTES} bytes; split it"
                )))
            } else {
                Ok(chunk)
            };
            std::future::ready(result)
        });
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let caller = party.clone();
    let now = Timestamp::now();
    let (outcome, rejections, truncated) = state
        .blocking(move |r| {
            let mut rejections = Vec::new();
            let mut truncated = false;
            let input = BufReader::with_capacity(1 << 16, reader);
            let outcome = register_manifest(r, input, Some(&party), now, |line, result| {
                if let Registration::Rejected(rejection) = result {
                    if rejections.len() < MAX_LISTED_REJECTIONS {
                        rejections.push(LineRejection {
                            line,
                            code: rejection.code,
                            reason: rejection.reason.clone(),
                        });
                    } else {
                        truncated = true;
                    }
                }
            });
            (outcome, rejections, truncated)
        })
        .await?;
    let summary = match outcome {
        Ok(summary) => upload_summary(summary, rejections, truncated),
        Err(interrupted) => {
            let error = match interrupted.error.fault() {
                _ if too_large.load(Ordering::Relaxed) => manifest_too_large(
                    "split it; the lines before the limit were registered, and sending them again \
                     is harmless (they come back as already registered)",
                ),
                // Part of the upload was stored: say that, not "nothing was recorded".
                Some(fault) => ApiError::storage(&fault).with_detail(if fault.is_full() {
                    "the registry's disk filled during the upload; writes resume by themselves \
                     once an operator frees space"
                } else {
                    "the registry could not write to its storage during the upload; try again \
                     shortly"
                }),
                None => ApiError::from(&interrupted.error),
            };
            tracing::warn!(
                party = %caller,
                stored_through = interrupted.stored_through,
                error = %interrupted.error,
                "manifest upload interrupted"
            );
            // What is registered, exactly, so the client re-sends only the rest.
            let resume = interrupted.resume();
            let stored = upload_summary(interrupted.summary, rejections, truncated);
            return Err(error
                .and_say(&resume)
                .with("stored", serde_json::to_value(stored).unwrap_or_default())
                .with("stored_through_line", interrupted.stored_through.into())
                .with("resume_from_line", (interrupted.stored_through + 1).into()));
        }
    };
    tracing::info!(
        party = %caller,
        lines = summary.lines,
        registered = summary.registered,
        "manifest uploaded"
    );
    Ok(summary)
}

fn upload_summary(
    summary: registry::Summary,
    rejections: Vec<LineRejection>,
    rejections_truncated: bool,
) -> UploadSummary {
    UploadSummary {
        lines: summary.lines,
        registered: summary.registered,
        already_registered: summary.already_registered,
        rejected: summary.rejected,
        rejections,
        rejections_truncated,
    }
}

fn manifest_too_large(what_then: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "manifest_too_large",
        format!("the manifest is larger than {MAX_MANIFEST_BYTES} bytes (2 GiB): {what_then}"),
    )
}
