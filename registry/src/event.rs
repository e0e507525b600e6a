//! Custody events: what happened to a code, who said so, when, and how each event chains to the one
//! before it.
//!
//! Events are named after GS1 CBV business steps. Every event carries the hash of the code's previous
//! event, so a code's history is a hash chain: editing, removing or reordering any stored event breaks
//! it, and `audit` finds the break. Nothing is ever edited or deleted; a mistake is corrected by a new
//! event that points at the one it corrects, as EPCIS error declarations do.

use sha2::{Digest, Sha256};
use signer::wire::{Reader, WireError, Writer};
use signer::{KeyId, Lot, Signature, Timestamp};

use crate::custody::ConflictKind;
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::vin::Vin;

/// SHA-256 of an event, linking it to the next.
pub type Hash = [u8; 32];

/// The `prev` of a code's first event.
pub const GENESIS: Hash = [0; 32];

const EVENT_DOMAIN: &[u8] = b"partseal-event-v1\0";
const EVENT_VERSION: u8 = 1;

/// Longest free-text reason or note, in bytes.
pub const MAX_TEXT_LEN: usize = 500;

/// The business step, with its GS1 CBV name where one fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Commissioning,
    Shipping,
    Receiving,
    Installing,
    Removing,
    Decommissioning,
    Destroying,
    Recalling,
    /// A correction of an earlier event (an EPCIS error declaration).
    Correcting,
    /// The code's manufacturer settles a flag after investigating (partseal's own step).
    Resolving,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::Commissioning,
        Step::Shipping,
        Step::Receiving,
        Step::Installing,
        Step::Removing,
        Step::Decommissioning,
        Step::Destroying,
        Step::Recalling,
        Step::Correcting,
        Step::Resolving,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Commissioning => "commissioning",
            Step::Shipping => "shipping",
            Step::Receiving => "receiving",
            Step::Installing => "installing",
            Step::Removing => "removing",
            Step::Decommissioning => "decommissioning",
            Step::Destroying => "destroying",
            Step::Recalling => "recalling",
            Step::Correcting => "correcting",
            Step::Resolving => "resolving",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.as_str() == s)
    }
}

/// How the manufacturer settled a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Investigated: the part here is genuine (e.g. a mistyped scan); the flags are cleared.
    Genuine,
    /// Investigated: a counterfeit carries this code; the flags are cleared and the finding recorded.
    Counterfeit,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Genuine => "genuine",
            Resolution::Counterfeit => "counterfeit",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Resolution::Genuine, Resolution::Counterfeit]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// What a party asks the registry to record about a code. Registration is the commissioning event
/// and goes through [`crate::Registry::register`] instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The holder sends the part to another party.
    Ship { to: PartyId },
    /// The part arrives at the acting party.
    Receive,
    /// The acting shop fits the part to a vehicle.
    Install { vin: Vin },
    /// The acting shop takes the part out of the vehicle it is installed in.
    Remove,
    /// The manufacturer voids the code (misprinted or withdrawn label).
    Decommission { reason: String },
    /// The part is destroyed (scrapped).
    Destroy { reason: String },
    /// The manufacturer recalls the part.
    Recall { reason: String },
    /// The acting party declares its own earlier event (by sequence number) erroneous.
    Correct { corrects: u32, reason: String },
    /// The manufacturer settles the code's flags.
    Resolve {
        resolution: Resolution,
        note: String,
    },
}

impl Action {
    pub fn step(&self) -> Step {
        match self {
            Action::Ship { .. } => Step::Shipping,
            Action::Receive => Step::Receiving,
            Action::Install { .. } => Step::Installing,
            Action::Remove => Step::Removing,
            Action::Decommission { .. } => Step::Decommissioning,
            Action::Destroy { .. } => Step::Destroying,
            Action::Recall { .. } => Step::Recalling,
            Action::Correct { .. } => Step::Correcting,
            Action::Resolve { .. } => Step::Resolving,
        }
    }

    /// The free text the action carries, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Action::Decommission { reason }
            | Action::Destroy { reason }
            | Action::Recall { reason }
            | Action::Correct { reason, .. } => Some(reason),
            Action::Resolve { note, .. } => Some(note),
            _ => None,
        }
    }
}

/// The commissioning event's details: what the manufacturer registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commissioned {
    pub lot: Option<Lot>,
    pub key_id: KeyId,
    pub signature: Signature,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    Commissioned(Commissioned),
    Action(Action),
}

impl What {
    pub fn step(&self) -> Step {
        match self {
            What::Commissioned(_) => Step::Commissioning,
            What::Action(a) => a.step(),
        }
    }
}

/// What the registry concluded when it recorded the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The event changed the code's custody (or its flags) as it asked to.
    Applied,
    /// The event repeats the current custody (a second intake scan): recorded, nothing changes.
    Repeated,
    /// The event is impossible for one physical part given event `with`: recorded as evidence of a
    /// duplicate, custody unchanged, the code flagged.
    Conflict { kind: ConflictKind, with: u32 },
}

/// One stored event. `seq` 0 is the commissioning; each later event's `prev` is the hash of the
/// event before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: u32,
    pub prev: Hash,
    pub at: Timestamp,
    pub actor: PartyId,
    pub what: What,
    pub outcome: Outcome,
}

impl Event {
    pub fn step(&self) -> Step {
        self.what.step()
    }

    /// The hash the next event of this code must carry as `prev`.
    pub fn hash(&self, key: &CodeKey) -> Hash {
        Sha256::new()
            .chain_update(EVENT_DOMAIN)
            .chain_update((key.as_bytes().len() as u32).to_be_bytes())
            .chain_update(key.as_bytes())
            .chain_update(self.encode())
            .finalize()
            .into()
    }

    /// The compact, versioned encoding events are stored in (and hashed over).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(EVENT_VERSION)
            .bytes(&self.seq.to_be_bytes())
            .bytes(&self.prev)
            .i64(self.at.0)
            .str8(self.actor.as_str());
        match &self.what {
            What::Commissioned(c) => {
                w.u8(0)
                    .str8(c.lot.as_ref().map_or("", |l| l.as_str()))
                    .bytes(&c.key_id.0)
                    .bytes(&c.signature.to_bytes());
            }
            What::Action(action) => {
                w.u8(step_tag(action.step()));
                match action {
                    Action::Ship { to } => {
                        w.str8(to.as_str());
                    }
                    Action::Install { vin } => {
                        w.bytes(vin.as_bytes());
                    }
                    Action::Receive | Action::Remove => {}
                    Action::Decommission { reason }
                    | Action::Destroy { reason }
                    | Action::Recall { reason } => {
                        w.str16(reason);
                    }
                    Action::Correct { corrects, reason } => {
                        w.bytes(&corrects.to_be_bytes()).str16(reason);
                    }
                    Action::Resolve { resolution, note } => {
                        w.u8(match resolution {
                            Resolution::Genuine => 0,
                            Resolution::Counterfeit => 1,
                        })
                        .str16(note);
                    }
                }
            }
        }
        match self.outcome {
            Outcome::Applied => {
                w.u8(0);
            }
            Outcome::Repeated => {
                w.u8(1);
            }
            Outcome::Conflict { kind, with } => {
                w.u8(2).u8(kind.tag()).bytes(&with.to_be_bytes());
            }
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Event, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != EVENT_VERSION {
            return Err(r.invalid("event version", format!("unknown version {version}")));
        }
        let seq = u32::from_be_bytes(r.array()?);
        let prev = r.array()?;
        let at = Timestamp(r.i64()?);
        let actor = PartyId::read(&mut r)?;
        let tag = r.u8()?;
        let what = if tag == 0 {
            let lot = r.str8("lot")?;
            let lot = match lot {
                "" => None,
                text => Some(Lot::parse(text).map_err(|e| r.invalid("lot", e.to_string()))?),
            };
            let key_id = KeyId(r.array()?);
            let signature = Signature::from_bytes(&r.array()?);
            What::Commissioned(Commissioned {
                lot,
                key_id,
                signature,
            })
        } else {
            let step = Step::ALL
                .get(usize::from(tag))
                .copied()
                .ok_or_else(|| r.invalid("event step", format!("unknown step {tag}")))?;
            What::Action(match step {
                Step::Shipping => Action::Ship {
                    to: PartyId::read(&mut r)?,
                },
                Step::Receiving => Action::Receive,
                Step::Installing => {
                    let bytes: [u8; 17] = r.array()?;
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let vin = Vin::parse(&text).map_err(|e| r.invalid("VIN", e.to_string()))?;
                    Action::Install { vin }
                }
                Step::Removing => Action::Remove,
                Step::Decommissioning => Action::Decommission {
                    reason: r.str16("reason")?.to_owned(),
                },
                Step::Destroying => Action::Destroy {
                    reason: r.str16("reason")?.to_owned(),
                },
                Step::Recalling => Action::Recall {
                    reason: r.str16("reason")?.to_owned(),
                },
                Step::Correcting => Action::Correct {
                    corrects: u32::from_be_bytes(r.array()?),
                    reason: r.str16("reason")?.to_owned(),
                },
                Step::Resolving => {
                    let resolution = match r.u8()? {
                        0 => Resolution::Genuine,
                        1 => Resolution::Counterfeit,
                        other => {
                            return Err(r.invalid("resolution", format!("unknown {other}")));
                        }
                    };
                    Action::Resolve {
                        resolution,
                        note: r.str16("note")?.to_owned(),
                    }
                }
                Step::Commissioning => unreachable_step(&r)?,
            })
        };
        let outcome = match r.u8()? {
            0 => Outcome::Applied,
            1 => Outcome::Repeated,
            2 => {
                let tag = r.u8()?;
                let kind = ConflictKind::from_tag(tag)
                    .ok_or_else(|| r.invalid("conflict kind", format!("unknown {tag}")))?;
                Outcome::Conflict {
                    kind,
                    with: u32::from_be_bytes(r.array()?),
                }
            }
            other => return Err(r.invalid("outcome", format!("unknown {other}"))),
        };
        r.finish()?;
        Ok(Event {
            seq,
            prev,
            at,
            actor,
            what,
            outcome,
        })
    }
}

fn unreachable_step(r: &Reader<'_>) -> Result<Action, WireError> {
    Err(r.invalid("event step", "commissioning is tag 0"))
}

fn step_tag(step: Step) -> u8 {
    Step::ALL.iter().position(|s| *s == step).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use signer::{Gtin, Serial};

    fn key() -> CodeKey {
        CodeKey::new(
            &Gtin::parse("06901234567892").unwrap(),
            &Serial::parse("X7K2P9QD4M").unwrap(),
        )
    }

    fn sample_events() -> Vec<Event> {
        let actor = PartyId::parse("shop-1").unwrap();
        let base = |seq, what, outcome| Event {
            seq,
            prev: [seq as u8; 32],
            at: Timestamp(1_790_000_000 + i64::from(seq)),
            actor: actor.clone(),
            what,
            outcome,
        };
        vec![
            base(
                0,
                What::Commissioned(Commissioned {
                    lot: Some(Lot::parse("L2026A").unwrap()),
                    key_id: KeyId([7; 8]),
                    signature: Signature::from_bytes(&[9; 64]),
                }),
                Outcome::Applied,
            ),
            base(
                1,
                What::Action(Action::Ship {
                    to: PartyId::parse("dist").unwrap(),
                }),
                Outcome::Applied,
            ),
            base(2, What::Action(Action::Receive), Outcome::Repeated),
            base(
                3,
                What::Action(Action::Install {
                    vin: Vin::parse("1M8GDM9AXKP042788").unwrap(),
                }),
                Outcome::Conflict {
                    kind: ConflictKind::InstalledInAnotherVehicle,
                    with: 2,
                },
            ),
            base(4, What::Action(Action::Remove), Outcome::Applied),
            base(
                5,
                What::Action(Action::Correct {
                    corrects: 3,
                    reason: "wrong car".into(),
                }),
                Outcome::Applied,
            ),
            base(
                6,
                What::Action(Action::Resolve {
                    resolution: Resolution::Counterfeit,
                    note: "假货".into(),
                }),
                Outcome::Applied,
            ),
            base(
                7,
                What::Action(Action::Destroy {
                    reason: "scrapped".into(),
                }),
                Outcome::Applied,
            ),
        ]
    }

    #[test]
    fn encoding_round_trips() {
        for event in sample_events() {
            assert_eq!(Event::decode(&event.encode()).unwrap(), event);
        }
    }

    #[test]
    fn any_changed_byte_changes_the_hash_or_fails_to_decode() {
        let event = &sample_events()[3];
        let bytes = event.encode();
        let original = event.hash(&key());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            if let Ok(decoded) = Event::decode(&bad) {
                assert_ne!(decoded.hash(&key()), original, "byte {i}");
            }
        }
    }

    #[test]
    fn decoding_garbage_never_panics() {
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let _ = Event::decode(&bytes);
        }
    }
}
