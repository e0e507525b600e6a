//! The manufacturer's packing records (`/dashboard/cartons/…`): one carton's record (who packed
//! it and when, the carton it is packed in, the cartons and parts inside with where each part is
//! now), its label to print (PDF, PNG or SVG, drawn by [`labels::carton`] with the service's own
//! address in the QR code), and the lookup that leads there from a typed or scanned number.
//!
//! A packing record is its packer's: only the party that packed a carton sees it, and anyone
//! else gets the very answer an unknown carton gets (`404 unknown_carton`), so the page never
//! tells that a carton exists. The same holds for what the record links to: the carton it is
//! packed in is named only if the viewer packed that one too, and a part links to its
//! investigation view only where the part is the viewer's own.
//!
//! A number that is no SSCC (a wrong check digit, a wrong length) is `400` with a stable code
//! (`carton_check_digit`, `invalid_carton`): a browser sees the lookup again with what was wrong
//! in its language and the code, a script the problem+json.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use registry::carton::{Carton, MAX_DEPTH};
use registry::{CodeKey, Custody, PartyId, Registry, RegistryError};
use serde::Deserialize;
use signer::{CartonLink, ParseError, Problem, Sscc, Timestamp};

use super::case::case_href;
use super::case_text::{self, CaseTexts};
use super::errors::prefers_html;
use super::i18n::{Lang, Texts};
use super::session::LiveSession;
use super::signed_in::{Dashboard, LangQuery, SignedIn};
use super::{encode, render, render_status, with_lang};
use crate::error::ApiError;
use crate::local_time::Zone;
use crate::schemas::Page;
use crate::state::AppState;

/// Packing records listed on one page of the list.
const LISTED: usize = 50;

/// The lookup's box, as typed or scanned, and the list's page.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CartonQuery {
    /// The carton's SSCC (18 digits), `(00)` and the digits, or the carton's Digital Link
    #[param(format = "sscc")]
    pub carton: Option<String>,
    /// The list's page: the records older than this one, `{packing time in Unix seconds}-{SSCC}`
    /// (the "older records" link gives it)
    #[param(format = "carton-page", pattern = r"^[0-9]{1,18}-[0-9]{18}$")]
    pub after: Option<String>,
}

/// Where a page of the list starts: after the record packed at `at` (Unix seconds) with `sscc`.
fn page_start(after: &str) -> Option<(Timestamp, Sscc)> {
    let (at, sscc) = after.split_once('-')?;
    let at = at.parse::<i64>().ok().filter(|at| *at >= 0)?;
    Some((Timestamp(at), Sscc::parse(sscc).ok()?))
}

/// One packing record in the list.
pub struct ListedCarton {
    pub sscc: String,
    pub href: String,
    pub packed_at: String,
    /// Parts and cartons directly inside.
    pub codes: usize,
    pub cartons: usize,
    /// Packed in another carton (a pallet).
    pub nested: bool,
}

/// A page of the party's packing records, newest first, and the next page's start if there is
/// one.
fn recent(
    r: &Registry,
    me: &PartyId,
    after: Option<(Timestamp, Sscc)>,
    zone: &Zone,
) -> Result<(Vec<ListedCarton>, Option<String>), RegistryError> {
    let mut page = r.cartons_packed_by(me, after, LISTED + 1)?;
    let more = page.len() > LISTED;
    page.truncate(LISTED);
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|(sscc, c)| format!("{}-{sscc}", c.packed_at.0));
    let listed = page
        .into_iter()
        .map(|(sscc, c)| ListedCarton {
            href: carton_href(&sscc),
            sscc: sscc.to_string(),
            packed_at: zone.date_time(c.packed_at),
            codes: c.codes.len(),
            cartons: c.cartons.len(),
            nested: c.parent.is_some(),
        })
        .collect();
    Ok((listed, next))
}

/// A carton in the path, as given (the handler reads it).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CartonInPath {
    /// The carton's SSCC: 18 digits, the last a GS1 check digit
    #[param(
        example = "369012300000000011",
        format = "sscc-digits",
        pattern = r"^[0-9]{18}$"
    )]
    pub sscc: String,
}

fn invalid_page() -> ApiError {
    ApiError::bad_request(
        "invalid_page",
        "after is a packing time in Unix seconds, a hyphen and an SSCC, as the older records link \
         gives it",
    )
}

/// The list's query, read before the session is: a query that cannot be read is the same 400 for
/// everyone, signed in or not.
pub struct CheckedQuery(CartonQuery);

impl FromRequestParts<AppState> for CheckedQuery {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        let Query(query) =
            Query::<CartonQuery>::try_from_uri(&parts.uri).map_err(|e: QueryRejection| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("give carton, or after as the older records link gives it: {e}"),
                )
                .into_response()
            })?;
        if query
            .after
            .as_deref()
            .is_some_and(|a| page_start(a).is_none())
        {
            return Err(invalid_page().into_response());
        }
        Ok(CheckedQuery(query))
    }
}

/// The carton a record's address names, read before the session is: a number that is no SSCC is
/// the same 400 for everyone, signed in or not, never the sign-in form.
pub struct CartonPath(Sscc);

impl FromRequestParts<AppState> for CartonPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(CartonInPath { sscc: typed }) =
            Path::<CartonInPath>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        Sscc::parse(&typed).map(CartonPath).map_err(|e| {
            let asked = Query::<LangQuery>::try_from_uri(&parts.uri)
                .ok()
                .and_then(|Query(q)| q.lang);
            let lang = Lang::choose(asked.as_deref(), &parts.headers);
            bad_carton(lang, &parts.headers, &typed, &e)
        })
    }
}

/// The record's address for a carton.
pub(crate) fn carton_href(sscc: &Sscc) -> String {
    format!("/dashboard/cartons/{sscc}")
}

/// The lookup form as the dashboard shows it: nothing typed, nothing wrong.
pub const NO_PROBLEM: Option<(String, &str)> = None;

/// What was wrong with a typed carton number: its stable code and the words for it.
fn problem_of(e: &ParseError, t: &Texts) -> (&'static str, String) {
    match e.problem {
        Problem::CheckDigit { found, expected } => (
            "carton_check_digit",
            t.carton_check_digit
                .replace("{found}", &found.to_string())
                .replace("{expected}", &expected.to_string()),
        ),
        _ => ("invalid_carton", t.carton_invalid.to_owned()),
    }
}

#[derive(Template)]
#[template(path = "cartons.html")]
struct LookupPage {
    lang: Lang,
    t: &'static Texts,
    c: &'static CaseTexts,
    switch_href: String,
    carton_typed: String,
    /// What was wrong (in words) and its stable code.
    carton_problem: Option<(String, &'static str)>,
    /// The party's recent packing records (none listed beside a refused number).
    listed: Vec<ListedCarton>,
    /// The next page's address, if there are older records.
    older: Option<String>,
}

/// `400` for a number that is no SSCC: the lookup again with the problem for a browser, the
/// problem+json for a script; the code either way (in the page and `X-Problem-Code`).
fn bad_carton(lang: Lang, headers: &HeaderMap, typed: &str, e: &ParseError) -> Response {
    let t = lang.texts();
    let (code, words) = problem_of(e, t);
    if !prefers_html(headers) {
        return ApiError::bad_request(code, format!("check the carton's number: {e}"))
            .into_response();
    }
    let mut page = render_status(
        StatusCode::BAD_REQUEST,
        &LookupPage {
            lang,
            t,
            c: case_text::texts(lang),
            switch_href: with_lang(
                &format!("/dashboard/cartons?carton={}", encode(typed)),
                lang.other(),
            ),
            carton_typed: typed.to_owned(),
            carton_problem: Some((words, code)),
            listed: Vec::new(),
            older: None,
        },
    );
    page.headers_mut()
        .insert("x-problem-code", HeaderValue::from_static(code));
    page
}

/// A carton that is not there or not the viewer's: the same answer either way.
fn unknown_carton() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_carton",
        "no packing record of yours has this carton number",
    )
}

/// `GET /dashboard/cartons`: the lookup of a packing record by its carton's number.
#[utoipa::path(
    get,
    path = "/dashboard/cartons",
    tag = "pages",
    summary = "The manufacturer's packing records, and the lookup of one",
    description = "For a signed-in manufacturer. Without `carton`: the lookup form and its \
        packing records not unpacked, newest first, 50 a page (`after` gives the next page, as \
        its link says; a malformed one is 400 `invalid_page`). With \
        `carton` (the 18 digits of an SSCC, `(00)` and the digits, what a scanner types for its \
        GS1-128 barcode, or the carton's Digital Link `…/00/{sscc}`): 303 to the carton's \
        packing record. A number that is no SSCC is 400 `carton_check_digit` (its last digit is \
        not its check digit) or `invalid_carton`. Without a session: the sign-in form.",
    params(CartonQuery, LangQuery),
    responses(
        Page,
        (status = 303, description = "The carton's packing record"),
        (status = 400, description = "No SSCC (`carton_check_digit`, `invalid_carton`), or a \
            malformed page (`invalid_page`) or query (`invalid_query`)"),
    ),
)]
pub async fn lookup(
    State(state): State<AppState>,
    CheckedQuery(query): CheckedQuery,
    headers: HeaderMap,
    SignedIn { session, .. }: SignedIn<Dashboard>,
) -> Result<Response, ApiError> {
    let lang = session.lang();
    let typed = query.carton.unwrap_or_default();
    if !typed.trim().is_empty() {
        return Ok(match CartonLink::parse(&typed) {
            Ok(link) => Redirect::to(&with_lang(&carton_href(&link.sscc), lang)).into_response(),
            Err(e) => bad_carton(lang, &headers, &typed, &e),
        });
    }
    let after = match query.after.as_deref() {
        None => None,
        Some(after) => Some(page_start(after).ok_or_else(invalid_page)?),
    };
    let me = session.party().id.clone();
    let (listed, next) = state
        .blocking({
            let zone = state.config().time_zone.clone();
            move |r| recent(r, &me, after, &zone)
        })
        .await??;
    let here = match &query.after {
        Some(after) if !after.is_empty() => format!("/dashboard/cartons?after={}", encode(after)),
        _ => "/dashboard/cartons".to_owned(),
    };
    Ok(render(&LookupPage {
        lang,
        t: lang.texts(),
        c: case_text::texts(lang),
        switch_href: with_lang(&here, lang.other()),
        carton_typed: typed,
        carton_problem: None,
        listed,
        older: next.map(|after| with_lang(&format!("/dashboard/cartons?after={after}"), lang)),
    }))
}

/// A carton linked from a record: its number, and its record's address where the viewer may see
/// that record.
pub struct CartonRef {
    pub sscc: String,
    pub href: Option<String>,
    /// Parts inside it, nested cartons' included.
    pub codes: usize,
}

/// A part in a carton, as its packer sees it.
pub struct CodeRow {
    pub gtin: String,
    pub name: Option<String>,
    pub serial: String,
    /// Where it is now, in words.
    pub custody: String,
    /// Its investigation view, where it is the viewer's own part.
    pub href: Option<String>,
}

/// Everything the record shows, read in one go on the blocking pool.
struct Record {
    packed_by: String,
    packed_at: String,
    parent: Option<CartonRef>,
    cartons: Vec<CartonRef>,
    codes: Vec<CodeRow>,
    total: usize,
}

#[derive(Template)]
#[template(path = "carton.html")]
struct RecordPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    sscc: String,
    human_readable: String,
    counts: String,
    record: Record,
}

/// The packing record of `sscc` if `me` packed it.
fn visible(r: &Registry, me: &PartyId, sscc: &Sscc) -> Result<Option<Carton>, RegistryError> {
    Ok(r.carton(sscc)?.filter(|c| &c.packed_by == me))
}

/// Parts in `carton` and in every carton nested in it, as stored now. The registry bounds nesting
/// when packing; the walk stops at that depth all the same.
fn codes_in(r: &Registry, carton: &Carton) -> Result<usize, RegistryError> {
    let mut total = carton.codes.len();
    let mut level = carton.cartons.clone();
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for sscc in &level {
            if let Some(inner) = r.carton(sscc)? {
                total += inner.codes.len();
                next.extend(inner.cartons);
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    Ok(total)
}

/// Where a part is, in words: the state and the party it names (a vehicle is not named).
fn custody_words(r: &Registry, t: &Texts, custody: &Custody) -> Result<String, RegistryError> {
    let name = |id: &PartyId| -> Result<String, RegistryError> {
        Ok(r.party(id)?.map_or_else(|| id.to_string(), |p| p.name))
    };
    let state = t.custody(custody);
    Ok(match custody {
        Custody::Held { by } | Custody::Installed { by, .. } => format!("{state}: {}", name(by)?),
        Custody::InTransit { from, to } => format!("{state}: {} → {}", name(from)?, name(to)?),
        _ => state.to_owned(),
    })
}

fn gather(
    r: &Registry,
    me: &PartyId,
    sscc: &Sscc,
    lang: Lang,
    zone: &Zone,
) -> Result<Option<Record>, RegistryError> {
    let t = lang.texts();
    let Some(carton) = visible(r, me, sscc)? else {
        return Ok(None);
    };
    let packer = r
        .party(&carton.packed_by)?
        .map_or_else(|| carton.packed_by.to_string(), |p| p.name);
    // The carton it is in is named only if the viewer packed that one too: someone else's pallet
    // is someone else's record.
    let parent = match &carton.parent {
        Some(parent) => match visible(r, me, parent)? {
            Some(outer) => Some(CartonRef {
                sscc: parent.to_string(),
                href: Some(carton_href(parent)),
                codes: codes_in(r, &outer)?,
            }),
            None => None,
        },
        None => None,
    };
    let mut cartons = Vec::new();
    for inner in &carton.cartons {
        let (href, codes) = match r.carton(inner)? {
            Some(c) => (
                (c.packed_by == *me).then(|| carton_href(inner)),
                codes_in(r, &c)?,
            ),
            None => (None, 0),
        };
        cartons.push(CartonRef {
            sscc: inner.to_string(),
            href,
            codes,
        });
    }
    let mut codes = Vec::new();
    for key in &carton.codes {
        codes.push(code_row(r, t, me, key)?);
    }
    Ok(Some(Record {
        packed_by: packer,
        packed_at: zone.date_time(carton.packed_at),
        parent,
        cartons,
        total: codes_in(r, &carton)?,
        codes,
    }))
}

fn code_row(
    r: &Registry,
    t: &Texts,
    me: &PartyId,
    key: &CodeKey,
) -> Result<CodeRow, RegistryError> {
    let gtin = key
        .gtin()
        .map(|g| g.as_str().to_owned())
        .unwrap_or_default();
    let serial = key
        .serial()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let Some(status) = r.status(key)? else {
        // A packed code is always registered (the audit checks it); said plainly if not.
        return Ok(CodeRow {
            gtin,
            name: None,
            serial,
            custody: String::new(),
            href: None,
        });
    };
    let record = &status.record;
    Ok(CodeRow {
        gtin,
        name: record.name.clone(),
        serial,
        custody: custody_words(r, t, &record.custody.custody)?,
        href: (&record.manufacturer == me).then(|| case_href(key)),
    })
}

/// `GET /dashboard/cartons/{sscc}`: one of the manufacturer's packing records.
#[utoipa::path(
    get,
    path = "/dashboard/cartons/{sscc}",
    tag = "pages",
    summary = "One of the manufacturer's packing records",
    description = "For the signed-in party that packed the carton: who packed it and when, the \
        carton it is packed in (if the same party packed that one), the cartons inside and the \
        parts inside, each with its product, serial and where it is now (linking to the part's \
        investigation view where it is the manufacturer's own), the number of parts directly \
        inside and in all, and links to its label. Anyone else gets 404 `unknown_carton`, as for \
        a carton that does not exist. Without a session: the sign-in form.",
    params(CartonInPath, LangQuery),
    responses(
        Page,
        (status = 400, description = "No SSCC (`carton_check_digit`, `invalid_carton`)"),
        (status = 404, description = "No packing record of the manufacturer's (`unknown_carton`)"),
    ),
)]
pub async fn record(
    State(state): State<AppState>,
    CartonPath(sscc): CartonPath,
    SignedIn { session, .. }: SignedIn<Dashboard>,
) -> Result<Response, ApiError> {
    let lang = session.lang();
    let me = session.party().id.clone();
    let record = state
        .blocking({
            let zone = state.config().time_zone.clone();
            move |r| gather(r, &me, &sscc, lang, &zone)
        })
        .await??
        .ok_or_else(unknown_carton)?;
    let t = lang.texts();
    let counts = t
        .carton_counts
        .replace("{direct}", &record.codes.len().to_string())
        .replace("{total}", &record.total.to_string());
    Ok(render(&RecordPage {
        lang,
        t,
        switch_href: with_lang(&carton_href(&sscc), lang.other()),
        sscc: sscc.to_string(),
        human_readable: labels::gs1_128::human_readable(&sscc),
        counts,
        record,
    }))
}

/// The forms a carton's label downloads in.
#[derive(Clone, Copy, Debug)]
enum LabelFormat {
    /// For office printers and thermal printers' drivers: one 4 x 3 inch page.
    Pdf,
    /// 300 dpi, for whatever prints images.
    Png,
    Svg,
}

impl LabelFormat {
    fn extension(self) -> &'static str {
        match self {
            LabelFormat::Pdf => "pdf",
            LabelFormat::Png => "png",
            LabelFormat::Svg => "svg",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            LabelFormat::Pdf => "application/pdf",
            LabelFormat::Png => "image/png",
            LabelFormat::Svg => "image/svg+xml",
        }
    }

    /// The label of the carton whose Digital Link is `uri`, drawn by the labels crate as
    /// `partseal labels --cartons` draws it.
    fn render(self, uri: &str, sscc: &Sscc) -> Result<Vec<u8>, String> {
        let label = labels::CartonLabel { uri, sscc };
        match self {
            LabelFormat::Pdf => labels::carton::pdf(&[label]).map_err(|e| e.to_string()),
            LabelFormat::Png => labels::CartonPngRenderer::new(LABEL_DPI)
                .map_err(|e| e.to_string())?
                .render(&label)
                .map_err(|e| e.to_string()),
            LabelFormat::Svg => labels::carton::svg(&label)
                .map(String::into_bytes)
                .map_err(|e| e.to_string()),
        }
    }
}

/// The PNG label's resolution: a common thermal and office printer's.
const LABEL_DPI: u32 = 300;

/// A carton's label as a file to save or print, for its packer; anyone else gets the answer of
/// an unknown carton, as for the record.
async fn label(
    state: AppState,
    sscc: Sscc,
    session: LiveSession,
    format: LabelFormat,
) -> Result<Response, ApiError> {
    let me = session.party().id.clone();
    let known = state
        .blocking(move |r| visible(r, &me, &sscc))
        .await??
        .is_some();
    if !known {
        return Err(unknown_carton());
    }
    // The service's own address, as the labels `partseal labels --cartons --base-url` prints
    // for it: a phone that scans the QR code opens the carton's link here.
    let uri = sscc.to_uri(&state.config().base_url);
    // Drawing a label is CPU work: off the executor.
    let bytes = tokio::task::spawn_blocking(move || format.render(&uri, &sscc))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&format!("carton label {sscc} as {format:?}: {e}")))?;
    let disposition = format!(
        "attachment; filename=\"carton-{sscc}.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// The label routes' shared description.
macro_rules! label_route {
    ($name:ident, $format:expr, $path:literal, $content_type:literal, $what:literal) => {
        #[doc = concat!("`GET ", $path, "`: the carton's label as ", $what, ".")]
        #[utoipa::path(
            get,
            path = $path,
            tag = "pages",
            summary = concat!("A packing record's carton label as ", $what),
            description = "For the signed-in party that packed the carton: its label, the \
                carton's Digital Link (`{base}/00/{sscc}`, the service's own address) as a QR \
                code and its SSCC as a GS1-128 barcode `(00)` with the human-readable line, \
                as `partseal labels --cartons` prints it; as a download with a file name. \
                Anyone else gets 404 `unknown_carton`, as for a carton that does not exist. \
                Without a session: the sign-in form.",
            params(CartonInPath, LangQuery),
            responses(
                (status = 200, description = "The label; without a session, the sign-in form",
                    content((Vec<u8> = $content_type), (String = "text/html"))),
                (status = 400, description = "No SSCC (`carton_check_digit`, `invalid_carton`)"),
                (status = 404, description = "No packing record of the manufacturer's (`unknown_carton`)"),
            ),
        )]
        pub async fn $name(
            State(state): State<AppState>,
            CartonPath(sscc): CartonPath,
            SignedIn { session, .. }: SignedIn<Dashboard>,
        ) -> Result<Response, ApiError> {
            label(state, sscc, session, $format).await
        }
    };
}

label_route!(
    label_pdf,
    LabelFormat::Pdf,
    "/dashboard/cartons/{sscc}/label.pdf",
    "application/pdf",
    "PDF"
);
label_route!(
    label_png,
    LabelFormat::Png,
    "/dashboard/cartons/{sscc}/label.png",
    "image/png",
    "PNG"
);
label_route!(
    label_svg,
    LabelFormat::Svg,
    "/dashboard/cartons/{sscc}/label.svg",
    "image/svg+xml",
    "SVG"
);
