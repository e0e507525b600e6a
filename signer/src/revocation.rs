//! The authority's signed revocation list.
//!
//! Encoding (version 1, big-endian), signed as `"partseal-revocations-v1" 0x00 || bytes before the
//! signature`:
//! ```text
//! version u8 = 1 | sequence u64 | issued_at i64 | entry count u32
//! | each entry: certificate serial u64 | key id [8] | reason u8 (1 key_compromise, 2 decertified)
//!               | effective_at i64
//! | issuer key id [8] | signature [64]
//! ```
//! Entries are strictly ascending by certificate serial. Each new list the authority signs has a higher
//! sequence number, so an old list cannot be replayed over a newer one. Files are PEM, label
//! `PARTSEAL REVOCATION LIST`.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::cert::Certificate;
use crate::keys::KeyId;
use crate::statement::{self, Refused};
use crate::timestamp::Timestamp;
use crate::wire::{self, Reader, WireError, Writer};

pub const REVOCATION_PEM_LABEL: &str = "PARTSEAL REVOCATION LIST";
const REVOCATION_DOMAIN: &[u8] = b"partseal-revocations-v1\0";
const REVOCATION_VERSION: u8 = 1;

/// Why a certificate was revoked; the two reasons have different consequences.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum RevocationReason {
    /// The private key leaked: no code signed with this key is trusted any more, whenever it was made.
    KeyCompromise,
    /// The manufacturer lost its certification: it may not register new codes; what happens to codes
    /// registered before is the registry's decision.
    Decertified,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::Decertified => "decertified",
        }
    }
    fn to_byte(self) -> u8 {
        match self {
            RevocationReason::KeyCompromise => 1,
            RevocationReason::Decertified => 2,
        }
    }
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(RevocationReason::KeyCompromise),
            2 => Some(RevocationReason::Decertified),
            _ => None,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "key_compromise" => Ok(RevocationReason::KeyCompromise),
            "decertified" => Ok(RevocationReason::Decertified),
            _ => Err(format!(
                "unknown revocation reason {s:?}: use key_compromise or decertified"
            )),
        }
    }
}

/// One revoked certificate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Revocation {
    pub cert_serial: u64,
    /// The certified key; a key compromise revokes every certificate of this key, not just this one.
    pub key_id: KeyId,
    pub reason: RevocationReason,
    /// From when the revocation takes effect.
    pub effective_at: Timestamp,
}

impl Revocation {
    /// Does this entry revoke `cert` (at any time)?
    pub fn applies_to(&self, cert: &Certificate) -> bool {
        self.cert_serial == cert.serial()
            || (self.reason == RevocationReason::KeyCompromise && self.key_id == cert.key_id())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("revocation list does not decode: {0}")]
    Decode(#[from] WireError),
    #[error("revocation list has version {0}; this build reads version {REVOCATION_VERSION}")]
    Version(u8),
    #[error("revocation list is invalid: {0}")]
    Invalid(String),
    #[error("revocation list was signed by key {0}, which is not a trusted authority key")]
    UnknownIssuer(KeyId),
    #[error(
        "revocation list signature does not verify: the list was altered or not issued by the authority"
    )]
    BadSignature,
    #[error("revocation list #{offered} is older than #{current}, which is already in force")]
    Stale { offered: u64, current: u64 },
    /// Two different lists carry one sequence number: the authority must issue a new number for a
    /// new list, or a list that drops a revocation could replace the one in force.
    #[error(
        "revocation list #{sequence} differs from the list #{sequence} already in force; a changed \
         list needs a higher sequence number"
    )]
    Conflicting { sequence: u64 },
    #[error("certificate #{serial} is already revoked ({reason})")]
    AlreadyRevoked {
        serial: u64,
        reason: RevocationReason,
    },
}

/// A signed list of revoked certificates.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RevocationList {
    sequence: u64,
    issued_at: Timestamp,
    entries: Vec<Revocation>,
    issuer: KeyId,
    encoded: Vec<u8>,
}

impl RevocationList {
    /// Signs a new list. `entries` may come in any order; they are sorted by certificate serial.
    pub fn issue(
        sequence: u64,
        issued_at: Timestamp,
        mut entries: Vec<Revocation>,
        authority: &SigningKey,
    ) -> Result<Self, RevocationError> {
        entries.sort_by_key(|e| e.cert_serial);
        if let Some(w) = entries
            .windows(2)
            .find(|w| w[0].cert_serial == w[1].cert_serial)
        {
            return Err(RevocationError::Invalid(format!(
                "certificate #{} is listed twice",
                w[0].cert_serial
            )));
        }
        let issuer = KeyId::of(&authority.verifying_key());
        let mut w = Writer::new();
        w.u8(REVOCATION_VERSION).u64(sequence).i64(issued_at.0);
        w.bytes(&(entries.len() as u32).to_be_bytes());
        for e in &entries {
            w.u64(e.cert_serial)
                .bytes(&e.key_id.0)
                .u8(e.reason.to_byte())
                .i64(e.effective_at.0);
        }
        w.bytes(&issuer.0);
        let encoded = statement::sign(REVOCATION_DOMAIN, w.into_bytes(), authority);
        Ok(RevocationList {
            sequence,
            issued_at,
            entries,
            issuer,
            encoded,
        })
    }

    /// A new list that adds `entry` to this one, with the next sequence number. Revoking an already
    /// revoked certificate again is refused, except to escalate `decertified` to `key_compromise`.
    pub fn extend(
        &self,
        entry: Revocation,
        issued_at: Timestamp,
        authority: &SigningKey,
    ) -> Result<Self, RevocationError> {
        let mut entries = self.entries.clone();
        if let Some(existing) = entries
            .iter_mut()
            .find(|e| e.cert_serial == entry.cert_serial)
        {
            if existing.reason == RevocationReason::KeyCompromise
                || entry.reason == RevocationReason::Decertified
            {
                return Err(RevocationError::AlreadyRevoked {
                    serial: existing.cert_serial,
                    reason: existing.reason,
                });
            }
            *existing = entry;
        } else {
            entries.push(entry);
        }
        Self::issue(self.sequence + 1, issued_at, entries, authority)
    }

    /// Decodes and checks the form (not the signature: see [`RevocationList::verify_issuer`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RevocationError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != REVOCATION_VERSION {
            return Err(RevocationError::Version(version));
        }
        let sequence = r.u64()?;
        let issued_at = Timestamp(r.i64()?);
        let count = u32::from_be_bytes(r.array()?) as usize;
        // Each entry is 25 bytes: a count larger than the input can hold is rejected before allocating.
        if count > bytes.len() / 25 {
            return Err(r
                .invalid(
                    "entry count",
                    format!("{count} entries cannot fit in {} bytes", bytes.len()),
                )
                .into());
        }
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let cert_serial = r.u64()?;
            let key_id = KeyId(r.array()?);
            let reason_byte = r.u8()?;
            let reason = RevocationReason::from_byte(reason_byte)
                .ok_or_else(|| r.invalid("reason", format!("unknown reason code {reason_byte}")))?;
            let effective_at = Timestamp(r.i64()?);
            entries.push(Revocation {
                cert_serial,
                key_id,
                reason,
                effective_at,
            });
        }
        let issuer = KeyId(r.array()?);
        let _signature: [u8; 64] = r.array()?;
        r.finish()?;
        if !entries
            .windows(2)
            .all(|w| w[0].cert_serial < w[1].cert_serial)
        {
            return Err(RevocationError::Invalid(
                "entries are not strictly ascending by certificate serial".into(),
            ));
        }
        Ok(RevocationList {
            sequence,
            issued_at,
            entries,
            issuer,
            encoded: bytes.to_vec(),
        })
    }

    pub fn to_bytes(&self) -> &[u8] {
        &self.encoded
    }

    pub fn to_pem(&self) -> String {
        wire::to_pem(REVOCATION_PEM_LABEL, &self.encoded)
    }

    pub fn from_pem(text: &str) -> Result<Self, RevocationError> {
        Self::from_bytes(&wire::from_pem(REVOCATION_PEM_LABEL, text)?)
    }

    /// Checks that one of `roots` signed this list.
    pub fn verify_issuer(&self, roots: &[VerifyingKey]) -> Result<(), RevocationError> {
        statement::verify(REVOCATION_DOMAIN, &self.encoded, self.issuer, roots).map_err(|refused| {
            match refused {
                Refused::UnknownIssuer => RevocationError::UnknownIssuer(self.issuer),
                Refused::BadSignature => RevocationError::BadSignature,
            }
        })
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }
    pub fn entries(&self) -> &[Revocation] {
        &self.entries
    }

    /// The entry that revokes `cert` with effect at or before `at`, the strongest reason first.
    pub fn revocation_of(&self, cert: &Certificate, at: Timestamp) -> Option<&Revocation> {
        self.entries
            .iter()
            .filter(|e| e.applies_to(cert) && e.effective_at <= at)
            .min_by_key(|e| e.reason)
    }
}
