//! Browser sessions of the shop station and the dashboard, kept in the store so that every
//! replica of the service knows them: signing in through one and going on through another works,
//! and signing out (or a revoked token) ends the session in all of them at once.
//!
//! A session is stored under the SHA-256 of its id, never the id itself: the id is the browser's
//! cookie, and whoever reads the store must not be able to take a session over.

use sha2::{Digest, Sha256};
use signer::Timestamp;
use signer::wire::{Reader, WireError, Writer};

use crate::party::PartyId;
use crate::vin::Vin;

const VERSION: u8 = 1;

/// What every replica must agree on about a session: who it is, how its forms prove they came
/// from its pages, and the station's mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub party: PartyId,
    /// The id of the API token the session was opened with: the session lives only as long as it.
    pub token_id: String,
    /// The token every form of the session carries.
    pub csrf: String,
    /// The pages' language code (`zh`, `en`).
    pub lang: String,
    pub expires_at: Timestamp,
    /// Install mode: the vehicle scanned parts go into (a VIN whose check digit does not verify
    /// only once confirmed).
    pub install_vin: Option<Vin>,
    /// A VIN whose check digit does not verify, waiting for the operator's confirmation.
    pub confirm_vin: Option<Vin>,
}

/// The key a session is stored under.
pub fn session_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn write_vin(w: &mut Writer, vin: &Option<Vin>) {
    w.str8(vin.as_ref().map_or("", |v| v.as_str()));
}

fn read_vin(r: &mut Reader<'_>) -> Result<Option<Vin>, WireError> {
    match r.str8("vin")? {
        "" => Ok(None),
        text => Vin::parse_confirmed(text)
            .map(Some)
            .map_err(|e| r.invalid("vin", e.to_string())),
    }
}

impl SessionRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .str8(self.party.as_str())
            .str8(&self.token_id)
            .str8(&self.csrf)
            .str8(&self.lang)
            .i64(self.expires_at.0);
        write_vin(&mut w, &self.install_vin);
        write_vin(&mut w, &self.confirm_vin);
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.version("session version", &[VERSION])?;
        let party = r.str8("party")?;
        let party = PartyId::parse(party).map_err(|e| r.invalid("party", e.to_string()))?;
        let token_id = r.str8("token id")?.to_owned();
        let csrf = r.str8("csrf")?.to_owned();
        let lang = r.str8("lang")?.to_owned();
        let expires_at = Timestamp(r.i64()?);
        let install_vin = read_vin(&mut r)?;
        let confirm_vin = read_vin(&mut r)?;
        r.finish()?;
        Ok(SessionRecord {
            party,
            token_id,
            csrf,
            lang,
            expires_at,
            install_vin,
            confirm_vin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_is_keyed_by_a_hash_of_its_id() {
        let record = SessionRecord {
            party: PartyId::parse("shop-1").unwrap(),
            token_id: "0c857c7eae99f016".into(),
            csrf: "c".repeat(64),
            lang: "zh".into(),
            expires_at: Timestamp(1_800_000_000),
            install_vin: Some(Vin::parse("LSVAU218XN2183294").unwrap()),
            confirm_vin: None,
        };
        assert_eq!(SessionRecord::decode(&record.encode()).unwrap(), record);
        let id = "a".repeat(64);
        assert_eq!(session_key(&id), session_key(&id));
        assert!(!session_key(&id).windows(4).any(|w| w == b"aaaa"));
    }
}
