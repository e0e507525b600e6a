//! The landing page (`/`: what partseal is, and the typed lookup) and a product's page
//! (`/01/{gtin}`: a GS1 Digital Link without a serial, as printed on packaging or shelves), which
//! names the certified maker of the GTIN and asks for the part's own label.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signer::{Gtin, Timestamp, TrustStore};

use super::errors::{prefers_html, query_lang};
use super::i18n::{self, Lang, Texts};
use super::{TypedForm, render, render_status, with_lang};
use crate::error::{ApiError, Problem};
use crate::local_time::Zone;
use crate::state::AppState;
use crate::typed_input;
use crate::verdict::{ManufacturerInfo, Severity};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    typed: TypedForm,
}

/// `GET /`: the landing page.
#[utoipa::path(
    get,
    path = "/",
    tag = "public",
    summary = "The landing page",
    description = "What partseal is, and the typed lookup, in the visitor's language.",
    responses((status = 200, description = "A page", body = String, content_type = "text/html")),
)]
pub async fn landing(headers: HeaderMap, uri: Uri) -> Response {
    let lang = Lang::choose(query_lang(&uri), &headers);
    render(&HomePage {
        lang,
        t: lang.texts(),
        switch_href: with_lang("/", lang.other()),
        typed: TypedForm::default(),
    })
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    gtin: String,
    maker: Option<ManufacturerInfo>,
    message: String,
    sev_class: &'static str,
    icon: &'static str,
    sev_word: &'static str,
    typed: TypedForm,
}

/// A product as JSON: the GTIN and its certified maker, if any.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Product {
    /// The GTIN-14.
    #[schema(example = "06901234567892")]
    pub gtin: String,
    /// The manufacturer whose certificate covers the GTIN; absent if none does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<ManufacturerInfo>,
}

/// `GET /01/{gtin}`: a Digital Link without a serial.
#[utoipa::path(
    get,
    path = "/01/{gtin}",
    tag = "public",
    summary = "A product (a Digital Link without a serial)",
    description = "Names the certified manufacturer whose certificate covers the GTIN, if any. \
        It verifies no part: each part has its own code, so the page asks for the part's own \
        label, with the typed lookup prefilled with the GTIN. A GTIN-8, -12 or -13 is padded to \
        14 digits. JSON for `Accept: application/json` (without `text/html`), a page otherwise. \
        As a GS1 resolver: `Accept: application/linkset+json` or `linkType=all` answers the \
        product's links as an RFC 9264 linkset, `linkType` one of them; the usual answers carry \
        a `Link` header to it.",
    params(("gtin" = String, Path, description = "GS1 GTIN (AI 01): 8, 12, 13 or 14 digits",
        example = "06901234567892", format = "gtin", pattern = r"^(?:[0-9]{8}|[0-9]{12,14})$"),
        crate::routes::resolver::LinkTypeQuery),
    responses(
        crate::schemas::ProductLinks,
        (status = 200, description = "The product", content(
            (Product = "application/json"),
            (String = "text/html"),
            (crate::schemas::Linkset = "application/linkset+json"),
        )),
        (status = 400, description = "Not a GTIN (`invalid_code`); a page for browsers says why",
            content(
                (Problem = "application/problem+json"),
                (String = "text/html"),
            )),
    ),
)]
pub async fn product(
    State(state): State<AppState>,
    Path(gtin): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let parsed = typed_input::gtin_in_link(&gtin);
    if let Ok(gtin) = &parsed {
        match crate::routes::resolver::product_answer(&state, &headers, &uri, gtin) {
            Ok(Some(answer)) => return answer,
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    let mut response = product_answer(&state, parsed, &gtin, &headers, &uri);
    crate::routes::resolver::add_linkset_header(&mut response, &state, &uri);
    response
}

/// The product as JSON or as a page.
fn product_answer(
    state: &AppState,
    parsed: Result<Gtin, typed_input::TypedError>,
    gtin: &str,
    headers: &HeaderMap,
    uri: &Uri,
) -> Response {
    let lang = Lang::choose(query_lang(uri), headers);
    let t = lang.texts();
    let asks_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if asks_json && !prefers_html(headers) {
        return match parsed {
            Ok(gtin) => Json(Product {
                gtin: gtin.as_str().to_owned(),
                manufacturer: maker_of(&state.registry().trust(), &gtin, Timestamp::now(), None),
            })
            .into_response(),
            Err(e) => ApiError::bad_request(
                "invalid_code",
                format!("check the GTIN: {}", i18n::EN.typed_problem(&e)),
            )
            .into_response(),
        };
    }
    let (gtin_shown, maker, message, severity, bad) = match parsed {
        Ok(g) => {
            let zone = &state.config().time_zone;
            let maker = maker_of(&state.registry().trust(), &g, Timestamp::now(), Some(zone));
            let (message, severity) = match &maker {
                Some(_) => (t.product_scan_own.to_owned(), Severity::Info),
                None => (t.product_unknown.to_owned(), Severity::Warning),
            };
            (g.as_str().to_owned(), maker, message, severity, None)
        }
        Err(e) => (
            gtin.to_owned(),
            None,
            format!("{}{}", t.product_bad_gtin, t.typed_problem(&e)),
            Severity::Info,
            Some(e.field()),
        ),
    };
    let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    // A malformed GTIN is the visitor's input to fix: the page says why, with the 400 the
    // contract states, as the JSON answer does.
    let status = if bad.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &ProductPage {
            lang,
            t,
            switch_href: with_lang(path, lang.other()),
            typed: TypedForm {
                gtin: gtin_shown.clone(),
                serial: String::new(),
                bad,
            },
            gtin: gtin_shown,
            maker,
            message,
            sev_class: i18n::severity_class(severity),
            icon: i18n::icon(severity),
            sev_word: t.severity(severity),
        },
    )
}

/// The manufacturer whose certificate covers `gtin`: one certified now if there is one (a maker
/// renewing its certificate holds two for a while), else the one whose certificate ended last.
/// Its end date in `zone` for a page, UTC for JSON.
fn maker_of(
    trust: &TrustStore,
    gtin: &Gtin,
    now: Timestamp,
    zone: Option<&Zone>,
) -> Option<ManufacturerInfo> {
    let certified = |cert: &signer::Certificate| {
        cert.check_validity(now).is_ok()
            && trust
                .revocations()
                .and_then(|list| list.revocation_of(cert, now))
                .is_none()
    };
    let cert = trust
        .certificates()
        .iter()
        .filter(|cert| cert.covers(gtin))
        .max_by_key(|cert| (certified(cert), cert.body().not_after))?;
    let body = cert.body();
    Some(ManufacturerInfo {
        id: body.manufacturer_id.clone(),
        legal_name: body.legal_name.clone(),
        certified: certified(cert),
        certificate_valid_until: zone
            .map_or_else(|| body.not_after.date(), |z| z.date(body.not_after)),
    })
}
