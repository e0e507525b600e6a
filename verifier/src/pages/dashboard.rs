//! The manufacturer's dashboard (`/dashboard`): alerts on its codes with their evidence, newest
//! first, and the workflow each goes through; public reports; and two charts drawn on the server
//! as SVG (no chart script).
//!
//! The workflow: an alert is *new* until someone marks it *investigating*, and ends *resolved as
//! genuine* or *resolved as counterfeit*. The end is the registry's own `resolving` event (the
//! API's step): it is recorded in the code's custody chain with the note, attributable and
//! permanent, and it clears the flags, so the alert leaves the list. "Investigating" is a working
//! marker between colleagues, kept by the registry with the alert itself (it survives restarts and
//! goes when the alert is resolved). The note typed with any action is kept beside the code's
//! history (the registry's alert notes, which stay after the alert ends), and each alert links to
//! the code's investigation view ([`super::case`]), which lists them.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use registry::custody::date;
use registry::event::{Step, What};
use registry::{
    Action, AlertNote, CodeKey, GenuineCopy, PartyId, Registry, Resolution, ResolutionError,
    Submission, TextField,
};
use serde::Deserialize;
use signer::Timestamp;

use crate::local_time::Zone;

use super::case::{case_href, not_yours};
use super::case_text::{self, CaseTexts};
use super::i18n::{Lang, Texts};
use super::session::{AlertState, Resolved};
use super::signed_in::{CheckedForm, Dashboard, LangQuery, SignedIn, session_forms};
use super::{render, with_lang};
use crate::error::ApiError;
use crate::schemas::{NotTheMakersCode, Page};
use crate::state::AppState;

/// Days in the chart of verifications per day.
const CHART_DAYS: i64 = 14;
/// Codes whose scan statistics feed the charts, at most.
const CHART_CODES: usize = 500;
/// Reports listed, newest first.
const LISTED_REPORTS: usize = 100;

pub struct AlertView {
    pub code: String,
    pub gtin: String,
    pub serial: String,
    pub newest: Timestamp,
    pub newest_date: String,
    pub state: AlertState,
    /// (what, when, the registry's explanation)
    /// What, when, why, and the language of the why.
    pub evidence: Vec<(&'static str, String, String, &'static str)>,
    /// The copies a counterfeit resolution can name as genuine: (`event:N`, what it is).
    pub copies: Vec<(String, String)>,
    /// The code's investigation view.
    pub href: String,
    /// The parties in the alert's conflicting events and custody (name and region) and the
    /// vehicles (last six characters): which copies the alert is about.
    pub involved: Vec<String>,
}

pub struct ReportView {
    /// The reference the sender was given.
    pub id: String,
    pub code: String,
    /// The verdict the sender saw, in words; `None` for reports kept before verdicts were.
    pub seen: Option<&'static str>,
    /// The sender held a forged label naming this code: evidence of a copy, not a suspect part.
    pub forged: bool,
    pub at: String,
    pub text: String,
    pub contact: Option<String>,
    pub region: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    lang: Lang,
    t: &'static Texts,
    switch_href: String,
    name: &'a str,
    csrf: &'a str,
    /// The search form's words and (empty) boxes, shared with the search's own page.
    c: &'static CaseTexts,
    gtin: String,
    serial: String,
    problem: String,
    alerts: Vec<AlertView>,
    reports: Vec<ReportView>,
    resolved: Vec<Resolved>,
    days_svg: String,
    regions_svg: String,
}

struct Gathered {
    alerts: Vec<AlertView>,
    reports: Vec<ReportView>,
    /// (day, scans), oldest first.
    days: Vec<(i64, u64)>,
    regions: Vec<(String, u64)>,
}

fn gather(
    r: &registry::Registry,
    me: &PartyId,
    lang: Lang,
    now: Timestamp,
    zone: &Zone,
) -> Result<Gathered, registry::RegistryError> {
    let t = lang.texts();
    // The page's own words where it has them; the registry's English otherwise, marked as such.
    let in_language = |translated: Option<String>, english: &dyn Fn() -> String| match translated {
        Some(text) => (text, lang.code()),
        None => (english(), "en"),
    };
    let mut alerts = Vec::new();
    let mut region_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut charted: BTreeSet<CodeKey> = BTreeSet::new();
    // Each alerting code's known regions, for the reports on it that came with none.
    let mut alert_regions: BTreeMap<CodeKey, BTreeSet<String>> = BTreeMap::new();
    for status in r.alerts(me)? {
        let flags = &status.record.flags;
        let mut evidence = Vec::new();
        let mut newest = status.record.registered_at;
        for e in &flags.duplicate {
            newest = newest.max(e.at);
            let (why, why_lang) = in_language(t.explain_conflict(e), &|| e.explain());
            evidence.push((t.conflict_kind(e.kind), zone.date_time(e.at), why, why_lang));
        }
        if let Some(a) = &flags.scan_anomaly {
            newest = newest.max(a.at);
            let (why, why_lang) = in_language(t.explain_anomaly(a), &|| a.explain());
            evidence.push((
                t.evidence_kinds.scan_anomaly,
                zone.date_time(a.at),
                why,
                why_lang,
            ));
        }
        let involved = involved(r, &status)?;
        let regions = if involved.regions.is_empty() {
            BTreeSet::from([t.unknown_region.to_owned()])
        } else {
            involved.regions.clone()
        };
        for region in regions {
            *region_counts.entry(region).or_default() += 1;
        }
        alert_regions.insert(status.key.clone(), involved.regions);
        let code = status.key.to_string();
        alerts.push(AlertView {
            state: match r.investigating(me, &status.key)? {
                Some(_) => AlertState::Investigating,
                None => AlertState::New,
            },
            gtin: status
                .key
                .gtin()
                .map(|g| g.as_str().to_owned())
                .unwrap_or_default(),
            serial: status
                .key
                .serial()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            code,
            href: case_href(&status.key),
            newest,
            newest_date: zone.date(newest),
            evidence,
            copies: copies(r, &status, t)?,
            involved: involved.parties,
        });
        if charted.len() < CHART_CODES {
            charted.insert(status.key.clone());
        }
    }
    alerts.sort_by_key(|a| std::cmp::Reverse(a.newest));
    let mut reports = Vec::new();
    for report in r.reports(me)?.into_iter().rev() {
        let region = report
            .region
            .clone()
            .unwrap_or_else(|| t.unknown_region.to_owned());
        // A report that came with no region counts where its code's alert is, if it has one.
        let chart_regions = match (&report.region, alert_regions.get(&report.key)) {
            (None, Some(known)) if !known.is_empty() => known.clone(),
            _ => BTreeSet::from([region.clone()]),
        };
        for chart_region in chart_regions {
            *region_counts.entry(chart_region).or_default() += 1;
        }
        if charted.len() < CHART_CODES {
            charted.insert(report.key.clone());
        }
        if reports.len() < LISTED_REPORTS {
            let seen = report.verdict.as_deref();
            reports.push(ReportView {
                id: report.id,
                code: report.key.to_string(),
                seen: seen.map(|v| t.verdict(v).headline),
                forged: seen == Some("forged"),
                at: zone.date_time(report.at),
                text: report.text,
                contact: report.contact,
                region,
            });
        }
    }
    let today = now.0.div_euclid(86_400);
    let mut days: Vec<(i64, u64)> = (today - CHART_DAYS + 1..=today).map(|d| (d, 0)).collect();
    for key in &charted {
        if let Some(stats) = r.scans(key)? {
            for (day, n) in &stats.daily {
                if let Some(slot) = days.iter_mut().find(|(d, _)| d == day) {
                    slot.1 += n;
                }
            }
        }
    }
    let mut regions: Vec<(String, u64)> = region_counts.into_iter().collect();
    regions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    regions.truncate(10);
    Ok(Gathered {
        alerts,
        reports,
        days,
        regions,
    })
}

/// Who and where an alert involves.
struct Involved {
    /// Each once: the registered regions of the parties in its conflicting events and of the
    /// party custody has it with, and the coarse regions its public scans came from. A Guangdong
    /// shop's conflicting receive counts under Guangdong even when nobody scanned the code.
    regions: BTreeSet<String>,
    /// Those parties as "name (region)", and the vehicles as "…" and the VIN's last six.
    parties: Vec<String>,
}

fn involved(
    r: &Registry,
    status: &registry::CodeStatus,
) -> Result<Involved, registry::RegistryError> {
    let mut out = Involved {
        regions: BTreeSet::new(),
        parties: Vec::new(),
    };
    let flags = &status.record.flags;
    if !flags.duplicate.is_empty() {
        let mut seqs: BTreeSet<u32> = flags.duplicate.iter().map(|e| e.event).collect();
        seqs.insert(status.record.custody.event);
        let events = r
            .history(&status.key)?
            .map(|h| h.events)
            .unwrap_or_default();
        for e in events.iter().filter(|e| seqs.contains(&e.seq)) {
            // The commissioning's actor is the maker itself: it says nothing of the alert.
            if e.seq == 0 {
                continue;
            }
            let party = r.party(&e.actor)?;
            let name = party
                .as_ref()
                .map_or_else(|| e.actor.to_string(), |p| p.name.clone());
            let region = party.and_then(|p| p.region);
            let mut words = match &region {
                Some(region) => format!("{name} ({region})"),
                None => name,
            };
            if let What::Action(Action::Install { vin }) = &e.what {
                words.push_str(&format!(" · …{}", &vin.as_str()[11..]));
            }
            if !out.parties.contains(&words) {
                out.parties.push(words);
            }
            out.regions.extend(region);
        }
    }
    if let Some(scans) = r.scans(&status.key)? {
        out.regions
            .extend(scans.regions.into_iter().map(|(region, _)| region));
    }
    Ok(out)
}

/// The copies of an alerting code a counterfeit resolution can name as genuine: where custody has
/// the part, and where each conflicting event saw a label; by event number, with the vehicle's
/// last characters (VINs are masked even to makers) or the party's name.
fn copies(
    r: &Registry,
    status: &registry::CodeStatus,
    t: &Texts,
) -> Result<Vec<(String, String)>, registry::RegistryError> {
    let Some(history) = r.history(&status.key)? else {
        return Ok(Vec::new());
    };
    let flags = &status.record.flags;
    let mut seqs = vec![status.record.custody.event];
    seqs.extend(flags.duplicate.iter().map(|e| e.event));
    let mut out = Vec::new();
    for seq in seqs {
        let Some(event) = history.events.iter().find(|e| e.seq == seq) else {
            continue;
        };
        let when = date(event.at);
        let label = match &event.what {
            What::Action(Action::Install { vin }) => {
                let tail = &vin.as_str()[11..];
                t.copy_in_vehicle
                    .replace("{vin}", tail)
                    .replace("{date}", &when)
            }
            What::Action(Action::Receive | Action::Remove { .. }) => {
                let name = r
                    .party(&event.actor)?
                    .map_or_else(|| event.actor.to_string(), |p| p.name);
                t.copy_held_by
                    .replace("{name}", &name)
                    .replace("{date}", &when)
            }
            _ => continue,
        };
        out.push((format!("event:{seq}"), label));
    }
    Ok(out)
}

/// The genuine copy the dashboard's form names: `event:N` (the copy event N recorded) or `unknown`.
fn genuine_of_form(
    r: &Registry,
    key: &CodeKey,
    value: Option<&str>,
) -> Result<Option<GenuineCopy>, registry::RegistryError> {
    let Some(seq) = value.and_then(|v| v.strip_prefix("event:")) else {
        return Ok(Some(GenuineCopy::Unknown));
    };
    let Ok(seq) = seq.parse::<u32>() else {
        return Ok(None);
    };
    let Some(history) = r.history(key)? else {
        return Ok(None);
    };
    // A claim is no copy anyone holds: the list never offers one, and the registry would refuse
    // it as a copy its history does not record.
    Ok(history
        .events
        .into_iter()
        .find(|e| e.seq == seq && !e.outcome.is_claim())
        .and_then(|e| match e.what {
            What::Action(Action::Install { vin }) => Some(GenuineCopy::Vehicle(vin)),
            What::Action(Action::Receive | Action::Remove { .. }) => {
                Some(GenuineCopy::Holder(e.actor))
            }
            _ => None,
        }))
}

/// `text` escaped by the escaper askama uses for the rest of the page, which takes the chart as
/// it is.
fn escape(text: &str) -> String {
    let Ok(escaped) = askama::filters::escape(text, askama::filters::Html);
    escaped.to_string()
}

/// A bar chart as SVG: labels under (or beside) the bars, the count on each bar, and a title
/// and table-like text for screen readers. Labels are escaped here: the SVG goes out unescaped.
fn bar_chart(title: &str, bars: &[(String, u64)], horizontal: bool) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let mut svg = String::new();
    if horizontal {
        let height = 24 * bars.len().max(1) + 8;
        svg.push_str(&format!(
            "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 320 {height}\" width=\"100%\">",
            escape(title)
        ));
        for (i, (label, n)) in bars.iter().enumerate() {
            let y = 4 + i * 24;
            let w = 1 + (*n as f64 / max as f64 * 170.0) as u32;
            svg.push_str(&format!(
                "<text x=\"0\" y=\"{}\">{}</text><rect x=\"110\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"#a86a00\"/><text x=\"{}\" y=\"{}\">{n}</text>",
                y + 13,
                escape(&label.chars().take(16).collect::<String>()),
                114 + w,
                y + 13
            ));
        }
    } else {
        let slot = 320 / bars.len().max(1);
        svg.push_str(&format!(
            "<svg role=\"img\" aria-label=\"{}\" viewBox=\"-12 0 344 150\" width=\"100%\">",
            escape(title)
        ));
        for (i, (label, n)) in bars.iter().enumerate() {
            let h = (*n as f64 / max as f64 * 100.0) as u32;
            let x = i * slot;
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\" fill=\"#1a5fb4\"/>",
                x + 2,
                120 - h,
                slot.saturating_sub(4)
            ));
            if *n > 0 {
                svg.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{n}</text>",
                    x + slot / 2,
                    116 - h
                ));
            }
            if i % 2 == 0 || bars.len() <= 7 {
                svg.push_str(&format!(
                    "<text x=\"{}\" y=\"138\" text-anchor=\"middle\">{}</text>",
                    x + slot / 2,
                    escape(label)
                ));
            }
        }
        svg.push_str("<line x1=\"0\" y1=\"120\" x2=\"320\" y2=\"120\" stroke=\"#1a1a1a\"/>");
    }
    svg.push_str("</svg>");
    svg
}

/// `GET /dashboard`: the manufacturer's alerts, reports and charts, or the sign-in form.
#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "pages",
    summary = "The manufacturer's dashboard",
    description = "For a signed-in manufacturer: its alerts with evidence (newest first) and \
        their workflow, public reports, verifications per day and alerts per region as SVG. \
        Without a session: the sign-in form.",
    params(LangQuery),
    responses(Page)
)]
pub async fn dashboard(
    State(state): State<AppState>,
    SignedIn { session, .. }: SignedIn<Dashboard>,
) -> Result<Response, ApiError> {
    let (lang, party) = (session.lang(), session.party());
    let t = lang.texts();
    let me = party.id.clone();
    let now = Timestamp::now();
    let g = state
        .blocking({
            let zone = state.config().time_zone.clone();
            move |r| gather(r, &me, lang, now, &zone)
        })
        .await??;
    // The registry counts scans per UTC day, so these bars are labelled with UTC dates: relabelling
    // them in the local zone would put a day's counts under a date they only half belong to.
    let day_bars: Vec<(String, u64)> = g
        .days
        .iter()
        .map(|(d, n)| {
            (
                date(Timestamp(d * 86_400))
                    .get(5..)
                    .unwrap_or("")
                    .to_owned(),
                *n,
            )
        })
        .collect();
    Ok(render(&DashboardPage {
        lang,
        t,
        switch_href: with_lang("/dashboard", lang.other()),
        name: &party.name,
        csrf: session.csrf(),
        c: case_text::texts(lang),
        gtin: String::new(),
        serial: String::new(),
        problem: String::new(),
        days_svg: bar_chart(t.chart_days, &day_bars, false),
        regions_svg: bar_chart(t.chart_regions, &g.regions, true),
        alerts: g.alerts,
        reports: g.reports,
        resolved: session.resolved(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AlertForm {
    pub csrf: String,
    /// GTIN-14 with its check digit (surrounding whitespace is ignored).
    #[schema(format = "gtin", pattern = r"^[ \t\r\n]*[0-9]{14}[ \t\r\n]*$")]
    pub gtin: String,
    /// 1 to 20 characters of GS1 character set 82 (surrounding whitespace is ignored).
    #[schema(pattern = r#"^[ \t\r\n]*[!"%-?A-Z_a-z]{1,20}[ \t\r\n]*$"#)]
    pub serial: String,
    /// investigating, genuine or counterfeit
    #[schema(value_type = crate::schemas::AlertActionName, inline)]
    pub action: String,
    pub note: Option<String>,
    /// For counterfeit: `event:N` (the copy event N recorded is genuine) or `unknown`.
    pub genuine: Option<String>,
    /// `case`: back to the code's investigation view rather than the dashboard.
    pub back: Option<String>,
}

session_forms!(AlertForm);

/// `POST /dashboard/alerts`: moves an alert along its workflow.
#[utoipa::path(
    post,
    path = "/dashboard/alerts",
    tag = "pages",
    summary = "Move an alert along its workflow",
    description = "Form-encoded `csrf`, `gtin`, `serial`, `action` (`investigating`, `genuine` or \
        `counterfeit`) and optional `note`. `genuine` and `counterfeit` record the registry's \
        `resolving` event on the code (as `POST /api/v1/events` does), which clears its flags.",
    request_body(content = AlertForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: back to the dashboard"),
        (status = 400, description = "A bad code or action (`invalid_code`, `invalid_action`)"),
        NotTheMakersCode,
    ),
)]
pub async fn alert_action(
    State(state): State<AppState>,
    CheckedForm { session, form, .. }: CheckedForm<AlertForm, Dashboard>,
) -> Result<Response, ApiError> {
    let party = session.party();
    let key = CodeKey::parse(&form.gtin, &form.serial)
        .map_err(|e| ApiError::bad_request("invalid_code", e.to_string()))?;
    let code = key.to_string();
    let me = party.id.clone();
    let owner = {
        let key = key.clone();
        state
            .blocking(move |r| r.status(&key))
            .await??
            .map(|s| s.record.manufacturer.clone())
    };
    if owner.as_ref() != Some(&me) {
        return Err(not_yours());
    }
    let back = if form.back.as_deref() == Some("case") {
        case_href(&key)
    } else {
        "/dashboard".to_owned()
    };
    let note = form.note.unwrap_or_default().trim().to_owned();
    let kept = AlertNote {
        at: Timestamp::now(),
        action: form.action.clone(),
        note: note.clone(),
    };
    let resolution = match form.action.as_str() {
        "investigating" => {
            let (me, key) = (me.clone(), key.clone());
            let now = Timestamp::now();
            state
                .blocking(move |r| {
                    r.mark_investigating(&me, &key, now)?;
                    // The note typed with the mark is the colleague's reason: kept beside it.
                    if !kept.note.is_empty() {
                        r.add_alert_note(&me, &key, &kept)?;
                    }
                    Ok::<_, registry::RegistryError>(())
                })
                .await??;
            return Ok(Redirect::to(&back).into_response());
        }
        other => Resolution::parse(other).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_action",
                "action is investigating, genuine or counterfeit",
            )
        })?,
    };
    // What the form says, in the form's own code: a note, of a size the registry keeps.
    let invalid = |why: String| ApiError::bad_request("invalid_resolution", why);
    if note.trim().is_empty() {
        return Err(invalid(ResolutionError::NoNote.to_string()));
    }
    TextField::Step(Step::Resolving)
        .check(&note)
        .map_err(|e| invalid(e.to_string()))?;
    let now = Timestamp::now();
    let actor = me.clone();
    let choice = form.genuine;
    state
        .blocking(move |r| {
            let genuine = match resolution {
                Resolution::Genuine => None,
                Resolution::Counterfeit => match genuine_of_form(r, &key, choice.as_deref())? {
                    Some(g) => Some(g),
                    None => {
                        return Err(invalid("choose which copy is genuine from the list".into()));
                    }
                },
            };
            let action = Action::Resolve {
                resolution,
                genuine,
                note,
            };
            // The maker's own act on its code, made on the dashboard: no label in hand.
            r.submit(&key, &actor, Submission::without_label(action), now)?;
            // The resolving event keeps the note for good; the notes list shows it with the
            // others, so a colleague reads the case in one place.
            Ok(r.add_alert_note(&actor, &key, &kept)?)
        })
        .await??;
    session.mark_resolved(Resolved {
        code,
        how: resolution.as_str(),
        at: state.config().time_zone.date_time(now),
    });
    Ok(Redirect::to(&back).into_response())
}
