//! How the store lays out its keys and small values, the same for every engine (and so in every
//! backup).

use signer::{Certificate, Gtin, Lot, RevocationList, Sscc, Timestamp, VerifyingKey};

use super::{StoreError, StoreResult, TrustEntry};
use crate::custody::Custody;
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::record::CodeRecord;
use crate::vin::Vin;

pub const FORMAT_KEY: &[u8] = b"format";
pub const FORMAT: &[u8] = b"partseal-registry-1";
pub const SALT_KEY: &[u8] = b"scan_salt";

pub fn event_key(key: &CodeKey, seq: u32) -> Vec<u8> {
    let mut out = key.as_bytes().to_vec();
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// The code and sequence number of an [`event_key`].
pub fn decode_event_key(k: &[u8]) -> StoreResult<(CodeKey, u32)> {
    let n = k
        .len()
        .checked_sub(4)
        .ok_or_else(|| StoreError::corrupt("event key", "malformed"))?;
    let code =
        CodeKey::from_bytes(&k[..n]).map_err(|_| StoreError::corrupt("event key", "malformed"))?;
    let seq = u32::from_be_bytes(k[n..].try_into().unwrap_or_default());
    Ok((code, seq))
}

pub fn lot_key(gtin: &Gtin, lot: &Lot) -> Vec<u8> {
    let mut out = CodeKey::gtin_prefix(gtin).to_vec();
    out.push(lot.as_str().len() as u8);
    out.extend_from_slice(lot.as_str().as_bytes());
    out
}

/// The GTIN and lot of a [`lot_key`].
pub fn decode_lot_key(bytes: &[u8]) -> StoreResult<(Gtin, Lot)> {
    let bad = |why: String| StoreError::corrupt("lot recall key", why);
    let gtin = CodeKey::gtin_of_prefix(bytes).map_err(|e| bad(e.to_string()))?;
    let rest = &bytes[8..];
    let lot = match rest.split_first() {
        Some((&len, lot)) if usize::from(len) == lot.len() => std::str::from_utf8(lot)
            .map_err(|e| bad(e.to_string()))
            .and_then(|l| Lot::parse(l).map_err(|e| bad(e.to_string())))?,
        _ => return Err(bad("lot length does not match".into())),
    };
    Ok((gtin, lot))
}

/// A packing record's entry in the index by packer ([`Table::CartonsByPacker`](super::tables::Table)):
/// under its packer, newest first, then by SSCC.
pub fn packer_key(packed_by: &PartyId, packed_at: Timestamp, sscc: &Sscc) -> Vec<u8> {
    let mut out = party_prefix(packed_by);
    out.extend_from_slice(&newest_first(packed_at));
    out.extend_from_slice(sscc.as_str().as_bytes());
    out
}

/// A time that sorts the newer before the older as big-endian bytes (times before 1970 count
/// as 1970: no packing is that old).
pub fn newest_first(at: Timestamp) -> [u8; 8] {
    (i64::MAX - at.0.max(0)).to_be_bytes()
}

/// The SSCC a [`packer_key`] ends with.
pub fn sscc_of_packer_key(k: &[u8]) -> StoreResult<Sscc> {
    let digits = k
        .len()
        .checked_sub(Sscc::LEN)
        .map(|at| &k[at..])
        .ok_or_else(|| StoreError::corrupt("packer index", "entry shorter than an SSCC"))?;
    Sscc::parse(&String::from_utf8_lossy(digits))
        .map_err(|e| StoreError::corrupt("packer index", e))
}

pub fn alert_key(manufacturer: &PartyId, key: &CodeKey) -> Vec<u8> {
    let mut out = party_prefix(manufacturer);
    out.extend_from_slice(key.as_bytes());
    out
}

/// The party's id with its length before it: the start of every key kept per party.
pub fn party_prefix(party: &PartyId) -> Vec<u8> {
    let mut out = vec![party.as_str().len() as u8];
    out.extend_from_slice(party.as_str().as_bytes());
    out
}

/// The manufacturer and code of an [`alert_key`].
pub fn decode_alert_key(k: &[u8]) -> StoreResult<(PartyId, CodeKey)> {
    let corrupt = || StoreError::corrupt("alert index", "malformed entry");
    let len = usize::from(*k.first().ok_or_else(corrupt)?);
    let party = k
        .get(1..1 + len)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| PartyId::parse(s).ok())
        .ok_or_else(corrupt)?;
    let key = CodeKey::from_bytes(&k[1 + len..]).map_err(|_| corrupt())?;
    Ok((party, key))
}

pub fn vehicle_key(vin: &Vin, key: &CodeKey) -> Vec<u8> {
    let mut out = vin.as_bytes().to_vec();
    out.extend_from_slice(key.as_bytes());
    out
}

/// The VIN and code of a [`vehicle_key`].
pub fn decode_vehicle_key(k: &[u8]) -> StoreResult<(Vin, CodeKey)> {
    let corrupt = || StoreError::corrupt("vehicle index", "malformed entry");
    let vin = k
        .get(..17)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| Vin::parse_confirmed(s).ok())
        .ok_or_else(corrupt)?;
    let key = CodeKey::from_bytes(&k[17..]).map_err(|_| corrupt())?;
    Ok((vin, key))
}

pub fn installed_vin(record: &CodeRecord) -> Option<Vin> {
    match &record.custody.custody {
        Custody::Installed { vin, .. } => Some(*vin),
        _ => None,
    }
}

pub fn trust_key(entry: &TrustEntry) -> Vec<u8> {
    match entry {
        TrustEntry::Root { key, .. } => {
            format!("root/{}", signer::KeyId::of(key).to_base64()).into_bytes()
        }
        TrustEntry::Certificate { cert, .. } => format!("cert/{:020}", cert.serial()).into_bytes(),
        TrustEntry::Revocations { .. } => b"revocations".to_vec(),
    }
}

pub fn encode_trust(entry: &TrustEntry) -> Vec<u8> {
    let (known_at, bytes): (Timestamp, &[u8]) = match entry {
        TrustEntry::Root { key, known_at } => (*known_at, key.as_bytes()),
        TrustEntry::Certificate { cert, known_at } => (*known_at, cert.to_bytes()),
        TrustEntry::Revocations { list, known_at } => (*known_at, list.to_bytes()),
    };
    let mut value = known_at.0.to_be_bytes().to_vec();
    value.extend_from_slice(bytes);
    value
}

pub fn decode_trust(key: &[u8], value: &[u8]) -> StoreResult<TrustEntry> {
    let corrupt = |why: String| StoreError::corrupt(String::from_utf8_lossy(key), why);
    let (time, bytes) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("too short".into()))?;
    let known_at = Timestamp(i64::from_be_bytes(*time));
    if key.starts_with(b"root/") {
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| corrupt("not a 32-byte key".into()))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| corrupt(e.to_string()))?;
        Ok(TrustEntry::Root { key, known_at })
    } else if key.starts_with(b"cert/") {
        let cert = Certificate::from_bytes(bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok(TrustEntry::Certificate { cert, known_at })
    } else {
        let list = RevocationList::from_bytes(bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok(TrustEntry::Revocations { list, known_at })
    }
}

/// The time at the start of a value (alerts) or after a prefix (notices), big-endian seconds.
pub fn time_at(bytes: &[u8], offset: usize) -> Option<Timestamp> {
    bytes
        .get(offset..offset + 8)
        .and_then(|b| b.try_into().ok())
        .map(|b| Timestamp(i64::from_be_bytes(b)))
}
