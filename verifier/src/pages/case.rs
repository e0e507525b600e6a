//! The manufacturer's investigation view of one of its codes (`/dashboard/codes/{gtin}/{serial}`),
//! the search that leads there (`/dashboard/find`), and recalls from the browser.
//!
//! An alert on the dashboard says *that* a code conflicts; this view says *who* and *where*: each
//! event with the party that recorded it (its name and registered region; a maker may see its
//! parties, the public never does), how the party named the code (scanned or typed) and what the
//! registry made of it; the conflicting copies side by side; the public scans' figures; the
//! public reports; and the notes colleagues kept. VINs stay masked but their last six characters,
//! as everywhere a maker sees them.
//!
//! The resolution form posts to `POST /dashboard/alerts`, the dashboard's own contract
//! (`genuine=event:N|unknown`), so the two pages resolve alike.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use registry::event::{Step, What};
use registry::{
    Action, AlertNote, CodeKey, Party, PartyId, Registry, RegistryError, Submission, TextField,
};
use serde::Deserialize;
use signer::{Gtin, Lot, Serial, Timestamp};

use super::case_text::{self, CaseTexts, NoteAction};
use super::i18n::{Lang, Texts};
use super::signed_in::{CheckedForm, Dashboard, LangQuery, SignedIn, session_forms};
use super::{encode, render, with_lang};
use crate::error::ApiError;
use crate::local_time::Zone;
use crate::schemas::{CodeInPath, NotTheMakersCode, Page};
use crate::state::AppState;

/// Public reports listed on one code, newest first.
const LISTED_REPORTS: usize = 50;

/// The search's boxes, as typed.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// The GTIN as typed
    pub gtin: Option<String>,
    /// The serial as typed
    pub serial: Option<String>,
}

/// The code a `/dashboard/codes/{gtin}/{serial}` path names, as given and read: a path that names
/// no code is a bad request (`400 invalid_code`) whoever asks, so it is read before the session.
pub struct CasePath {
    key: CodeKey,
    gtin: String,
    serial: String,
}

impl FromRequestParts<AppState> for CasePath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path((gtin, serial)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let bad = |e: signer::ParseError| {
            ApiError::bad_request("invalid_code", e.to_string()).into_response()
        };
        let key = CodeKey::new(
            &Gtin::parse(&gtin).map_err(bad)?,
            &Serial::parse(&serial).map_err(bad)?,
        );
        Ok(CasePath { key, gtin, serial })
    }
}

/// Parties as the maker sees them, each read once per page: a cloned code's history names the
/// same few parties many times.
#[derive(Default)]
struct PartyNames(std::collections::HashMap<PartyId, (String, Option<String>)>);

impl PartyNames {
    /// The party's name, and its registered region when it has one.
    fn get(
        &mut self,
        r: &Registry,
        id: &PartyId,
    ) -> Result<(String, Option<String>), RegistryError> {
        if let Some(known) = self.0.get(id) {
            return Ok(known.clone());
        }
        let words = match r.party(id)? {
            Some(Party { name, region, .. }) => (name, region),
            None => (id.to_string(), None),
        };
        self.0.insert(id.clone(), words.clone());
        Ok(words)
    }
}

/// The last six characters of a VIN: enough to tell two vehicles apart, too few to identify one.
fn vin_tail(vin: &registry::Vin) -> &str {
    &vin.as_str()[11..]
}

pub struct Row {
    pub seq: u32,
    pub when: String,
    pub step: &'static str,
    pub party: String,
    pub region: Option<String>,
    /// The vehicle or party the step names, and any reason or note.
    pub detail: Vec<String>,
    /// Scanned or typed, for custody moves; empty for the maker's own steps.
    pub basis: &'static str,
    pub outcome: &'static str,
    /// `applied`, `repeated`, `conflict`, `claim` or `refused`: the row's class.
    pub outcome_code: &'static str,
}

pub struct CopyView {
    /// `event:N`, what the resolution form sends to name this copy as genuine.
    pub value: String,
    pub heading: &'static str,
    pub party: String,
    pub region: Option<String>,
    pub vehicle: Option<String>,
    pub when: String,
    pub basis: &'static str,
    pub step: &'static str,
}

pub struct ReportRow {
    pub at: String,
    pub text: String,
    pub contact: Option<String>,
    pub region: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    lang: Lang,
    t: &'static Texts,
    c: &'static CaseTexts,
    switch_href: String,
    csrf: &'a str,
    code: String,
    gtin: String,
    serial: String,
    case: Case,
}

impl Case {
    /// The copies as the counterfeit resolution offers them: (`event:N`, which copy it is).
    fn copy_choices(&self) -> Vec<(String, String)> {
        self.copies
            .iter()
            .map(|copy| {
                let vehicle = copy.vehicle.as_ref().map(|v| format!(", …{v}"));
                let label = format!(
                    "{}: {}{}",
                    copy.heading,
                    copy.party,
                    vehicle.unwrap_or_default()
                );
                (copy.value.clone(), label)
            })
            .collect()
    }
}

/// Everything the view shows, read in one go on the blocking pool.
struct Case {
    lot: Option<String>,
    custody: &'static str,
    alerting: bool,
    recalled: bool,
    lot_recalled: bool,
    evidence: Vec<(&'static str, String)>,
    rows: Vec<Row>,
    copies: Vec<CopyView>,
    claims: Vec<Row>,
    scans_total: u64,
    networks: u32,
    /// What `networks` counts: distinct networks within the scan window, in words.
    window: String,
    scan_regions: Vec<(String, u64)>,
    scan_days: Vec<(String, u64)>,
    reports: Vec<ReportRow>,
    notes: Vec<(String, String, String)>,
}

fn gather(
    r: &Registry,
    me: &PartyId,
    key: &CodeKey,
    lang: Lang,
    now: Timestamp,
    zone: &Zone,
) -> Result<Option<Case>, RegistryError> {
    let (t, c) = (lang.texts(), case_text::texts(lang));
    let Some(history) = r.history(key)? else {
        return Ok(None);
    };
    if &history.record.manufacturer != me {
        return Ok(None);
    }
    let record = &history.record;
    let mut names = PartyNames::default();
    let mut rows = Vec::new();
    for e in &history.events {
        let (party, region) = names.get(r, &e.actor)?;
        let mut detail = Vec::new();
        if let What::Action(action) = &e.what {
            match action {
                Action::Install { vin } | Action::Remove { vin: Some(vin) } => {
                    detail.push(c.in_vehicle.replace("{vin}", vin_tail(vin)));
                }
                Action::Correct { corrects, .. } => {
                    // The history says what each correction undid, next to its reason.
                    if let Some(undone) = history.events.iter().find(|u| u.seq == *corrects) {
                        detail.push(
                            c.undoes
                                .replace("{seq}", &corrects.to_string())
                                .replace("{step}", c.step(undone.step())),
                        );
                    }
                }
                Action::Ship { to } => {
                    let (name, region) = names.get(r, to)?;
                    let to = match region {
                        Some(region) => format!("{name} ({region})"),
                        None => name,
                    };
                    detail.push(c.shipped_to.replace("{name}", &to));
                }
                _ => {}
            }
            if let Some(text) = action.text().filter(|t| !t.trim().is_empty()) {
                detail.push(text.to_owned());
            }
        }
        if let Some(carton) = &e.carton {
            detail.push(c.through_carton.replace("{sscc}", carton.as_str()));
        }
        // Scanned or typed matters for custody moves only: the maker's own steps (registering,
        // recalling, resolving) name the code through its account, not a label in hand.
        let moves = matches!(
            e.step(),
            Step::Shipping | Step::Receiving | Step::Installing | Step::Removing | Step::Destroying
        );
        rows.push(Row {
            seq: e.seq,
            when: zone.date_time(e.at),
            step: c.step(e.step()),
            party,
            region,
            detail,
            // A carton's label names its parts only through the packing record: recorded as typed
            // numbers, but the maker should read how it really happened.
            basis: match (moves, &e.carton) {
                (false, _) => "",
                (true, Some(_)) => c.carton_label,
                (true, None) => c.basis(e.basis),
            },
            outcome: c.outcome(e.outcome),
            outcome_code: e.outcome.as_str(),
        });
    }
    // Claims and refusals by parties other than the maker: the maker's to weigh, nobody else's.
    let claims = history
        .events
        .iter()
        .zip(&rows)
        .filter(|(e, _)| e.outcome.is_claim() && &e.actor != me)
        .map(|(_, row)| Row {
            detail: row.detail.clone(),
            party: row.party.clone(),
            region: row.region.clone(),
            when: row.when.clone(),
            ..*row
        })
        .collect();
    // The copies: where custody has the part, then each conflicting event's copy.
    let mut copies = Vec::new();
    if record.flags.alerting() {
        let mut seqs = vec![(record.custody.event, c.custody_copy)];
        seqs.extend(
            record
                .flags
                .duplicate
                .iter()
                .map(|d| (d.event, c.conflicting_copy)),
        );
        for (seq, heading) in seqs {
            let Some(e) = history.events.iter().find(|e| e.seq == seq) else {
                continue;
            };
            let vehicle = match &e.what {
                What::Action(Action::Install { vin }) => Some(vin_tail(vin).to_owned()),
                What::Action(Action::Receive | Action::Remove { .. }) => None,
                // Custody set by the commissioning or a shipment is no copy a shop holds.
                _ => continue,
            };
            let (party, region) = names.get(r, &e.actor)?;
            copies.push(CopyView {
                value: format!("event:{seq}"),
                heading,
                party,
                region,
                vehicle,
                when: zone.date_time(e.at),
                basis: c.basis(e.basis),
                step: c.step(e.step()),
            });
        }
    }
    let mut evidence = Vec::new();
    for d in &record.flags.duplicate {
        evidence.push((
            t.conflict_kind(d.kind),
            t.explain_conflict(d).unwrap_or_else(|| d.explain()),
        ));
    }
    if let Some(a) = &record.flags.scan_anomaly {
        evidence.push((
            t.evidence_kinds.scan_anomaly,
            t.explain_anomaly(a).unwrap_or_else(|| a.explain()),
        ));
    }
    let policy = r.config().scans;
    let stats = r.scans(key)?.unwrap_or_default();
    let scan_days = stats
        .daily
        .iter()
        .rev()
        .take(14)
        .map(|(d, n)| (registry::custody::date(Timestamp(d * 86_400)), *n))
        .collect();
    let reports: Vec<ReportRow> = r
        .reports(me)?
        .into_iter()
        .rev()
        .filter(|report| &report.key == key)
        .take(LISTED_REPORTS)
        .map(|report| ReportRow {
            at: zone.date_time(report.at),
            text: report.text,
            contact: report.contact,
            region: report.region.unwrap_or_else(|| t.unknown_region.to_owned()),
        })
        .collect();
    let notes = r
        .alert_notes(me, key)?
        .into_iter()
        .map(|n| (zone.date_time(n.at), c.action(&n.action), n.note))
        .collect();
    Ok(Some(Case {
        lot: record.lot.as_ref().map(|l| l.as_str().to_owned()),
        custody: t.custody(&record.custody.custody),
        alerting: record.flags.alerting(),
        recalled: record.flags.recalled.is_some(),
        lot_recalled: history.lot_recall.is_some(),
        evidence,
        rows,
        copies,
        claims,
        scans_total: stats.total,
        networks: stats.distinct_networks(now, policy),
        window: c
            .scans_networks
            .replace("{hours}", &policy.window_hours.to_string()),
        scan_regions: stats.regions,
        scan_days,
        reports,
        notes,
    }))
}

/// A code that is not the signed-in maker's, or not registered: the same answer either way.
pub(crate) fn not_yours() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_allowed",
        "no code of yours has this GTIN and serial",
    )
}

/// The view's address for a code.
pub(crate) fn case_href(key: &CodeKey) -> String {
    let gtin = key
        .gtin()
        .map(|g| g.as_str().to_owned())
        .unwrap_or_default();
    let serial = key
        .serial()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    format!("/dashboard/codes/{gtin}/{}", encode(&serial))
}

/// `GET /dashboard/codes/{gtin}/{serial}`: one of the maker's codes under investigation.
#[utoipa::path(
    get,
    path = "/dashboard/codes/{gtin}/{serial}",
    tag = "pages",
    summary = "The investigation view of one of the manufacturer's codes",
    description = "For a signed-in manufacturer and one of its own codes: the history with the \
        parties involved (names and registered regions; VINs masked but their last six \
        characters), how each event named the code and what the registry made of it, the \
        conflicting copies side by side, claims and refused attempts by other parties, public \
        scan figures and reports, the notes kept with each dashboard action, the resolution form \
        and recall forms. Without a session: the sign-in form.",
    params(CodeInPath, LangQuery),
    responses(
        Page,
        (status = 400, description = "Not a GTIN and serial (`invalid_code`)"),
        (status = 403, description = "Not one of the manufacturer's codes (`not_allowed`)"),
    ),
)]
pub async fn case(
    State(state): State<AppState>,
    CasePath { key, gtin, serial }: CasePath,
    SignedIn { session, .. }: SignedIn<Dashboard>,
) -> Result<Response, ApiError> {
    let href = case_href(&key);
    let (lang, party) = (session.lang(), session.party());
    let me = party.id.clone();
    let now = Timestamp::now();
    let case = state
        .blocking({
            let zone = state.config().time_zone.clone();
            let key = key.clone();
            move |r| gather(r, &me, &key, lang, now, &zone)
        })
        .await??
        .ok_or_else(not_yours)?;
    Ok(render(&CasePage {
        lang,
        t: lang.texts(),
        c: case_text::texts(lang),
        switch_href: with_lang(&href, lang.other()),
        csrf: session.csrf(),
        code: key.to_string(),
        gtin,
        serial,
        case,
    }))
}

#[derive(Template)]
#[template(path = "find.html")]
struct FindPage {
    lang: Lang,
    t: &'static Texts,
    c: &'static CaseTexts,
    switch_href: String,
    gtin: String,
    serial: String,
    problem: String,
}

/// `GET /dashboard/find`: the maker's search for one of its codes, forgiving as the owner's
/// typed lookup is (`typed_input`): found, it leads to the code's investigation view.
#[utoipa::path(
    get,
    path = "/dashboard/find",
    tag = "pages",
    summary = "Find one of the manufacturer's codes",
    description = "Query `gtin` and `serial` as typed (GTIN-8/12/13 padded, spaces, hyphens, \
        full-width digits and pasted `(01)`/`(21)` forgiven, serials tried as typed, in capitals \
        and without hyphens). One of the signed-in manufacturer's codes: 303 to its \
        investigation view, alerting or not. Otherwise the search form again (200, as the \
        typed lookup answers), with the numbers as typed and what was wrong: numbers that cannot \
        be a code, or no code of the manufacturer's.",
    params(CaseQuery, LangQuery),
    responses(
        (status = 200, description = "The search form, with what was wrong if anything",
            body = String, content_type = "text/html"),
        (status = 303, description = "Found: the code's investigation view"),
    ),
)]
pub async fn find(
    State(state): State<AppState>,
    Query(query): Query<CaseQuery>,
    SignedIn { session, .. }: SignedIn<Dashboard>,
) -> Result<Response, ApiError> {
    let (lang, party) = (session.lang(), session.party());
    let (t, c) = (lang.texts(), case_text::texts(lang));
    let gtin_typed = query.gtin.unwrap_or_default();
    let serial_typed = query.serial.unwrap_or_default();
    let page = |problem: String| {
        render(&FindPage {
            lang,
            t,
            c,
            switch_href: with_lang("/dashboard/find", lang.other()),
            gtin: gtin_typed.clone(),
            serial: serial_typed.clone(),
            problem,
        })
    };
    if gtin_typed.trim().is_empty() && serial_typed.trim().is_empty() {
        return Ok(page(String::new()));
    }
    let typed = match crate::typed_input::normalise(&gtin_typed, &serial_typed) {
        Ok(typed) => typed,
        Err(e) => return Ok(page(t.typed_problem(&e))),
    };
    let me = party.id.clone();
    let found = state
        .blocking(move |r| -> Result<Option<CodeKey>, RegistryError> {
            for serial in &typed.serials {
                let Ok(serial) = Serial::parse(serial) else {
                    continue;
                };
                let key = CodeKey::new(&typed.gtin, &serial);
                if let Some(status) = r.status(&key)?
                    && status.record.manufacturer == me
                {
                    return Ok(Some(key));
                }
            }
            Ok(None)
        })
        .await??;
    Ok(match found {
        Some(key) => Redirect::to(&with_lang(&case_href(&key), lang)).into_response(),
        None => page(c.not_yours.to_owned()),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RecallForm {
    pub csrf: String,
    /// GTIN-14 with its check digit (surrounding whitespace is ignored).
    #[schema(format = "gtin", pattern = r"^[ \t\r\n]*[0-9]{14}[ \t\r\n]*$")]
    pub gtin: String,
    /// 1 to 20 characters of GS1 character set 82 (surrounding whitespace is ignored).
    #[schema(pattern = r#"^[ \t\r\n]*[!"%-?A-Z_a-z]{1,20}[ \t\r\n]*$"#)]
    pub serial: String,
    /// For a lot recall: the lot (the code's own, as the view shows it), 1 to 20 characters of GS1
    /// character set 82; empty (or only whitespace) for the code alone.
    #[schema(pattern = r#"^[ \t\r\n]*([!"%-?A-Z_a-z]{1,20}[ \t\r\n]*)?$"#)]
    pub lot: Option<String>,
    /// Why: not empty (nor only whitespace, which is ignored around it).
    #[schema(
        pattern = r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

session_forms!(RecallForm);

/// `POST /dashboard/recall`: recalls one of the maker's codes, or (with `lot`) its whole lot.
#[utoipa::path(
    post,
    path = "/dashboard/recall",
    tag = "pages",
    summary = "Recall a part or its lot from the browser",
    description = "Form-encoded `csrf`, `gtin`, `serial`, `reason` and optional `lot`. Without \
        `lot`: the registry's `recalling` event on the code (as `POST /api/v1/events` does). With \
        `lot`: the code's lot is recalled (as `POST /api/v1/lots/recall` does); the lot must be \
        the code's own. The reason is kept as a note too.",
    request_body(content = RecallForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: back to the code's investigation view"),
        (status = 400, description = "A bad code, lot or reason (`invalid_code`, `invalid_recall`)"),
        NotTheMakersCode,
    ),
)]
pub async fn recall(
    State(state): State<AppState>,
    CheckedForm { session, form, .. }: CheckedForm<RecallForm, Dashboard>,
) -> Result<Response, ApiError> {
    let party = session.party();
    let bad = |e: signer::ParseError| ApiError::bad_request("invalid_code", e.to_string());
    let gtin = Gtin::parse(form.gtin.trim()).map_err(bad)?;
    let key = CodeKey::new(&gtin, &Serial::parse(form.serial.trim()).map_err(bad)?);
    let lot = match form.lot.as_deref().map(str::trim) {
        Some(lot) if !lot.is_empty() => Some(Lot::parse(lot).map_err(bad)?),
        _ => None,
    };
    let reason = form.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_recall",
            "say why the part is recalled",
        ));
    }
    // The form's reason, in the form's own code (the registry bounds it the same way).
    let field = match lot {
        Some(_) => TextField::RecallReason,
        None => TextField::Step(Step::Recalling),
    };
    field
        .check(&reason)
        .map_err(|e| ApiError::bad_request("invalid_recall", e.to_string()))?;
    let me = party.id.clone();
    let now = Timestamp::now();
    let target = key.clone();
    state
        .blocking(move |r| -> Result<(), ApiError> {
            // Only the maker's own code, whatever is recalled: a lot is reached through one of
            // its codes, so another maker's lot is refused like its codes.
            let status = r.status(&target)?;
            let Some(status) = status.filter(|s| s.record.manufacturer == me) else {
                return Err(not_yours());
            };
            let action = match lot {
                Some(lot) => {
                    if status.record.lot.as_ref() != Some(&lot) {
                        return Err(ApiError::bad_request(
                            "invalid_recall",
                            "the lot is not this code's lot",
                        ));
                    }
                    r.recall_lot(&gtin, &lot, &me, &reason, now)?;
                    NoteAction::LotRecall
                }
                None => {
                    let recall = Action::Recall {
                        reason: reason.clone(),
                    };
                    // The maker's own act on its code, made on its page: no label in hand.
                    r.submit(&target, &me, Submission::without_label(recall), now)?;
                    NoteAction::Recall
                }
            };
            let note = AlertNote {
                at: now,
                action: action.as_str().into(),
                note: reason,
            };
            Ok(r.add_alert_note(&me, &target, &note)?)
        })
        .await??;
    Ok(Redirect::to(&case_href(&key)).into_response())
}
