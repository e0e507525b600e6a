//! How one event changes a code's record: custody (judged by [`custody::decide`]), the duplicate
//! evidence, claims, recalls and the manufacturer's resolutions.
//!
//! [`apply`] is the single step both the live path ([`crate::Registry::submit`]) and [`replay`] take,
//! so a record can always be recomputed from its history: the audit checks every record that way,
//! and a correction recomputes the record without the corrected event.
//!
//! Events recorded before the rules told scans from typed numbers ([`Basis::Legacy`]) keep the
//! outcome they were given then.

use std::collections::HashSet;

use crate::custody::{self, Custody, CustodyState, Decision};
use crate::event::{Action, Basis, Event, GenuineCopy, Outcome, Resolution, What};
use crate::record::{CodeRecord, Copies, Evidence, Flags, MAX_EVIDENCE};

/// Applies `event` to `record` (custody and flags; not the chain head or count) and returns the
/// outcome the rules give it. `prior` are the code's events before it, which a counterfeit
/// resolution searches for the genuine copy it names.
pub(crate) fn apply(record: &mut CodeRecord, event: &Event, prior: &[Event]) -> Outcome {
    let What::Action(action) = &event.what else {
        return Outcome::Applied;
    };
    let flags = &mut record.flags;
    match action {
        Action::Recall { .. } => {
            if flags.recalled.is_some() {
                return Outcome::Repeated;
            }
            flags.recalled = Some((event.at, event.seq));
            Outcome::Applied
        }
        Action::Resolve {
            resolution,
            genuine,
            ..
        } => {
            flags.duplicate.clear();
            flags.conflicts = 0;
            // A version 1 counterfeit resolution only cleared the flags.
            if *resolution == Resolution::Counterfeit && event.basis != Basis::Legacy {
                let genuine = genuine.clone().unwrap_or(GenuineCopy::Unknown);
                if let Some(custody) = genuine_custody(&record.custody.custody, &genuine, prior) {
                    record.custody = CustodyState {
                        custody,
                        since: event.at,
                        event: event.seq,
                    };
                }
                record.flags.copies = Some(Copies {
                    at: event.at,
                    event: event.seq,
                    genuine,
                });
            }
            Outcome::Applied
        }
        // The caller replays the history without the corrected event.
        Action::Correct { .. } => Outcome::Applied,
        Action::Decommission { .. } => {
            if record.custody.custody.is_terminal() {
                return Outcome::Repeated;
            }
            move_to(record, Custody::Voided, event);
            Outcome::Applied
        }
        _ if event.basis == Basis::Legacy => apply_legacy(record, event, action),
        _ => {
            let current = &record.custody;
            let relation =
                custody::relation(&current.custody, &record.manufacturer, &event.actor, action);
            let with = current.event;
            match custody::decide(
                &current.custody,
                relation,
                &event.actor,
                action,
                event.basis,
            ) {
                Decision::Apply(next) => {
                    move_to(record, next, event);
                    Outcome::Applied
                }
                Decision::Repeat => Outcome::Repeated,
                Decision::Evidence(kind) => {
                    add_evidence(record, event, kind);
                    Outcome::Conflict { kind, with }
                }
                Decision::Claim(kind) => {
                    record.flags.claims = record.flags.claims.saturating_add(1);
                    Outcome::Claim { kind, with }
                }
                Decision::Refuse(kind) => {
                    record.flags.claims = record.flags.claims.saturating_add(1);
                    Outcome::Refused { kind, with }
                }
            }
        }
    }
}

/// A version 1 event: its stored outcome stands, whatever today's rules would say.
fn apply_legacy(record: &mut CodeRecord, event: &Event, action: &Action) -> Outcome {
    match event.outcome {
        Outcome::Applied => {
            let actor = event.actor.clone();
            let next = match action {
                Action::Ship { to } => Custody::InTransit {
                    from: actor,
                    to: to.clone(),
                },
                Action::Receive | Action::Remove { .. } => Custody::Held { by: actor },
                Action::Install { vin } => Custody::Installed {
                    vin: *vin,
                    by: actor,
                },
                Action::Destroy { .. } => Custody::Destroyed,
                _ => return event.outcome,
            };
            move_to(record, next, event);
        }
        Outcome::Conflict { kind, .. } => add_evidence(record, event, kind),
        _ => {}
    }
    event.outcome
}

fn move_to(record: &mut CodeRecord, custody: Custody, event: &Event) {
    record.custody = CustodyState {
        custody,
        since: event.at,
        event: event.seq,
    };
}

fn add_evidence(record: &mut CodeRecord, event: &Event, kind: custody::ConflictKind) {
    let evidence = Evidence {
        kind,
        event: event.seq,
        with: record.custody.event,
        at: event.at,
        since: record.custody.since,
    };
    let flags = &mut record.flags;
    if flags.duplicate.len() < MAX_EVIDENCE {
        flags.duplicate.push(evidence);
    }
    flags.conflicts = flags.conflicts.saturating_add(1);
}

/// Where the genuine part is, as the manufacturer's counterfeit resolution names it: `None` to
/// leave custody as it is (it already is there, or nothing is known).
pub(crate) fn genuine_custody(
    current: &Custody,
    genuine: &GenuineCopy,
    prior: &[Event],
) -> Option<Custody> {
    match genuine {
        GenuineCopy::Unknown => None,
        GenuineCopy::Vehicle(vin) => {
            if matches!(current, Custody::Installed { vin: v, .. } if v == vin) {
                return None;
            }
            prior.iter().rev().find_map(|e| match &e.what {
                What::Action(Action::Install { vin: v }) if v == vin && !e.outcome.is_claim() => {
                    Some(Custody::Installed {
                        vin: *vin,
                        by: e.actor.clone(),
                    })
                }
                _ => None,
            })
        }
        GenuineCopy::Holder(party) => {
            let holds = match current {
                Custody::Held { by } | Custody::Installed { by, .. } => by == party,
                _ => false,
            };
            if holds {
                return None;
            }
            prior.iter().rev().find_map(|e| {
                if &e.actor != party || e.outcome.is_claim() {
                    return None;
                }
                match &e.what {
                    What::Action(Action::Receive | Action::Remove { .. }) => {
                        Some(Custody::Held { by: party.clone() })
                    }
                    What::Action(Action::Install { vin }) => Some(Custody::Installed {
                        vin: *vin,
                        by: party.clone(),
                    }),
                    _ => None,
                }
            })
        }
    }
}

/// Whether a counterfeit resolution can name `genuine`: a vehicle or party the code's history
/// (or its custody) records it with.
pub(crate) fn genuine_is_known(current: &Custody, genuine: &GenuineCopy, prior: &[Event]) -> bool {
    match genuine {
        GenuineCopy::Unknown => true,
        GenuineCopy::Vehicle(vin) => {
            matches!(current, Custody::Installed { vin: v, .. } if v == vin)
                || genuine_custody(current, genuine, prior).is_some()
        }
        GenuineCopy::Holder(party) => {
            matches!(current, Custody::Held { by } | Custody::Installed { by, .. } if by == party)
                || genuine_custody(current, genuine, prior).is_some()
        }
    }
}

/// The record as its history makes it, leaving out the `corrected` events (and the corrections
/// themselves), with the outcome each event gets (`None` for those left out). The scan anomaly is
/// kept as `record` has it: public scans are not events.
pub(crate) fn replay(
    record: &CodeRecord,
    events: &[Event],
    corrected: &HashSet<u32>,
) -> (CodeRecord, Vec<Option<Outcome>>) {
    let mut state = record.clone();
    state.custody = CustodyState {
        custody: Custody::AtManufacturer,
        since: record.registered_at,
        event: 0,
    };
    state.flags = Flags {
        scan_anomaly: record.flags.scan_anomaly.clone(),
        ..Flags::default()
    };
    // A version 1 correction undid custody and recall only; the evidence stayed.
    let evidence_kept: HashSet<u32> = events
        .iter()
        .filter(|e| e.basis == Basis::Legacy)
        .filter_map(|e| match &e.what {
            What::Action(Action::Correct { corrects, .. }) => Some(*corrects),
            _ => None,
        })
        .collect();
    let mut outcomes = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        if corrected.contains(&event.seq) {
            if let (true, Outcome::Conflict { kind, .. }) =
                (evidence_kept.contains(&event.seq), event.outcome)
            {
                add_evidence(&mut state, event, kind);
            }
            outcomes.push(None);
            continue;
        }
        outcomes.push(Some(apply(&mut state, event, &events[..i])));
    }
    (state, outcomes)
}

/// The sequence numbers the history's corrections retract.
pub(crate) fn corrected(events: &[Event]) -> HashSet<u32> {
    events
        .iter()
        .filter_map(|e| match &e.what {
            What::Action(Action::Correct { corrects, .. }) => Some(*corrects),
            _ => None,
        })
        .collect()
}
