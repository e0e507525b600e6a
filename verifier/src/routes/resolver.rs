//! GS1 resolver answers on the Digital Link routes (`/01/{gtin}`, `/01/{gtin}/21/{serial}`,
//! `/01/{gtin}/10/{lot}/21/{serial}`), as GS1's resolver standard has them: the links a code has,
//! as an RFC 9264 linkset for `Accept: application/linkset+json` or `?linkType=all`, and one link
//! chosen by `?linkType=`.
//!
//! | `linkType` | answer |
//! |---|---|
//! | `all`, `linkset`, or none with `Accept: application/linkset+json` | the linkset (200, `application/linkset+json`) |
//! | `gs1:pip` | 307 to the maker's product page; 404 `no_product_page` when it registered none |
//! | `gs1:recallStatus` | the part's recall status: its typed numbers' verdict without custody (part level only) |
//! | `gs1:verificationService`, `gs1:defaultLink`, none | the handler's own answer, with a `Link` header to the linkset |
//! | anything else | 404 `unknown_link_type` naming it |
//!
//! Each type is also accepted as its full URI (`https://gs1.org/voc/pip`). None of these answers
//! counts as a scan of the label or judges it: they are built from the address asked and the
//! trust store, and the recall status from a registry read that records nothing. They say no more
//! than the public page does (no custody, no vehicle, no party).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use signer::{DigitalLink, Gtin, Timestamp};

use crate::error::ApiError;
use crate::state::AppState;

/// RFC 9264's media type of a linkset in JSON.
pub const LINKSET_TYPE: &str = "application/linkset+json";

/// GS1 Web Vocabulary's prefix of link types, which `gs1:` abbreviates.
const GS1_VOC: &str = "https://gs1.org/voc/";

/// The languages the service's pages speak, as BCP 47 tags for `hreflang`.
const PAGE_LANGUAGES: [&str; 2] = ["en", "zh-CN"];

/// `linkType` in the query, for the description.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkTypeQuery {
    /// Which link to answer; without it, `Accept: application/linkset+json` asks for all.
    #[param(rename = "linkType", value_type = Option<crate::schemas::LinkTypeName>, inline)]
    pub link_type: Option<String>,
}

/// What a request on a Digital Link asks of the resolver.
#[derive(Debug, PartialEq, Eq)]
pub enum Asked {
    /// The handler's own answer (the verdict, or the product), with a `Link` header.
    Answer,
    Linkset,
    ProductPage,
    RecallStatus,
    /// A `linkType` this service does not know, as sent (decoded).
    Unknown(String),
}

/// Reads `linkType` from the query, else `Accept`. A `linkType` decides even when `Accept` asks
/// for a linkset: it names one link, and GS1 resolvers follow it.
pub fn asked(headers: &HeaderMap, uri: &Uri) -> Asked {
    let link_type = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("linkType="))
            .map(|v| percent_decode_str(v).decode_utf8_lossy().into_owned())
    });
    let Some(link_type) = link_type else {
        return if accepts_linkset(headers) {
            Asked::Linkset
        } else {
            Asked::Answer
        };
    };
    let term = link_type
        .strip_prefix("gs1:")
        .or_else(|| link_type.strip_prefix(GS1_VOC))
        .unwrap_or(&link_type);
    match term {
        "all" | "linkset" if term == link_type => Asked::Linkset,
        "pip" => Asked::ProductPage,
        "recallStatus" => Asked::RecallStatus,
        "verificationService" | "defaultLink" => Asked::Answer,
        _ => Asked::Unknown(link_type),
    }
}

/// Does `Accept` name the linkset type (with a weight above zero)?
fn accepts_linkset(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|item| {
                let mut params = item.split(';');
                let named = params
                    .next()
                    .is_some_and(|range| range.trim().eq_ignore_ascii_case(LINKSET_TYPE));
                let refused = params.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                named && !refused
            })
        })
}

/// The resolver's answer for a part's Digital Link, or `None` when the handler answers as usual.
/// `uri` is the request's, already routed to a code's path.
pub fn code_answer(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Option<Response>, ApiError> {
    let asked = asked(headers, uri);
    if asked == Asked::Answer {
        return Ok(None);
    }
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    // No link of a code that cannot be read: the 404 of a resolver asked for an identifier it
    // does not know (the usual answer, `data_error`, says why the code cannot be read).
    let link = DigitalLink::parse(path_and_query).map_err(|e| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_code",
            format!("no links: this is no part's Digital Link ({e})"),
        )
    })?;
    let links = CodeLinks::new(state, uri, &link);
    Ok(Some(match asked {
        Asked::Answer => return Ok(None),
        Asked::Linkset => linkset(links.linkset(state, &link.part.gtin)),
        Asked::ProductPage => to_product_page(state, &link.part.gtin)?,
        Asked::RecallStatus => recall_status(state, &link)?,
        Asked::Unknown(link_type) => return Err(unknown(&link_type)),
    }))
}

/// The resolver's answer for a product's Digital Link (`/01/{gtin}`), or `None` when the handler
/// answers as usual.
pub fn product_answer(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    gtin: &Gtin,
) -> Result<Option<Response>, ApiError> {
    Ok(Some(match asked(headers, uri) {
        Asked::Answer => return Ok(None),
        Asked::Linkset => linkset(product_linkset(state, gtin)),
        Asked::ProductPage => to_product_page(state, gtin)?,
        Asked::RecallStatus => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_recall_status",
                "a product has no recall status here: recalls are of parts and their lots; ask a \
                 part's own link (/01/{gtin}/21/{serial}?linkType=gs1:recallStatus)",
            ));
        }
        Asked::Unknown(link_type) => return Err(unknown(&link_type)),
    }))
}

fn unknown(link_type: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_link_type",
        format!(
            "unknown linkType {link_type:?}: this resolver answers all, linkset, gs1:pip, \
             gs1:verificationService, gs1:recallStatus and gs1:defaultLink"
        ),
    )
    .with("linkType", Value::String(link_type.to_owned()))
}

/// The `Link` header GS1 resolvers put on their usual answers: where the linkset is.
pub fn add_linkset_header(response: &mut Response, state: &AppState, uri: &Uri) {
    let base = base(state);
    let signature: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| p.starts_with("k=") || p.starts_with("s="))
        .collect();
    let mut query = signature.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    let value = format!(
        "<{base}{}?{query}linkType=all>; rel=\"linkset\"; type=\"{LINKSET_TYPE}\"",
        uri.path()
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::LINK, value);
    }
}

fn base(state: &AppState) -> &str {
    state.config().base_url.as_str().trim_end_matches('/')
}

/// A linkset as RFC 9264's JSON form, with its media type.
fn linkset(context: Map<String, Value>) -> Response {
    let mut response = Json(json!({ "linkset": [context] })).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(LINKSET_TYPE));
    response
}

/// One target of a link, as RFC 9264 section 4.2.4 writes its attributes: `hreflang` always an
/// array, `title` a string.
fn target(href: &str, title: &str, media_type: &str, page: bool) -> Value {
    let mut target = json!({ "href": href, "title": title, "type": media_type });
    if page {
        target["hreflang"] = json!(PAGE_LANGUAGES);
    }
    target
}

/// The addresses of a part's links on this service.
struct CodeLinks {
    /// The Digital Link without its query: the linkset's anchor.
    anchor: String,
    /// The verdict page: the label's own link when `k` and `s` came with it, else the typed
    /// lookup (the path alone proves nothing about a label).
    verification: String,
    recall_status: String,
}

impl CodeLinks {
    fn new(state: &AppState, uri: &Uri, link: &DigitalLink) -> Self {
        let base = base(state);
        let anchor = format!("{base}{}", uri.path());
        let signature: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| p.starts_with("k=") || p.starts_with("s="))
            .collect();
        let verification = if link.key_id.is_some() && link.signature.is_some() {
            format!("{anchor}?{}", signature.join("&"))
        } else {
            format!(
                "{base}/lookup?gtin={}&serial={}",
                link.part.gtin.as_str(),
                crate::pages::encode(link.part.serial.as_str())
            )
        };
        CodeLinks {
            recall_status: format!("{anchor}?linkType=gs1:recallStatus"),
            anchor,
            verification,
        }
    }

    fn linkset(&self, state: &AppState, gtin: &Gtin) -> Map<String, Value> {
        let mut context = Map::new();
        context.insert("anchor".into(), json!(self.anchor));
        let verify = target(&self.verification, "Verify this part", "text/html", true);
        context.insert(rel("verificationService"), json!([verify]));
        if let Some(page) = product_page(state, gtin) {
            let pip = target(&page, "Product information", "text/html", false);
            context.insert(rel("pip"), json!([pip]));
        }
        let recall = target(
            &self.recall_status,
            "Recall status",
            "application/json",
            false,
        );
        context.insert(rel("recallStatus"), json!([recall]));
        context.insert(rel("defaultLink"), json!([verify]));
        context
    }
}

fn product_linkset(state: &AppState, gtin: &Gtin) -> Map<String, Value> {
    let anchor = format!("{}/01/{}", base(state), gtin.as_str());
    let mut context = Map::new();
    context.insert("anchor".into(), json!(anchor));
    let product = target(&anchor, "The product's certified maker", "text/html", true);
    context.insert(rel("verificationService"), json!([product]));
    if let Some(page) = product_page(state, gtin) {
        let pip = target(&page, "Product information", "text/html", false);
        context.insert(rel("pip"), json!([pip]));
    }
    context.insert(rel("defaultLink"), json!([product]));
    context
}

fn rel(term: &str) -> String {
    format!("{GS1_VOC}{term}")
}

/// The product page the maker of `gtin` registered, if any.
///
/// Makers cannot register one yet: the field is to be added to what a maker registers (its party
/// or its manifest), and until then no code has a `gs1:pip` link.
fn product_page(_state: &AppState, _gtin: &Gtin) -> Option<String> {
    None
}

fn to_product_page(state: &AppState, gtin: &Gtin) -> Result<Response, ApiError> {
    let Some(page) = product_page(state, gtin) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_product_page",
            format!(
                "the maker of GTIN {} registered no product page (gs1:pip)",
                gtin.as_str()
            ),
        ));
    };
    let location = HeaderValue::from_str(&page)
        .map_err(|e| ApiError::internal(&format!("the product page is no header value: {e}")))?;
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response())
}

/// The recall status: the verdict the typed numbers get (`recalled` with the maker's reason, or
/// what else the public page would say), less the custody summary and any evidence but the
/// recalls. The registry read records no scan and raises no flag.
fn recall_status(state: &AppState, link: &DigitalLink) -> Result<Response, ApiError> {
    let (gtin, serial) = (link.part.gtin.as_str(), link.part.serial.as_str());
    let (mut verdict, _) =
        crate::verdict::judge_typed(state.registry(), gtin, serial, Timestamp::now())?;
    verdict.custody = None;
    verdict
        .evidence
        .retain(|e| e.kind == "recalled" || e.kind == "lot_recalled");
    Ok(Json(verdict).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked_of(query: &str, accept: &str) -> Asked {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        asked(
            &headers,
            &format!("/01/06901234567892{query}").parse().unwrap(),
        )
    }

    #[test]
    fn link_types_are_read_in_every_spelling() {
        assert_eq!(asked_of("", "text/html"), Asked::Answer);
        assert_eq!(asked_of("", "application/linkset+json"), Asked::Linkset);
        assert_eq!(asked_of("", "application/linkset+json;q=0"), Asked::Answer);
        assert_eq!(asked_of("?linkType=all", "*/*"), Asked::Linkset);
        assert_eq!(asked_of("?linkType=gs1:pip", ""), Asked::ProductPage);
        assert_eq!(asked_of("?linkType=gs1%3Apip", ""), Asked::ProductPage);
        assert_eq!(
            asked_of("?linkType=https%3A%2F%2Fgs1.org%2Fvoc%2Fpip", ""),
            Asked::ProductPage
        );
        assert_eq!(
            asked_of("?linkType=gs1:verificationService", LINKSET_TYPE),
            Asked::Answer
        );
        assert_eq!(
            asked_of("?linkType=gs1:recallStatus", ""),
            Asked::RecallStatus
        );
        assert_eq!(
            asked_of("?linkType=gs1:all", ""),
            Asked::Unknown("gs1:all".into())
        );
        assert_eq!(
            asked_of("?linkType=gs1:nope", ""),
            Asked::Unknown("gs1:nope".into())
        );
    }
}
