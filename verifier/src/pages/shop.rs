//! The shop's scanning station (`/shop`), built for handheld scanners that type the QR code's
//! content and press Enter. Each scan is recorded at once as `receiving` (or, in install mode,
//! `installing` into the chosen vehicle) and added to a running list with what it means; a
//! conflict stands out in colour, icon and words, and the page's small script beeps for it.
//!
//! The script only submits scans without reloading, one at a time from a queue, so fast scans are
//! never lost or merged; without it the form posts one scan per submit and the page lists the
//! session's recent scans. Also here: sign-in and sign-out, shared with the dashboard, and a
//! vehicle's installed parts by VIN.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::{Extension, Form};
use registry::{Action, CodeKey, Outcome, Party, Registry, Role, Vin};
use serde::Deserialize;
use signer::{DigitalLink, Timestamp};

use super::i18n::{Lang, Texts};
use super::session::{self, ScanRow, Sessions};
use super::{render, with_lang};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    heading: &'static str,
    error: Option<&'static str>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "shop.html")]
struct StationPage<'a> {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    party: &'a Party,
    csrf: &'a str,
    install_vin: Option<&'a str>,
    flash: Option<String>,
    rows: Vec<ScanRow>,
}

#[derive(Template)]
#[template(path = "vehicle.html")]
struct VehiclePage<'a> {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    vin: &'a str,
    error: Option<String>,
    parts: Vec<(String, String, bool)>,
}

#[derive(Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

fn secure(state: &AppState) -> bool {
    state.config().base_url.as_str().starts_with("https://")
}

/// The sign-in form, with a fresh CSRF token in the form and in a cookie scoped to `/signin`.
pub(crate) fn sign_in_page(
    state: &AppState,
    lang: Lang,
    path: &str,
    error: Option<&'static str>,
) -> Response {
    let t = lang.texts();
    let csrf = session::random_token();
    let cookie = session::sign_in_cookie(&csrf, secure(state));
    let mut page = render(&SignInPage {
        csrf,
        lang,
        t,
        switch_href: with_lang(path, lang.other()),
        heading: if path.starts_with("/dashboard") {
            t.dashboard_title
        } else {
            t.shop_title
        },
        error,
    });
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        page.headers_mut().append(header::SET_COOKIE, value);
    }
    page
}

/// The session's language, switched by `?lang=` when given.
fn session_lang(session: &mut session::Session, query: &LangQuery) -> Lang {
    if let Some(q) = query.lang.as_deref() {
        session.lang = Lang::choose(Some(q), &HeaderMap::new());
    }
    session.lang
}

/// `GET /shop`: the station, or its sign-in form.
#[utoipa::path(
    get,
    path = "/shop",
    tag = "pages",
    summary = "The shop's scanning station",
    description = "For a signed-in shop or distributor: the scan form and the session's recent \
        scans. Without a session: the sign-in form.",
    params(("lang" = Option<String>, Query, description = "`zh-CN` or `en`")),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")),
)]
pub async fn station(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Response {
    let page = sessions.with(&headers, |s| {
        let lang = session_lang(s, &query);
        if !matches!(s.party.role, Role::Shop | Role::Distributor) {
            return Err(lang);
        }
        let t = lang.texts();
        Ok(render(&StationPage {
            lang,
            t,
            switch_href: with_lang("/shop", lang.other()),
            party: &s.party,
            csrf: &s.csrf,
            install_vin: s.install_vin.as_ref().map(Vin::as_str),
            flash: s.flash.take(),
            rows: s.rows.iter().cloned().collect(),
        }))
    });
    match page {
        Some(Ok(page)) => page,
        Some(Err(lang)) => sign_in_page(&state, lang, "/shop", Some(lang.texts().wrong_role)),
        None => sign_in_page(
            &state,
            Lang::choose(query.lang.as_deref(), &headers),
            "/shop",
            None,
        ),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInForm {
    pub csrf: String,
    pub token: String,
    pub lang: Option<String>,
}

/// `POST /signin`: a party token in, a session cookie out.
#[utoipa::path(
    post,
    path = "/signin",
    tag = "pages",
    summary = "Sign in to the station or dashboard",
    description = "Form-encoded `csrf` (the sign-in form's, matching its cookie), `token` (the \
        party's `pst_...` API token) and optional `lang`. \
        A valid token starts a server-side session and sets its id in a `HttpOnly`, \
        `SameSite=Strict` cookie (`Secure` behind https), then redirects: manufacturers to \
        `/dashboard`, shops and distributors to `/shop`. A bad token shows the form again.",
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to the party's page"),
        (status = 200, description = "The sign-in form again, saying the token was refused",
            body = String, content_type = "text/html"),
        (status = 400, description = "The form is incomplete (`invalid_form`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The form's CSRF token is not the one its page set (`csrf`)",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(|e| ApiError::bad_request("invalid_form", e.to_string()))?;
    if !session::sign_in_csrf_ok(&headers, &form.csrf) {
        // Another site's form cannot sign a browser in under someone else's token.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this sign-in form is not from this site's page: reload it and retry",
        ));
    }
    let lang = Lang::choose(form.lang.as_deref(), &headers);
    let token = form.token.trim().to_owned();
    // The session remembers which token opened it (its id, never its secret), so it ends when
    // that token or its party is revoked.
    let token_id = registry::parties::split_token(&token)
        .map(|(id, _)| id.to_owned())
        .unwrap_or_default();
    let now = Timestamp::now();
    let result = state
        .blocking(move |r| r.authenticate(&token, now))
        .await?
        .map_err(|e| ApiError::unexpected(&e))?;
    let party = match result {
        Ok(party) => party,
        Err(reason) => {
            tracing::info!(%reason, "refused a sign-in token");
            let back = headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .filter(|r| r.contains("/dashboard"))
                .map_or("/shop", |_| "/dashboard");
            return Ok(sign_in_page(
                &state,
                lang,
                back,
                Some(lang.texts().bad_token),
            ));
        }
    };
    let to = if party.role == Role::Manufacturer {
        "/dashboard"
    } else {
        "/shop"
    };
    let id = sessions.create(party, token_id, lang);
    Ok((
        [(header::SET_COOKIE, session::set_cookie(&id, secure(&state)))],
        Redirect::to(to),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `POST /signout`.
#[utoipa::path(
    post,
    path = "/signout",
    tag = "pages",
    summary = "Sign out",
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out: to the sign-in form"),
        (status = 403, description = "No session, or the form's CSRF token is not the session's (`csrf`)",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn sign_out(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let csrf = form.map(|f| f.0.csrf).unwrap_or_default();
    sessions.checked(&headers, &csrf, |_| ())?;
    sessions.end(&headers);
    Ok((
        [(header::SET_COOKIE, session::clear_cookie(secure(&state)))],
        Redirect::to("/shop"),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ScanForm {
    pub csrf: String,
    pub code: String,
}

/// `POST /shop/scan`: one scan from the station.
#[utoipa::path(
    post,
    path = "/shop/scan",
    tag = "pages",
    summary = "Record one scan from the station",
    description = "Form-encoded `csrf` and `code` (what the scanner typed). Recorded at once as \
        `receiving`, or `installing` in install mode. With `Accept: application/json` (the \
        page's script) answers the list row; otherwise redirects back to the station.",
    request_body(content = ScanForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The scan's row in the list", body = Object),
        (status = 303, description = "Recorded: back to the station"),
        (status = 403, description = "No session, or the form's CSRF token is not the session's (`csrf`)",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn scan(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    form: Result<Form<ScanForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let (csrf, code) = form.map(|f| (f.0.csrf, f.0.code)).unwrap_or_default();
    let (party, vin, lang) = sessions.checked(&headers, &csrf, |s| {
        (s.party.clone(), s.install_vin, s.lang)
    })?;
    if !matches!(party.role, Role::Shop | Role::Distributor) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_role",
            "the station is for shops and distributors",
        ));
    }
    let now = Timestamp::now();
    let row = state
        .blocking({
            // The station's clock is the shop's, not UTC.
            let at = state.config().time_zone.time(now);
            move |r| record(r, &party, vin.as_ref(), &code, lang.texts(), now, at)
        })
        .await?;
    sessions.with(&headers, |s| {
        s.rows.push_front(row.clone());
        s.rows.truncate(session::MAX_ROWS);
    });
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    Ok(if wants_json {
        Json(row).into_response()
    } else {
        Redirect::to("/shop").into_response()
    })
}

/// Records one scanned code for `party` and says what it means, in the session's language.
fn record(
    r: &Registry,
    party: &Party,
    vin: Option<&Vin>,
    input: &str,
    t: &Texts,
    now: Timestamp,
    at: String,
) -> ScanRow {
    let row = |class: &'static str, text: String, code: String| ScanRow {
        class,
        text,
        code,
        at: at.clone(),
    };
    let shown: String = input.trim().chars().take(120).collect();
    let Ok(link) = DigitalLink::parse(input.trim()) else {
        return row("info", t.row_unreadable.to_owned(), shown);
    };
    let key = CodeKey::of(&link.part);
    let code = key.to_string();
    let status = match r.status(&key) {
        Ok(Some(status)) => status,
        Ok(None) => return row("warning", t.row_unregistered.to_owned(), code),
        Err(e) => {
            tracing::error!(error = %e, "a station scan failed");
            return row("danger", format!("{}{}", t.row_refused, e.code()), code);
        }
    };
    // A scanned label must be the registered one: a forged label naming a genuine serial must not
    // write into the genuine part's history (as the API refuses it).
    let matches = link.key_id == Some(status.record.key_id)
        && link.signature == Some(status.record.signature)
        && link.part.lot == status.record.lot;
    if !matches {
        return row("danger", t.row_forged.to_owned(), code);
    }
    let action = match vin {
        Some(vin) if party.role == Role::Shop => Action::Install { vin: *vin },
        _ => Action::Receive,
    };
    let installing = matches!(action, Action::Install { .. });
    let recorded = match r.record(&key, &party.id, action, now) {
        Ok(recorded) => recorded,
        Err(e) => {
            // A full or failing store: say so in the station's words, not the engine's.
            let text = super::storage_text(&e, t).map_or_else(
                || format!("{}{e}", t.row_refused),
                |says| format!("{}{says}", t.row_refused),
            );
            return row("danger", text, code);
        }
    };
    let recalled = recorded.record.flags.recalled.is_some() || status.lot_recall.is_some();
    match recorded.event.outcome {
        Outcome::Claim { .. } | Outcome::Refused { .. } => row(
            "warning",
            format!(
                "{}{}",
                t.row_refused,
                recorded.explanation.unwrap_or_default()
            ),
            code,
        ),
        Outcome::Conflict { kind, .. } => row(
            "danger",
            format!("{} ({})", t.row_conflict, t.evidence_kind(kind.code())),
            code,
        ),
        _ if !recorded.record.flags.duplicate.is_empty() => {
            row("danger", t.row_flagged.to_owned(), code)
        }
        _ if recalled => row("danger", t.row_recalled.to_owned(), code),
        Outcome::Repeated => row("ok", t.row_repeated.to_owned(), code),
        Outcome::Applied if installing => row(
            "ok",
            format!(
                "{} → {}",
                t.row_installed,
                vin.map(Vin::as_str).unwrap_or_default()
            ),
            code,
        ),
        Outcome::Applied => row("ok", t.row_received.to_owned(), code),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ModeForm {
    pub csrf: String,
    pub mode: String,
    pub vin: Option<String>,
}

/// `POST /shop/mode`: receive, or install into a vehicle.
#[utoipa::path(
    post,
    path = "/shop/mode",
    tag = "pages",
    summary = "Switch the station between receiving and installing",
    description = "Form-encoded `csrf`, `mode` (`receive` or `install`) and, to install, `vin` \
        (checked, with its check digit). Shops only may install.",
    request_body(content = ModeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the station, which shows the mode or why the VIN was refused"),
        (status = 403, description = "No session, or the form's CSRF token is not the session's (`csrf`)",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn mode(
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    form: Result<Form<ModeForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(form)) = form else {
        return Err(sessions
            .checked(&headers, "", |_| ())
            .err()
            .unwrap_or_else(|| ApiError::bad_request("invalid_form", "incomplete form")));
    };
    sessions.checked(&headers, &form.csrf, |s| {
        let t = s.lang.texts();
        if form.mode != "install" {
            s.install_vin = None;
            return;
        }
        if s.party.role != Role::Shop {
            s.flash = Some(t.wrong_role.to_owned());
            return;
        }
        match Vin::parse(form.vin.as_deref().unwrap_or("").trim()) {
            Ok(vin) => s.install_vin = Some(vin),
            Err(e) => s.flash = Some(format!("{}{e}", t.bad_vin)),
        }
    })?;
    Ok(Redirect::to("/shop").into_response())
}

#[derive(Deserialize)]
pub struct VinQuery {
    pub vin: Option<String>,
    pub lang: Option<String>,
}

/// `GET /shop/vehicle?vin=`: the parts recorded as installed in a vehicle.
#[utoipa::path(
    get,
    path = "/shop/vehicle",
    tag = "pages",
    summary = "A vehicle's installed parts, for a signed-in shop",
    params(
        ("vin" = Option<String>, Query, description = "The vehicle (17 characters)"),
        ("lang" = Option<String>, Query, description = "`zh-CN` or `en`"),
    ),
    responses((status = 200, description = "The page (or the sign-in form)", body = String, content_type = "text/html")),
)]
pub async fn vehicle(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    Query(query): Query<VinQuery>,
) -> Result<Response, ApiError> {
    let lang_query = LangQuery {
        lang: query.lang.clone(),
    };
    let signed_in = sessions.with(&headers, |s| {
        (session_lang(s, &lang_query), s.party.role == Role::Shop)
    });
    let Some((lang, true)) = signed_in else {
        let lang = signed_in.map_or_else(|| Lang::choose(query.lang.as_deref(), &headers), |s| s.0);
        return Ok(sign_in_page(
            &state,
            lang,
            "/shop",
            signed_in.map(|_| lang.texts().wrong_role),
        ));
    };
    let t = lang.texts();
    let zone = &state.config().time_zone;
    let typed = query.vin.unwrap_or_default().trim().to_ascii_uppercase();
    let (error, parts) = match Vin::parse(&typed) {
        Err(e) if !typed.is_empty() => (Some(format!("{}{e}", t.bad_vin)), Vec::new()),
        Err(_) => (None, Vec::new()),
        Ok(vin) => {
            let parts = state
                .blocking(move |r| r.installed_in(&vin))
                .await?
                .map_err(|e| ApiError::unexpected(&e))?;
            let parts = parts
                .iter()
                .map(|s| {
                    let flagged = !s.record.flags.duplicate.is_empty()
                        || s.record.flags.recalled.is_some()
                        || s.lot_recall.is_some();
                    (
                        s.key.to_string(),
                        zone.date_time(s.record.custody.since),
                        flagged,
                    )
                })
                .collect();
            (None, parts)
        }
    };
    let path = format!("/shop/vehicle?vin={}", super::encode(&typed));
    Ok(render(&VehiclePage {
        lang,
        t,
        switch_href: with_lang(&path, lang.other()),
        vin: &typed,
        error,
        parts,
    }))
}
