//! The public verifier, no login: what a phone opens from a QR code, the typed lookup for when the
//! camera fails, the owner's "is this part in my vehicle?", and reports of suspect parts.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use registry::{CodeKey, Vin};
use serde::{Deserialize, Serialize};
use signer::Timestamp;

use crate::client_ip::{client_ip, trusted_region};
use crate::error::{ApiError, ApiJson};
use crate::reports::{self, NotKept, Subject, Submitted};
use crate::routes::named_code::{NamedCode, naming_a_code};
use crate::schemas::{CodeAnswer, VerdictAnswer};
use crate::state::AppState;
use crate::verdict::{self, Scan, Verdict};

/// `GET /01/{gtin}[/10/{lot}]/21/{serial}?k=..&s=..`: the QR code's own URI. JSON for
/// `Accept: application/json`, a page for browsers.
#[utoipa::path(
    get,
    path = "/01/{gtin}/21/{serial}",
    tag = "public",
    summary = "Verify a scanned label (no lot)",
    description = "The QR code's own URI. Malformed codes answer 200 with the `data_error` \
        verdict, never an HTTP error: a misread code is not a counterfeit. JSON for \
        `Accept: application/json` (without `text/html`), a page otherwise. As a GS1 resolver: \
        `Accept: application/linkset+json` or `linkType=all` answers the code's links as an RFC \
        9264 linkset, `linkType` one of them; neither counts as a scan. Every answer but the \
        linkset carries a `Link` header to it.",
    params(
        ("gtin" = String, Path, description = "GS1 GTIN (AI 01), 14 digits", example = "06901234567892"),
        ("serial" = String, Path, description = "Serial number (AI 21)", example = "X7K2P9QD4M"),
        ("k" = Option<String>, Query, description = "The signing key's id: 8 bytes, unpadded base64url"),
        ("s" = Option<String>, Query, description = "The Ed25519 signature: 64 bytes, unpadded base64url"),
        ("receipt" = Option<String>, Query, description = "`1`: the JSON verdict carries a `receipt` of the code's latest event in the public transparency log that names no vehicle and no other party's claim, checked offline by `partseal verify --receipt`"),
        crate::routes::resolver::LinkTypeQuery,
    ),
    responses(
        CodeAnswer,
    ),
)]
pub async fn scan(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    // The request itself rather than `HeaderMap` and `Uri` extractors, which copy them.
    request: Request,
) -> Result<Response, ApiError> {
    let (headers, uri) = (request.headers(), request.uri());
    // A resolver's question (a linkset, one link) is about the code's links, not this label: it
    // is answered before any judging, and counts no scan.
    if let Some(answer) = crate::routes::resolver::code_answer(&state, headers, uri)? {
        return Ok(answer);
    }
    let input = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let now = Timestamp::now();
    // A registered code is judged from one read of the registry, inline: the read is a lookup in
    // the records kept in memory (or sled's page cache), cheaper than the two thread hand-offs of
    // the blocking pool, which cost a quarter of the throughput when measured (BENCHMARKS.md).
    // Where the read must wait on the network (a shared database, a record not in memory), the
    // store waits in `block_in_place`, which hands this worker's other tasks on first. Only
    // Ed25519 for codes the registry does not hold goes to the blocking pool.
    let judged = verdict::judge_scan(state.registry(), input, now)?;
    let (verdict, key) = match judged {
        Scan::Judged(verdict, key) => (*verdict, key),
        Scan::NeedsSignature(code) => {
            let verdict = state
                .blocking(move |r| verdict::judge_signature(r, &code, now))
                .await?;
            (verdict, None)
        }
    };
    let mut response = answer(&state, peer, headers, input, verdict, key, now);
    crate::routes::resolver::add_linkset_header(&mut response, &state, uri);
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TypedCode {
    /// GS1 GTIN, as printed under the QR code. Programs (`Accept: application/json`) must give
    /// it (400 without); a browser without it gets the form.
    #[param(example = "06901234567892")]
    pub gtin: Option<String>,
    /// Serial number, as printed under the QR code; required of programs as `gtin` is.
    #[param(example = "X7K2P9QD4M")]
    pub serial: Option<String>,
}

/// `GET /lookup?gtin=..&serial=..`: typed numbers, when the camera fails. The signature is not
/// checked (there is none to check), and the answer says so.
#[utoipa::path(
    get,
    path = "/lookup",
    tag = "public",
    summary = "Verify typed numbers",
    description = "GTIN and serial typed by hand, when the camera fails. The signature is not \
        checked (`signature_checked: false`). What people copy from a label is forgiven: a \
        GTIN-8, -12 or -13 is padded to 14 digits; spaces, hyphens in the GTIN and a pasted \
        `(01)` or `(21)` are dropped; a serial not found as typed is tried in capitals and \
        without hyphens. Malformed numbers answer 200: `data_error` in JSON, and for a browser \
        the form again, saying which field is wrong and why.",
    params(TypedCode),
    responses(
        VerdictAnswer,
        (status = 400, description = "`gtin` or `serial` missing (`invalid_query`); a browser gets the form instead"),
    ),
)]
pub async fn lookup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<LookupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let bad_query = |why: &dyn std::fmt::Display| {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "give gtin and serial, e.g. /lookup?gtin=06901234567892&serial=X7K2P9QD4M: {why}"
            ),
        )
    };
    let Query(typed) = query.map_err(|e| bad_query(&e))?;
    let input = uri.path_and_query().map_or("/lookup", |pq| pq.as_str());
    // A browser's empty box is a mistake to show in the form; a program's is a bad request.
    let browser = !wants_json(&headers);
    let (gtin, serial) = match (typed.gtin, typed.serial) {
        (Some(gtin), Some(serial)) => (gtin, serial),
        (gtin, serial) if browser => (gtin.unwrap_or_default(), serial.unwrap_or_default()),
        (None, _) => return Err(bad_query(&"missing field `gtin`")),
        (_, None) => return Err(bad_query(&"missing field `serial`")),
    };
    let now = Timestamp::now();
    // Registry reads only, inline for the reason given in `scan`.
    let judged = match crate::typed_input::normalise(&gtin, &serial) {
        Ok(typed) => crate::typed_input::judge(state.registry(), &typed, now),
        Err(problem) if browser => {
            let lang = crate::pages::Lang::choose(page_lang(input), &headers);
            return Ok(crate::pages::owner::typed_problem_page(
                &problem, &gtin, &serial, lang, input,
            ));
        }
        // Programs get the strict parsers' `data_error` with its stable reason code.
        Err(_) => verdict::judge_typed(state.registry(), &gtin, &serial, now),
    };
    let (verdict, key) = judged?;
    Ok(answer(&state, peer, &headers, input, verdict, key, now))
}

/// `/lookup`'s query as sent: either box may be missing or empty, which a browser is shown in
/// the form ([`TypedCode`] is what the description asks for).
#[derive(Deserialize)]
pub struct LookupQuery {
    pub gtin: Option<String>,
    pub serial: Option<String>,
}

/// `?lang=` in a path and query.
fn page_lang(path_and_query: &str) -> Option<&str> {
    path_and_query
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("lang=")))
}

/// Counts the verdict, records the scan of a registered code, and answers in the format asked for.
fn answer(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    path_and_query: &str,
    verdict: Verdict,
    key: Option<CodeKey>,
    now: Timestamp,
) -> Response {
    state
        .metrics()
        .verdicts
        .get_or_create(&crate::metrics::VerdictLabels {
            verdict: verdict.verdict,
        })
        .inc();
    let key_for_receipt = key.clone().filter(|_| verdict.signature_checked);
    if let (Some(key), true) = (key, verdict.custody.is_some()) {
        let ip = client_ip(peer, headers, &state.config().trusted_proxies);
        let region = trusted_region(peer, headers, &state.config().trusted_proxies);
        let ctx = state.registry().scan_context(ip, region.as_deref());
        // Counted in memory and written behind, so inline like the registry read above: a store
        // read only for a code not scanned lately, and a record write (no sync) only on the one
        // scan that raises a code's scan anomaly.
        if let Err(e) = state.registry().record_scan(&key, &ctx, now) {
            tracing::error!(error = %e, "cannot record a scan");
        }
    }
    if wants_json(headers) {
        let mut verdict = verdict;
        if let (Some(key), true) = (key_for_receipt, wants_receipt(path_and_query)) {
            verdict.receipt = receipt(state, &key, path_and_query, &verdict);
        }
        Json(verdict).into_response()
    } else {
        let lang = crate::pages::Lang::choose(page_lang(path_and_query), headers);
        crate::pages::owner::verdict_page(&verdict, lang, path_and_query)
    }
}

/// `receipt=1` in the query.
fn wants_receipt(path_and_query: &str) -> bool {
    path_and_query
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p == "receipt=1"))
}

/// The receipt of the code's latest logged event, as JSON, carrying the verdict it came with; the
/// code named by its link as scanned (without the parameters that only ask for this answer).
fn receipt(
    state: &AppState,
    key: &CodeKey,
    path_and_query: &str,
    verdict: &Verdict,
) -> Option<serde_json::Value> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let query: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && *p != "receipt=1" && !p.starts_with("lang="))
        .collect();
    let base = state.config().base_url.as_str().trim_end_matches('/');
    let link = format!("{base}{path}?{}", query.join("&"));
    // A registry read and a proof of a few hashes: inline, as the verdict's own reads are.
    match state.registry().log_receipt(key, link) {
        Ok(Some(mut receipt)) => {
            crate::log_witnesses::cosigned_receipt(state, &mut receipt);
            receipt.verdict = serde_json::to_value(verdict).ok();
            serde_json::to_value(receipt).ok()
        }
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a receipt");
            None
        }
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

naming_a_code! {
    #[derive(Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct VehicleCheck {
        /// The vehicle: 17 characters, no I, O or Q, with its check digit (character 9).
        #[schema(format = "vin", pattern = r"^[0-9A-HJ-NPR-Za-hj-npr-z]{17}$")]
        pub vin: String,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VehicleAnswer {
    /// Is this part recorded as installed in that vehicle now? Nothing else is revealed.
    pub recorded: bool,
    /// A part was recorded under this code in that vehicle, and the manufacturer found it was a
    /// copy of the label.
    pub found_counterfeit: bool,
}

/// `POST /vehicle-check`: an owner asks whether a part is recorded in their vehicle. Yes or no.
#[utoipa::path(
    post,
    path = "/vehicle-check",
    tag = "public",
    summary = "Is this part recorded in my vehicle?",
    request_body = VehicleCheck,
    responses(
        (status = 200, description = "Yes or no; nothing else is revealed", body = VehicleAnswer),
        (status = 400, description = "Bad JSON, a bad code (`invalid_code`) or a bad VIN"),
    ),
)]
pub async fn vehicle_check(
    State(state): State<AppState>,
    ApiJson(ask): ApiJson<VehicleCheck>,
) -> Result<Json<VehicleAnswer>, ApiError> {
    let key = ask.named_code()?.key()?;
    // A lookup: any ISO 3779 VIN, check digit or not (many European vehicles carry none).
    let vin = Vin::parse_confirmed(ask.vin.trim())
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let answer = state
        .blocking(move |r| r.vehicle_answer(&key, &vin))
        .await??;
    Ok(Json(VehicleAnswer {
        recorded: matches!(answer, registry::VehicleAnswer::Recorded { .. }),
        found_counterfeit: answer == registry::VehicleAnswer::FoundCounterfeit,
    }))
}

naming_a_code! {
    #[derive(Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct SuspectReport {
        /// What is wrong, in the reporter's words: 1 to 2000 bytes of UTF-8, not only whitespace
        /// (Unicode's, as the server trims it).
        #[schema(
            min_length = 1,
            max_length = 2000,
            pattern = r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )]
        pub text: String,
        /// How to reach the reporter, if they want to be reached: up to 200 bytes of UTF-8.
        #[schema(max_length = 200)]
        pub contact: Option<String>,
    }
}

/// `POST /reports`: a report of a suspect part, kept for the manufacturer of the code (or, for a
/// code the registry does not know, the certified maker of its GTIN).
#[utoipa::path(
    post,
    path = "/reports",
    tag = "public",
    summary = "Report a suspect part",
    request_body = SuspectReport,
    responses(
        (status = 201, description = "Received for the code's manufacturer", body = crate::schemas::Received),
        (status = 400, description = "Bad JSON, a bad code (`invalid_code`) or report (`invalid_report`)"),
        (status = 422, description = "No certified manufacturer makes this GTIN (`unknown_gtin`)"),
    ),
)]
pub async fn report(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(report): ApiJson<SuspectReport>,
) -> Result<Response, ApiError> {
    let client = client_ip(peer, &headers, &state.config().trusted_proxies);
    if let Some(Err(wait)) = state.report_limiter().map(|l| l.check(client)) {
        return Err(ApiError::too_many_requests(wait));
    }
    let subject = match report.named_code()? {
        NamedCode::Scanned(uri) => Subject::Scanned(uri.to_owned()),
        NamedCode::Typed { gtin, serial } => Subject::Typed {
            gtin: gtin.to_owned(),
            serial: serial.to_owned(),
        },
    };
    let submitted = Submitted {
        subject,
        text: report.text,
        contact: report.contact,
        region: trusted_region(peer, &headers, &state.config().trusted_proxies),
    };
    let now = Timestamp::now();
    let filed = state
        .blocking(move |r| reports::file(r, submitted, now))
        .await??;
    let filed = filed.map_err(|why| match why {
        NotKept::BadCode(why) => {
            ApiError::bad_request("invalid_code", format!("check the code: {why}"))
        }
        NotKept::NoRecipient => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_gtin",
            "no certified manufacturer makes this GTIN, so there is no one to send the report to; \
             check the code",
        ),
        NotKept::Invalid(why) => ApiError::bad_request("invalid_report", why),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "status": "received",
            "id": filed.id,
            "verdict": filed.verdict.verdict,
        })),
    )
        .into_response())
}
