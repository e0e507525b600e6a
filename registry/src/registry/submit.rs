//! Custody events as parties submit them: checked, judged on the code's record under the code's
//! lock ([`crate::rules`] says how one event changes a record), stored durably, and answered.

use signer::{DigitalLink, PartId, Timestamp};

use super::corrections::{AlsoChanged, check_correction, corrected_record};
use super::labels::ScannedLabel;
use super::{MAX_CONFLICTS, Registry, RegistryError, Result, corrupt};
use crate::custody::Custody;
use crate::error::{NotAllowed, ResolutionError, TextField};
use crate::event::{Action, Basis, Event, Outcome, Resolution, What};
use crate::key::CodeKey;
use crate::notices::{Notice, NoticeKind};
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::rules;
use crate::store::{CodeUpdate, StoreError};

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
    /// For a correction: the author's own later events whose outcome it changed.
    pub also_changed: Vec<AlsoChanged>,
}

/// What judging a submission works out besides the event and the record: the parts of
/// [`Recorded`] for the party.
struct Judged {
    explanation: Option<String>,
    warning: Option<String>,
    also_changed: Vec<AlsoChanged>,
}

/// An event as a party submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub action: Action,
    /// What the party presented to name the code: the registry compares a scanned label with the
    /// registered one and records how the code was named.
    pub presented: Presented,
    /// Install a recalled part anyway (the shop's explicit choice, recorded with the event).
    pub recall_override: bool,
    /// The party confirmed a VIN whose check digit does not verify against the registration
    /// certificate (recorded with the event); required to install into such a VIN.
    pub vin_confirmed: bool,
}

/// What a party presented to name the code of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presented {
    /// The label it scanned. It must be the label registered for the code (compared with the
    /// record the submission is judged on, under the code's lock), or the submission is refused
    /// ([`RegistryError::LabelMismatch`]) and nothing is stored. Recorded as [`Basis::Scanned`].
    Label(DigitalLink),
    /// The GTIN and serial, typed: they prove nothing physical. Recorded as [`Basis::Typed`].
    Typed,
    /// No label: the manufacturer's own act on its code (decommissioning, recalling, resolving)
    /// or an author's correction of its own event, made through its account with no part in hand.
    /// Recorded as [`Basis::Typed`], the code named by its numbers: no label was compared, and the
    /// rules never weigh how such an act named the code. A custody move needs a label or numbers
    /// ([`RegistryError::LabelNeeded`]).
    NoLabel,
}

impl Submission {
    /// `action` with the label the party scanned.
    pub fn scanned(action: Action, label: DigitalLink) -> Self {
        Self::presenting(action, Presented::Label(label))
    }

    /// `action` on a code the party named by typing its numbers.
    pub fn typed(action: Action) -> Self {
        Self::presenting(action, Presented::Typed)
    }

    /// The manufacturer's own act on its code, or an author's correction: no label in hand.
    pub fn without_label(action: Action) -> Self {
        Self::presenting(action, Presented::NoLabel)
    }

    fn presenting(action: Action, presented: Presented) -> Self {
        Submission {
            action,
            presented,
            recall_override: false,
            vin_confirmed: false,
        }
    }

    /// How the event records the code was named, once what was presented passed the checks.
    fn basis(&self) -> Basis {
        match self.presented {
            Presented::Label(_) => Basis::Scanned,
            Presented::Typed | Presented::NoLabel => Basis::Typed,
        }
    }
}

impl Registry {
    /// Records `action` by `actor` as a scan of the code's registered label: what a genuine
    /// part's label shows (a clone's too). A convenience for tests and examples; the service's
    /// handlers submit what the party actually presented with [`Registry::submit`].
    pub fn record_genuine_scan(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        action: Action,
        now: Timestamp,
    ) -> Result<Recorded> {
        let Some(status) = self.status(key)? else {
            return Err(RegistryError::NotRegistered(key.clone()));
        };
        let record = status.record;
        let label = DigitalLink {
            base: None,
            part: PartId {
                gtin: key.gtin().map_err(corrupt)?,
                lot: record.lot.clone(),
                serial: key.serial().map_err(corrupt)?,
            },
            key_id: Some(record.key_id),
            signature: Some(record.signature),
        };
        self.submit(key, actor, Submission::scanned(action, label), now)
    }

    /// Records an event by `actor` on a code, and returns once it is durable.
    ///
    /// Custody moves are judged by [`custody::decide`](crate::custody::decide) (see
    /// `docs/custody-rules.md`): applied, repeated, recorded as evidence (the code is flagged
    /// `duplicate_suspected`), kept as a claim, or refused and kept as a claim
    /// ([`Outcome::Refused`]; the caller answers `not_holder`). Refused with nothing stored, in
    /// this order: an unregistered code, a scanned label that is not the registered one, a
    /// shipment to a party the registry does not know, a custody move without a label or
    /// numbers, an install into a VIN whose check digit does not verify unless confirmed, text
    /// out of its bounds ([`TextField`]), a manufacturer-only action by another party, an
    /// invalid correction or resolution, an install of a recalled part without override.
    pub fn submit(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        submission: Submission,
        now: Timestamp,
    ) -> Result<Recorded> {
        let recorded = {
            let _gate = self.write_gate();
            let _code = self.stripe(key);
            let mut conflicts = 0;
            loop {
                // After a lost round, judged with the code held: judged on a record read again,
                // it would reach the code after the other replica's next write (judged on what
                // that replica holds in memory) and could lose every round.
                let held = conflicts > 0;
                match self.try_submit(key, actor, &submission, now, held) {
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
    /// lock; `held`: with the code held in the store from the read to the write.
    fn try_submit(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        submission: &Submission,
        now: Timestamp,
        held: bool,
    ) -> Result<Recorded> {
        let not_registered = || RegistryError::NotRegistered(key.clone());
        let update = if held {
            self.store
                .update_code_held(key, |before| {
                    self.judge_submission(key, actor, submission, now, before)
                })?
                .ok_or_else(not_registered)?
        } else {
            let before = self.store.code(key)?.ok_or_else(not_registered)?;
            let update = self.judge_submission(key, actor, submission, now, &before)?;
            self.store.update_code(
                key,
                Some(&update.event),
                &update.notices,
                &before,
                &update.after,
            )?;
            update
        };
        let Judged {
            explanation,
            warning,
            also_changed,
        } = update.also;
        Ok(Recorded {
            event: update.event,
            record: update.after,
            explanation,
            warning,
            also_changed,
        })
    }

    /// Judges a submission on the code's record `before`: the event, its notices and the record
    /// after it, or why nothing is stored.
    fn judge_submission(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        submission: &Submission,
        now: Timestamp,
        before: &CodeRecord,
    ) -> Result<CodeUpdate<Judged>> {
        // Compared with the record this attempt judges and conditionally replaces: a record that
        // changed since is read and compared again, never a stale one.
        if let Presented::Label(label) = &submission.presented {
            if !ScannedLabel::from(label).is_label_of(key, before) {
                return Err(RegistryError::LabelMismatch(key.clone()));
            }
        }
        // After the label: a request wrong in several ways is answered for the worst first, as
        // the API always answered it (a forged label before an unknown recipient).
        self.check_submission(submission)?;
        let action = &submission.action;
        let mut event = Event {
            seq: before.events,
            prev: before.head,
            at: now,
            actor: actor.clone(),
            basis: submission.basis(),
            recall_override: submission.recall_override,
            // Recorded only where it means something: a VIN that does not verify.
            vin_confirmed: submission.vin_confirmed
                && matches!(action, Action::Install { vin } if !vin.check_digit_verifies()),
            carton: None,
            what: What::Action(action.clone()),
            outcome: Outcome::Applied,
        };
        let (mut after, warning, also_changed) = self.judge(key, before, action, &mut event)?;
        after.events = before.events + 1;
        after.head = event.hash(key);
        let notices = notices_of(key, before, &event);
        let explanation = match event.outcome {
            Outcome::Conflict { kind, .. }
            | Outcome::Claim { kind, .. }
            | Outcome::Refused { kind, .. } => Some(kind.explain(before.custody.since, event.at)),
            _ => None,
        };
        Ok(CodeUpdate {
            event,
            notices,
            after,
            also: Judged {
                explanation,
                warning,
                also_changed,
            },
        })
    }

    /// What must hold of a submission whatever the code's history: the recipient of a shipment is
    /// a party the registry knows, a custody move names the code by a label or numbers, a VIN
    /// that does not verify was confirmed, texts fit.
    pub(super) fn check_submission(&self, submission: &Submission) -> Result<()> {
        let action = &submission.action;
        if let Action::Ship { to } = action {
            if self.store.party(to)?.is_none() {
                return Err(RegistryError::UnknownRecipient(to.clone()));
            }
        }
        let act_on_record = matches!(
            action,
            Action::Decommission { .. }
                | Action::Recall { .. }
                | Action::Resolve { .. }
                | Action::Correct { .. }
        );
        if submission.presented == Presented::NoLabel && !act_on_record {
            return Err(RegistryError::LabelNeeded(action.step()));
        }
        if let Action::Install { vin } = action {
            // A VIN that does not verify is taken only as a person's confirmed reading of the
            // registration certificate, never as a typing error slipped through.
            if !vin.check_digit_verifies() && !submission.vin_confirmed {
                return Err(RegistryError::VinNotConfirmed(*vin));
            }
        }
        if let Some(text) = action.text() {
            TextField::Step(action.step()).check(text)?;
        }
        Ok(())
    }

    /// Works out the record after `event` and sets its outcome; refuses what must not be stored.
    /// Returns the record, a warning for the party (a recalled part received) and, for a
    /// correction, the party's own later events whose outcome it changed.
    /// `event` is `action`'s, which the caller passes apart so the event can be changed.
    pub(super) fn judge(
        &self,
        key: &CodeKey,
        before: &CodeRecord,
        action: &Action,
        event: &mut Event,
    ) -> Result<(CodeRecord, Option<String>, Vec<AlsoChanged>)> {
        let actor = &event.actor;
        let manufacturer_only = matches!(
            action,
            Action::Decommission { .. } | Action::Recall { .. } | Action::Resolve { .. }
        );
        if manufacturer_only && actor != &before.manufacturer {
            return Err(NotAllowed::ManufacturerOnly(action.step()).into());
        }
        let mut after = before.clone();
        match action {
            Action::Correct { corrects, .. } => {
                let events = self.events(key, before)?;
                check_correction(&events, *corrects, actor, event.at, &self.config)?;
                let (after, also_changed) = corrected_record(before, &events, *corrects)?;
                event.outcome = Outcome::Applied;
                return Ok((after, None, also_changed));
            }
            Action::Resolve {
                resolution,
                genuine,
                note,
            } => {
                if note.trim().is_empty() {
                    return Err(ResolutionError::NoNote.into());
                }
                let events = match (resolution, genuine) {
                    (Resolution::Genuine, Some(_)) => {
                        return Err(ResolutionError::GenuineNamesACopy.into());
                    }
                    (Resolution::Counterfeit, None) => {
                        return Err(ResolutionError::NoGenuineCopy.into());
                    }
                    (Resolution::Counterfeit, Some(g)) => {
                        let events = self.events(key, before)?;
                        if !rules::genuine_is_known(&before.custody.custody, g, &events) {
                            return Err(ResolutionError::GenuineCopyUnknown.into());
                        }
                        events
                    }
                    (Resolution::Genuine, None) => Vec::new(),
                };
                event.outcome = rules::apply(&mut after, event, &events);
                // Ending an alert ends its scan anomaly too; a later anomaly raises a new one.
                after.flags.scan_anomaly = None;
                return Ok((after, None, Vec::new()));
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
        Ok((after, warning, Vec::new()))
    }
}

/// Who must hear of an applied event that moved a part away from them: the installer of a part
/// another shop removed; the addressee and sender of a shipment another business received.
pub(super) fn notices_of(key: &CodeKey, before: &CodeRecord, event: &Event) -> Vec<Notice> {
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
