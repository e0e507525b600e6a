//! Manufacturer certificates: the authority's signed statement that a key belongs to a certified
//! manufacturer and may sign codes for the listed GS1 company prefixes during a validity window.
//!
//! Encoding (version 1, all integers big-endian), signed as `"partseal-cert-v1" 0x00 || bytes before
//! the signature`:
//! ```text
//! version u8 = 1 | serial u64 | manufacturer id: u8 len + ASCII | legal name: u16 len + UTF-8
//! | public key [32] | not_before i64 | not_after i64 | prefix count u8 | each prefix: u8 len + digits
//! | issuer key id [8] | signature [64]
//! ```
//! Prefixes are strictly ascending, so the encoding is unique. Files are PEM, label
//! `PARTSEAL CERTIFICATE`.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::gs1::{CompanyPrefix, Gtin};
use crate::keys::KeyId;
use crate::statement::{self, Refused};
use crate::timestamp::Timestamp;
use crate::wire::{self, Reader, WireError, Writer};

pub const CERT_PEM_LABEL: &str = "PARTSEAL CERTIFICATE";
const CERT_DOMAIN: &[u8] = b"partseal-cert-v1\0";
const CERT_VERSION: u8 = 1;
const MAX_ID_LEN: usize = 64;
const MAX_NAME_LEN: usize = 512;
const MAX_PREFIXES: usize = 64;

/// What went wrong with a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("certificate does not decode: {0}")]
    Decode(#[from] WireError),
    #[error("certificate has version {0}; this build reads version {CERT_VERSION}")]
    Version(u8),
    #[error("certificate {field} is invalid: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("certificate was issued by key {0}, which is not a trusted authority key")]
    UnknownIssuer(KeyId),
    #[error(
        "certificate signature does not verify: the certificate was altered or not issued by the authority"
    )]
    BadSignature,
    #[error("certificate expired at {0}")]
    Expired(Timestamp),
    #[error("certificate is not valid before {0}")]
    NotYetValid(Timestamp),
}

/// The statements a certificate makes, before the authority signs them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CertificateBody {
    /// Unique among the authority's certificates; revocation lists name certificates by it.
    pub serial: u64,
    /// A short stable id for the manufacturer, e.g. `acme-brakes` (ASCII letters, digits, `.`, `_`, `-`).
    pub manufacturer_id: String,
    /// The registered legal name, any script (`广州某某汽车零部件有限公司`).
    pub legal_name: String,
    pub public_key: VerifyingKey,
    /// Strictly ascending, at least one.
    pub prefixes: Vec<CompanyPrefix>,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

impl CertificateBody {
    fn validate(&self) -> Result<(), CertError> {
        let invalid = |field, why: &str| {
            Err(CertError::Invalid {
                field,
                why: why.into(),
            })
        };
        let id = &self.manufacturer_id;
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return invalid("manufacturer id", "must be 1 to 64 characters");
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return invalid(
                "manufacturer id",
                "may hold only ASCII letters, digits, '.', '_' and '-'",
            );
        }
        if self.legal_name.trim().is_empty() || self.legal_name.len() > MAX_NAME_LEN {
            return invalid("legal name", "must be 1 to 512 bytes of text");
        }
        if self.legal_name.chars().any(char::is_control) {
            return invalid("legal name", "may not hold control characters");
        }
        if self.public_key.is_weak() {
            return invalid("public key", "is a weak (small-order) key");
        }
        if self.prefixes.is_empty() || self.prefixes.len() > MAX_PREFIXES {
            return invalid("prefixes", "must list 1 to 64 GS1 company prefixes");
        }
        if !self.prefixes.windows(2).all(|w| w[0] < w[1]) {
            return invalid(
                "prefixes",
                "must be strictly ascending (sorted, no repeats)",
            );
        }
        if self.not_before >= self.not_after {
            return invalid("validity", "must end after it starts");
        }
        Ok(())
    }

    fn encode_unsigned(&self, issuer: &KeyId) -> Writer {
        let mut w = Writer::new();
        w.u8(CERT_VERSION)
            .u64(self.serial)
            .str8(&self.manufacturer_id)
            .str16(&self.legal_name)
            .bytes(self.public_key.as_bytes())
            .i64(self.not_before.0)
            .i64(self.not_after.0)
            .u8(self.prefixes.len() as u8);
        for p in &self.prefixes {
            w.str8(p.as_str());
        }
        w.bytes(&issuer.0);
        w
    }
}

/// A certificate signed by the authority. Holding one means it decoded and is well formed; whether its
/// signature is the authority's is checked by [`Certificate::verify_issuer`] (a [`crate::TrustStore`]
/// does so on insertion).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    body: CertificateBody,
    key_id: KeyId,
    issuer: KeyId,
    encoded: Vec<u8>,
}

impl Certificate {
    /// Signs `body` with the authority's key.
    pub fn issue(body: CertificateBody, authority: &SigningKey) -> Result<Self, CertError> {
        body.validate()?;
        let issuer = KeyId::of(&authority.verifying_key());
        let encoded = statement::sign(
            CERT_DOMAIN,
            body.encode_unsigned(&issuer).into_bytes(),
            authority,
        );
        Ok(Certificate {
            key_id: KeyId::of(&body.public_key),
            body,
            issuer,
            encoded,
        })
    }

    /// Decodes and checks the form (not the signature: see [`Certificate::verify_issuer`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != CERT_VERSION {
            return Err(CertError::Version(version));
        }
        let serial = r.u64()?;
        let manufacturer_id = r.str8("manufacturer id")?.to_owned();
        let legal_name = r.str16("legal name")?.to_owned();
        let key_bytes: [u8; 32] = r.array()?;
        let public_key = VerifyingKey::from_bytes(&key_bytes)
            .map_err(|_| r.invalid("public key", "not a curve point"))?;
        let not_before = Timestamp(r.i64()?);
        let not_after = Timestamp(r.i64()?);
        let count = r.u8()?;
        let mut prefixes = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let text = r.str8("company prefix")?;
            prefixes.push(
                CompanyPrefix::parse(text)
                    .map_err(|e| r.invalid("company prefix", e.to_string()))?,
            );
        }
        let issuer = KeyId(r.array()?);
        let _signature: [u8; 64] = r.array()?;
        r.finish()?;
        let body = CertificateBody {
            serial,
            manufacturer_id,
            legal_name,
            public_key,
            prefixes,
            not_before,
            not_after,
        };
        body.validate()?;
        Ok(Certificate {
            key_id: KeyId::of(&body.public_key),
            body,
            issuer,
            encoded: bytes.to_vec(),
        })
    }

    pub fn to_bytes(&self) -> &[u8] {
        &self.encoded
    }

    pub fn to_pem(&self) -> String {
        wire::to_pem(CERT_PEM_LABEL, &self.encoded)
    }

    pub fn from_pem(text: &str) -> Result<Self, CertError> {
        Self::from_bytes(&wire::from_pem(CERT_PEM_LABEL, text)?)
    }

    /// Checks that one of `roots` signed this certificate.
    pub fn verify_issuer(&self, roots: &[VerifyingKey]) -> Result<(), CertError> {
        statement::verify(CERT_DOMAIN, &self.encoded, self.issuer, roots).map_err(|refused| {
            match refused {
                Refused::UnknownIssuer => CertError::UnknownIssuer(self.issuer),
                Refused::BadSignature => CertError::BadSignature,
            }
        })
    }

    /// Is the certificate within its validity window at `at`?
    pub fn check_validity(&self, at: Timestamp) -> Result<(), CertError> {
        if at < self.body.not_before {
            return Err(CertError::NotYetValid(self.body.not_before));
        }
        if at >= self.body.not_after {
            return Err(CertError::Expired(self.body.not_after));
        }
        Ok(())
    }

    /// May this certificate's holder sign codes for `gtin`?
    pub fn covers(&self, gtin: &Gtin) -> bool {
        self.body.prefixes.iter().any(|p| p.covers(gtin))
    }

    pub fn body(&self) -> &CertificateBody {
        &self.body
    }
    pub fn serial(&self) -> u64 {
        self.body.serial
    }
    pub fn public_key(&self) -> &VerifyingKey {
        &self.body.public_key
    }
    /// The id of the certified (manufacturer's) key, as codes carry it.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// The id of the authority key that signed the certificate.
    pub fn issuer(&self) -> KeyId {
        self.issuer
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("serial", &self.body.serial)
            .field("manufacturer_id", &self.body.manufacturer_id)
            .field("key_id", &self.key_id)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Certificate {
    /// A short human summary, as `partseal` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.body;
        let prefixes: Vec<&str> = b.prefixes.iter().map(CompanyPrefix::as_str).collect();
        write!(
            f,
            "certificate #{} for {} ({}), key {}, prefixes {}, valid {} to {}",
            b.serial,
            b.legal_name,
            b.manufacturer_id,
            self.key_id,
            prefixes.join(","),
            b.not_before,
            b.not_after
        )
    }
}
