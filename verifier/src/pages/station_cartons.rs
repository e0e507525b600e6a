//! Carton and pallet labels at the shop's station. A scanned carton label (its Digital Link
//! `{base}/00/{sscc}`, `(00)` and 18 digits as a GS1-128 scanner types them, or the 18 digits
//! alone) is received whole, as the API receives it ([`Registry::receive_carton`]): one row for
//! the carton that lists every part it holds (a pallet's by the carton they are packed in), each
//! with what the receiving did to it, so a part that did not move stands out with its reason.
//! The row's one Undo takes back the whole receiving ([`Registry::undo_carton_receiving`]): every
//! part, or, if any one cannot be, none.
//!
//! A carton cannot be installed: in install mode its label is refused, recording nothing.

use registry::{
    CartonError, CodeKey, CodeMoved, Outcome, Party, Registry, RegistryError, Role, Vin,
};
use signer::{CartonLink, Sscc, Timestamp};

use super::i18n::Texts;
use super::session::{CartonUndo, LiveSession, PartGroup, PartRow, ScanRow};
use super::shop::{both, undo_refusal};
use crate::error::ApiError;
use crate::local_time::Zone;
use crate::state::AppState;

/// How deep the station looks for inner cartons to group a pallet's parts by: as deep as the
/// registry lets cartons nest.
const MAX_DEPTH: usize = registry::carton::MAX_DEPTH;

/// The carton a scan names, if it is a carton label (any form [`CartonLink`] reads, a GS1-128
/// scanner's `]C1` and FNC1 prefix included).
pub(super) fn scanned_carton(input: &str) -> Option<Sscc> {
    CartonLink::parse(input).ok().map(|link| link.sscc)
}

/// Records a scanned carton label for `party` and says what it did: in install mode (`vin`), a
/// refusal recording nothing; otherwise the carton's receiving, one part at a time in its row.
pub(super) fn record(
    r: &Registry,
    party: &Party,
    vin: Option<&Vin>,
    sscc: Sscc,
    now: Timestamp,
    zone: &Zone,
) -> ScanRow {
    let at = zone.time(now);
    let number = sscc.to_string();
    let row = |class, texts| ScanRow::plain(class, texts, number.clone(), at.clone());
    let say = |template: fn(&Texts) -> &str| both(|t| template(t).replace("{sscc}", &number));
    if vin.is_some() && party.role == Role::Shop {
        return row("danger", say(|t| t.carton_install));
    }
    let moved = match r.receive_carton(&party.id, &sscc, now) {
        Ok(moved) => moved,
        Err(RegistryError::Carton(CartonError::Unknown(_))) => {
            return row("warning", say(|t| t.carton_unknown));
        }
        Err(RegistryError::Carton(CartonError::Nested(_))) => {
            return row("warning", say(|t| t.carton_nested));
        }
        Err(e) => {
            tracing::info!(error = %e, carton = %sscc, "a station's carton refused");
            let texts = both(|t| {
                let why = super::storage_text(&e, t).map_or_else(|| e.to_string(), str::to_owned);
                format!("{}{why}", t.carton_refused.replace("{sscc}", &number))
            });
            return row("danger", texts);
        }
    };
    let parts: Vec<(CodeKey, PartRow)> = moved
        .iter()
        .map(|m| (m.key.clone(), part_row(r, m)))
        .collect();
    let n = moved.len();
    let received = moved.iter().filter(|m| moved_here(m)).count();
    let attention = parts.iter().filter(|(_, p)| p.class == "danger").count();
    let counted = |template: fn(&Texts) -> &str| {
        both(|t| {
            template(t)
                .replace("{sscc}", &number)
                .replace("{n}", &n.to_string())
                .replace("{moved}", &received.to_string())
                .replace("{bad}", &attention.to_string())
        })
    };
    let (class, texts) = match (received == n, received, attention) {
        (true, _, 0) => ("ok", counted(|t| t.carton_received)),
        (true, _, _) => ("danger", counted(|t| t.carton_attention)),
        (false, 0, _) => ("warning", counted(|t| t.carton_not_yours)),
        (false, _, 0) => ("warning", counted(|t| t.carton_partly)),
        (false, _, _) => ("danger", counted(|t| t.carton_partly)),
    };
    let mut shown = row(class, texts);
    shown.contents = grouped(r, &sscc, parts);
    // What the shop recorded it may take back within the correction window, as for one scan; a
    // claim changed nothing to take back.
    let events: Vec<(CodeKey, u32)> = moved
        .iter()
        .filter(|m| undoable(&m.event.outcome))
        .map(|m| (m.key.clone(), m.event.seq))
        .collect();
    if !events.is_empty() {
        shown.carton = Some(CartonUndo {
            sscc,
            events,
            until: now.plus_days(r.config().correction_window_days),
        });
        shown.undo = true;
    }
    shown
}

/// Whether the part moved to the shop (or was already recorded there).
fn moved_here(m: &CodeMoved) -> bool {
    matches!(m.event.outcome, Outcome::Applied | Outcome::Repeated)
}

fn undoable(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Applied | Outcome::Repeated | Outcome::Conflict { .. }
    )
}

/// One part's line: what the receiving did to it, and anything about the part the shop must know
/// although it moved (a suspected clone, a recall).
fn part_row(r: &Registry, m: &CodeMoved) -> PartRow {
    let line = |class, texts| PartRow {
        code: m.key.to_string(),
        class,
        text: String::new(),
        texts,
    };
    let why = |kind, with| {
        move |t: &Texts| {
            // The page's words where it has them; the registry's (English) otherwise.
            t.explain_conflict(&registry::Evidence {
                kind,
                event: m.event.seq,
                with,
                at: m.event.at,
                since: m.record.custody.since,
            })
            .or_else(|| m.explanation.clone())
            .unwrap_or_default()
        }
    };
    match m.event.outcome {
        Outcome::Claim { kind, with } => {
            let why = why(kind, with);
            line(
                "warning",
                both(|t| format!("{}{}", t.carton_part_claim, why(t))),
            )
        }
        Outcome::Refused { kind, with } => {
            let why = why(kind, with);
            line(
                "danger",
                both(|t| format!("{}{}", t.carton_part_refused, why(t))),
            )
        }
        Outcome::Conflict { kind, .. } => line(
            "danger",
            both(|t| format!("{}{}", t.carton_part_conflict, t.conflict_kind(kind))),
        ),
        _ if !m.record.flags.duplicate.is_empty() || m.record.flags.copies.is_some() => {
            line("danger", both(|t| t.carton_part_flagged.to_owned()))
        }
        Outcome::Repeated => line("ok", both(|t| t.carton_part_repeated.to_owned())),
        Outcome::Applied => match r.recall_reason(&m.key, &m.record).ok().flatten() {
            Some(reason) => line(
                "danger",
                both(|t| format!("{}{reason}", t.carton_part_recalled)),
            ),
            None => line("ok", both(|t| t.carton_part_received.to_owned())),
        },
    }
}

/// The parts by the carton they are packed in: the scanned carton's own first, then each carton
/// inside it, outermost first, as the packing records say. A part no record places (none, unless
/// the records changed since the receiving) is listed with the scanned carton's own.
fn grouped(r: &Registry, sscc: &Sscc, parts: Vec<(CodeKey, PartRow)>) -> Vec<PartGroup> {
    let mut placed: Vec<(Sscc, Vec<CodeKey>)> = Vec::new();
    let mut level = vec![*sscc];
    for _ in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        for s in &level {
            let Ok(Some(carton)) = r.carton(s) else {
                continue;
            };
            placed.push((*s, carton.codes.clone()));
            next.extend(carton.cartons.iter().copied());
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    let mut groups: Vec<PartGroup> = placed
        .iter()
        .map(|(s, _)| PartGroup {
            carton: (s != sscc).then(|| s.to_string()),
            heading: String::new(),
            headings: if s == sscc {
                [String::new(), String::new()]
            } else {
                both(|t| t.carton_group.replace("{sscc}", s.as_str()))
            },
            parts: Vec::new(),
        })
        .collect();
    if groups.is_empty() {
        groups.push(PartGroup {
            carton: None,
            heading: String::new(),
            headings: [String::new(), String::new()],
            parts: Vec::new(),
        });
    }
    for (key, part) in parts {
        let at = placed
            .iter()
            .position(|(_, codes)| codes.contains(&key))
            .unwrap_or(0);
        groups[at].parts.push(part);
    }
    groups.retain(|g| !g.parts.is_empty());
    groups
}

/// `POST /shop/undo` for a carton's row: the whole receiving corrected, or the refusal (naming
/// the part that could not be) shown as the next page's message, nothing undone.
pub(super) async fn undo(
    state: &AppState,
    session: &mut LiveSession,
    row: u64,
    carton: CartonUndo,
) -> Result<(), ApiError> {
    let (party, t) = (session.party().id.clone(), session.lang().texts());
    let now = Timestamp::now();
    let zone = state.config().time_zone.clone();
    let CartonUndo { sscc, events, .. } = carton;
    let outcome = state
        .blocking(move |r| {
            let reason = "carton undone at the scanning station";
            r.undo_carton_receiving(&party, &sscc, &events, reason, now)
                .map(|undone| undone.len())
                .map_err(|e| match e {
                    RegistryError::Carton(CartonError::UndoRefused { key, why, .. }) => {
                        let why = RegistryError::InvalidCorrection(*why);
                        let said = undo_refusal(&why, t, &zone);
                        // The single scan's words, without their own "cannot undo".
                        let said = said.strip_prefix(t.undo_refused).unwrap_or(&said);
                        format!(
                            "{}{said}",
                            t.carton_undo_refused.replace("{code}", &key.to_string())
                        )
                    }
                    e => undo_refusal(&e, t, &zone),
                })
        })
        .await?;
    session
        .with(|s| match outcome {
            Ok(n) => {
                let lang = s.lang;
                if let Some(shown) = s.row_mut(row) {
                    shown.class = "info";
                    shown.texts = both(|t| {
                        t.carton_undone
                            .replace("{sscc}", sscc.as_str())
                            .replace("{n}", &n.to_string())
                    });
                    shown.carton = None;
                    shown.undo = false;
                    *shown = shown.clone().shown_in(lang);
                }
            }
            Err(text) => s.flash = Some(text),
        })
        .await;
    Ok(())
}
