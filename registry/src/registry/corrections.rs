//! Corrections: an event's author declares it erroneous within the correction window, and the
//! record is recomputed from the history without it, unless another party's later event depends
//! on it.

use signer::Timestamp;

use super::RegistryConfig;
use crate::error::CorrectionError;
use crate::event::{Action, Event, Step, What};
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::rules;

pub(super) fn check_correction(
    events: &[Event],
    corrects: u32,
    actor: &PartyId,
    now: Timestamp,
    config: &RegistryConfig,
) -> Result<(), CorrectionError> {
    let Some(target) = events.iter().find(|e| e.seq == corrects) else {
        return Err(CorrectionError::NoSuchEvent(corrects));
    };
    if &target.actor != actor {
        return Err(CorrectionError::AnotherAuthor(corrects));
    }
    if matches!(
        target.what,
        What::Action(Action::Correct { .. } | Action::Resolve { .. })
    ) {
        return Err(CorrectionError::NotCorrectable {
            corrects,
            step: target.step(),
        });
    }
    let closed = target.at.plus_days(config.correction_window_days);
    if now > closed {
        return Err(CorrectionError::WindowClosed {
            corrects,
            days: config.correction_window_days,
            closed,
        });
    }
    let already = events.iter().any(
        |e| matches!(&e.what, What::Action(Action::Correct { corrects: c, .. }) if *c == corrects),
    );
    if already {
        return Err(CorrectionError::AlreadyCorrected(corrects));
    }
    Ok(())
}

/// A later event of the correction's own author whose outcome the correction changes (an install
/// that stood on the receive being undone): the author may change their own history, but is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlsoChanged {
    pub event: u32,
    pub step: Step,
    pub at: Timestamp,
}

/// The record as it would be had event `corrects` never happened, with the author's own later
/// events whose outcome that changes; unless an event of another party after it depends on it
/// (its outcome would change): then the correction is refused, naming that event.
pub(super) fn corrected_record(
    before: &CodeRecord,
    events: &[Event],
    corrects: u32,
) -> Result<(CodeRecord, Vec<AlsoChanged>), CorrectionError> {
    let mut retracted = rules::corrected(events);
    let (_, outcomes_now) = rules::replay(before, events, &retracted);
    retracted.insert(corrects);
    let (mut after, outcomes_then) = rules::replay(before, events, &retracted);
    let Some(author) = events.iter().find(|e| e.seq == corrects).map(|e| &e.actor) else {
        return Err(CorrectionError::NoSuchEvent(corrects));
    };
    let mut also_changed = Vec::new();
    for ((event, now), then) in events.iter().zip(&outcomes_now).zip(&outcomes_then) {
        if event.seq <= corrects || now == then {
            continue;
        }
        if &event.actor == author {
            also_changed.push(AlsoChanged {
                event: event.seq,
                step: event.step(),
                at: event.at,
            });
        } else {
            return Err(CorrectionError::DependedOn {
                corrects,
                event: event.seq,
                step: event.step(),
                at: event.at,
                then: *then,
            });
        }
    }
    after.flags.scan_anomaly = before.flags.scan_anomaly.clone();
    Ok((after, also_changed))
}
