//! Browser sessions as the store keeps them (under a hash of the cookie), so every replica knows
//! a signed-in person; and each shop station's list of recent scans, kept per shop.

use signer::Timestamp;

use super::{Registry, Result};

impl Registry {
    /// The browser session with this id (the cookie's value), if the store has it.
    pub fn session(&self, id: &str) -> Result<Option<crate::SessionRecord>> {
        Ok(self.store.session(&crate::session_key(id))?)
    }

    /// Keeps a browser session (new, or changed) for every replica. Returns once durable.
    pub fn put_session(&self, id: &str, session: &crate::SessionRecord) -> Result<()> {
        let _gate = self.write_gate();
        self.store.put_session(&crate::session_key(id), session)?;
        Ok(self.store.durable()?)
    }

    /// Ends a browser session in every replica.
    pub fn end_session(&self, id: &str) -> Result<()> {
        let _gate = self.write_gate();
        self.store.remove_session(&crate::session_key(id))?;
        Ok(self.store.durable()?)
    }

    /// The shop station's list of recent scans for `party`, as the verifier last kept it.
    pub fn station_list(&self, party: &crate::PartyId) -> Result<Option<Vec<u8>>> {
        Ok(self.store.station_list(party)?)
    }

    /// Keeps the shop station's list for `party`, for every sign-in and replica. Returns once
    /// durable.
    pub fn put_station_list(&self, party: &crate::PartyId, list: &[u8]) -> Result<()> {
        let _gate = self.write_gate();
        self.store.put_station_list(party, list)?;
        Ok(self.store.durable()?)
    }

    /// Forgets the sessions that expired before `now`.
    pub fn remove_expired_sessions(&self, now: Timestamp) -> Result<usize> {
        let _gate = self.write_gate();
        Ok(self.store.remove_expired_sessions(now)?)
    }
}
