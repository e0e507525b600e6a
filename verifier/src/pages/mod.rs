//! The pages people see in a browser, server-rendered from compile-time checked templates
//! (`verifier/templates/`), in Chinese or English.
//!
//! | module | page |
//! |---|---|
//! | [`home`] | the landing page (`/`) and a product's page (`/01/{gtin}`, a Digital Link without a serial) |
//! | [`owner`] | the car owner's page at the QR code's own URL, its report and vehicle-check forms |
//! | [`shop`] | the shop's scanning station (`/shop`) and a vehicle's installed parts |
//! | [`station_cartons`] | carton and pallet labels at the station: received whole, listed part by part, undone whole |
//! | [`dashboard`] | the manufacturer's alerts, their workflow and charts (`/dashboard`) |
//! | [`case`] | the manufacturer's investigation view of one code, code search and recalls (`/dashboard/…`) |
//! | [`upload`] | the manufacturer's manifest upload from the dashboard, streamed |
//! | [`lots`] | the manufacturer's lots with their codes, scans and alerts (`/dashboard/lots`) |
//! | [`cartons`] | the manufacturer's packing records: a carton's contents, its label, the lookup (`/dashboard/cartons/…`) |
//! | [`session`] | sign-in with a party token, server-side sessions, CSRF tokens |
//! | [`signed_in`] | what every signed-in page and form checks first, as extractors; the sign-in form |
//! | [`station_list`] | the station's list of recent scans as the store keeps it, per shop |
//! | [`i18n`] | every string, one table per language |
//! | [`errors`] | every error a browser gets, as a page in its language rather than problem+json |
//!
//! The owner's page has no script and no login. The shop and dashboard pages sit behind a session
//! cookie; the token never leaves the sign-in form.

pub mod cartons;
pub mod case;
pub mod case_text;
pub mod dashboard;
pub mod errors;
pub mod home;
pub mod i18n;
pub mod lots;
pub mod owner;
pub mod session;
pub mod shop;
pub mod signed_in;
pub mod station_cartons;
pub mod station_list;
pub mod upload;

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

pub use i18n::Lang;
pub use session::Sessions;

use crate::error::{ApiError, ProblemCode, STORAGE_FULL, STORAGE_UNAVAILABLE};

/// What the typed-lookup form (`lookup_form.html`, on every owner-facing page) shows: the numbers
/// as typed, so a mistake is corrected rather than typed again, and which box was wrong.
#[derive(Default)]
pub(crate) struct TypedForm {
    pub gtin: String,
    pub serial: String,
    pub bad: Option<crate::typed_input::TypedField>,
}

impl TypedForm {
    pub fn bad_gtin(&self) -> bool {
        self.bad == Some(crate::typed_input::TypedField::Gtin)
    }

    pub fn bad_serial(&self) -> bool {
        self.bad == Some(crate::typed_input::TypedField::Serial)
    }
}

/// Renders a template, or a generic 500 (a template failing to render is a bug, logged).
pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// What a browser shows when a change is refused because the store cannot write.
#[derive(Template)]
#[template(path = "storage.html")]
struct StoragePage {
    lang: Lang,
    t: &'static i18n::Texts,
    switch_href: String,
    heading: &'static str,
    message: &'static str,
}

/// Answers people with a page, not problem+json, when a write met a full or failing store: on
/// the page routes, and on public routes when the browser asks for HTML. Status and `Retry-After`
/// stay; the problem's code goes in an `X-Problem-Code` header for scripts.
pub(crate) async fn storage_fault_page(request: Request, next: Next) -> Response {
    let headers = request.headers().clone();
    let lang_query = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("lang="))
            .map(str::to_owned)
    });
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let Some(ProblemCode(code)) = response.extensions().get::<ProblemCode>().copied() else {
        return response;
    };
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html || !matches!(code, STORAGE_FULL | STORAGE_UNAVAILABLE) {
        return response;
    }
    let lang = Lang::choose(lang_query.as_deref(), &headers);
    let t = lang.texts();
    let (heading, message) = if code == STORAGE_FULL {
        (t.storage_full_heading, t.storage_full_text)
    } else {
        (t.storage_unavailable_heading, t.storage_unavailable_text)
    };
    let page = StoragePage {
        lang,
        t,
        switch_href: with_lang(&path, lang.other()),
        heading,
        message,
    };
    let mut page = render_status(response.status(), &page);
    if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
        page.headers_mut()
            .insert(header::RETRY_AFTER, retry.clone());
    }
    if let Ok(value) = HeaderValue::from_str(code) {
        page.headers_mut().insert("x-problem-code", value);
    }
    page
}

/// What to tell people when `e` is a storage fault (a full or failing store), in their language.
pub(crate) fn storage_text(e: &registry::RegistryError, t: &i18n::Texts) -> Option<&'static str> {
    let fault = e.fault()?;
    Some(if fault.is_full() {
        t.storage_full_text
    } else {
        t.storage_unavailable_text
    })
}

/// Like [`render`], with another status.
pub(crate) fn render_status(status: StatusCode, page: &impl Template) -> Response {
    let mut response = render(page);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

/// `path_and_query` with its `lang` parameter set to `lang`: the language switch's link.
pub(crate) fn with_lang(path_and_query: &str, lang: Lang) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    let lang = format!("lang={}", lang.code());
    params.push(&lang);
    format!("{path}?{}", params.join("&"))
}

/// Percent-encodes a query value (GS1 serials may hold `&`, `%`, `/`, ...).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_keeps_the_code_and_replaces_the_language() {
        assert_eq!(
            with_lang("/01/06901234567892/21/AB?k=x&s=y&lang=en", Lang::Zh),
            "/01/06901234567892/21/AB?k=x&s=y&lang=zh-CN"
        );
        assert_eq!(with_lang("/shop", Lang::En), "/shop?lang=en");
        assert_eq!(encode("A&B/%"), "A%26B%2F%25");
    }
}
