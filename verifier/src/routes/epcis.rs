//! The EPCIS 2.0 capture interface under `/epcis`, as GS1's REST bindings describe it: a party
//! posts an `EPCISDocument` (`POST /epcis/capture`), validated against GS1's JSON Schema, and reads
//! the capture job (`GET /epcis/capture/{id}`); `OPTIONS /epcis/capture` states the limits.
//!
//! The capture is processed before it is answered, so `202 Accepted` means the job is finished
//! and stored; its events are read and judged in the registry (`registry::epcis_capture`), by
//! the same methods as the parties' JSON API. Errors are RFC 7807 problems with GS1's
//! `epcisException:...` types.

use std::sync::LazyLock;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry::epcis_capture::{CaptureJob, ErrorBehaviour};
use serde_json::{Value, json};
use signer::Timestamp;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::api::ANYONE;
use crate::schemas as doc;
use crate::state::AppState;

/// Events in one captured document (`GS1-EPCIS-Capture-Limit`).
pub const CAPTURE_LIMIT: usize = 10_000;
/// Bytes of one captured document (`GS1-EPCIS-Capture-File-Size-Limit`): 10,000 events of
/// about 1 KiB, with room to spare.
pub const CAPTURE_FILE_SIZE_LIMIT: usize = 16 << 20;

/// GS1's EPCIS 2.0 JSON Schema (`verifier/epcis/README.md` says where it comes from), compiled
/// once: the router forces it when it is built, so a broken copy fails at start, not at the first
/// capture.
static SCHEMA: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value =
        serde_json::from_str(include_str!("../../epcis/epcis-2.0-json-schema.json"))
            .map_err(|e| format!("GS1's EPCIS schema is not JSON: {e}"))?;
    jsonschema::draft7::options()
        .build(&schema)
        .map_err(|e| format!("GS1's EPCIS schema does not compile: {e}"))
});

/// Compiles GS1's schema now; the router calls it once while it is built.
pub fn compile_schema() {
    if let Err(e) = &*SCHEMA {
        tracing::error!(error = %e, "EPCIS capture cannot validate documents");
    }
}

/// An RFC 7807 problem of GS1's EPCIS REST bindings, with the project's `code` beside its `type`.
fn epcis_problem(status: StatusCode, exception: &str, code: &str, detail: String) -> Response {
    let body = json!({
        "type": format!("epcisException:{exception}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn invalid(detail: String) -> Response {
    epcis_problem(
        StatusCode::BAD_REQUEST,
        "ValidationException",
        "epcis_invalid",
        detail,
    )
}

fn too_large(detail: String) -> Response {
    epcis_problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "CaptureLimitExceededException",
        "epcis_capture_limit",
        detail,
    )
}

/// `OPTIONS /epcis/capture`: the capture limits, as GS1's discovery headers.
#[utoipa::path(
    options,
    path = "/epcis/capture",
    tag = "operations",
    summary = "The capture limits (GS1's discovery; no token needed)",
    responses(
        (status = 204, description = "No body; the limits in the headers",
            headers(
                ("GS1-EPCIS-Capture-Limit" = u32, description = "Events in one document"),
                ("GS1-EPCIS-Capture-File-Size-Limit" = u32, description = "Bytes of one document"),
                ("Allow" = String, description = "OPTIONS, POST"),
            )),
    ),
)]
pub async fn capture_options() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            ("GS1-EPCIS-Capture-Limit", CAPTURE_LIMIT.to_string()),
            (
                "GS1-EPCIS-Capture-File-Size-Limit",
                CAPTURE_FILE_SIZE_LIMIT.to_string(),
            ),
            ("Allow", "OPTIONS, POST".to_owned()),
        ],
    )
        .into_response()
}

/// `POST /epcis/capture`: an `EPCISDocument`, captured for the token's party.
#[utoipa::path(
    post,
    path = "/epcis/capture",
    tag = "parties",
    summary = "Capture an EPCIS 2.0 document",
    description = "The document is validated against GS1's EPCIS 2.0 JSON Schema, then each \
        event is judged by the custody rules as the parties' API judges it (`docs/epcis.md`: \
        ObjectEvent OBSERVE with bizStep shipping, receiving, installing, removing, destroying \
        or decommissioning; AggregationEvent ADD packing and DELETE unpacking). The capture is \
        finished and stored when it is answered; the job says what became of each event.",
    params(
        ("GS1-Capture-Error-Behaviour" = Option<String>, Header,
            description = "`rollback` (the default): nothing stored unless every event passes; \
            `proceed`: each event that passes is stored"),
    ),
    request_body(content = Object, content_type = "application/ld+json",
        description = "An EPCISDocument (`application/json` or `application/ld+json`)"),
    responses(
        (status = 202, description = "Captured; the job is at `Location`",
            headers(("Location" = String, description = "`/epcis/capture/{id}`"))),
        (status = 400, description = "Not JSON, not an EPCISDocument valid against GS1's \
            schema, or a bad `GS1-Capture-Error-Behaviour` (`epcisException:ValidationException`, \
            `epcis_invalid`): nothing stored"),
        (status = 409, description = "Under rollback, an eventID captured already \
            (`epcisException:ValidationException`, `event_id_repeated`): nothing stored"),
        (status = 413, description = "More events or bytes than the limits \
            (`epcisException:CaptureLimitExceededException`, `epcis_capture_limit`)"),
        (status = 415, description = "Not JSON (`unsupported_media_type`)"),
        doc::RoleRefused,
    ),
)]
pub async fn capture(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(ANYONE, "capturing EPCIS events")?;
    if !json_content(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "an EPCIS document is sent as application/json or application/ld+json",
        ));
    }
    let Ok(bytes) = axum::body::to_bytes(body, CAPTURE_FILE_SIZE_LIMIT).await else {
        return Ok(too_large(format!(
            "a captured document is at most {CAPTURE_FILE_SIZE_LIMIT} bytes \
             (GS1-EPCIS-Capture-File-Size-Limit); split it"
        )));
    };
    let behaviour = match headers.get("GS1-Capture-Error-Behaviour") {
        None => ErrorBehaviour::Rollback,
        Some(value) => match value.to_str().ok().and_then(ErrorBehaviour::parse) {
            Some(b) => b,
            None => {
                return Ok(invalid(
                    "GS1-Capture-Error-Behaviour is rollback or proceed".to_owned(),
                ));
            }
        },
    };
    let events = match checked_document(&bytes) {
        Ok(events) => events,
        Err(response) => return Ok(response),
    };
    let base = state.config().base_url.clone();
    let party = caller.0.clone();
    let now = Timestamp::now();
    // Under rollback a repeated eventID refuses the whole document, 409 as GS1 resolved it;
    // under proceed it is that event's error in the job.
    let job = state
        .blocking(
            move |r| -> Result<Result<CaptureJob, String>, registry::RegistryError> {
                if behaviour == ErrorBehaviour::Rollback {
                    for id in events.iter().filter_map(|e| e.get("eventID")?.as_str()) {
                        if r.event_id_captured(id)? {
                            return Ok(Err(id.to_owned()));
                        }
                    }
                }
                r.capture(&base, &party, &events, behaviour, now).map(Ok)
            },
        )
        .await??;
    let job = match job {
        Ok(job) => job,
        Err(id) => {
            return Ok(epcis_problem(
                StatusCode::CONFLICT,
                "ValidationException",
                "event_id_repeated",
                format!("the eventID {id:?} was captured already; nothing was stored"),
            ));
        }
    };
    let location = format!("/epcis/capture/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(job_answer(&job)),
    )
        .into_response())
}

fn json_content(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("application/ld+json")
}

/// The document's events, once it is JSON, valid against GS1's schema, an `EPCISDocument`, and
/// within the event limit; otherwise the answer. (A refusal is answered at once, so its size
/// does not matter.)
#[allow(clippy::result_large_err)]
fn checked_document(bytes: &Bytes) -> Result<Vec<Value>, Response> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
    let validator = SCHEMA.as_ref().map_err(|e| {
        tracing::error!(error = %e, "EPCIS capture cannot validate documents");
        epcis_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ImplementationException",
            "internal",
            "the service cannot validate EPCIS documents now".to_owned(),
        )
    })?;
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .take(5)
        .map(|e| format!("{} (at \"{}\")", e, e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(invalid(format!(
            "the document is not valid against GS1's EPCIS 2.0 JSON Schema: {}",
            errors.join("; ")
        )));
    }
    if document.get("type").and_then(Value::as_str) != Some("EPCISDocument") {
        return Err(invalid(
            "capture takes an EPCISDocument (\"type\": \"EPCISDocument\")".to_owned(),
        ));
    }
    let events = document
        .pointer("/epcisBody/eventList")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if events.len() > CAPTURE_LIMIT {
        return Err(too_large(format!(
            "a captured document holds at most {CAPTURE_LIMIT} events \
             (GS1-EPCIS-Capture-Limit); this one has {}",
            events.len()
        )));
    }
    Ok(events)
}

/// `GET /epcis/capture/{id}`: a capture job, to the party that made it.
#[utoipa::path(
    get,
    path = "/epcis/capture/{id}",
    tag = "parties",
    summary = "A capture job",
    params(("id" = String, Path, description = "The job's id, from the capture's `Location`",
        pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The job as GS1's CaptureJob: finished (`running` false); \
            `success` false when an event was not stored, each such event in `errors`",
            body = doc::CaptureJob),
        (status = 404, description = "No job of the caller's has this id (`not_found`)"),
        doc::RoleRefused,
    ),
)]
pub async fn capture_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ANYONE, "reading a capture job")?;
    let party = caller.0.id.clone();
    let job = state
        .blocking(move |r| r.capture_job(&id, &party))
        .await??
        .ok_or_else(|| ApiError::not_found("no capture job of yours has this id"))?;
    Ok(Json(job_answer(&job)))
}

/// A job as GS1's `CaptureJob`, each error an RFC 7807 problem naming its event.
fn job_answer(job: &CaptureJob) -> Value {
    let errors: Vec<Value> = job
        .errors
        .iter()
        .map(|e| {
            let mut problem = json!({
                "type": "epcisException:ValidationException",
                "title": "Event not captured",
                "status": 400,
                "code": e.code,
                "detail": format!("event {}: {}", e.index, e.reason),
                "index": e.index,
            });
            if let Some(id) = &e.event_id {
                problem["instance"] = json!(id);
            }
            problem
        })
        .collect();
    json!({
        "captureID": job.id,
        "createdAt": job.created_at,
        "finishedAt": job.finished_at,
        "running": false,
        "success": job.errors.is_empty(),
        "captureErrorBehaviour": job.behaviour,
        "events": job.events,
        "stored": job.stored,
        "errors": errors,
    })
}
