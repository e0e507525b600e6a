//! The shop's scanning station (`/shop`), built for handheld scanners that type the QR code's
//! content and press Enter. Each scan is recorded at once as `receiving` (or, in install mode,
//! `installing` into the chosen vehicle) and added to a running list with what it means; a
//! conflict stands out in colour, icon and words, and the page's small script beeps for it.
//! A scan that contradicts what this same shop recorded (receiving a part it installed, installing
//! it into another vehicle) is not recorded: the row asks first (record the removal, record the
//! scan anyway, or cancel). Each row the shop recorded offers Undo (a `correcting` event) while
//! the correction window is open.
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
use registry::{
    Action, CodeKey, CorrectionError, Custody, LabelStatus, Outcome, Party, Presented, Registry,
    RegistryError, Role, ScannedLabel, Submission, Vin,
};
use serde::Deserialize;
use signer::{DigitalLink, Timestamp};

use super::i18n::{Lang, Texts};
use super::session::{self, ScanRow, Sessions};
use super::signed_in::{
    CheckedForm, LangQuery, Shops, SignedIn, Station, secure, session_forms, sign_in_page,
};
use super::station_cartons;
use super::{render, with_lang};
use crate::error::ApiError;
use crate::local_time::Zone;
use crate::schemas::{Page, UnreadForm};
use crate::state::AppState;
use registry::vin::VinError;

#[derive(Template)]
#[template(path = "shop.html")]
struct StationPage<'a> {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    party: &'a Party,
    csrf: &'a str,
    install_vin: Option<&'a str>,
    /// The install VIN's check digit does not verify; the operator confirmed it.
    install_confirmed: bool,
    /// A VIN waiting for confirmation, and why it needs it.
    confirm_vin: Option<(&'a str, String)>,
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
    /// Each part: its code, when it was installed, and why its row is red (nothing when it is not).
    parts: Vec<(String, String, Vec<String>)>,
}

/// `GET /shop`: the station, or its sign-in form.
#[utoipa::path(
    get,
    path = "/shop",
    tag = "pages",
    summary = "The shop's scanning station",
    description = "For a signed-in shop or distributor: the scan form and the session's recent \
        scans. Without a session: the sign-in form.",
    params(LangQuery),
    responses(Page)
)]
pub async fn station(SignedIn { mut session, .. }: SignedIn<Station>) -> Response {
    session
        .with(|s| {
            let lang = s.lang;
            let t = lang.texts();
            let now = Timestamp::now();
            let rows = s
                .rows
                .iter()
                .cloned()
                .map(|mut row| {
                    // Undo is offered only while the registry would accept it.
                    row.undo = row.undo_until().is_some_and(|until| now <= until);
                    row.shown_in(lang)
                })
                .collect();
            render(&StationPage {
                lang,
                t,
                switch_href: with_lang("/shop", lang.other()),
                party: &s.party,
                csrf: &s.csrf,
                install_vin: s.install_vin.as_ref().map(Vin::as_str),
                install_confirmed: s.install_vin.is_some_and(|v| !v.check_digit_verifies()),
                confirm_vin: s.confirm_vin.as_ref().map(|v| {
                    let why = Vin::parse(v.as_str())
                        .err()
                        .map_or_else(String::new, |e| match e {
                            VinError::CheckDigit { found, expected } => t
                                .vin_unverified
                                .replace("{vin}", v.as_str())
                                .replace("{found}", &found.to_string())
                                .replace("{expected}", &expected.to_string()),
                            other => t.vin_error(&other),
                        });
                    (v.as_str(), why)
                }),
                flash: s.flash.take(),
                rows,
            })
        })
        .await
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
        UnreadForm,
        (status = 403, description = "The form's CSRF token is not the one its page set (`csrf`)"),
    ),
)]
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(|e| crate::error::form_rejected(&e, ""))?;
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
        .await??;
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
    let id = sessions.open(party, token_id, lang).await?;
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

session_forms!(CsrfForm, ScanForm, RowForm, ModeForm);

/// `POST /signout`.
#[utoipa::path(
    post,
    path = "/signout",
    tag = "pages",
    summary = "Sign out",
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out: to the sign-in form"),
    ),
)]
pub async fn sign_out(
    State(state): State<AppState>,
    CheckedForm { session, .. }: CheckedForm<CsrfForm>,
) -> Result<Response, ApiError> {
    session.end().await?;
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
    ),
)]
pub async fn scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    CheckedForm {
        mut session, form, ..
    }: CheckedForm<ScanForm, Station>,
) -> Result<Response, ApiError> {
    let (party, vin, code) = (session.party().clone(), session.install_vin(), form.code);
    let now = Timestamp::now();
    let row = state
        .blocking({
            // The station's clock is the shop's, not UTC.
            let zone = state.config().time_zone.clone();
            move |r| record(r, &party, vin.as_ref(), &code, now, &zone)
        })
        .await?;
    let row = session.with(|s| s.push_row(row)).await;
    Ok(answer(&headers, row))
}

/// The row as JSON for the page's script, or back to the station for a plain form.
fn answer(headers: &HeaderMap, row: ScanRow) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        Json(row).into_response()
    } else {
        Redirect::to("/shop").into_response()
    }
}

/// Records one scanned code for `party` and says what it means, in each language (the row is shown
/// in the session's, which the operator may switch); or, when the scan contradicts what this shop
/// itself recorded, records nothing and asks.
fn record(
    r: &Registry,
    party: &Party,
    vin: Option<&Vin>,
    input: &str,
    now: Timestamp,
    zone: &Zone,
) -> ScanRow {
    let at = zone.time(now);
    let row = |class: &'static str, texts: [String; 2], code: String| {
        ScanRow::plain(class, texts, code, at.clone())
    };
    let shown: String = input.trim().chars().take(120).collect();
    let Ok(link) = DigitalLink::parse(input.trim()) else {
        if let Some(sscc) = station_cartons::scanned_carton(input) {
            return station_cartons::record(r, party, vin, sscc, now, zone);
        }
        return row("info", both(|t| t.row_unreadable.to_owned()), shown);
    };
    let label = ScannedLabel::from(&link);
    let code = label.key().to_string();
    // Asked before the station asks anything about the scan: a forged label gets no question.
    // The registry compares the label again as it records the scan.
    let status = match r.label_status(label) {
        Ok(LabelStatus::Registered(status)) => status,
        Ok(LabelStatus::NotRegistered) => {
            return row("warning", both(|t| t.row_unregistered.to_owned()), code);
        }
        Ok(LabelStatus::NotThisLabel) => return forged(code, at),
        Err(e) => {
            tracing::error!(error = %e, "a station scan failed");
            let texts = both(|t| format!("{}{}", t.row_refused, e.code()));
            return row("danger", texts, code);
        }
    };
    let action = match vin {
        Some(vin) if party.role == Role::Shop => Action::Install { vin: *vin },
        _ => Action::Receive,
    };
    if let Some(question) = wrong_mode(&status, party, &action, &link, zone) {
        return question;
    }
    let key = status.key;
    record_action(r, party, key, Submission::scanned(action, link), now, at)
}

/// The row of a label that is not the registered one for its serial: nothing was recorded (a
/// forged label naming a genuine serial must not write into the genuine part's history).
fn forged(code: String, at: String) -> ScanRow {
    ScanRow::plain("danger", both(|t| t.row_forged.to_owned()), code, at)
}

/// The question the station asks, recording nothing, when a scan contradicts this shop's own
/// record: receiving a part it installed, or installing it into another vehicle. Such a scan is
/// almost always the station left in the wrong mode, and recorded it would flag the shop's own
/// genuine part as a clone of itself (the rules must treat it as evidence: a label outside the car
/// it is recorded in).
fn wrong_mode(
    status: &registry::CodeStatus,
    party: &Party,
    action: &Action,
    label: &DigitalLink,
    zone: &Zone,
) -> Option<ScanRow> {
    let Custody::Installed { vin, by } = &status.record.custody.custody else {
        return None;
    };
    let contradicts = match action {
        Action::Receive => true,
        Action::Install { vin: into } => into != vin,
        _ => false,
    };
    if by != &party.id || !contradicts {
        return None;
    }
    let date = zone.date(status.record.custody.since);
    let text = both(|t| {
        t.ask_installed
            .replace("{vin}", vin_tail(vin))
            .replace("{date}", &date)
    });
    Some(ScanRow {
        ask: true,
        key: Some(status.key.clone()),
        asked: Some((*vin, action.clone())),
        label: Some(label.clone()),
        ..ScanRow::plain(
            "warning",
            text,
            status.key.to_string(),
            zone.time(Timestamp::now()),
        )
    })
}

/// A row's words in each language: the operator may switch the station's language, and the list
/// follows.
pub(super) fn both(say: impl Fn(&'static Texts) -> String) -> [String; 2] {
    [say(&super::i18n::ZH), say(&super::i18n::EN)]
}

/// A VIN's last four characters, as people read them off a car: "…3294".
fn vin_tail(vin: &Vin) -> &str {
    &vin.as_str()[13..]
}

/// Records the station's submission (with the label scanned) by `party`, and the row that says
/// what it did.
fn record_action(
    r: &Registry,
    party: &Party,
    key: CodeKey,
    mut submission: Submission,
    now: Timestamp,
    at: String,
) -> ScanRow {
    let action = submission.action.clone();
    let recall_override = submission.recall_override;
    let label = match &submission.presented {
        Presented::Label(label) => Some(label.clone()),
        Presented::Typed | Presented::NoLabel => None,
    };
    let code = key.to_string();
    let row = |class: &'static str, texts: [String; 2], code: String| {
        ScanRow::plain(class, texts, code, at.clone())
    };
    let into = match &action {
        Action::Install { vin } => Some(*vin),
        _ => None,
    };
    let removing = matches!(action, Action::Remove { .. });
    // When the custody a claim or refusal contradicts began, for its explanation in the page's
    // words (the registry's are English).
    let since = r
        .status(&key)
        .ok()
        .flatten()
        .map(|s| s.record.custody.since);
    // The station holds a VIN whose check digit does not verify only once the operator confirmed
    // it against the registration certificate (see `mode`).
    submission.vin_confirmed =
        matches!(&action, Action::Install { vin } if !vin.check_digit_verifies());
    let recorded = match r.submit(&key, &party.id, submission, now) {
        Ok(recorded) => recorded,
        Err(RegistryError::LabelMismatch(_)) => return forged(code, at),
        // A recalled part stops the install until the shop chooses, knowing the reason.
        Err(RegistryError::Recalled(reason)) => {
            let installing = match &action {
                Action::Install { vin } => Some(*vin),
                _ => None,
            };
            return ScanRow {
                recall: true,
                key: Some(key),
                asked: installing.map(|vin| (vin, action)),
                label,
                ..row(
                    "danger",
                    both(|t| t.row_recall_refused.replace("{reason}", &reason)),
                    code,
                )
            };
        }
        Err(e) => {
            // A full or failing store: say so in the station's words, not the engine's.
            let texts = both(|t| {
                super::storage_text(&e, t).map_or_else(
                    || format!("{}{e}", t.row_refused),
                    |says| format!("{}{says}", t.row_refused),
                )
            });
            return row("danger", texts, code);
        }
    };
    // A recalled part received (or installed with the override): the row says why.
    let recall = r.recall_reason(&key, &recorded.record).ok().flatten();
    let mut shown = match recorded.event.outcome {
        Outcome::Claim { kind, with } | Outcome::Refused { kind, with } => {
            let texts = both(|t| {
                let said = since
                    .and_then(|since| {
                        t.explain_conflict(&registry::Evidence {
                            kind,
                            event: recorded.event.seq,
                            with,
                            at: recorded.event.at,
                            since,
                        })
                    })
                    .or_else(|| recorded.explanation.clone())
                    .unwrap_or_default();
                format!("{}{said}", t.row_refused)
            });
            row("warning", texts, code)
        }
        Outcome::Conflict { kind, .. } => row(
            "danger",
            both(|t| format!("{} ({})", t.row_conflict, t.conflict_kind(kind))),
            code,
        ),
        _ if !recorded.record.flags.duplicate.is_empty() => {
            row("danger", both(|t| t.row_flagged.to_owned()), code)
        }
        Outcome::Applied if recall_override => row(
            "warning",
            both(|t| t.row_installed_override.to_owned()),
            code,
        ),
        _ if recall.is_some() => row(
            "danger",
            both(|t| {
                format!(
                    "{} ({})",
                    t.row_recalled,
                    recall.as_deref().unwrap_or_default()
                )
            }),
            code,
        ),
        Outcome::Repeated => row("ok", both(|t| t.row_repeated.to_owned()), code),
        Outcome::Applied if removing => row("ok", both(|t| t.row_removed.to_owned()), code),
        Outcome::Applied => match into {
            Some(vin) => row("ok", both(|t| format!("{} → {vin}", t.row_installed)), code),
            None => row("ok", both(|t| t.row_received.to_owned()), code),
        },
    };
    // What the shop recorded it may take back within the correction window; a claim or refusal
    // changed nothing to take back.
    if matches!(
        recorded.event.outcome,
        Outcome::Applied | Outcome::Repeated | Outcome::Conflict { .. }
    ) {
        let until = recorded
            .event
            .at
            .plus_days(r.config().correction_window_days);
        shown.key = Some(key);
        shown.undoable = Some((recorded.event.seq, until));
        shown.undo = true;
    }
    shown
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RowForm {
    pub csrf: String,
    pub row: u64,
    /// For `/shop/decide`: `remove`, `anyway` or `cancel`.
    pub choice: Option<String>,
}

/// `POST /shop/decide`: the operator's answer to the station's question about a scan.
#[utoipa::path(
    post,
    path = "/shop/decide",
    tag = "pages",
    summary = "Answer the station's question about a scan (wrong mode, or a recalled part)",
    description = "Form-encoded `csrf`, `row` (the list row's id) and `choice`: `remove` records \
        the part's removal from the vehicle the shop recorded it in (`removing`, naming that VIN); \
        `anyway` records the scan as it was made; `override` installs a recalled part anyway \
        (recorded with the event); `cancel` records nothing. With \
        `Accept: application/json` answers the row; otherwise redirects back to the station.",
    request_body(content = RowForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The row, answered", body = Object),
        (status = 303, description = "Answered: back to the station"),
        (status = 404, description = "No such question in this session's list (`no_such_row`)"),
    ),
)]
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    CheckedForm {
        mut session, form, ..
    }: CheckedForm<RowForm>,
) -> Result<Response, ApiError> {
    let asked = session
        .with(|s| {
            s.row_mut(form.row)
                .filter(|r| r.ask || r.recall)
                .and_then(|r| {
                    Some((
                        r.key.clone()?,
                        r.asked.clone()?,
                        r.label.clone()?,
                        r.at.clone(),
                    ))
                })
        })
        .await;
    let party = session.party().clone();
    let Some((key, (vin, action), label, at)) = asked else {
        return Err(no_such_row());
    };
    let choice = form.choice.as_deref().unwrap_or("cancel");
    let now = Timestamp::now();
    let row = match choice {
        "remove" | "anyway" | "override" => {
            // The label the question was about, which the registry compares again.
            let submission = match choice {
                "remove" => Submission::scanned(Action::Remove { vin: Some(vin) }, label),
                // The shop's explicit choice to fit a recalled part, recorded with the event.
                "override" => Submission {
                    recall_override: true,
                    ..Submission::scanned(action, label)
                },
                _ => Submission::scanned(action, label),
            };
            let at = state.config().time_zone.time(now);
            state
                .blocking(move |r| record_action(r, &party, key, submission, now, at))
                .await?
        }
        _ => ScanRow::plain(
            "info",
            both(|t| t.row_cancelled.to_owned()),
            key.to_string(),
            at,
        ),
    };
    let row = session
        .with(|s| {
            let lang = s.lang;
            match s.row_mut(form.row) {
                Some(slot) => {
                    *slot = ScanRow { id: slot.id, ..row }.shown_in(lang);
                    slot.clone()
                }
                None => row.shown_in(lang),
            }
        })
        .await;
    Ok(answer(&headers, row))
}

/// `POST /shop/undo`: takes back the event one of the station's rows recorded.
#[utoipa::path(
    post,
    path = "/shop/undo",
    tag = "pages",
    summary = "Undo a scan the station recorded",
    description = "Form-encoded `csrf` and `row` (the list row's id). Records a `correcting` \
        event for the event the row's scan recorded, within the correction window: the \
        registry replays the code's history without it, or refuses (another party's later \
        event depends on it), which the station shows in words.",
    request_body(content = RowForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the station, which shows the outcome"),
        (status = 404, description = "No such row to undo in this session's list (`no_such_row`)"),
    ),
)]
pub async fn undo(
    State(state): State<AppState>,
    CheckedForm {
        mut session, form, ..
    }: CheckedForm<RowForm>,
) -> Result<Response, ApiError> {
    let target = session
        .with(|s| {
            s.row_mut(form.row)
                .map(|r| (r.key.clone().zip(r.undoable), r.carton.clone()))
        })
        .await;
    let (key, seq) = match target {
        Some((_, Some(carton))) => {
            station_cartons::undo(&state, &mut session, form.row, carton).await?;
            return Ok(Redirect::to("/shop").into_response());
        }
        Some((Some((key, (seq, _))), None)) => (key, seq),
        _ => return Err(no_such_row()),
    };
    let (party, t) = (session.party().clone(), session.lang().texts());
    let now = Timestamp::now();
    let zone = state.config().time_zone.clone();
    let undone_key = key.clone();
    let refusal_zone = zone.clone();
    let outcome = state
        .blocking(move |r| {
            let correct = Action::Correct {
                corrects: seq,
                reason: "undone at the scanning station".to_owned(),
            };
            // The shop's correction of its own event: no label in hand.
            r.submit(&key, &party.id, Submission::without_label(correct), now)
                .map(|recorded| recorded.also_changed)
                .map_err(|e| undo_refusal(&e, t, &refusal_zone))
        })
        .await?;
    session
        .with(|s| match outcome {
            Ok(also_changed) => {
                let lang = s.lang;
                // Each later scan of this shop's that stood on the undone one says so, and loses
                // its own Undo: there is nothing left of it to undo.
                let zone = &zone;
                for row in s.rows.iter_mut() {
                    let Some((event, _)) = row.undoable else {
                        continue;
                    };
                    if row.key.as_ref() != Some(&undone_key)
                        || !also_changed.iter().any(|c| c.event == event)
                    {
                        continue;
                    }
                    row.class = "warning";
                    row.texts = both(|t| t.row_changed_by_undo.to_owned());
                    row.undoable = None;
                    row.undo = false;
                    *row = row.clone().shown_in(lang);
                }
                if let Some(row) = s.row_mut(form.row) {
                    row.class = "info";
                    row.texts = both(|t| {
                        let mut text = t.row_undone.to_owned();
                        for c in &also_changed {
                            text.push_str(
                                &t.row_undone_also
                                    .replace("{seq}", &c.event.to_string())
                                    .replace("{step}", t.step(c.step))
                                    .replace("{date}", &zone.date(c.at)),
                            );
                        }
                        text
                    });
                    row.undoable = None;
                    row.undo = false;
                    *row = row.clone().shown_in(lang);
                }
            }
            Err(text) => s.flash = Some(text),
        })
        .await;
    Ok(Redirect::to("/shop").into_response())
}

/// Why an undo was refused, in the station's words: the later event of another party that depends
/// on the scan (named by its number, step and date), or the registry's other reasons.
pub(super) fn undo_refusal(e: &RegistryError, t: &Texts, zone: &Zone) -> String {
    if let Some(says) = super::storage_text(e, t) {
        return format!("{}{says}", t.undo_refused);
    }
    match e {
        RegistryError::InvalidCorrection(CorrectionError::DependedOn {
            event, step, at, ..
        }) => t
            .undo_depends
            .replace("{seq}", &event.to_string())
            .replace("{step}", t.step(*step))
            .replace("{date}", &zone.date(*at)),
        RegistryError::InvalidCorrection(CorrectionError::WindowClosed { .. }) => {
            t.undo_too_old.to_owned()
        }
        RegistryError::InvalidCorrection(why) => format!("{}{why}", t.undo_refused),
        e => format!("{}{e}", t.undo_refused),
    }
}

fn no_such_row() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_row",
        "this station's list has no such row to answer or undo: reload the station",
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ModeForm {
    pub csrf: String,
    pub mode: String,
    pub vin: Option<String>,
    /// Present when the operator confirmed a VIN whose check digit does not verify.
    pub confirmed: Option<String>,
}

/// `POST /shop/mode`: receive, or install into a vehicle.
#[utoipa::path(
    post,
    path = "/shop/mode",
    tag = "pages",
    summary = "Switch the station between receiving and installing",
    description = "Form-encoded `csrf`, `mode` (`receive` or `install`) and, to install, `vin` \
        (any ISO 3779 VIN). A VIN whose check digit does not verify is taken only with \
        `confirmed` (the operator compared it with the registration certificate); without it \
        the station asks. Shops only may install.",
    request_body(content = ModeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the station, which shows the mode or why the VIN was refused"),
    ),
)]
pub async fn mode(
    CheckedForm {
        mut session, form, ..
    }: CheckedForm<ModeForm>,
) -> Response {
    session
        .with(|s| {
            let t = s.lang.texts();
            if form.mode != "install" {
                s.install_vin = None;
                s.confirm_vin = None;
                return;
            }
            if s.party.role != Role::Shop {
                s.flash = Some(t.wrong_role.to_owned());
                return;
            }
            s.confirm_vin = None;
            match Vin::parse_confirmed(form.vin.as_deref().unwrap_or("").trim()) {
                // Many imported European vehicles carry a VIN without a check digit: ask the operator
                // to compare it with the registration certificate rather than refuse it.
                // Until then no scan goes into the vehicle chosen before.
                Ok(vin) if !vin.check_digit_verifies() && form.confirmed.is_none() => {
                    s.install_vin = None;
                    s.confirm_vin = Some(vin);
                }
                Ok(vin) => s.install_vin = Some(vin),
                Err(e) => s.flash = Some(t.vin_error(&e)),
            }
        })
        .await;
    Redirect::to("/shop").into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VinQuery {
    /// The vehicle (17 characters)
    pub vin: Option<String>,
}

/// `GET /shop/vehicle?vin=`: the parts recorded as installed in a vehicle.
#[utoipa::path(
    get,
    path = "/shop/vehicle",
    tag = "pages",
    summary = "A vehicle's installed parts, for a signed-in shop",
    params(VinQuery, LangQuery),
    responses((status = 200, description = "The page (or the sign-in form)", body = String, content_type = "text/html")),
)]
pub async fn vehicle(
    State(state): State<AppState>,
    Query(query): Query<VinQuery>,
    SignedIn { session, .. }: SignedIn<Shops>,
) -> Result<Response, ApiError> {
    let lang = session.lang();
    let t = lang.texts();
    let zone = &state.config().time_zone;
    let typed = query.vin.unwrap_or_default().trim().to_ascii_uppercase();
    // A lookup: any ISO 3779 VIN, check digit or not (many European vehicles carry none).
    let (error, parts) = match Vin::parse_confirmed(&typed) {
        Err(e) if !typed.is_empty() => (Some(t.vin_error(&e)), Vec::new()),
        Err(_) => (None, Vec::new()),
        Ok(vin) => {
            let parts = state
                .blocking(move |r| {
                    let parts = r.installed_in(&vin)?;
                    parts
                        .into_iter()
                        .map(|s| {
                            let recall = r.recall_reason(&s.key, &s.record)?;
                            Ok((s, recall))
                        })
                        .collect::<Result<Vec<_>, registry::RegistryError>>()
                })
                .await??;
            let parts = parts
                .iter()
                .map(|(s, recall)| {
                    // A red row says why, in words.
                    let flags = &s.record.flags;
                    let mut why = Vec::new();
                    if let Some(reason) = recall {
                        why.push(format!("{}{reason}", t.flagged_recalled));
                    }
                    if !flags.duplicate.is_empty() {
                        why.push(t.flagged_duplicate.to_owned());
                    }
                    if flags.copies.is_some() {
                        why.push(t.flagged_copies.to_owned());
                    }
                    (
                        s.key.to_string(),
                        zone.date_time(s.record.custody.since),
                        why,
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
