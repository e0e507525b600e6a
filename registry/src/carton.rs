//! Cartons and pallets: the packing record of one SSCC (GS1 AI 00), which codes and which cartons it
//! holds, who packed it and when, and the carton it is packed in.
//!
//! A carton is data about its contents, not a new kind of part: custody stays per code, and moving
//! a carton moves each code in it under that code's own rules, all of them or none
//! ([`Store::move_cartons`](crate::store::Store::move_cartons)). A code is in at most one carton at
//! a time: the store keeps, beside each record, which carton each code is in, and the two always
//! change together.

use signer::wire::{Reader, WireError, Writer};
use signer::{Sscc, Timestamp};

use crate::key::CodeKey;
use crate::party::PartyId;

const VERSION: u8 = 1;

/// Most codes, and most cartons, one carton holds directly: a pallet of 40 cartons of 25 parts is
/// far inside it, and a request naming more is refused whole (413), not cut.
pub const MAX_CONTENTS: usize = 1_000;

/// Most codes one carton move touches, nested cartons' codes included: a full pallet and then some.
pub const MAX_MOVED_CODES: usize = 5_000;

/// Deepest nesting of cartons: a carton in a pallet in a container. Checked when packing, so a
/// move never walks further.
pub const MAX_DEPTH: usize = 4;

/// A carton's packing record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carton {
    pub packed_by: PartyId,
    pub packed_at: Timestamp,
    /// The carton (a pallet) this one is packed in, if any.
    pub parent: Option<Sscc>,
    /// The codes packed directly in it, in key order, each once.
    pub codes: Vec<CodeKey>,
    /// The cartons packed directly in it, in order, each once.
    pub cartons: Vec<Sscc>,
}

impl Carton {
    /// Holds nothing: what unpacking its last content leaves, and what is never stored.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty() && self.cartons.is_empty()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .str8(self.packed_by.as_str())
            .i64(self.packed_at.0);
        match &self.parent {
            None => w.u8(0),
            Some(parent) => w.u8(1).bytes(parent.as_str().as_bytes()),
        };
        w.varint(self.codes.len() as u64);
        for code in &self.codes {
            // A code key is at most 29 bytes (8 + 1 + a 20-byte serial).
            w.u8(code.as_bytes().len() as u8).bytes(code.as_bytes());
        }
        w.varint(self.cartons.len() as u64);
        for carton in &self.cartons {
            w.bytes(carton.as_str().as_bytes());
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("carton version", &[VERSION])?;
        let packed_by = PartyId::read(&mut r)?;
        let packed_at = Timestamp(r.i64()?);
        let parent = match r.u8()? {
            0 => None,
            1 => Some(read_sscc(&mut r)?),
            other => return Err(r.invalid("carton parent", format!("unknown tag {other}"))),
        };
        let n = count(&mut r, "codes")?;
        let mut codes = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u8()?;
            let bytes = r.take(usize::from(len))?;
            let code =
                CodeKey::from_bytes(bytes).map_err(|e| r.invalid("carton code", e.to_string()))?;
            codes.push(code);
        }
        let n = count(&mut r, "cartons")?;
        let mut cartons = Vec::with_capacity(n);
        for _ in 0..n {
            cartons.push(read_sscc(&mut r)?);
        }
        r.finish()?;
        Ok(Carton {
            packed_by,
            packed_at,
            parent,
            codes,
            cartons,
        })
    }
}

fn count(r: &mut Reader<'_>, what: &'static str) -> Result<usize, WireError> {
    let n = r.varint()?;
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_CONTENTS)
        .ok_or_else(|| r.invalid(what, format!("{n} is more than a carton holds")))
}

fn read_sscc(r: &mut Reader<'_>) -> Result<Sscc, WireError> {
    let bytes: [u8; Sscc::LEN] = r.array()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Sscc::parse(&text).map_err(|e| r.invalid("SSCC", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Carton {
        Carton {
            packed_by: PartyId::parse("acme-brakes").unwrap(),
            packed_at: Timestamp(1_790_000_000),
            parent: Some(Sscc::parse("106141412345678908").unwrap()),
            codes: vec![
                crate::key::tests::code("A1"),
                crate::key::tests::code("X7K2P9QD4MABCDEFGHJK"),
            ],
            cartons: vec![Sscc::parse("369012300000000172").unwrap()],
        }
    }

    #[test]
    fn a_packing_record_round_trips() {
        let carton = sample();
        assert_eq!(Carton::decode(&carton.encode()).unwrap(), carton);
        let bare = Carton {
            parent: None,
            codes: vec![],
            cartons: vec![],
            ..sample()
        };
        assert!(bare.is_empty());
        assert_eq!(Carton::decode(&bare.encode()).unwrap(), bare);
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(Carton::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Carton::decode(&longer).is_err());
        let mut other_version = bytes;
        other_version[0] = 9;
        assert!(Carton::decode(&other_version).is_err());
    }
}
