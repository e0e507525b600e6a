//! What reaches a business besides its own records: public reports about a manufacturer's codes,
//! and notices to a business whose part another party moved.

use super::{Registry, Result, corrupt};
use crate::key::CodeKey;
use crate::notices::Notice;
use crate::parties::Report;
use crate::party::PartyId;

impl Registry {
    /// Who a public report about this code goes to: the code's manufacturer, or, for a code the
    /// registry does not hold (a forged label, say), the certified maker of its GTIN. `None` if no
    /// certified manufacturer makes the GTIN.
    pub fn report_recipient(&self, key: &CodeKey) -> Result<Option<PartyId>> {
        if let Some(status) = self.status(key)? {
            return Ok(Some(status.record.manufacturer.clone()));
        }
        let gtin = key.gtin().map_err(corrupt)?;
        Ok(self
            .trust()
            .certificates()
            .iter()
            .find(|c| c.covers(&gtin))
            .and_then(|c| PartyId::parse(&c.body().manufacturer_id).ok()))
    }

    /// Keeps a public report about a code for its manufacturer, under a new random id, which it
    /// returns.
    pub fn add_report(&self, mut report: Report) -> Result<String> {
        report.id = Report::new_id();
        report.validate()?;
        let _gate = self.write_gate();
        self.store.add_report(&report)?;
        self.store.durable()?;
        Ok(report.id)
    }

    pub fn reports(&self, manufacturer: &PartyId) -> Result<Vec<Report>> {
        Ok(self.store.reports(manufacturer)?)
    }

    /// This party's notices, newest first: parts it had that another party moved (see
    /// [`crate::notices`]).
    pub fn notices(&self, party: &PartyId) -> Result<Vec<Notice>> {
        let mut out = Vec::new();
        for notice in self.store.notices(party)?.into_iter().rev() {
            // A notice written by an update that did not complete names an event never counted.
            match self.store.code(&notice.key)? {
                Some(record) if notice.seq < record.events => out.push(notice),
                _ => {}
            }
        }
        Ok(out)
    }
}
