//! A manufacturer's alerts: its codes whose flags need attention, the investigation workflow
//! (new, investigating, then resolved by a `resolving` event) and the notes kept beside it.

use signer::Timestamp;

use super::{CodeStatus, Registry, Result};
use crate::error::NotAllowed;
use crate::key::CodeKey;
use crate::notes::AlertNote;
use crate::party::PartyId;

impl Registry {
    /// Codes of this manufacturer whose flags need attention.
    pub fn alerts(&self, manufacturer: &PartyId) -> Result<Vec<CodeStatus>> {
        let mut out = Vec::new();
        for key in self.store.alerts(manufacturer)? {
            // The index may hold entries left by an interrupted write; the record decides.
            match self.status(&key)? {
                Some(status)
                    if status.record.flags.alerting()
                        && &status.record.manufacturer == manufacturer =>
                {
                    out.push(status)
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// When this manufacturer began investigating the alert on a code (the alert workflow: new,
    /// investigating, then resolved by a `resolving` event).
    pub fn investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> Result<Option<Timestamp>> {
        Ok(self.store.alert_investigating(manufacturer, key)?)
    }

    /// Marks the alert on one of the manufacturer's flagged codes as under investigation. False if
    /// the code has no alert (nothing to investigate, or someone resolved it meanwhile).
    pub fn mark_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        now: Timestamp,
    ) -> Result<bool> {
        let marked = {
            let _gate = self.write_gate();
            // Under the code's lock, so a resolution cannot remove the alert in between.
            let _code = self.stripe(key);
            match self.store.code(key)? {
                Some(r) if &r.manufacturer == manufacturer && r.flags.alerting() => {
                    self.store.set_alert_investigating(manufacturer, key, now)?
                }
                _ => false,
            }
        };
        if marked {
            self.store.durable()?;
        }
        Ok(marked)
    }

    /// Keeps a note of the manufacturer's on one of its own codes (written with a dashboard
    /// action), beside the code's history: append-only, kept after the alert ends.
    pub fn add_alert_note(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        note: &AlertNote,
    ) -> Result<()> {
        note.validate()?;
        match self.store.code(key)? {
            Some(r) if &r.manufacturer == manufacturer => {}
            _ => return Err(NotAllowed::NotTheMaker(manufacturer.clone()).into()),
        }
        let _gate = self.write_gate();
        self.store.add_alert_note(manufacturer, key, note)?;
        self.store.durable()?;
        Ok(())
    }

    /// The manufacturer's notes on a code, oldest first.
    pub fn alert_notes(&self, manufacturer: &PartyId, key: &CodeKey) -> Result<Vec<AlertNote>> {
        Ok(self.store.alert_notes(manufacturer, key)?)
    }
}
