//! Parties, their API tokens, and public reports of suspect parts.
//!
//! A party is a manufacturer, distributor or shop that records custody events; it authenticates with
//! bearer tokens. A token is `pst_<id>_<secret>`: the id finds the stored record, the 256-bit secret
//! is kept only as its SHA-256 and compared in constant time. A fast hash is enough because the
//! secret is random, not a password. Tokens are shown once, may expire, and can be revoked, as can
//! a whole party.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use signer::wire::{Reader, WireError, Writer};
use signer::{KeyId, Signature, Timestamp};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{TextError, TextField};
use crate::key::CodeKey;
use crate::party::PartyId;

const VERSION: u8 = 1;
const TOKEN_PREFIX: &str = "pst_";
/// Longest party name, region, report text and contact, in bytes.
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_REGION_LEN: usize = 64;
pub const MAX_REPORT_LEN: usize = 2000;
pub const MAX_CONTACT_LEN: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Manufacturer,
    Distributor,
    Shop,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manufacturer => "manufacturer",
            Role::Distributor => "distributor",
            Role::Shop => "shop",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Manufacturer, Role::Distributor, Role::Shop]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    fn tag(self) -> u8 {
        self as u8
    }

    fn from_tag(tag: u8) -> Option<Role> {
        [Role::Manufacturer, Role::Distributor, Role::Shop]
            .get(usize::from(tag))
            .copied()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    pub id: PartyId,
    pub role: Role,
    /// Legal or trading name (any script).
    pub name: String,
    /// Coarse location shown in public custody summaries ("a certified shop in Guangdong").
    pub region: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

fn opt_time(w: &mut Writer, t: Option<Timestamp>) {
    match t {
        None => w.u8(0),
        Some(t) => w.u8(1).i64(t.0),
    };
}

fn read_opt_time(r: &mut Reader<'_>) -> Result<Option<Timestamp>, WireError> {
    Ok(match r.u8()? {
        0 => None,
        _ => Some(Timestamp(r.i64()?)),
    })
}

impl Party {
    /// Checks the free-text fields' sizes.
    pub fn validate(&self) -> Result<(), TextError> {
        TextField::PartyName.check(&self.name)?;
        TextField::PartyRegion.check_given(self.region.as_deref())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .str8(self.id.as_str())
            .u8(self.role.tag())
            .str16(&self.name)
            .str8(self.region.as_deref().unwrap_or(""))
            .i64(self.created_at.0);
        opt_time(&mut w, self.revoked_at);
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("party version", &[VERSION])?;
        let id = PartyId::read(&mut r)?;
        let tag = r.u8()?;
        let role =
            Role::from_tag(tag).ok_or_else(|| r.invalid("role", format!("unknown {tag}")))?;
        let name = r.str16("name")?.to_owned();
        let region = Some(r.str8("region")?.to_owned()).filter(|s| !s.is_empty());
        let created_at = Timestamp(r.i64()?);
        let revoked_at = read_opt_time(&mut r)?;
        r.finish()?;
        Ok(Party {
            id,
            role,
            name,
            region,
            created_at,
            revoked_at,
        })
    }
}

/// A stored token: never the secret, only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// 16 lowercase hex characters, public (it appears in `token list`).
    pub id: String,
    pub party: PartyId,
    pub secret_hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("id", &self.id)
            .field("party", &self.party)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

impl TokenRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .str8(&self.id)
            .str8(self.party.as_str())
            .bytes(&self.secret_hash)
            .i64(self.created_at.0);
        opt_time(&mut w, self.expires_at);
        opt_time(&mut w, self.revoked_at);
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("token version", &[VERSION])?;
        let id = r.str8("token id")?.to_owned();
        let party = PartyId::read(&mut r)?;
        let secret_hash = r.array()?;
        let created_at = Timestamp(r.i64()?);
        let expires_at = read_opt_time(&mut r)?;
        let revoked_at = read_opt_time(&mut r)?;
        r.finish()?;
        Ok(TokenRecord {
            id,
            party,
            secret_hash,
            created_at,
            expires_at,
            revoked_at,
        })
    }
}

/// A freshly issued token: the only time its secret exists outside the holder's hands. Its `Debug`
/// hides the secret; [`IssuedToken::reveal`] is for printing it once to the operator.
pub struct IssuedToken {
    token: Zeroizing<String>,
    pub record: TokenRecord,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuedToken({}, <secret>)", self.record.id)
    }
}

impl IssuedToken {
    pub fn reveal(&self) -> &str {
        &self.token
    }
}

/// Creates a token for `party`: a random id and secret.
pub fn new_token(party: &PartyId, now: Timestamp, expires_at: Option<Timestamp>) -> IssuedToken {
    let mut id = [0u8; 8];
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(secret.as_mut());
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret_text = Zeroizing::new(URL_SAFE_NO_PAD.encode(secret.as_ref()));
    let token = Zeroizing::new(format!("{TOKEN_PREFIX}{id}_{}", secret_text.as_str()));
    IssuedToken {
        record: TokenRecord {
            secret_hash: hash_secret(secret_text.as_bytes()),
            id,
            party: party.clone(),
            created_at: now,
            expires_at,
            revoked_at: None,
        },
        token,
    }
}

fn hash_secret(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// Splits a presented token into its id and secret, without judging either.
pub fn split_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (id_ok && !secret.is_empty() && secret.len() <= 64).then_some((id, secret))
}

/// Does `secret` match the stored hash? Constant time in the secret's content.
pub fn secret_matches(record: &TokenRecord, secret: &str) -> bool {
    hash_secret(secret.as_bytes())
        .ct_eq(&record.secret_hash)
        .into()
}

/// Why a token was not accepted. The caller only ever hears "invalid token"; the reason is for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("not a partseal token")]
    Malformed,
    #[error("no such token, or the secret does not match")]
    Unknown,
    #[error("the token was revoked")]
    Revoked,
    #[error("the token has expired")]
    Expired,
    #[error("the token's party was revoked")]
    PartyRevoked,
}

/// A public report of a suspect part, kept for the code's manufacturer. Each has its own random
/// id, so no report can overwrite another, however many arrive at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// 16 hex digits; empty for reports stored before reports had ids.
    pub id: String,
    pub key: CodeKey,
    pub manufacturer: PartyId,
    pub at: Timestamp,
    pub text: String,
    pub contact: Option<String>,
    pub region: Option<String>,
    /// The verdict the sender's scan or lookup got when the report was made.
    pub verdict: Option<String>,
    /// The label's key id and signature, when the report came from a scanned label (a forged
    /// label's are the evidence the maker needs).
    pub key_id: Option<KeyId>,
    pub signature: Option<Signature>,
}

/// Reports written before they had ids, verdicts and labels.
const REPORT_VERSION_1: u8 = 1;
const REPORT_VERSION: u8 = 2;

impl Report {
    /// A new report's id.
    pub fn new_id() -> String {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks everything, the id included.
    pub fn validate(&self) -> Result<(), TextError> {
        self.validate_text()?;
        let id = TextField::ReportId;
        if self.id.len() != id.max() || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TextError {
                field: id,
                len: self.id.len(),
            });
        }
        Ok(())
    }

    /// Checks what the sender wrote: the text and the contact.
    pub fn validate_text(&self) -> Result<(), TextError> {
        TextField::ReportText.check(&self.text)?;
        TextField::ReportContact.check_given(self.contact.as_deref())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(REPORT_VERSION)
            .str8(self.manufacturer.as_str())
            .i64(self.at.0)
            .str16(&self.text)
            .str8(self.contact.as_deref().unwrap_or(""))
            .str8(self.region.as_deref().unwrap_or(""))
            .str8(&self.id)
            .u8(self.key.as_bytes().len() as u8)
            .bytes(self.key.as_bytes())
            .str8(self.verdict.as_deref().unwrap_or(""));
        match (&self.key_id, &self.signature) {
            (Some(k), Some(s)) => w.u8(1).bytes(&k.0).bytes(&s.to_bytes()),
            _ => w.u8(0),
        };
        w.into_bytes()
    }

    /// Decodes a stored report; `legacy_key` gives the code of a version 1 report, which its
    /// storage key held.
    pub fn decode(
        bytes: &[u8],
        legacy_key: impl FnOnce() -> Option<CodeKey>,
    ) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.version("report version", &[REPORT_VERSION, REPORT_VERSION_1])?;
        let manufacturer = PartyId::read(&mut r)?;
        let at = Timestamp(r.i64()?);
        let text = r.str16("text")?.to_owned();
        let contact = Some(r.str8("contact")?.to_owned()).filter(|s| !s.is_empty());
        let region = Some(r.str8("region")?.to_owned()).filter(|s| !s.is_empty());
        // Version 1 kept no id, verdict or label, and its code in the storage key.
        let (id, key, verdict, key_id, signature) = if version == REPORT_VERSION_1 {
            let key = legacy_key().ok_or_else(|| r.invalid("report", "malformed key"))?;
            (String::new(), key, None, None, None)
        } else {
            let id = r.str8("id")?.to_owned();
            let len = usize::from(r.u8()?);
            let key =
                CodeKey::from_bytes(r.take(len)?).map_err(|e| r.invalid("code", e.to_string()))?;
            let verdict = Some(r.str8("verdict")?.to_owned()).filter(|s| !s.is_empty());
            let (key_id, signature) = match r.u8()? {
                0 => (None, None),
                _ => (
                    Some(KeyId(r.array()?)),
                    Some(Signature::from_bytes(&r.array()?)),
                ),
            };
            (id, key, verdict, key_id, signature)
        };
        let report = Report {
            id,
            key,
            manufacturer,
            at,
            text,
            contact,
            region,
            verdict,
            key_id,
            signature,
        };
        r.finish()?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_and_never_print_it() {
        let party = PartyId::parse("shop-1").unwrap();
        let issued = new_token(&party, Timestamp(1), None);
        let (id, secret) = split_token(issued.reveal()).unwrap();
        assert_eq!(id, issued.record.id);
        assert!(secret_matches(&issued.record, secret));
        assert!(!secret_matches(&issued.record, "x"));
        assert!(!format!("{issued:?}").contains(secret));
        assert!(!format!("{:?}", issued.record).contains(secret));
        assert_eq!(
            TokenRecord::decode(&issued.record.encode()).unwrap(),
            issued.record
        );
        assert!(split_token("Bearer x").is_none());
        assert!(split_token("pst_zz_secret").is_none());
    }

    #[test]
    fn parties_round_trip() {
        let party = Party {
            id: PartyId::parse("shop-1").unwrap(),
            role: Role::Shop,
            name: "广州汽修".into(),
            region: Some("Guangdong".into()),
            created_at: Timestamp(5),
            revoked_at: Some(Timestamp(9)),
        };
        assert_eq!(Party::decode(&party.encode()).unwrap(), party);
    }
}
