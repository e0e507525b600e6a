//! The per-code record: what was registered, where the part is, its flags, and the head of its hash
//! chain. One read of it answers a public scan.

use signer::wire::{Reader, WireError, Writer};
use signer::{KeyId, Lot, Signature, Timestamp};

use crate::custody::{ConflictKind, Custody, CustodyState};
use crate::event::{Basis, Commissioned, Event, GENESIS, GenuineCopy, Hash, Outcome, What};
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::vin::Vin;

/// Version 2 refers to the code's [`Batch`] by number; version 1 records, which hold the batch's
/// fields themselves, still decode.
const RECORD_VERSION: u8 = 2;
const RECORD_VERSION_1: u8 = 1;
/// A record whose code has no event beyond its registration: most codes, most of the time. Its
/// head, custody and flags follow from the registration, so they are not stored (72 bytes a code
/// instead of 150).
const SHAPE_FRESH: u8 = 0;
const SHAPE_FULL: u8 = 1;
/// A full record with the claims count and the known-copies finding after its flags.
const SHAPE_FULL_2: u8 = 2;

/// Evidence kept per code; beyond it only the count grows, so a record stays bounded under a flood
/// of conflicting scans.
pub const MAX_EVIDENCE: usize = 8;

/// Version 3 batches carry the part's name; version 2 batches (without one) still decode.
const BATCH_VERSION: u8 = 3;
const BATCH_VERSION_2: u8 = 2;
/// The longest part name kept, in bytes (a name is a short product name, "Front brake pad").
pub const MAX_NAME_LEN: usize = 200;

/// What the codes of one lot share: their manufacturer, the key that signed them, the lot and the
/// part's name. A store keeps each batch once and records refer to it by number, which saves about
/// 24 bytes a code (there are about as many batches as lots) and keeps the name out of every code's
/// record. The same maker, key and lot with another name is another batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Batch {
    pub manufacturer: PartyId,
    pub key_id: KeyId,
    pub lot: Option<Lot>,
    pub name: Option<String>,
}

impl Batch {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(BATCH_VERSION)
            .str8(self.lot.as_ref().map_or("", |l| l.as_str()))
            .bytes(&self.key_id.0)
            .str8(self.manufacturer.as_str())
            .str8(self.name.as_deref().unwrap_or(""));
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.version("batch version", &[BATCH_VERSION, BATCH_VERSION_2])?;
        let lot = read_lot(&mut r)?;
        let key_id = KeyId(r.array()?);
        let manufacturer = PartyId::read(&mut r)?;
        let name = if version == BATCH_VERSION {
            Some(r.str8("name")?.to_owned()).filter(|n| !n.is_empty())
        } else {
            None
        };
        r.finish()?;
        Ok(Batch {
            manufacturer,
            key_id,
            lot,
            name,
        })
    }
}

/// A manifest's part name as a batch keeps it: trimmed, at most [`MAX_NAME_LEN`] bytes (cut at a
/// character), none when empty.
pub fn part_name(name: Option<&str>) -> Option<String> {
    let name = name?.trim();
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Some(name[..end].trim_end().to_owned()).filter(|n| !n.is_empty())
}

fn read_lot(r: &mut Reader<'_>) -> Result<Option<Lot>, WireError> {
    Ok(match r.str8("lot")? {
        "" => None,
        text => Some(Lot::parse(text).map_err(|e| r.invalid("lot", e.to_string()))?),
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub lot: Option<Lot>,
    pub key_id: KeyId,
    pub signature: Signature,
    /// The manufacturer's party id (its certificate's `manufacturer_id`).
    pub manufacturer: PartyId,
    pub registered_at: Timestamp,
    /// Events in the chain, the commissioning included.
    pub events: u32,
    /// Hash of the last event.
    pub head: Hash,
    pub custody: CustodyState,
    pub flags: Flags,
    /// The part's name from the manifest, kept with the code's batch (not in its stored record).
    pub name: Option<String>,
}

/// One conflicting event, kept as evidence of a duplicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub kind: ConflictKind,
    /// The conflicting event.
    pub event: u32,
    /// The event that established the custody it contradicts.
    pub with: u32,
    /// When the conflicting event came in.
    pub at: Timestamp,
    /// When the contradicted custody began.
    pub since: Timestamp,
}

impl Evidence {
    pub fn explain(&self) -> String {
        self.kind.explain(self.since, self.at)
    }
}

/// The figures that made public scans look anomalous.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanAnomaly {
    pub at: Timestamp,
    /// Distinct scan contexts (networks) seen within the window.
    pub contexts: u32,
    pub window_hours: u32,
    pub threshold: u32,
}

impl ScanAnomaly {
    pub fn explain(&self) -> String {
        format!(
            "This code was scanned from {} different networks within {} hours (the alert \
             threshold for a part where this one is recorded is {}). One part is rarely scanned \
             from so many places: copies of its label may be in circulation. Scans alone never \
             prove a copy; the manufacturer has been alerted.",
            self.contexts, self.window_hours, self.threshold
        )
    }
}

/// The manufacturer's finding that copies of this code's label exist: kept for good, so every
/// later scan warns of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copies {
    pub at: Timestamp,
    /// The resolving event.
    pub event: u32,
    pub genuine: GenuineCopy,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Recalled by its manufacturer (this code alone; lot recalls are kept per lot).
    pub recalled: Option<(Timestamp, u32)>,
    /// Conflicting events since the last resolution; non-empty means `duplicate_suspected`.
    pub duplicate: Vec<Evidence>,
    /// How many conflicting events there were, including those beyond [`MAX_EVIDENCE`].
    pub conflicts: u32,
    pub scan_anomaly: Option<ScanAnomaly>,
    /// Claims and refused attempts recorded on the code (shown to its manufacturer only).
    pub claims: u32,
    /// Set when the manufacturer resolved an alert as counterfeit.
    pub copies: Option<Copies>,
}

impl Flags {
    pub fn is_clear(&self) -> bool {
        self == &Flags::default()
    }

    /// Does the code need its manufacturer's attention?
    pub fn alerting(&self) -> bool {
        !self.duplicate.is_empty() || self.scan_anomaly.is_some()
    }
}

impl CodeRecord {
    /// The bytes this record takes in memory, its strings and evidence included: what a memory
    /// budget holding decoded records counts.
    pub fn memory(&self) -> usize {
        fn party(p: &PartyId) -> usize {
            p.as_str().len()
        }
        let custody = match &self.custody.custody {
            Custody::Held { by } | Custody::Installed { by, .. } => party(by),
            Custody::InTransit { from, to } => party(from) + party(to),
            Custody::AtManufacturer | Custody::Destroyed | Custody::Voided => 0,
        };
        let copies = match self.flags.copies.as_ref().map(|c| &c.genuine) {
            Some(GenuineCopy::Holder(p)) => party(p),
            _ => 0,
        };
        std::mem::size_of::<Self>()
            + self.lot.as_ref().map_or(0, |l| l.as_str().len())
            + party(&self.manufacturer)
            + self.name.as_ref().map_or(0, String::len)
            + self.flags.duplicate.capacity() * std::mem::size_of::<Evidence>()
            + custody
            + copies
    }

    /// The record of a freshly registered code.
    pub fn registered(
        key: &CodeKey,
        commissioned: Commissioned,
        manufacturer: PartyId,
        at: Timestamp,
    ) -> Self {
        let mut record = Self::unhashed(commissioned, manufacturer, at);
        record.head = record.commissioning().hash(key);
        record
    }

    /// A freshly registered code's record with no head yet: [`Event::hash`] is most of what
    /// reading a record costs, so a record read whole from its bytes never computes it.
    fn unhashed(commissioned: Commissioned, manufacturer: PartyId, at: Timestamp) -> Self {
        CodeRecord {
            lot: commissioned.lot,
            key_id: commissioned.key_id,
            signature: commissioned.signature,
            manufacturer,
            registered_at: at,
            events: 1,
            head: GENESIS,
            custody: CustodyState {
                custody: Custody::AtManufacturer,
                since: at,
                event: 0,
            },
            flags: Flags::default(),
            name: None,
        }
    }

    /// Event 0, which the record itself holds.
    pub fn commissioning(&self) -> Event {
        Event {
            seq: 0,
            prev: GENESIS,
            at: self.registered_at,
            actor: self.manufacturer.clone(),
            basis: Basis::Legacy,
            recall_override: false,
            vin_confirmed: false,
            carton: None,
            what: What::Commissioned(Commissioned {
                lot: self.lot.clone(),
                key_id: self.key_id,
                signature: self.signature,
            }),
            outcome: Outcome::Applied,
        }
    }

    fn is_fresh(&self) -> bool {
        self.events == 1
            && self.flags.is_clear()
            && self.custody
                == CustodyState {
                    custody: Custody::AtManufacturer,
                    since: self.registered_at,
                    event: 0,
                }
    }

    /// What this code shares with the rest of its lot.
    pub fn batch(&self) -> Batch {
        Batch {
            manufacturer: self.manufacturer.clone(),
            key_id: self.key_id,
            lot: self.lot.clone(),
            name: self.name.clone(),
        }
    }

    /// The stored form, referring to the code's batch by the number its store gave it.
    pub fn encode(&self, batch: u32) -> Vec<u8> {
        let mut w = Writer::new();
        let fresh = self.is_fresh();
        w.u8(RECORD_VERSION)
            .u8(if fresh { SHAPE_FRESH } else { SHAPE_FULL_2 })
            .varint(u64::from(batch))
            .bytes(&self.signature.to_bytes())
            .varint_i64(self.registered_at.0);
        if fresh {
            return w.into_bytes();
        }
        w.bytes(&self.events.to_be_bytes()).bytes(&self.head);
        match &self.custody.custody {
            Custody::AtManufacturer => w.u8(0),
            Custody::Held { by } => w.u8(1).str8(by.as_str()),
            Custody::InTransit { from, to } => w.u8(2).str8(from.as_str()).str8(to.as_str()),
            Custody::Installed { vin, by } => w.u8(3).bytes(vin.as_bytes()).str8(by.as_str()),
            Custody::Destroyed => w.u8(4),
            Custody::Voided => w.u8(5),
        };
        w.i64(self.custody.since.0)
            .bytes(&self.custody.event.to_be_bytes());
        let flags = &self.flags;
        match flags.recalled {
            None => w.u8(0),
            Some((at, event)) => w.u8(1).i64(at.0).bytes(&event.to_be_bytes()),
        };
        w.bytes(&flags.conflicts.to_be_bytes())
            .u8(flags.duplicate.len() as u8);
        for e in &flags.duplicate {
            w.u8(e.kind.tag())
                .bytes(&e.event.to_be_bytes())
                .bytes(&e.with.to_be_bytes())
                .i64(e.at.0)
                .i64(e.since.0);
        }
        match &flags.scan_anomaly {
            None => w.u8(0),
            Some(a) => w
                .u8(1)
                .i64(a.at.0)
                .bytes(&a.contexts.to_be_bytes())
                .bytes(&a.window_hours.to_be_bytes())
                .bytes(&a.threshold.to_be_bytes()),
        };
        w.bytes(&flags.claims.to_be_bytes());
        match &flags.copies {
            None => w.u8(0),
            Some(c) => {
                w.u8(1).i64(c.at.0).bytes(&c.event.to_be_bytes());
                match &c.genuine {
                    GenuineCopy::Unknown => w.u8(0),
                    GenuineCopy::Vehicle(vin) => w.u8(1).bytes(vin.as_bytes()),
                    GenuineCopy::Holder(p) => w.u8(2).str8(p.as_str()),
                }
            }
        };
        w.into_bytes()
    }

    /// Decodes a stored record; `key` is needed to rebuild a fresh record's head, and `batch` gives
    /// the batch a record refers to by number.
    pub fn decode(
        key: &CodeKey,
        bytes: &[u8],
        batch: impl FnOnce(u32) -> Option<Batch>,
    ) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        let shape = r.u8()?;
        let (batch, signature, registered_at) = match version {
            RECORD_VERSION => {
                let number = u32::try_from(r.varint()?)
                    .map_err(|_| r.invalid("batch", "number out of range"))?;
                let batch = batch(number)
                    .ok_or_else(|| r.invalid("batch", format!("no batch number {number}")))?;
                let signature = Signature::from_bytes(&r.array()?);
                (batch, signature, Timestamp(r.varint_i64()?))
            }
            RECORD_VERSION_1 => {
                let lot = read_lot(&mut r)?;
                let key_id = KeyId(r.array()?);
                let signature = Signature::from_bytes(&r.array()?);
                let manufacturer = PartyId::read(&mut r)?;
                let batch = Batch {
                    manufacturer,
                    key_id,
                    lot,
                    name: None,
                };
                (batch, signature, Timestamp(r.i64()?))
            }
            other => {
                return Err(r.invalid("record version", format!("unknown version {other}")));
            }
        };
        let commissioned = Commissioned {
            lot: batch.lot,
            key_id: batch.key_id,
            signature,
        };
        let manufacturer = batch.manufacturer;
        let mut record = CodeRecord::unhashed(commissioned, manufacturer, registered_at);
        record.name = batch.name;
        match shape {
            // Only its commissioning event: its head is that event's hash, kept nowhere.
            SHAPE_FRESH => record.head = record.commissioning().hash(key),
            SHAPE_FULL | SHAPE_FULL_2 => {
                record.events = u32(&mut r)?;
                record.head = r.array()?;
                let custody = match r.u8()? {
                    0 => Custody::AtManufacturer,
                    1 => Custody::Held {
                        by: PartyId::read(&mut r)?,
                    },
                    2 => Custody::InTransit {
                        from: PartyId::read(&mut r)?,
                        to: PartyId::read(&mut r)?,
                    },
                    3 => {
                        let bytes: [u8; 17] = r.array()?;
                        let vin = Vin::parse_confirmed(&String::from_utf8_lossy(&bytes))
                            .map_err(|e| r.invalid("VIN", e.to_string()))?;
                        Custody::Installed {
                            vin,
                            by: PartyId::read(&mut r)?,
                        }
                    }
                    4 => Custody::Destroyed,
                    5 => Custody::Voided,
                    other => return Err(r.invalid("custody", format!("unknown {other}"))),
                };
                record.custody = CustodyState {
                    custody,
                    since: Timestamp(r.i64()?),
                    event: u32(&mut r)?,
                };
                let recalled = match r.u8()? {
                    0 => None,
                    _ => Some((Timestamp(r.i64()?), u32(&mut r)?)),
                };
                let conflicts = u32(&mut r)?;
                let count = r.u8()?;
                let mut duplicate = Vec::with_capacity(usize::from(count).min(MAX_EVIDENCE));
                for _ in 0..count {
                    let tag = r.u8()?;
                    let kind = ConflictKind::from_tag(tag)
                        .ok_or_else(|| r.invalid("conflict kind", format!("unknown {tag}")))?;
                    duplicate.push(Evidence {
                        kind,
                        event: u32(&mut r)?,
                        with: u32(&mut r)?,
                        at: Timestamp(r.i64()?),
                        since: Timestamp(r.i64()?),
                    });
                }
                let scan_anomaly = match r.u8()? {
                    0 => None,
                    _ => Some(ScanAnomaly {
                        at: Timestamp(r.i64()?),
                        contexts: u32(&mut r)?,
                        window_hours: u32(&mut r)?,
                        threshold: u32(&mut r)?,
                    }),
                };
                let (claims, copies) = if shape == SHAPE_FULL_2 {
                    (u32(&mut r)?, read_copies(&mut r)?)
                } else {
                    (0, None)
                };
                record.flags = Flags {
                    recalled,
                    duplicate,
                    conflicts,
                    scan_anomaly,
                    claims,
                    copies,
                };
            }
            other => return Err(r.invalid("record shape", format!("unknown {other}"))),
        }
        // With only its commissioning event, a record's chain head is that event's hash. Another
        // head read from the full shape is damage; read as is, it would be written back in the
        // fresh shape, which keeps no head, and so be silently mended before the audit could see
        // it. (Read from the fresh shape, the head is that hash.)
        if shape != SHAPE_FRESH
            && record.is_fresh()
            && record.head != record.commissioning().hash(key)
        {
            return Err(r.invalid(
                "record head",
                "a record with only its commissioning event must have that event's hash as head",
            ));
        }
        r.finish()?;
        Ok(record)
    }
}

/// A manufacturer's recall of a whole lot: one record, however many codes the lot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotRecall {
    pub actor: PartyId,
    pub at: Timestamp,
    pub reason: String,
}

impl LotRecall {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(RECORD_VERSION)
            .str8(self.actor.as_str())
            .i64(self.at.0)
            .str16(&self.reason);
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("lot recall version", &[RECORD_VERSION])?;
        let recall = LotRecall {
            actor: PartyId::read(&mut r)?,
            at: Timestamp(r.i64()?),
            reason: r.str16("reason")?.to_owned(),
        };
        r.finish()?;
        Ok(recall)
    }
}

fn read_copies(r: &mut Reader<'_>) -> Result<Option<Copies>, WireError> {
    if r.u8()? == 0 {
        return Ok(None);
    }
    let at = Timestamp(r.i64()?);
    let event = u32(r)?;
    let genuine = match r.u8()? {
        0 => GenuineCopy::Unknown,
        1 => {
            let bytes: [u8; 17] = r.array()?;
            GenuineCopy::Vehicle(
                Vin::parse_confirmed(&String::from_utf8_lossy(&bytes))
                    .map_err(|e| r.invalid("VIN", e.to_string()))?,
            )
        }
        2 => GenuineCopy::Holder(PartyId::read(r)?),
        other => return Err(r.invalid("genuine copy", format!("unknown {other}"))),
    };
    Ok(Some(Copies { at, event, genuine }))
}

fn u32(r: &mut Reader<'_>) -> Result<u32, WireError> {
    Ok(u32::from_be_bytes(r.array()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CodeKey {
        crate::key::tests::code("X7K2P9QD4MABC")
    }

    fn fresh() -> CodeRecord {
        CodeRecord::registered(
            &key(),
            Commissioned {
                lot: Some(Lot::parse("L2026A").unwrap()),
                key_id: KeyId([1; 8]),
                signature: Signature::from_bytes(&[2; 64]),
            },
            PartyId::parse("acme-brakes").unwrap(),
            Timestamp(1_790_000_000),
        )
    }

    /// A store that knows one batch, number 7.
    fn batches(record: &CodeRecord) -> impl Fn(u32) -> Option<Batch> + '_ {
        move |n| (n == 7).then(|| record.batch())
    }

    #[test]
    fn a_fresh_record_is_small_and_round_trips() {
        let record = fresh();
        let bytes = record.encode(7);
        assert_eq!(bytes.len(), 72);
        assert_eq!(
            CodeRecord::decode(&key(), &bytes, batches(&record)).unwrap(),
            record
        );
        assert_eq!(record.head, record.commissioning().hash(&key()));
        // A record whose batch the store does not hold is damage, not a code without a maker.
        assert!(CodeRecord::decode(&key(), &record.encode(8), batches(&record)).is_err());
        assert_eq!(
            Batch::decode(&record.batch().encode()).unwrap(),
            record.batch()
        );
    }

    #[test]
    fn its_memory_counts_its_strings_and_evidence() {
        let record = fresh();
        let inline = std::mem::size_of::<CodeRecord>();
        assert_eq!(
            record.memory(),
            inline + "L2026A".len() + "acme-brakes".len()
        );
        let mut held = record.clone();
        held.name = Some("Brake pad".into());
        held.custody.custody = Custody::InTransit {
            from: PartyId::parse("acme-brakes").unwrap(),
            to: PartyId::parse("fleet").unwrap(),
        };
        held.flags.duplicate = vec![
            Evidence {
                kind: ConflictKind::InstalledInAnotherVehicle,
                event: 2,
                with: 1,
                at: Timestamp(2),
                since: Timestamp(1),
            };
            3
        ];
        assert_eq!(
            held.memory(),
            record.memory()
                + "Brake pad".len()
                + "acme-brakes".len()
                + "fleet".len()
                + held.flags.duplicate.capacity() * std::mem::size_of::<Evidence>()
        );
    }

    /// Found by the `stored` fuzz target: a full-shape record with only its commissioning event
    /// and a head that is not that event's hash decoded, and re-encoded in the fresh shape
    /// without the head, so the damage vanished on the next write.
    #[test]
    fn a_fresh_looking_record_with_a_foreign_head_is_refused() {
        let record = fresh();
        let mut full = record.clone();
        full.custody.since = Timestamp(record.registered_at.0 + 1);
        let mut bytes = full.encode(7);
        assert_eq!(bytes[1], SHAPE_FULL_2);
        // The same record in the full shape with `since` at registration: fresh, head intact.
        // After `since`: its event (4), recalled (1), conflicts (4), evidence (1), scan anomaly
        // (1), claims (4), copies (1).
        let since = bytes.len() - 16 - 8;
        bytes[since..since + 8].copy_from_slice(&record.registered_at.0.to_be_bytes());
        let read = CodeRecord::decode(&key(), &bytes, batches(&record)).unwrap();
        assert_eq!(read, record);
        assert_eq!(
            CodeRecord::decode(&key(), &read.encode(7), batches(&record)).unwrap(),
            record
        );
        // Its head changed: refused. Before `since`: the head (32) and the custody tag (1).
        let head = since - 1 - 32;
        bytes[head] ^= 1;
        assert!(CodeRecord::decode(&key(), &bytes, batches(&record)).is_err());
    }

    #[test]
    fn a_batch_keeps_the_name_and_version_2_batches_still_decode() {
        let mut record = fresh();
        record.name = Some("Front brake pad".into());
        let bytes = record.encode(7);
        // The name lives in the batch: a code's record is as small as without it.
        assert_eq!(bytes.len(), 72);
        let decoded = CodeRecord::decode(&key(), &bytes, batches(&record)).unwrap();
        assert_eq!(decoded.name.as_deref(), Some("Front brake pad"));
        assert_eq!(
            Batch::decode(&record.batch().encode()).unwrap(),
            record.batch()
        );
        // The same maker, key and lot under another name is another batch.
        let unnamed = fresh().batch();
        assert_ne!(record.batch(), unnamed);
        // A version 2 batch, byte for byte: no name.
        let mut v2 = vec![2, 6];
        v2.extend_from_slice(b"L2026A");
        v2.extend_from_slice(&[1; 8]);
        v2.push(11);
        v2.extend_from_slice(b"acme-brakes");
        assert_eq!(Batch::decode(&v2).unwrap(), unnamed);
        assert!(Batch::decode(&[4, 0]).is_err());
        // Names are trimmed and bounded at a character.
        assert_eq!(part_name(Some("  刹车片 ")).as_deref(), Some("刹车片"));
        assert_eq!(part_name(Some("   ")), None);
        let long = "刹".repeat(100);
        let kept = part_name(Some(&long)).unwrap();
        assert!(kept.len() <= MAX_NAME_LEN && long.starts_with(&kept));
    }

    #[test]
    fn version_1_records_still_decode() {
        let record = fresh();
        let mut v1 = vec![1, SHAPE_FRESH, 6];
        v1.extend_from_slice(b"L2026A");
        v1.extend_from_slice(&[1; 8]);
        v1.extend_from_slice(&[2; 64]);
        v1.push(11);
        v1.extend_from_slice(b"acme-brakes");
        v1.extend_from_slice(&1_790_000_000i64.to_be_bytes());
        assert_eq!(CodeRecord::decode(&key(), &v1, |_| None).unwrap(), record);
    }

    #[test]
    fn a_full_record_round_trips() {
        let mut record = fresh();
        record.events = 5;
        record.head = [7; 32];
        record.custody = CustodyState {
            custody: Custody::Installed {
                vin: Vin::parse("LSVAU218XN2183294").unwrap(),
                by: PartyId::parse("shop-1").unwrap(),
            },
            since: Timestamp(1_790_000_100),
            event: 3,
        };
        record.flags = Flags {
            recalled: Some((Timestamp(1_790_000_200), 4)),
            duplicate: vec![Evidence {
                kind: ConflictKind::InstalledInAnotherVehicle,
                event: 4,
                with: 3,
                at: Timestamp(1_790_000_300),
                since: Timestamp(1_790_000_100),
            }],
            conflicts: 1,
            scan_anomaly: Some(ScanAnomaly {
                at: Timestamp(1_790_000_400),
                contexts: 9,
                window_hours: 72,
                threshold: 8,
            }),
            claims: 3,
            copies: Some(Copies {
                at: Timestamp(1_790_000_500),
                event: 4,
                genuine: GenuineCopy::Vehicle(Vin::parse("LSVAU218XN2183294").unwrap()),
            }),
        };
        let bytes = record.encode(7);
        assert_eq!(
            CodeRecord::decode(&key(), &bytes, batches(&record)).unwrap(),
            record
        );
        // The first full shape: the same without the claims count and the copies finding (one
        // presence byte, then the finding's 8 + 4 + 1 + 17 bytes; and 4 bytes of claims).
        let mut shape_1 = bytes[..bytes.len() - (4 + 1 + 8 + 4 + 1 + 17)].to_vec();
        shape_1[1] = SHAPE_FULL;
        let mut old = record.clone();
        old.flags.claims = 0;
        old.flags.copies = None;
        assert_eq!(
            CodeRecord::decode(&key(), &shape_1, batches(&record)).unwrap(),
            old
        );
        for len in 0..bytes.len() {
            assert!(CodeRecord::decode(&key(), &bytes[..len], batches(&record)).is_err());
        }
    }
}
