//! Custody events as parties submit them: checked, judged on the code's record under the code's
//! lock ([`crate::rules`] says how one event changes a record), stored durably, and answered.

use signer::Timestamp;

use super::corrections::{check_correction, corrected_record};
use super::{MAX_CONFLICTS, Registry, RegistryError, Result};
use crate::custody::Custody;
use crate::event::{Action, Basis, Event, MAX_TEXT_LEN, Outcome, Resolution, What};
use crate::key::CodeKey;
use crate::notices::{Notice, NoticeKind};
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::rules;
use crate::store::StoreError;

/// What recording an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub event: Event,
    /// The code's record after the event.
    pub record: CodeRecord,
    /// For a conflict, claim or refusal: what it means, in words a shop understands.
    pub explanation: Option<String>,
    /// Something the party should know although the event was recorded (a recalled part).
    pub warning: Option<String>,
}

/// An event as a party submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub action: Action,
    /// Whether the party scanned the label (its signature compared with the registered one) or
    /// typed the numbers.
    pub basis: Basis,
    /// Install a recalled part anyway (the shop's explicit choice, recorded with the event).
    pub recall_override: bool,
    /// The party confirmed a VIN whose check digit does not verify against the registration
    /// certificate (recorded with the event); required to install into such a VIN.
    pub vin_confirmed: bool,
}

impl Submission {
    pub fn scanned(action: Action) -> Self {
        Submission {
            action,
            basis: Basis::Scanned,
            recall_override: false,
            vin_confirmed: false,
        }
    }

    pub fn typed(action: Action) -> Self {
        Submission {
            action,
            basis: Basis::Typed,
            recall_override: false,
            vin_confirmed: false,
        }
    }
}

impl Registry {
    /// Records `action` by `actor` with the label scanned: [`Registry::submit`] with
    /// [`Submission::scanned`].
    pub fn record(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        action: Action,
        now: Timestamp,
    ) -> Result<Recorded> {
        self.submit(key, actor, Submission::scanned(action), now)
    }

    /// Records an event by `actor` on a code, and returns once it is durable.
    ///
    /// Custody moves are judged by [`custody::decide`](crate::custody::decide) (see `docs/custody-rules.md`): applied,
    /// repeated, recorded as evidence (the code is flagged `duplicate_suspected`), kept as a claim,
    /// or refused and kept as a claim ([`Outcome::Refused`]; the caller answers `not_holder`).
    /// Refused with nothing stored: an unregistered code, a manufacturer-only action by another
    /// party, an invalid correction or resolution, an install of a recalled part without
    /// override, text over [`MAX_TEXT_LEN`] bytes.
    pub fn submit(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        submission: Submission,
        now: Timestamp,
    ) -> Result<Recorded> {
        let Submission {
            action,
            basis,
            recall_override,
            vin_confirmed,
        } = submission;
        if let Action::Install { vin } = &action {
            // A VIN that does not verify is taken only as a person's confirmed reading of the
            // registration certificate, never as a typing error slipped through.
            if !vin.check_digit_verifies() && !vin_confirmed {
                return Err(RegistryError::InvalidInput(format!(
                    "the check digit (character 9) of VIN {vin} does not verify: compare it with \
                     the vehicle's registration certificate and confirm it"
                )));
            }
        }
        if basis == Basis::Legacy {
            // Legacy events keep the outcome stored with them; a new one has none to keep.
            return Err(RegistryError::InvalidInput(
                "a new event is scanned or typed".into(),
            ));
        }
        if let Some(text) = action.text() {
            if text.len() > MAX_TEXT_LEN {
                return Err(RegistryError::InvalidInput(format!(
                    "the {} text is {} bytes; at most {MAX_TEXT_LEN} are kept",
                    action.step().as_str(),
                    text.len()
                )));
            }
        }
        let recorded = {
            let _gate = self.write_gate();
            let _code = self.stripe(key);
            let mut conflicts = 0;
            loop {
                match self.try_submit(
                    key,
                    actor,
                    &action,
                    basis,
                    recall_override,
                    vin_confirmed,
                    now,
                ) {
                    // Another replica wrote the code since it was read: judge again on what it wrote.
                    Err(RegistryError::Store(StoreError::Conflict))
                        if conflicts < MAX_CONFLICTS =>
                    {
                        conflicts += 1;
                    }
                    result => break result?,
                }
            }
        };
        self.store.durable()?;
        match recorded.event.outcome {
            Outcome::Conflict { kind, .. } => {
                tracing::warn!(code = %key, conflict = kind.code(), "duplicate suspected")
            }
            Outcome::Refused { kind, .. } => {
                tracing::info!(code = %key, party = %actor, kind = kind.code(), "refused: not the holder")
            }
            _ => {}
        }
        Ok(recorded)
    }

    /// One attempt of [`Registry::submit`] on the code's record as stored now, under the code's
    /// lock.
    #[allow(clippy::too_many_arguments)]
    fn try_submit(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        action: &Action,
        basis: Basis,
        recall_override: bool,
        vin_confirmed: bool,
        now: Timestamp,
    ) -> Result<Recorded> {
        let before = self
            .store
            .code(key)?
            .ok_or_else(|| RegistryError::NotRegistered(key.clone()))?;
        let mut event = Event {
            seq: before.events,
            prev: before.head,
            at: now,
            actor: actor.clone(),
            basis,
            recall_override,
            // Recorded only where it means something: a VIN that does not verify.
            vin_confirmed: vin_confirmed
                && matches!(action, Action::Install { vin } if !vin.check_digit_verifies()),
            what: What::Action(action.clone()),
            outcome: Outcome::Applied,
        };
        let (mut after, warning) = self.judge(key, &before, &mut event)?;
        after.events = before.events + 1;
        after.head = event.hash(key);
        let notices = notices_of(key, &before, &event);
        self.store
            .update_code(key, Some(&event), &notices, &before, &after)?;
        let explanation = match event.outcome {
            Outcome::Conflict { kind, .. }
            | Outcome::Claim { kind, .. }
            | Outcome::Refused { kind, .. } => Some(kind.explain(before.custody.since, event.at)),
            _ => None,
        };
        Ok(Recorded {
            event,
            record: after,
            explanation,
            warning,
        })
    }

    /// Works out the record after `event` and sets its outcome; refuses what must not be stored.
    /// Returns the record and a warning for the party (a recalled part received).
    fn judge(
        &self,
        key: &CodeKey,
        before: &CodeRecord,
        event: &mut Event,
    ) -> Result<(CodeRecord, Option<String>)> {
        let What::Action(action) = &event.what else {
            return Err(RegistryError::InvalidInput(
                "registration is not a custody event".into(),
            ));
        };
        let actor = &event.actor;
        let manufacturer_only = matches!(
            action,
            Action::Decommission { .. } | Action::Recall { .. } | Action::Resolve { .. }
        );
        if manufacturer_only && actor != &before.manufacturer {
            return Err(RegistryError::NotAllowed(format!(
                "only the code's manufacturer may record {}",
                action.step().as_str()
            )));
        }
        let mut after = before.clone();
        match action {
            Action::Correct { corrects, .. } => {
                let events = self.events(key, before)?;
                check_correction(&events, *corrects, actor, event.at, &self.config)?;
                after = corrected_record(before, &events, *corrects)?;
                event.outcome = Outcome::Applied;
                return Ok((after, None));
            }
            Action::Resolve {
                resolution,
                genuine,
                note,
            } => {
                if note.trim().is_empty() {
                    return Err(RegistryError::InvalidInput(
                        "a resolution needs a note saying what the investigation found".into(),
                    ));
                }
                let events = match (resolution, genuine) {
                    (Resolution::Genuine, Some(_)) => {
                        return Err(RegistryError::InvalidInput(
                            "a genuine resolution (a false alarm) names no genuine copy".into(),
                        ));
                    }
                    (Resolution::Counterfeit, None) => {
                        return Err(RegistryError::InvalidInput(
                            "a counterfeit resolution must say which copy is genuine: a vehicle, \
                             a holder, or that none is known"
                                .into(),
                        ));
                    }
                    (Resolution::Counterfeit, Some(g)) => {
                        let events = self.events(key, before)?;
                        if !rules::genuine_is_known(&before.custody.custody, g, &events) {
                            return Err(RegistryError::InvalidInput(
                                "the history of this code records no such vehicle or holder; \
                                 name one its events record, or that none is known"
                                    .into(),
                            ));
                        }
                        events
                    }
                    (Resolution::Genuine, None) => Vec::new(),
                };
                event.outcome = rules::apply(&mut after, event, &events);
                // Ending an alert ends its scan anomaly too; a later anomaly raises a new one.
                after.flags.scan_anomaly = None;
                return Ok((after, None));
            }
            _ => {}
        }
        event.outcome = rules::apply(&mut after, event, &[]);
        let recall = self.recall_reason(key, before)?;
        let mut warning = None;
        if let (Some(reason), Outcome::Applied) = (recall, event.outcome) {
            match action {
                Action::Install { .. } if !event.recall_override => {
                    return Err(RegistryError::Recalled(reason));
                }
                Action::Install { .. } | Action::Receive => {
                    warning = Some(format!("this part is recalled: {reason}"));
                }
                _ => {}
            }
        }
        Ok((after, warning))
    }
}

/// Who must hear of an applied event that moved a part away from them: the installer of a part
/// another shop removed; the addressee and sender of a shipment another business received.
fn notices_of(key: &CodeKey, before: &CodeRecord, event: &Event) -> Vec<Notice> {
    if event.outcome != Outcome::Applied {
        return Vec::new();
    }
    let notice = |party: &PartyId, kind| Notice {
        party: party.clone(),
        key: key.clone(),
        seq: event.seq,
        at: event.at,
        actor: event.actor.clone(),
        kind,
    };
    let actor = &event.actor;
    match (&event.what, &before.custody.custody) {
        (What::Action(Action::Remove { .. }), Custody::Installed { by, .. }) if by != actor => {
            vec![notice(by, NoticeKind::RemovedByAnotherShop)]
        }
        (What::Action(Action::Receive), Custody::InTransit { from, to })
            if to != actor && from != actor =>
        {
            vec![
                notice(to, NoticeKind::ReceivedElsewhere),
                notice(from, NoticeKind::ReceivedElsewhere),
            ]
        }
        _ => Vec::new(),
    }
}
