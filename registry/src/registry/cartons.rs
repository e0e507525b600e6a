//! Cartons and pallets: packing codes and cartons into a carton, shipping and receiving it, and
//! unpacking it.
//!
//! A carton is data about its contents, not a new kind of part. Shipping or receiving one records,
//! on every code in it (nested cartons' included), the same event a single code's submission
//! would, judged by the same rules ([`Registry::judge`]) under every code's lock (taken in one
//! order), with the carton it came through; and the whole move is one atomic change
//! ([`Store::move_cartons`](crate::store::Store::move_cartons)): all its codes move or none do.
//!
//! A carton's label names its contents only through the packing record, so its events name each
//! code as typed numbers do ([`Basis::Typed`]): the addressee's receiving applies, anyone else's is
//! a claim per code, never evidence against a part. Receiving a carton is no proof that every
//! part in it is the labelled one: a part swapped out and scanned elsewhere by its own label is the
//! conflict that flags it, as for any part.
//!
//! Packing, shipping and unpacking are the holder's: only a party that holds every part inside
//! may do them, and a refusal stores nothing.
//!
//! A carton's receiving is undone whole ([`Registry::undo_carton_receiving`]): each code's
//! receiving corrected by the single code's correction rules, in one atomic change, or, if any
//! one is refused, none.

use std::collections::BTreeSet;
use std::sync::Arc;

use signer::{DigitalLink, Sscc, Timestamp};

use super::corrections::{check_correction, corrected_record};
use super::labels::ScannedLabel;
use super::submit::notices_of;
use super::{MAX_CONFLICTS, Registry, RegistryError, Result};
use crate::Submission;
use crate::carton::{Carton, MAX_CONTENTS, MAX_DEPTH, MAX_MOVED_CODES};
use crate::custody::{self, Relation};
use crate::error::{CartonError, TextField};
use crate::event::{Action, Basis, Event, Outcome, What};
use crate::key::CodeKey;
use crate::notices::Notice;
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::store::{CartonUpdate, InCarton, MovedCode, StoreError};

/// What a carton's shipping or receiving did to one code in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeMoved {
    pub key: CodeKey,
    pub event: Event,
    /// The code's record after the event.
    pub record: CodeRecord,
    /// For a claim: what it means, in words a business understands.
    pub explanation: Option<String>,
}

/// A carton and everything inside it, as stored now.
struct Contents {
    /// The carton first, then the cartons inside it, outermost first.
    cartons: Vec<(Sscc, Carton)>,
    /// Every code in any of them.
    codes: Vec<CodeKey>,
}

/// The codes and cartons named to take out of a carton; `None` takes out everything.
type Named<'a> = (&'a [CodeKey], &'a [Sscc]);

/// `named`, each of which must be packed directly in the carton `sscc` (in `packed`), once.
fn named_contents<T: Clone + PartialEq + std::fmt::Display>(
    sscc: &Sscc,
    named: &[T],
    packed: &[T],
    twice: impl Fn(T) -> CartonError,
) -> Result<Vec<T>> {
    let mut taken: Vec<T> = Vec::with_capacity(named.len());
    for item in named {
        if taken.contains(item) {
            return Err(twice(item.clone()).into());
        }
        if !packed.contains(item) {
            return Err(CartonError::NotInside {
                carton: *sscc,
                what: item.to_string(),
            }
            .into());
        }
        taken.push(item.clone());
    }
    Ok(taken)
}

impl Registry {
    /// A carton's packing record.
    pub fn carton(&self, sscc: &Sscc) -> Result<Option<Carton>> {
        Ok(self.store.carton(sscc)?)
    }

    /// The carton a code is packed in.
    pub fn carton_of(&self, key: &CodeKey) -> Result<Option<Sscc>> {
        Ok(self.store.carton_of(key)?)
    }

    /// Packs `codes` (each with the label scanned for it, or `None` for typed numbers) and the
    /// cartons `cartons` into the new carton `sscc`, by `actor`, who must hold every part they
    /// hold. A certified maker packs under its own company prefixes only. Returns the packing
    /// record once it is durable.
    pub fn pack_carton(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        codes: &[(CodeKey, Option<DigitalLink>)],
        cartons: &[Sscc],
        now: Timestamp,
    ) -> Result<Carton> {
        self.check_packing(actor, sscc, codes, cartons)?;
        let carton = Carton {
            packed_by: actor.clone(),
            packed_at: now,
            parent: None,
            codes: codes.iter().map(|(k, _)| k.clone()).collect(),
            cartons: cartons.to_vec(),
        };
        let mut conflicts = 0;
        loop {
            let inner = cartons
                .iter()
                .map(|c| self.contents(c))
                .collect::<Result<Vec<_>>>()?;
            let nested: Vec<&CodeKey> = inner.iter().flat_map(|c| &c.codes).collect();
            if codes.len() + nested.len() > MAX_MOVED_CODES {
                return Err(CartonError::TooLarge {
                    what: "codes",
                    found: codes.len() + nested.len(),
                    limit: MAX_MOVED_CODES,
                }
                .into());
            }
            let written = {
                let _gate = self.write_gate();
                let _codes =
                    self.stripes(codes.iter().map(|(k, _)| k).chain(nested.iter().copied()));
                self.try_pack(actor, sscc, &carton, codes, &inner)
            };
            match written {
                Err(RegistryError::Store(StoreError::Conflict)) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                }
                result => {
                    result?;
                    break;
                }
            }
        }
        self.store.durable()?;
        Ok(carton)
    }

    /// What must hold of a packing whatever is stored: contents, within the limits, each once, not
    /// the carton itself, and a certified maker's own prefix.
    fn check_packing(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        codes: &[(CodeKey, Option<DigitalLink>)],
        cartons: &[Sscc],
    ) -> Result<()> {
        if codes.is_empty() && cartons.is_empty() {
            return Err(CartonError::Empty(*sscc).into());
        }
        for (what, found) in [("codes", codes.len()), ("cartons", cartons.len())] {
            if found > MAX_CONTENTS {
                return Err(CartonError::TooLarge {
                    what,
                    found,
                    limit: MAX_CONTENTS,
                }
                .into());
            }
        }
        let mut seen = BTreeSet::new();
        for (key, _) in codes {
            if !seen.insert(key) {
                return Err(CartonError::CodeTwice(key.clone()).into());
            }
        }
        let mut seen = BTreeSet::new();
        for inner in cartons {
            if inner == sscc {
                return Err(CartonError::Cycle(*sscc).into());
            }
            if !seen.insert(inner) {
                return Err(CartonError::CartonTwice(*inner).into());
            }
        }
        let trust = self.trust();
        let mut own = trust
            .certificates()
            .iter()
            .filter(|c| c.body().manufacturer_id == actor.as_str())
            .peekable();
        let certified = own.peek().is_some();
        let covered = own.any(|c| c.body().prefixes.iter().any(|p| p.covers_sscc(sscc)));
        if certified && !covered {
            return Err(CartonError::NotTheirPrefix {
                sscc: *sscc,
                party: actor.clone(),
            }
            .into());
        }
        Ok(())
    }

    /// One attempt of a packing under the codes' locks.
    fn try_pack(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        carton: &Carton,
        codes: &[(CodeKey, Option<DigitalLink>)],
        inner: &[Contents],
    ) -> Result<()> {
        if self.store.carton(sscc)?.is_some() {
            return Err(CartonError::Exists(*sscc).into());
        }
        let mut held = Vec::new();
        for (key, label) in codes {
            let record = self
                .store
                .code(key)?
                .ok_or_else(|| RegistryError::NotRegistered(key.clone()))?;
            if let Some(label) = label {
                if !ScannedLabel::from(label).is_label_of(key, &record) {
                    return Err(RegistryError::LabelMismatch(key.clone()));
                }
            }
            if !holds(actor, &record) {
                return Err(CartonError::NotHolder(*sscc).into());
            }
            if self.store.carton_of(key)?.is_some() {
                return Err(CartonError::CodeAlreadyPacked(key.clone()).into());
            }
            held.push((key.clone(), record));
        }
        for contents in inner {
            let (inner_sscc, inner_carton) = &contents.cartons[0];
            if inner_carton.parent.is_some() {
                return Err(CartonError::CartonAlreadyPacked(*inner_sscc).into());
            }
            if depth(inner) + 1 > MAX_DEPTH {
                return Err(CartonError::TooDeep(MAX_DEPTH).into());
            }
            for key in &contents.codes {
                let record = self.store.code(key)?.ok_or_else(|| {
                    StoreError::corrupt(inner_sscc.to_string(), format!("holds unknown {key}"))
                })?;
                if !holds(actor, &record) {
                    return Err(CartonError::NotHolder(*inner_sscc).into());
                }
                held.push((key.clone(), record));
            }
        }
        // Every record as judged, unchanged: the move goes through only if none changed meanwhile.
        let updates: Vec<MovedCode<'_>> = held
            .iter()
            .map(|(key, record)| MovedCode {
                key,
                event: None,
                notices: &[],
                before: record,
                after: record,
            })
            .collect();
        let in_carton: Vec<InCarton<'_>> = codes
            .iter()
            .map(|(key, _)| InCarton {
                key,
                before: None,
                after: Some(sscc),
            })
            .collect();
        let reparented: Vec<(Sscc, Carton, Carton)> = inner
            .iter()
            .map(|contents| {
                let (inner_sscc, before) = contents.cartons[0].clone();
                let after = Carton {
                    parent: Some(*sscc),
                    ..before.clone()
                };
                (inner_sscc, before, after)
            })
            .collect();
        let mut cartons = vec![CartonUpdate {
            sscc,
            before: None,
            after: Some(carton),
        }];
        cartons.extend(reparented.iter().map(|(s, before, after)| CartonUpdate {
            sscc: s,
            before: Some(before),
            after: Some(after),
        }));
        Ok(self.store.move_cartons(&updates, &in_carton, &cartons)?)
    }

    /// Ships the carton `sscc` (and everything inside it) to `to`: every code's shipping, or, if
    /// `actor` does not hold every part inside, nothing ([`CartonError::NotHolder`]).
    pub fn ship_carton(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        to: &PartyId,
        now: Timestamp,
    ) -> Result<Vec<CodeMoved>> {
        self.move_carton(actor, sscc, Action::Ship { to: to.clone() }, now)
    }

    /// Receives the carton `sscc`: every code's receiving, each judged by its own rule (applied
    /// for the addressee, a claim for anyone else), all recorded together.
    pub fn receive_carton(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        now: Timestamp,
    ) -> Result<Vec<CodeMoved>> {
        self.move_carton(actor, sscc, Action::Receive, now)
    }

    fn move_carton(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        action: Action,
        now: Timestamp,
    ) -> Result<Vec<CodeMoved>> {
        self.check_submission(&Submission::typed(action.clone()))?;
        let mut conflicts = 0;
        let moved = loop {
            let contents = self.contents(sscc)?;
            if contents.cartons[0].1.parent.is_some() {
                return Err(CartonError::Nested(*sscc).into());
            }
            let attempt = {
                let _gate = self.write_gate();
                let _codes = self.stripes(&contents.codes);
                self.try_move(actor, sscc, &contents, &action, now)
            };
            match attempt {
                Err(RegistryError::Store(StoreError::Conflict)) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                }
                result => break result?,
            }
        };
        self.store.durable()?;
        Ok(moved)
    }

    /// One attempt of a carton move under the codes' locks.
    fn try_move(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        contents: &Contents,
        action: &Action,
        now: Timestamp,
    ) -> Result<Vec<CodeMoved>> {
        let mut judged: Vec<(Arc<CodeRecord>, CodeMoved, Vec<Notice>)> = Vec::new();
        for key in &contents.codes {
            let before = self.store.code(key)?.ok_or_else(|| {
                StoreError::corrupt(sscc.to_string(), format!("holds unknown {key}"))
            })?;
            let mut event = Event {
                seq: before.events,
                prev: before.head,
                at: now,
                actor: actor.clone(),
                basis: Basis::Typed,
                recall_override: false,
                vin_confirmed: false,
                carton: Some(*sscc),
                what: What::Action(action.clone()),
                outcome: Outcome::Applied,
            };
            let (mut after, _warning, _) = self.judge(key, &before, action, &mut event)?;
            if matches!(action, Action::Ship { .. }) && event.outcome != Outcome::Applied {
                return Err(CartonError::NotHolder(*sscc).into());
            }
            after.events = before.events + 1;
            after.head = event.hash(key);
            let notices = notices_of(key, &before, &event);
            let explanation = match event.outcome {
                Outcome::Conflict { kind, .. }
                | Outcome::Claim { kind, .. }
                | Outcome::Refused { kind, .. } => {
                    Some(kind.explain(before.custody.since, event.at))
                }
                _ => None,
            };
            judged.push((
                before,
                CodeMoved {
                    key: key.clone(),
                    event,
                    record: after,
                    explanation,
                },
                notices,
            ));
        }
        let updates: Vec<MovedCode<'_>> = judged
            .iter()
            .map(|(before, moved, notices)| MovedCode {
                key: &moved.key,
                event: Some(&moved.event),
                notices,
                before,
                after: &moved.record,
            })
            .collect();
        // The packing records as read: the move is refused whole if any changed meanwhile.
        let cartons: Vec<CartonUpdate<'_>> = contents
            .cartons
            .iter()
            .map(|(s, c)| CartonUpdate {
                sscc: s,
                before: Some(c),
                after: Some(c),
            })
            .collect();
        self.store.move_cartons(&updates, &[], &cartons)?;
        Ok(judged.into_iter().map(|(_, moved, _)| moved).collect())
    }

    /// Undoes what receiving the carton `sscc` recorded for `actor`: `received` names each code
    /// and the event number its receiving got (as [`Registry::receive_carton`] answered). Each
    /// is corrected as [`Registry::submit`] corrects one code's event (same author, within the
    /// window, no other party's later event standing on it), all in one atomic change; a
    /// refusal for any code ([`CartonError::UndoRefused`], naming it) refuses the whole undo and
    /// stores nothing. The corrections record the carton they undo.
    pub fn undo_carton_receiving(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        received: &[(CodeKey, u32)],
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<CodeMoved>> {
        if received.is_empty() {
            return Err(CartonError::Empty(*sscc).into());
        }
        if received.len() > MAX_MOVED_CODES {
            return Err(CartonError::TooLarge {
                what: "codes",
                found: received.len(),
                limit: MAX_MOVED_CODES,
            }
            .into());
        }
        let mut seen = BTreeSet::new();
        if let Some((key, _)) = received.iter().find(|(key, _)| !seen.insert(key)) {
            return Err(CartonError::CodeTwice(key.clone()).into());
        }
        TextField::Step(crate::event::Step::Correcting).check(reason)?;
        let mut conflicts = 0;
        let undone = loop {
            let attempt = {
                let _gate = self.write_gate();
                let _codes = self.stripes(received.iter().map(|(key, _)| key));
                self.try_undo_receiving(actor, sscc, received, reason, now)
            };
            match attempt {
                Err(RegistryError::Store(StoreError::Conflict)) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                }
                result => break result?,
            }
        };
        self.store.durable()?;
        Ok(undone)
    }

    /// One attempt of an undo of a carton's receiving under the codes' locks.
    fn try_undo_receiving(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        received: &[(CodeKey, u32)],
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<CodeMoved>> {
        let mut judged: Vec<(Arc<CodeRecord>, CodeMoved)> = Vec::new();
        for (key, seq) in received {
            let before = self
                .store
                .code(key)?
                .ok_or_else(|| RegistryError::NotRegistered(key.clone()))?;
            let events = self.events(key, &before)?;
            // Only this carton's receiving: the undo must not reach an event the station's row
            // did not record (a stale or altered list).
            let its_receiving = events.iter().any(|e| {
                e.seq == *seq && e.carton == Some(*sscc) && e.what == What::Action(Action::Receive)
            });
            if !its_receiving {
                return Err(CartonError::NotItsReceiving {
                    sscc: *sscc,
                    key: key.clone(),
                    event: *seq,
                }
                .into());
            }
            let refused = |why| CartonError::UndoRefused {
                sscc: *sscc,
                key: key.clone(),
                why: Box::new(why),
            };
            check_correction(&events, *seq, actor, now, &self.config).map_err(refused)?;
            let (mut after, _also_changed) =
                corrected_record(&before, &events, *seq).map_err(refused)?;
            let event = Event {
                seq: before.events,
                prev: before.head,
                at: now,
                actor: actor.clone(),
                basis: Basis::Typed,
                recall_override: false,
                vin_confirmed: false,
                carton: Some(*sscc),
                what: What::Action(Action::Correct {
                    corrects: *seq,
                    reason: reason.to_owned(),
                }),
                outcome: Outcome::Applied,
            };
            after.events = before.events + 1;
            after.head = event.hash(key);
            judged.push((
                before,
                CodeMoved {
                    key: key.clone(),
                    event,
                    record: after,
                    explanation: None,
                },
            ));
        }
        let updates: Vec<MovedCode<'_>> = judged
            .iter()
            .map(|(before, moved)| MovedCode {
                key: &moved.key,
                event: Some(&moved.event),
                notices: &[],
                before,
                after: &moved.record,
            })
            .collect();
        self.store.move_cartons(&updates, &[], &[])?;
        Ok(judged.into_iter().map(|(_, moved)| moved).collect())
    }

    /// Unpacks the carton `sscc`: its codes and cartons are in no carton any more, and its packing
    /// record is gone. Only a party holding every part inside may; a carton packed in another is
    /// unpacked from that one first.
    pub fn unpack_carton(&self, actor: &PartyId, sscc: &Sscc) -> Result<Carton> {
        self.unpack(actor, sscc, None)
    }

    /// Takes the named `codes` and `cartons` out of the carton `sscc`, which keeps the rest (and
    /// is gone once nothing is left), as a distributor takes a few parts out of a carton to ship
    /// them on their own. Each must be packed directly in it (`not_in_carton`, nothing changed);
    /// who may is as for [`Registry::unpack_carton`]. Returns what was taken out.
    pub fn unpack_from(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        codes: &[CodeKey],
        cartons: &[Sscc],
    ) -> Result<Carton> {
        self.unpack(actor, sscc, Some((codes, cartons)))
    }

    fn unpack(&self, actor: &PartyId, sscc: &Sscc, named: Option<Named<'_>>) -> Result<Carton> {
        let mut conflicts = 0;
        let unpacked = loop {
            let contents = self.contents(sscc)?;
            let attempt = {
                let _gate = self.write_gate();
                let _codes = self.stripes(&contents.codes);
                self.try_unpack(actor, sscc, &contents, named)
            };
            match attempt {
                Err(RegistryError::Store(StoreError::Conflict)) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                }
                result => break result?,
            }
        };
        self.store.durable()?;
        Ok(unpacked)
    }

    fn try_unpack(
        &self,
        actor: &PartyId,
        sscc: &Sscc,
        contents: &Contents,
        named: Option<Named<'_>>,
    ) -> Result<Carton> {
        let (_, carton) = &contents.cartons[0];
        if carton.parent.is_some() {
            return Err(CartonError::Nested(*sscc).into());
        }
        // Whoever holds the carton holds every part in it; nobody else learns what is inside.
        let mut held = Vec::new();
        for key in &contents.codes {
            let record = self.store.code(key)?.ok_or_else(|| {
                StoreError::corrupt(sscc.to_string(), format!("holds unknown {key}"))
            })?;
            if !holds(actor, &record) {
                return Err(CartonError::NotHolder(*sscc).into());
            }
            held.push((key.clone(), record));
        }
        let (taken, left) = match named {
            None => (
                Carton {
                    parent: None,
                    ..carton.clone()
                },
                None,
            ),
            Some((codes, cartons)) => {
                let taken = Carton {
                    parent: None,
                    codes: named_contents(sscc, codes, &carton.codes, CartonError::CodeTwice)?,
                    cartons: named_contents(sscc, cartons, &carton.cartons, |c| {
                        CartonError::CartonTwice(c)
                    })?,
                    ..carton.clone()
                };
                let left = Carton {
                    codes: carton
                        .codes
                        .iter()
                        .filter(|k| !taken.codes.contains(k))
                        .cloned()
                        .collect(),
                    cartons: carton
                        .cartons
                        .iter()
                        .filter(|c| !taken.cartons.contains(c))
                        .copied()
                        .collect(),
                    ..carton.clone()
                };
                (taken, Some(left).filter(|left| !left.is_empty()))
            }
        };
        let updates: Vec<MovedCode<'_>> = held
            .iter()
            .map(|(key, record)| MovedCode {
                key,
                event: None,
                notices: &[],
                before: record,
                after: record,
            })
            .collect();
        let out: Vec<InCarton<'_>> = taken
            .codes
            .iter()
            .map(|key| InCarton {
                key,
                before: Some(sscc),
                after: None,
            })
            .collect();
        let inner: Vec<(Sscc, Carton, Carton)> = contents
            .cartons
            .iter()
            .filter(|(s, _)| taken.cartons.contains(s))
            .map(|(s, c)| {
                let after = Carton {
                    parent: None,
                    ..c.clone()
                };
                (*s, c.clone(), after)
            })
            .collect();
        let mut cartons = vec![CartonUpdate {
            sscc,
            before: Some(carton),
            after: left.as_ref(),
        }];
        cartons.extend(inner.iter().map(|(s, before, after)| CartonUpdate {
            sscc: s,
            before: Some(before),
            after: Some(after),
        }));
        self.store.move_cartons(&updates, &out, &cartons)?;
        Ok(taken)
    }

    /// The carton `sscc` and everything inside it, as stored now, within the limits.
    fn contents(&self, sscc: &Sscc) -> Result<Contents> {
        let root = self
            .store
            .carton(sscc)?
            .ok_or(CartonError::Unknown(*sscc))?;
        let mut contents = Contents {
            cartons: vec![(*sscc, root)],
            codes: Vec::new(),
        };
        let mut level = vec![*sscc];
        for _ in 0..=MAX_DEPTH {
            let mut next = Vec::new();
            for s in &level {
                let carton = match contents.cartons.iter().find(|(c, _)| c == s) {
                    Some((_, carton)) => carton.clone(),
                    None => continue,
                };
                contents.codes.extend(carton.codes.iter().cloned());
                for inner in &carton.cartons {
                    let record = self.store.carton(inner)?.ok_or_else(|| {
                        StoreError::corrupt(s.to_string(), format!("holds unknown carton {inner}"))
                    })?;
                    contents.cartons.push((*inner, record));
                    next.push(*inner);
                }
            }
            if contents.codes.len() > MAX_MOVED_CODES {
                return Err(CartonError::TooLarge {
                    what: "codes",
                    found: contents.codes.len(),
                    limit: MAX_MOVED_CODES,
                }
                .into());
            }
            if next.is_empty() {
                return Ok(contents);
            }
            level = next;
        }
        Err(CartonError::TooDeep(MAX_DEPTH).into())
    }
}

/// Whether `actor` holds the part: the party it was last received by, or its maker before any
/// event.
fn holds(actor: &PartyId, record: &CodeRecord) -> bool {
    custody::relation(
        &record.custody.custody,
        &record.manufacturer,
        actor,
        &Action::Receive,
    ) == Relation::Holder
}

/// How many cartons deep `contents` nest, its own carton counted.
fn depth(contents: &[Contents]) -> usize {
    contents.iter().map(nesting).max().unwrap_or(0)
}

fn nesting(contents: &Contents) -> usize {
    // Each carton's parent is in the list before it: count the longest chain down from the first.
    let mut depths: Vec<(Sscc, usize)> = Vec::new();
    for (sscc, carton) in &contents.cartons {
        let d = carton
            .parent
            .and_then(|p| depths.iter().find(|(s, _)| *s == p).map(|(_, d)| d + 1))
            .unwrap_or(1);
        depths.push((*sscc, d));
    }
    depths.iter().map(|(_, d)| *d).max().unwrap_or(0)
}
