//! The car owner's page: what a phone opens from the QR code (`GET /01/...`) or the typed lookup
//! (`GET /lookup`) shows to a browser. No script, no login, one request: the verdict first, in
//! words, colour and an icon; then the part, its manufacturer and custody; for warnings, what to
//! do, with the report form and the "is this part in my vehicle?" check.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use registry::{CodeKey, Vin};
use serde::Deserialize;
use signer::Timestamp;

use super::i18n::{self, Headline, Lang, Texts};
use super::{TypedForm, encode, render, render_status, with_lang};
use crate::client_ip::{client_ip, trusted_region};
use crate::error::ApiError;
use crate::reports::{self, NotKept, Subject, Submitted};
use crate::schemas::UnreadForm;
use crate::state::AppState;
use crate::typed_input::{TypedError, TypedField};
use crate::verdict::{Severity, Verdict};

#[derive(Template)]
#[template(path = "owner.html")]
struct OwnerPage<'a> {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    v: &'a Verdict,
    vt: &'static Headline,
    sev_class: &'static str,
    icon: &'static str,
    sev_word: &'static str,
    advice: Option<&'static str>,
    /// Why the part is recalled, for a `recalled` verdict.
    recall_reason: Option<&'a str>,
    /// The report and vehicle forms: for warning and danger verdicts.
    forms: bool,
    /// The vehicle form leads: the verdict is about a part in a car ([`VIN_FIRST`]).
    vin_first: bool,
    /// The scanned label's path and query, which a report carries (empty for typed numbers).
    scanned: String,
    typed: TypedForm,
}

/// The verdicts about a part recorded in a car (or copies of one that is): whoever scans it is
/// most often that car's owner, after a repair, so the page asks for their VIN first.
const VIN_FIRST: [&str; 3] = ["genuine_installed", "duplicate_suspected", "copies_known"];

/// The owner's page for a verdict. `path_and_query` is the request's, for the language switch.
pub fn verdict_page(verdict: &Verdict, lang: Lang, path_and_query: &str) -> Response {
    let t = lang.texts();
    let page = OwnerPage {
        lang,
        t,
        switch_href: with_lang(path_and_query, lang.other()),
        v: verdict,
        vt: t.verdict(verdict.verdict),
        sev_class: i18n::severity_class(verdict.severity),
        icon: i18n::icon(verdict.severity),
        sev_word: t.severity(verdict.severity),
        // A recalled part is genuine: it needs a replacement, not a counterfeit report.
        advice: if verdict.verdict == "recalled" {
            Some(t.advice_recalled)
        } else {
            t.advice(verdict.severity)
        },
        recall_reason: verdict.recall_reason.as_deref(),
        forms: matches!(verdict.severity, Severity::Warning | Severity::Danger),
        vin_first: VIN_FIRST.contains(&verdict.verdict),
        scanned: scanned_path(path_and_query).unwrap_or_default(),
        // A link that could not be read still carries the numbers printed under the QR code, as
        // far as it got: the typed lookup starts from them.
        typed: if verdict.verdict == "data_error" {
            numbers_in_link(path_and_query)
        } else {
            TypedForm::default()
        },
    };
    render(&page)
}

/// The GTIN and serial a Digital Link's path carries (`/01/{gtin}[/10/{lot}]/21/{serial}`), each
/// as written, percent-decoded; an absent or undecodable one stays empty. Read loosely on
/// purpose: this is for a link the strict parser refused, to spare the visitor typing what it
/// did carry.
fn numbers_in_link(path_and_query: &str) -> TypedForm {
    let path = path_and_query.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    let after = |ai: &str| {
        segments
            .windows(2)
            .find(|pair| pair[0] == ai)
            .and_then(|pair| {
                percent_encoding::percent_decode_str(pair[1])
                    .decode_utf8()
                    .ok()
            })
            .map(|value| value.chars().take(48).collect::<String>())
            .unwrap_or_default()
    };
    TypedForm {
        gtin: after("01"),
        serial: after("21"),
        bad: None,
    }
}

/// The label's own path and query (`/01/...`, without the language switch), if this page answers
/// a scanned label: what a report from it carries, and where its confirmation links back to.
fn scanned_path(path_and_query: &str) -> Option<String> {
    if !path_and_query.starts_with("/01/") || path_and_query.len() > 2000 {
        return None;
    }
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let query: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    Some(if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    })
}

#[derive(Template)]
#[template(path = "typed.html")]
struct TypedProblemPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    problem: String,
    field: &'static str,
    icon: &'static str,
    sev_word: &'static str,
    typed: TypedForm,
}

/// The typed lookup's answer to numbers that cannot be looked up: what is wrong, in the page's
/// language, above the form still holding what was typed, and where on the label to look.
pub fn typed_problem_page(
    problem: &TypedError,
    gtin: &str,
    serial: &str,
    lang: Lang,
    path_and_query: &str,
) -> Response {
    let t = lang.texts();
    render(&TypedProblemPage {
        lang,
        t,
        switch_href: with_lang(path_and_query, lang.other()),
        problem: t.typed_problem(problem),
        field: match problem.field() {
            TypedField::Gtin => "gtin",
            TypedField::Serial => "serial",
        },
        icon: i18n::icon(Severity::Info),
        sev_word: t.severity(Severity::Info),
        typed: TypedForm {
            gtin: gtin.to_owned(),
            serial: serial.to_owned(),
            bad: Some(problem.field()),
        },
    })
}

/// The answer to one of the owner's forms.
#[derive(Template)]
#[template(path = "answer.html")]
struct AnswerPage {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    heading: String,
    message: String,
    sev_class: &'static str,
    icon: &'static str,
    sev_word: &'static str,
    back_href: String,
}

fn answer(
    lang: Lang,
    status: StatusCode,
    severity: Severity,
    heading: &str,
    message: String,
    gtin: &str,
    serial: &str,
) -> Response {
    let t = lang.texts();
    let back = |l: Lang| lookup_href(gtin, serial, l);
    render_status(
        status,
        &AnswerPage {
            lang,
            t,
            // Switching language after a form shows the part again, in the other language.
            switch_href: back(lang.other()),
            heading: heading.to_owned(),
            message,
            sev_class: i18n::severity_class(severity),
            icon: i18n::icon(severity),
            sev_word: t.severity(severity),
            back_href: back(lang),
        },
    )
}

fn form_error(e: FormRejection) -> ApiError {
    crate::error::form_rejected(&e, "the form is incomplete: ")
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReportForm {
    pub gtin: String,
    pub serial: String,
    /// The scanned label's path and query, when the report comes from its page.
    pub scanned: Option<String>,
    pub text: String,
    pub contact: Option<String>,
    pub lang: Option<String>,
}

/// `POST /owner/report`: the owner page's report form (form-encoded), answered with a page.
#[utoipa::path(
    post,
    path = "/owner/report",
    tag = "public",
    summary = "Report a suspect part (the owner page's form)",
    description = "As `POST /reports`, for a plain HTML form: `application/x-www-form-urlencoded` \
        with `gtin`, `serial`, `text`, optional `contact` and `lang`; answers a page saying \
        thank you, or why not.",
    request_body(content = ReportForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Received: a thank-you page", body = String, content_type = "text/html"),
        (status = 200, description = "Not kept: a page saying why (bad code, empty text, no certified maker), for people rather than programs",
            body = String, content_type = "text/html"),
        UnreadForm,
    ),
)]
pub async fn report(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(form_error)?;
    let lang = Lang::choose(form.lang.as_deref(), &headers);
    let t = lang.texts();
    let failed = |why: String| {
        answer(
            lang,
            StatusCode::OK,
            Severity::Warning,
            t.report_heading,
            format!("{}{why}", t.report_failed),
            &form.gtin,
            &form.serial,
        )
    };
    let client = client_ip(peer, &headers, &state.config().trusted_proxies);
    if let Some(Err(wait)) = state.report_limiter().map(|l| l.check(client)) {
        return Ok(failed(
            t.report_too_many
                .replace("{minutes}", &wait.div_ceil(60).to_string()),
        ));
    }
    let scanned = form.scanned.as_deref().and_then(scanned_path);
    let subject = match &scanned {
        Some(path) => Subject::Scanned(path.clone()),
        None => Subject::Typed {
            gtin: form.gtin.clone(),
            serial: form.serial.clone(),
        },
    };
    let submitted = Submitted {
        subject,
        text: form.text.clone(),
        contact: form.contact.clone(),
        region: trusted_region(peer, &headers, &state.config().trusted_proxies),
    };
    let now = Timestamp::now();
    let filed = state
        .blocking(move |r| reports::file(r, submitted, now))
        .await??;
    let filed = match filed {
        Ok(filed) => filed,
        Err(NotKept::BadCode(why) | NotKept::Invalid(why)) => return Ok(failed(why)),
        Err(NotKept::NoRecipient) => {
            return Ok(failed(
                "no certified manufacturer makes this GTIN; check the numbers".to_owned(),
            ));
        }
    };
    // The confirmation is neutral (the report is received; the verdict is the label page's to
    // give), with the reference the sender can quote to the maker, repeats what the check said
    // and leads back to the label's own page: never a greener answer than the one they saw.
    let seen = t.verdict(filed.verdict.verdict);
    let message = format!(
        "{} {}{}{} {}{}",
        t.report_thanks,
        t.report_your_reference,
        filed.id,
        t.report_reference_end,
        t.report_seen,
        seen.headline
    );
    let back = match &scanned {
        Some(path) => format!(
            "{path}{}lang={}",
            if path.contains('?') { '&' } else { '?' },
            lang.code()
        ),
        None => lookup_href(&form.gtin, &form.serial, lang),
    };
    let switch = match &scanned {
        Some(path) => format!(
            "{path}{}lang={}",
            if path.contains('?') { '&' } else { '?' },
            lang.other().code()
        ),
        None => lookup_href(&form.gtin, &form.serial, lang.other()),
    };
    Ok(render_status(
        StatusCode::CREATED,
        &AnswerPage {
            lang,
            t,
            switch_href: switch,
            heading: t.report_heading.to_owned(),
            message,
            sev_class: i18n::severity_class(Severity::Info),
            icon: i18n::icon(Severity::Info),
            sev_word: t.severity(Severity::Info),
            back_href: back,
        },
    ))
}

fn lookup_href(gtin: &str, serial: &str, lang: Lang) -> String {
    format!(
        "/lookup?gtin={}&serial={}&lang={}",
        encode(gtin),
        encode(serial),
        lang.code()
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VehicleForm {
    pub gtin: String,
    pub serial: String,
    pub vin: String,
    pub lang: Option<String>,
}

/// `POST /owner/vehicle-check`: the owner page's "is this part recorded in my vehicle?" form.
#[utoipa::path(
    post,
    path = "/owner/vehicle-check",
    tag = "public",
    summary = "Is this part recorded in my vehicle? (the owner page's form)",
    description = "As `POST /vehicle-check`, for a plain HTML form: \
        `application/x-www-form-urlencoded` with `gtin`, `serial`, `vin` and optional `lang`; \
        answers a page saying yes or no, and nothing else.",
    request_body(content = VehicleForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A page saying yes or no, or that the VIN or code is not valid", body = String, content_type = "text/html"),
        UnreadForm,
    ),
)]
pub async fn vehicle_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<VehicleForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(form_error)?;
    let lang = Lang::choose(form.lang.as_deref(), &headers);
    let t = lang.texts();
    let invalid = |why: String| {
        answer(
            lang,
            StatusCode::OK,
            Severity::Info,
            t.vehicle_heading,
            why,
            &form.gtin,
            &form.serial,
        )
    };
    let key = match CodeKey::parse(&form.gtin, &form.serial) {
        Ok(key) => key,
        Err(e) => return Ok(invalid(e.to_string())),
    };
    // A lookup: any ISO 3779 VIN, check digit or not (many European vehicles carry none).
    let vin = match Vin::parse_confirmed(form.vin.trim()) {
        Ok(vin) => vin,
        Err(e) => return Ok(invalid(t.vin_error(&e))),
    };
    let (found, shop) = state
        .blocking(move |r| {
            let found = r.vehicle_answer(&key, &vin)?;
            let shop = match &found {
                registry::VehicleAnswer::Recorded { by, .. } => {
                    r.party(by)?.map_or_else(|| by.to_string(), |p| p.name)
                }
                _ => String::new(),
            };
            Ok::<_, registry::RegistryError>((found, shop))
        })
        .await??;
    // The owner of the car the part was recorded in learns that theirs is the recorded one: the
    // alarm on the label's page is about another copy, or for a buyer offered it as new.
    let (severity, message) = match found {
        registry::VehicleAnswer::Recorded { since, .. } => (
            Severity::Ok,
            t.vehicle_yes
                .replace("{date}", &state.config().time_zone.date(since))
                .replace("{shop}", &shop),
        ),
        registry::VehicleAnswer::NotRecorded => (Severity::Warning, t.vehicle_no.to_owned()),
        registry::VehicleAnswer::FoundCounterfeit => {
            (Severity::Danger, t.vehicle_counterfeit.to_owned())
        }
    };
    Ok(answer(
        lang,
        StatusCode::OK,
        severity,
        t.vehicle_heading,
        message,
        &form.gtin,
        &form.serial,
    ))
}
