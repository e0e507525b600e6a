//! Custody events: what happened to a code, who said so, when, and how each event chains to the one
//! before it.
//!
//! Events are named after GS1 CBV business steps. Every event carries the hash of the code's previous
//! event, so a code's history is a hash chain: editing, removing or reordering any stored event breaks
//! it, and `audit` finds the break. Nothing is ever edited or deleted; a mistake is corrected by a new
//! event that points at the one it corrects, as EPCIS error declarations do.

use sha2::{Digest, Sha256};
use signer::wire::{Reader, WireError, Writer};
use signer::{KeyId, Lot, Signature, Sscc, Timestamp};

use crate::custody::ConflictKind;
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::vin::Vin;

/// SHA-256 of an event, linking it to the next.
pub type Hash = [u8; 32];

/// The `prev` of a code's first event.
pub const GENESIS: Hash = [0; 32];

const EVENT_DOMAIN: &[u8] = b"partseal-event-v1\0";
/// Version 2 records how the actor named the code ([`Basis`]), a recall override, whether a VIN
/// that does not verify was confirmed (a flag byte after the override's), the VIN a removal names, the genuine copy a counterfeit resolution names, and claims. Version 1 events
/// (recorded before the rules told scans from typed numbers) still decode, re-encode to the same
/// bytes (their hashes hold) and keep the outcome they were given.
const EVENT_VERSION: u8 = 2;
const EVENT_VERSION_1: u8 = 1;
/// Version 3 is version 2 with the carton the event came through (its SSCC, after the VIN
/// confirmation byte): written only for such events, so every version 2 event keeps its bytes.
const EVENT_VERSION_3: u8 = 3;

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

/// How the acting party named the code: a scanned label proves the party saw a label (the signed
/// code, compared with the registered signature); typed numbers prove nothing physical, since
/// anyone can copy them from a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Basis {
    Scanned,
    /// The numbers typed; or no label at all, for the manufacturer's own acts on its code
    /// (decommissioning, recalling, resolving) and an author's correction, made through its
    /// account ([`crate::Presented::NoLabel`]); or a carton's label, which names the code only
    /// through the packing record ([`Event::carton`]): either way no part's label was compared.
    Typed,
    /// Recorded before the rules told the two apart: the event keeps the outcome it was given.
    Legacy,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Scanned => "scanned",
            Basis::Typed => "typed",
            Basis::Legacy => "legacy",
        }
    }
}

/// Which copy of a cloned label the manufacturer found genuine when it resolved the alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenuineCopy {
    /// The part recorded in this vehicle is the genuine one.
    Vehicle(Vin),
    /// The part this party holds (or recorded) is the genuine one.
    Holder(PartyId),
    /// Every copy seen is a copy, or the genuine part could not be told apart.
    Unknown,
}

/// How the manufacturer settled a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Investigated: the part here is genuine (e.g. a mistyped scan); the flags are cleared.
    Genuine,
    /// Investigated: copies of the label exist. The alert ends, and the code's verdict warns of
    /// copies for good; the resolution names the genuine copy, if known.
    Counterfeit,
}

impl Resolution {
    pub const ALL: [Resolution; 2] = [Resolution::Genuine, Resolution::Counterfeit];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Genuine => "genuine",
            Resolution::Counterfeit => "counterfeit",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Resolution::ALL.into_iter().find(|r| r.as_str() == s)
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
    /// The acting shop takes the part out of the vehicle it is installed in. A shop other than the
    /// installer must name that vehicle (it has the car in its workshop).
    Remove { vin: Option<Vin> },
    /// The manufacturer voids the code (misprinted or withdrawn label).
    Decommission { reason: String },
    /// The part is destroyed (scrapped).
    Destroy { reason: String },
    /// The manufacturer recalls the part.
    Recall { reason: String },
    /// The acting party declares its own earlier event (by sequence number) erroneous.
    Correct { corrects: u32, reason: String },
    /// The manufacturer settles the code's flags. `genuine` is required for a counterfeit
    /// resolution and absent for a genuine one.
    Resolve {
        resolution: Resolution,
        genuine: Option<GenuineCopy>,
        note: String,
    },
}

impl Action {
    pub fn step(&self) -> Step {
        match self {
            Action::Ship { .. } => Step::Shipping,
            Action::Receive => Step::Receiving,
            Action::Install { .. } => Step::Installing,
            Action::Remove { .. } => Step::Removing,
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
    /// The event is impossible for one physical part given event `with`, and the label was scanned:
    /// recorded as evidence of a duplicate, custody unchanged, the code flagged.
    Conflict { kind: ConflictKind, with: u32 },
    /// The same, with typed numbers only, which anyone can copy: kept and shown to the
    /// manufacturer, no effect on custody or on what scans say.
    Claim { kind: ConflictKind, with: u32 },
    /// A ship, remove or destroy by a party that does not hold the part: refused (the caller is
    /// told `not_holder`) and kept as a claim for the manufacturer.
    Refused { kind: ConflictKind, with: u32 },
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Repeated => "repeated",
            Outcome::Conflict { .. } => "conflict",
            Outcome::Claim { .. } => "claim",
            Outcome::Refused { .. } => "refused",
        }
    }

    /// Claims and refusals: kept for the manufacturer, without effect.
    pub fn is_claim(self) -> bool {
        matches!(self, Outcome::Claim { .. } | Outcome::Refused { .. })
    }
}

/// One stored event. `seq` 0 is the commissioning; each later event's `prev` is the hash of the
/// event before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: u32,
    pub prev: Hash,
    pub at: Timestamp,
    pub actor: PartyId,
    /// How the actor named the code.
    pub basis: Basis,
    /// An install of a recalled part the shop chose to go ahead with.
    pub recall_override: bool,
    /// The event's VIN does not verify (position 9 is no check digit, as on many European
    /// vehicles) and the party confirmed it against the registration certificate.
    pub vin_confirmed: bool,
    /// The carton this event came through: a carton's shipping or receiving, recorded on each code
    /// in it, by the carton's number and the event's actor.
    pub carton: Option<Sscc>,
    pub what: What,
    pub outcome: Outcome,
}

impl Event {
    pub fn step(&self) -> Step {
        self.what.step()
    }

    /// Whether anyone holding the label may see this event opened (in a public receipt): custody
    /// the registry applied, which the owner's page already tells, and no vehicle, which the page
    /// confirms to whoever types its VIN but never shows. Claims, refusals and conflicts name
    /// other parties and stay with the maker.
    pub fn opens_to_label_holders(&self) -> bool {
        let names_vehicle = matches!(
            &self.what,
            What::Action(
                Action::Install { .. }
                    | Action::Remove { vin: Some(_) }
                    | Action::Resolve {
                        genuine: Some(GenuineCopy::Vehicle(_)),
                        ..
                    }
            )
        );
        matches!(self.outcome, Outcome::Applied | Outcome::Repeated) && !names_vehicle
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

    /// The compact, versioned encoding events are stored in (and hashed over). A legacy event is
    /// written exactly as version 1 wrote it, so its hash, and the chain after it, hold.
    pub fn encode(&self) -> Vec<u8> {
        let legacy = self.basis == Basis::Legacy;
        let mut w = Writer::new();
        w.u8(match (legacy, &self.carton) {
            (true, _) => EVENT_VERSION_1,
            (false, None) => EVENT_VERSION,
            (false, Some(_)) => EVENT_VERSION_3,
        })
        .bytes(&self.seq.to_be_bytes())
        .bytes(&self.prev)
        .i64(self.at.0)
        .str8(self.actor.as_str());
        if !legacy {
            w.u8(match self.basis {
                Basis::Typed => 1,
                _ => 0,
            })
            .u8(u8::from(self.recall_override))
            .u8(u8::from(self.vin_confirmed));
            if let Some(carton) = &self.carton {
                w.bytes(carton.as_str().as_bytes());
            }
        }
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
                    Action::Receive => {}
                    Action::Remove { vin } => {
                        if !legacy {
                            write_opt_vin(&mut w, vin.as_ref());
                        }
                    }
                    Action::Decommission { reason }
                    | Action::Destroy { reason }
                    | Action::Recall { reason } => {
                        w.str16(reason);
                    }
                    Action::Correct { corrects, reason } => {
                        w.bytes(&corrects.to_be_bytes()).str16(reason);
                    }
                    Action::Resolve {
                        resolution,
                        genuine,
                        note,
                    } => {
                        w.u8(match resolution {
                            Resolution::Genuine => 0,
                            Resolution::Counterfeit => 1,
                        });
                        if !legacy {
                            match genuine {
                                None => w.u8(0),
                                Some(GenuineCopy::Unknown) => w.u8(1),
                                Some(GenuineCopy::Vehicle(vin)) => w.u8(2).bytes(vin.as_bytes()),
                                Some(GenuineCopy::Holder(p)) => w.u8(3).str8(p.as_str()),
                            };
                        }
                        w.str16(note);
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
            Outcome::Claim { kind, with } => {
                w.u8(3).u8(kind.tag()).bytes(&with.to_be_bytes());
            }
            Outcome::Refused { kind, with } => {
                w.u8(4).u8(kind.tag()).bytes(&with.to_be_bytes());
            }
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Event, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.version(
            "event version",
            &[EVENT_VERSION, EVENT_VERSION_1, EVENT_VERSION_3],
        )?;
        let legacy = version == EVENT_VERSION_1;
        let seq = u32::from_be_bytes(r.array()?);
        let prev = r.array()?;
        let at = Timestamp(r.i64()?);
        let actor = PartyId::read(&mut r)?;
        let (basis, recall_override, vin_confirmed) = if legacy {
            (Basis::Legacy, false, false)
        } else {
            let basis = match r.u8()? {
                0 => Basis::Scanned,
                1 => Basis::Typed,
                other => return Err(r.invalid("basis", format!("unknown {other}"))),
            };
            let recall_override = match r.u8()? {
                0 => false,
                1 => true,
                other => return Err(r.invalid("recall override", format!("unknown {other}"))),
            };
            let vin_confirmed = match r.u8()? {
                0 => false,
                1 => true,
                other => return Err(r.invalid("VIN confirmed", format!("unknown {other}"))),
            };
            (basis, recall_override, vin_confirmed)
        };
        let carton = if version == EVENT_VERSION_3 {
            let bytes: [u8; Sscc::LEN] = r.array()?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Some(Sscc::parse(&text).map_err(|e| r.invalid("carton", e.to_string()))?)
        } else {
            None
        };
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
                Step::Installing => Action::Install {
                    vin: read_vin(&mut r)?,
                },
                Step::Removing => Action::Remove {
                    vin: if legacy { None } else { read_opt_vin(&mut r)? },
                },
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
                    let genuine = if legacy {
                        None
                    } else {
                        match r.u8()? {
                            0 => None,
                            1 => Some(GenuineCopy::Unknown),
                            2 => Some(GenuineCopy::Vehicle(read_vin(&mut r)?)),
                            3 => Some(GenuineCopy::Holder(PartyId::read(&mut r)?)),
                            other => {
                                return Err(r.invalid("genuine copy", format!("unknown {other}")));
                            }
                        }
                    };
                    Action::Resolve {
                        resolution,
                        genuine,
                        note: r.str16("note")?.to_owned(),
                    }
                }
                Step::Commissioning => unreachable_step(&r)?,
            })
        };
        let kind_with = |r: &mut Reader<'_>| -> Result<(ConflictKind, u32), WireError> {
            let tag = r.u8()?;
            let kind = ConflictKind::from_tag(tag)
                .ok_or_else(|| r.invalid("conflict kind", format!("unknown {tag}")))?;
            Ok((kind, u32::from_be_bytes(r.array()?)))
        };
        let outcome = match r.u8()? {
            0 => Outcome::Applied,
            1 => Outcome::Repeated,
            2 => {
                let (kind, with) = kind_with(&mut r)?;
                Outcome::Conflict { kind, with }
            }
            3 if !legacy => {
                let (kind, with) = kind_with(&mut r)?;
                Outcome::Claim { kind, with }
            }
            4 if !legacy => {
                let (kind, with) = kind_with(&mut r)?;
                Outcome::Refused { kind, with }
            }
            other => return Err(r.invalid("outcome", format!("unknown {other}"))),
        };
        r.finish()?;
        Ok(Event {
            seq,
            prev,
            at,
            actor,
            basis,
            recall_override,
            vin_confirmed,
            carton,
            what,
            outcome,
        })
    }
}

fn read_vin(r: &mut Reader<'_>) -> Result<Vin, WireError> {
    let bytes: [u8; 17] = r.array()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // Checked when it was recorded; a confirmed VIN's check digit need not verify.
    Vin::parse_confirmed(&text).map_err(|e| r.invalid("VIN", e.to_string()))
}

fn write_opt_vin(w: &mut Writer, vin: Option<&Vin>) {
    match vin {
        None => w.u8(0),
        Some(vin) => w.u8(1).bytes(vin.as_bytes()),
    };
}

fn read_opt_vin(r: &mut Reader<'_>) -> Result<Option<Vin>, WireError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(read_vin(r)?)),
        other => Err(r.invalid("VIN", format!("unknown presence tag {other}"))),
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

    fn key() -> CodeKey {
        crate::key::tests::code("X7K2P9QD4M")
    }

    fn sample_events() -> Vec<Event> {
        let actor = PartyId::parse("shop-1").unwrap();
        let base = |seq, what, outcome| Event {
            seq,
            prev: [seq as u8; 32],
            at: Timestamp(1_790_000_000 + i64::from(seq)),
            actor: actor.clone(),
            basis: if seq % 2 == 0 {
                Basis::Scanned
            } else {
                Basis::Typed
            },
            recall_override: seq == 3,
            vin_confirmed: seq == 4,
            carton: None,
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
            base(
                4,
                What::Action(Action::Remove {
                    vin: Some(Vin::parse("1M8GDM9AXKP042788").unwrap()),
                }),
                Outcome::Applied,
            ),
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
                    genuine: Some(GenuineCopy::Holder(PartyId::parse("shop-2").unwrap())),
                    note: "假货".into(),
                }),
                Outcome::Applied,
            ),
            base(
                8,
                What::Action(Action::Destroy {
                    reason: "not mine".into(),
                }),
                Outcome::Refused {
                    kind: ConflictKind::HeldByAnother,
                    with: 4,
                },
            ),
            base(
                9,
                What::Action(Action::Receive),
                Outcome::Claim {
                    kind: ConflictKind::StillInstalled,
                    with: 4,
                },
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
    fn an_event_through_a_carton_is_version_3_and_others_keep_version_2_bytes() {
        let plain = sample_events()[2].clone();
        let plain_bytes = plain.encode();
        assert_eq!(plain_bytes[0], EVENT_VERSION);
        let sscc = Sscc::parse("106141412345678908").unwrap();
        let through = Event {
            carton: Some(sscc),
            ..plain.clone()
        };
        let bytes = through.encode();
        assert_eq!(bytes[0], EVENT_VERSION_3);
        assert_eq!(Event::decode(&bytes).unwrap(), through);
        // The carton's 18 digits follow the version 2 flags; nothing else moves.
        assert_eq!(bytes.len(), plain_bytes.len() + Sscc::LEN);
        assert_ne!(through.hash(&key()), plain.hash(&key()));
        // A damaged carton number is an error, not a panic or another carton.
        let at = bytes
            .windows(Sscc::LEN)
            .position(|w| w == sscc.as_str().as_bytes())
            .unwrap();
        let mut bad = bytes.clone();
        bad[at + 17] = b'9';
        assert!(Event::decode(&bad).is_err());
    }

    #[test]
    fn encoding_round_trips() {
        for event in sample_events() {
            assert_eq!(Event::decode(&event.encode()).unwrap(), event);
        }
    }

    #[test]
    fn a_confirmed_vin_round_trips_with_its_flag_beside_the_recall_override() {
        let event = Event {
            vin_confirmed: true,
            what: What::Action(Action::Install {
                vin: Vin::parse_confirmed("WVWZZZ1JZXW000001").unwrap(),
            }),
            ..sample_events()[2].clone()
        };
        let bytes = event.encode();
        assert_eq!(Event::decode(&bytes).unwrap(), event);
        // Version, seq, prev, time, actor (length and "shop-1"), basis, override, then the flag.
        let flag = 1 + 4 + 32 + 8 + 1 + 6 + 2;
        assert_eq!((bytes[flag - 1], bytes[flag]), (0, 1));
        let unconfirmed = Event {
            vin_confirmed: false,
            ..event.clone()
        };
        assert_eq!(unconfirmed.encode()[flag], 0);
        assert_ne!(unconfirmed.hash(&key()), event.hash(&key()));
        let mut bad = bytes;
        bad[flag] = 2;
        assert!(Event::decode(&bad).is_err());
    }

    #[test]
    fn version_1_events_decode_as_legacy_and_re_encode_to_the_same_bytes() {
        // A version 1 removal and resolution, byte for byte as the first encoding wrote them.
        let mut removal = vec![1];
        removal.extend_from_slice(&4u32.to_be_bytes());
        removal.extend_from_slice(&[4; 32]);
        removal.extend_from_slice(&1_790_000_004i64.to_be_bytes());
        removal.push(6);
        removal.extend_from_slice(b"shop-1");
        removal.push(step_tag(Step::Removing));
        removal.push(0);
        let event = Event::decode(&removal).unwrap();
        assert_eq!(event.basis, Basis::Legacy);
        assert_eq!(event.what, What::Action(Action::Remove { vin: None }));
        assert_eq!(event.encode(), removal);

        let mut resolution = removal[..removal.len() - 2].to_vec();
        resolution.push(step_tag(Step::Resolving));
        resolution.push(1);
        resolution.extend_from_slice(&3u16.to_be_bytes());
        resolution.extend_from_slice(b"bad");
        resolution.push(0);
        let event = Event::decode(&resolution).unwrap();
        assert!(matches!(
            &event.what,
            What::Action(Action::Resolve { resolution: Resolution::Counterfeit, genuine: None, note })
                if note == "bad"
        ));
        assert_eq!(event.encode(), resolution);
        // Claims did not exist in version 1.
        let mut claim = removal.clone();
        *claim.last_mut().unwrap() = 3;
        assert!(Event::decode(&claim).is_err());
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
