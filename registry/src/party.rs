//! Parties: the authenticated actors behind custody events (manufacturers, distributors, shops).

use std::fmt;

use signer::wire::{Reader, WireError};

/// A party's id: 1 to 64 ASCII letters, digits, `.`, `_` or `-` (the rule certificates use). A manufacturer's party id is the
/// `manufacturer_id` its certificate names, which ties its codes to it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(String);

pub const MAX_PARTY_ID_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("party id {id:?} is invalid: {why}")]
pub struct PartyIdError {
    pub id: String,
    pub why: &'static str,
}

impl PartyId {
    pub fn parse(s: &str) -> Result<Self, PartyIdError> {
        let err = |why| PartyIdError {
            id: s.chars().take(MAX_PARTY_ID_LEN + 1).collect(),
            why,
        };
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.len() > MAX_PARTY_ID_LEN {
            return Err(err("it is longer than 64 characters"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(err("use only ASCII letters, digits, '.', '_' and '-'"));
        }
        Ok(PartyId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads a party id stored as a one-byte length and its text.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let text = r.str8("party id")?;
        PartyId::parse(text).map_err(|e| r.invalid("party id", e.to_string()))
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartyId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(PartyId::parse("acme-brakes").is_ok());
        assert!(PartyId::parse("").is_err());
        assert!(PartyId::parse("Acme Brakes").is_err());
        assert!(PartyId::parse(&"a".repeat(65)).is_err());
    }
}
