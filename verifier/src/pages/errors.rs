//! Errors as pages: a phone that hits the public rate limit, mistypes an address or catches the
//! service busy sees a page in its language saying what happened and what to do, not raw English
//! problem+json. Programs keep problem+json: the conversion applies only to requests whose
//! `Accept` prefers HTML ([`prefers_html`]) and never under `/api/`.
//!
//! [`html_errors`] wraps the whole router, outside load shedding, so every error a handler,
//! extractor, limit or fallback produces passes through it: one place, and no route can forget.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::i18n::{self, Lang, Texts};
use super::{TypedForm, render_status, with_lang};
use crate::verdict::Severity;

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    status: u16,
    heading: &'static str,
    message: &'static str,
    retry: Option<String>,
    sev_class: &'static str,
    icon: &'static str,
    sev_word: &'static str,
    /// The typed lookup, where the visitor was looking for a part (a wrong address).
    form: bool,
    typed: TypedForm,
}

/// Does this request's `Accept` prefer HTML to JSON? A browser's (`text/html,…,*/*;q=0.8`) does;
/// `application/json`, `*/*` alone (curl) and no header at all do not, so scripts keep
/// problem+json. Each type's weight comes from the most specific range that names it.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (html, html_named) = weight(accept, "text", "html");
    let (json, _) = weight(accept, "application", "json");
    html > 0.0 && (html > json || (html == json && html_named))
}

/// The `q` of the most specific media range in `accept` matching `kind/sub`, and whether that
/// range names the type exactly.
fn weight(accept: &str, kind: &str, sub: &str) -> (f32, bool) {
    let mut best: Option<(u8, f32)> = None;
    for item in accept.split(',') {
        let mut params = item.split(';');
        let range = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((k, s)) = range.split_once('/') else {
            continue;
        };
        let specificity = match (k, s) {
            (k, s) if k == kind && s == sub => 2,
            (k, "*") if k == kind => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = params
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(spec, _)| specificity > spec) {
            best = Some((specificity, q));
        }
    }
    best.map_or((0.0, false), |(spec, q)| (q, spec == 2))
}

/// `?lang=` of a request's query, if any.
pub(crate) fn query_lang(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|p| p.strip_prefix("lang="))
}

/// Middleware: a browser's error answers become pages in its language, keeping the status and
/// `Retry-After` (the 429 page says when, from the rate limiter's own wait).
pub async fn html_errors(request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") || !prefers_html(request.headers()) {
        return next.run(request).await;
    }
    // Kept for the error page only, so a successful answer costs no more than these clones.
    let uri = request.uri().clone();
    let reloadable = matches!(*request.method(), Method::GET | Method::HEAD);
    let mut language = HeaderMap::new();
    if let Some(value) = request.headers().get(header::ACCEPT_LANGUAGE) {
        language.insert(header::ACCEPT_LANGUAGE, value.clone());
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if status.as_u16() < 400 || is_html {
        return response;
    }
    let lang = Lang::choose(query_lang(&uri), &language);
    // The switch reloads the same address, which only a GET (or HEAD) can.
    let switch_href = if reloadable {
        with_lang(
            uri.path_and_query().map_or("/", |pq| pq.as_str()),
            lang.other(),
        )
    } else {
        with_lang("/", lang.other())
    };
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let secs = retry_after
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut page = error_page(status, lang, switch_href, secs);
    if let Some(value) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, value);
    }
    page
}

/// The page for an error status.
pub(crate) fn error_page(
    status: StatusCode,
    lang: Lang,
    switch_href: String,
    retry_after_secs: Option<u64>,
) -> Response {
    let t = lang.texts();
    let words = t.error(status.as_u16());
    let severity = match status.as_u16() {
        429 | 500..=599 => Severity::Warning,
        _ => Severity::Info,
    };
    let page = ErrorPage {
        lang,
        t,
        switch_href,
        status: status.as_u16(),
        heading: words.headline,
        message: words.meaning,
        retry: retry_after_secs.map(|s| t.retry_in.replace("{secs}", &s.to_string())),
        sev_class: i18n::severity_class(severity),
        icon: i18n::icon(severity),
        sev_word: t.severity(severity),
        form: status == StatusCode::NOT_FOUND,
        typed: TypedForm::default(),
    };
    render_status(status, &page)
}

/// A permanent redirect from `path/` to `path` where `path` is a route (e.g. `/lookup/` or a
/// Digital Link with a trailing slash, as some scanners and chat apps produce).
pub fn without_trailing_slash(uri: &Uri) -> Option<Response> {
    let path = uri.path();
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == path {
        return None;
    }
    let routed = crate::route_list::ROUTES
        .iter()
        .any(|(_, pattern)| matches_route(pattern, trimmed));
    if !routed {
        return None;
    }
    let location = match uri.query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    };
    let location = HeaderValue::from_str(&location).ok()?;
    Some(
        (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
    )
}

/// Does `path` match a route pattern such as `/01/{gtin}/21/{serial}`? A `{name}` segment matches
/// any non-empty segment; so `//host` matches nothing and the redirect never leaves the site.
fn matches_route(pattern: &str, path: &str) -> bool {
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let ok = if want.starts_with('{') {
                    !got.is_empty()
                } else {
                    want == got
                };
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, value.parse().unwrap());
        prefers_html(&h)
    }

    #[test]
    fn browsers_prefer_html_and_scripts_do_not() {
        // Chromium, Firefox and Safari as they send it.
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        ));
        assert!(accept("text/html"));
        assert!(accept("text/html, application/json"));
        assert!(accept("application/json;q=0.5, text/*"));
        assert!(!accept("application/json"));
        assert!(!accept("application/json, text/html;q=0.9"));
        assert!(!accept("*/*"));
        assert!(!accept("text/html;q=0, */*"));
        assert!(!prefers_html(&HeaderMap::new()));
    }

    #[test]
    fn a_trailing_slash_redirects_only_to_a_route() {
        let to = |u: &str| {
            without_trailing_slash(&u.parse().unwrap()).map(|r| {
                assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
                r.headers()[header::LOCATION].to_str().unwrap().to_owned()
            })
        };
        assert_eq!(to("/lookup/?gtin=1").as_deref(), Some("/lookup?gtin=1"));
        assert_eq!(
            to("/01/06901234567892/21/AB/?k=x").as_deref(),
            Some("/01/06901234567892/21/AB?k=x")
        );
        assert_eq!(
            to("/01/06901234567892//").as_deref(),
            Some("/01/06901234567892")
        );
        assert_eq!(to("/lookup"), None);
        assert_eq!(to("/"), None);
        assert_eq!(to("/nothing/"), None);
        assert_eq!(to("//evil.example/"), None);
        assert_eq!(to("/01//"), None);
    }
}
