//! Parties and their API tokens (stored as hashes only), and the bearer-token authentication
//! every request of the parties' API and every signed-in page goes through.

use signer::Timestamp;

use super::{Registry, RegistryError, Result, lock};
use crate::parties::{self, AuthError, IssuedToken, Party, TokenRecord};
use crate::party::PartyId;

impl Registry {
    /// Adds a party. Its id must be new; for a manufacturer it is the certificate's
    /// `manufacturer_id`, which ties its codes to it.
    pub fn add_party(&self, party: Party) -> Result<()> {
        party.validate()?;
        let _gate = self.write_gate();
        let _serial = lock(&self.registering);
        if self.store.party(&party.id)?.is_some() {
            return Err(RegistryError::PartyExists(party.id));
        }
        self.store.put_party(&party)?;
        self.store.durable()?;
        Ok(())
    }

    /// Revokes a party: its tokens stop working; its history stays.
    pub fn revoke_party(&self, id: &PartyId, now: Timestamp) -> Result<Party> {
        let _gate = self.write_gate();
        let _serial = lock(&self.registering);
        let mut party = self
            .store
            .party(id)?
            .ok_or_else(|| RegistryError::NoSuchParty(id.clone()))?;
        party.revoked_at.get_or_insert(now);
        self.store.put_party(&party)?;
        self.store.durable()?;
        Ok(party)
    }

    pub fn party(&self, id: &PartyId) -> Result<Option<Party>> {
        Ok(self.store.party(id)?)
    }

    pub fn parties(&self) -> Result<Vec<Party>> {
        Ok(self.store.parties()?)
    }

    /// Issues a token for an existing, unrevoked party. The secret is in the returned value only.
    pub fn issue_token(
        &self,
        party: &PartyId,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<IssuedToken> {
        match self.store.party(party)? {
            Some(p) if p.revoked_at.is_none() => {}
            Some(_) => return Err(RegistryError::PartyRevoked(party.clone())),
            None => return Err(RegistryError::NoSuchParty(party.clone())),
        }
        let issued = parties::new_token(party, now, expires_at);
        let _gate = self.write_gate();
        self.store.put_token(&issued.record)?;
        self.store.durable()?;
        Ok(issued)
    }

    pub fn revoke_token(&self, id: &str, now: Timestamp) -> Result<TokenRecord> {
        let _gate = self.write_gate();
        let _serial = lock(&self.registering);
        let mut token = self
            .store
            .token(id)?
            .ok_or_else(|| RegistryError::NoSuchToken(id.to_owned()))?;
        token.revoked_at.get_or_insert(now);
        self.store.put_token(&token)?;
        self.store.durable()?;
        Ok(token)
    }

    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.store.tokens()?)
    }

    /// The party a bearer token stands for, if the token is valid now.
    pub fn authenticate(&self, token: &str, now: Timestamp) -> Result<Result<Party, AuthError>> {
        let Some((id, secret)) = parties::split_token(token) else {
            return Ok(Err(AuthError::Malformed));
        };
        let Some(record) = self.store.token(id)? else {
            return Ok(Err(AuthError::Unknown));
        };
        if !parties::secret_matches(&record, secret) {
            return Ok(Err(AuthError::Unknown));
        }
        if record.revoked_at.is_some_and(|t| t <= now) {
            return Ok(Err(AuthError::Revoked));
        }
        if record.expires_at.is_some_and(|t| t <= now) {
            return Ok(Err(AuthError::Expired));
        }
        match self.store.party(&record.party)? {
            Some(p) if p.revoked_at.is_none_or(|t| t > now) => Ok(Ok(p)),
            _ => Ok(Err(AuthError::PartyRevoked)),
        }
    }

    /// Whether the token `token_id` still stands for `party` now: not revoked, not expired, and
    /// its party not revoked. A signed-in browser session asks on every request, so it lives no
    /// longer than the token it was opened with.
    pub fn token_in_force(&self, token_id: &str, party: &PartyId, now: Timestamp) -> Result<bool> {
        let Some(record) = self.store.token(token_id)? else {
            return Ok(false);
        };
        if &record.party != party
            || record.revoked_at.is_some_and(|t| t <= now)
            || record.expires_at.is_some_and(|t| t <= now)
        {
            return Ok(false);
        }
        Ok(matches!(self.store.party(party)?, Some(p) if p.revoked_at.is_none_or(|t| t > now)))
    }
}
