//! Notices: what a business should hear about a part it had, when another party moved it.
//!
//! Only a part's holder changes its state, with two exceptions the rules accept because real
//! workshops and carriers need them: a shop with the car in its workshop removes a part another shop
//! installed (naming the VIN and scanning the label), and a carton delivered to the wrong business
//! is received there. Both are applied and attributed; the business that had the part (the
//! installer; the addressee and the sender of the shipment) is told through a notice, and the
//! manufacturer sees the event in the code's history.

use signer::Timestamp;
use signer::wire::{Reader, WireError, Writer};

use crate::key::CodeKey;
use crate::party::PartyId;

const VERSION: u8 = 1;

/// Why a party is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// Another shop removed a part this party installed.
    RemovedByAnotherShop,
    /// A part this party shipped, or that was shipped to it, was received by another business.
    ReceivedElsewhere,
}

impl NoticeKind {
    pub fn code(self) -> &'static str {
        match self {
            NoticeKind::RemovedByAnotherShop => "removed_by_another_shop",
            NoticeKind::ReceivedElsewhere => "received_elsewhere",
        }
    }

    fn tag(self) -> u8 {
        match self {
            NoticeKind::RemovedByAnotherShop => 1,
            NoticeKind::ReceivedElsewhere => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(NoticeKind::RemovedByAnotherShop),
            2 => Some(NoticeKind::ReceivedElsewhere),
            _ => None,
        }
    }
}

/// One notice for `party` about event `seq` of a code, recorded by `actor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub party: PartyId,
    pub key: CodeKey,
    pub seq: u32,
    pub at: Timestamp,
    pub actor: PartyId,
    pub kind: NoticeKind,
}

impl Notice {
    /// The stored value; the party and the time are in the storage key.
    pub fn encode_value(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u8(self.kind.tag())
            .str8(self.actor.as_str())
            .bytes(&self.seq.to_be_bytes())
            .u8(self.key.as_bytes().len() as u8)
            .bytes(self.key.as_bytes());
        w.into_bytes()
    }

    pub fn decode_value(party: PartyId, at: Timestamp, bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("notice version", &[VERSION])?;
        let tag = r.u8()?;
        let kind = NoticeKind::from_tag(tag)
            .ok_or_else(|| r.invalid("notice kind", format!("unknown {tag}")))?;
        let actor = PartyId::read(&mut r)?;
        let seq = u32::from_be_bytes(r.array()?);
        let len = usize::from(r.u8()?);
        let key =
            CodeKey::from_bytes(r.take(len)?).map_err(|e| r.invalid("code", e.to_string()))?;
        r.finish()?;
        Ok(Notice {
            party,
            key,
            seq,
            at,
            actor,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_damage_is_an_error() {
        let notice = Notice {
            party: PartyId::parse("shop-a").unwrap(),
            key: crate::key::tests::code("X7K2P9QD4M"),
            seq: 7,
            at: Timestamp(1_790_000_000),
            actor: PartyId::parse("shop-b").unwrap(),
            kind: NoticeKind::RemovedByAnotherShop,
        };
        let bytes = notice.encode_value();
        let back = Notice::decode_value(notice.party.clone(), notice.at, &bytes).unwrap();
        assert_eq!(back, notice);
        for len in 0..bytes.len() {
            assert!(Notice::decode_value(notice.party.clone(), notice.at, &bytes[..len]).is_err());
        }
    }
}
