//! The manufacturer's manifest upload from the browser (`POST /dashboard/manifests`).
//!
//! The dashboard's script sends the chosen file as the request body (the browser reads it from
//! disk as it sends, and reports progress), and this route registers it line by line as it
//! arrives, exactly as the API's upload does: the body is never held whole, on either side. The
//! answer is the API's JSON summary (registered, already registered, rejected by reason with line
//! numbers), which the script shows.
//!
//! The session cookie authenticates; the CSRF token comes in the `X-CSRF-Token` header, as the
//! body is the file itself. The route sits with the API's upload outside the request timeout and
//! the body limit: a manifest of a million lines streams for longer than any page.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;

use super::signed_in::{CheckedHeader, ManifestUpload};
use crate::error::ApiError;
use crate::manifest_upload::{UploadSummary, register_streamed};
use crate::schemas::ManifestAnswers;
use crate::state::AppState;

/// `POST /dashboard/manifests`: registers a manifest the signed-in manufacturer chose in the
/// dashboard.
#[utoipa::path(
    post,
    path = "/dashboard/manifests",
    tag = "pages",
    summary = "Upload a signed manifest from the dashboard",
    description = "The dashboard's upload: the session cookie, the session's CSRF token in \
        `X-CSRF-Token`, and the manifest (JSON Lines as `partseal sign` writes them) as the body, \
        registered as it streams in, as `POST /api/v1/manifests` does and with the same answers. \
        Not bound by the request timeout or body limit of other pages.",
    request_body(content = String, content_type = "application/x-ndjson"),
    responses(
        ManifestAnswers,
        (status = 403, description = "No session, a CSRF token that is not the session's (`csrf`), \
            or not a manufacturer (`wrong_role`)"),
    ),
)]
pub async fn upload(
    State(state): State<AppState>,
    CheckedHeader { session, .. }: CheckedHeader<ManifestUpload>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadSummary>, ApiError> {
    let party = session.party().id.clone();
    Ok(Json(
        register_streamed(&state, party, &headers, body).await?,
    ))
}
