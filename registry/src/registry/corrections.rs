//! Corrections: an event's author declares it erroneous within the correction window, and the
//! record is recomputed from the history without it, unless another party's later event depends
//! on it.

use signer::Timestamp;

use super::{RegistryConfig, RegistryError, Result};
use crate::event::{Action, Event, What};
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::rules;

pub(super) fn check_correction(
    events: &[Event],
    corrects: u32,
    actor: &PartyId,
    now: Timestamp,
    config: &RegistryConfig,
) -> Result<()> {
    let invalid = |why: String| Err(RegistryError::InvalidCorrection(why));
    let Some(target) = events.iter().find(|e| e.seq == corrects) else {
        return invalid(format!(
            "the code has no event {corrects} to correct (registration, event 0, cannot be corrected)"
        ));
    };
    if &target.actor != actor {
        return invalid(format!(
            "event {corrects} was recorded by another party; only its author may correct it"
        ));
    }
    if matches!(
        target.what,
        What::Action(Action::Correct { .. } | Action::Resolve { .. })
    ) {
        return invalid(format!(
            "event {corrects} is a {}, which cannot itself be corrected",
            target.step().as_str()
        ));
    }
    let deadline = target.at.plus_days(config.correction_window_days);
    if now > deadline {
        return invalid(format!(
            "event {corrects} is older than the {}-day correction window (it closed {deadline})",
            config.correction_window_days
        ));
    }
    let already = events.iter().any(
        |e| matches!(&e.what, What::Action(Action::Correct { corrects: c, .. }) if *c == corrects),
    );
    if already {
        return invalid(format!("event {corrects} has already been corrected"));
    }
    Ok(())
}

/// The record as it would be had event `corrects` never happened, unless an event of another
/// party after it depends on it (its outcome would change): then the correction is refused,
/// naming that event.
pub(super) fn corrected_record(
    before: &CodeRecord,
    events: &[Event],
    corrects: u32,
) -> Result<CodeRecord> {
    let mut retracted = rules::corrected(events);
    let (_, outcomes_now) = rules::replay(before, events, &retracted);
    retracted.insert(corrects);
    let (mut after, outcomes_then) = rules::replay(before, events, &retracted);
    let Some(author) = events.iter().find(|e| e.seq == corrects).map(|e| &e.actor) else {
        return Err(RegistryError::InvalidCorrection(format!(
            "the code has no event {corrects}"
        )));
    };
    for ((event, now), then) in events.iter().zip(&outcomes_now).zip(&outcomes_then) {
        if event.seq > corrects && &event.actor != author && now != then {
            return Err(RegistryError::InvalidCorrection(format!(
                "event {} ({}, {}) was recorded by another party after event {corrects} and \
                 depends on it: without event {corrects} it would be {}",
                event.seq,
                event.step().as_str(),
                event.at.date(),
                then.map_or("left out", |o| o.as_str()),
            )));
        }
    }
    after.flags.scan_anomaly = before.flags.scan_anomaly.clone();
    Ok(after)
}
