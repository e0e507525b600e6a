//! Reading the registry: a code's status and history, what an owner may learn about a vehicle,
//! a vehicle's parts, scan figures, store figures, and a manufacturer's lots.

use std::sync::Arc;

use super::{Registry, Result, corrupt};
use crate::custody::Custody;
use crate::event::{Action, Event, What};
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::record::{CodeRecord, LotRecall};
use crate::scans::ScanStats;
use crate::store::{RecordCacheStats, StoreStats};
use crate::vin::Vin;
use signer::Timestamp;

/// What an owner's "is this part in my vehicle?" gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VehicleAnswer {
    /// The part is recorded as installed in this vehicle now: since when, and by which shop (the
    /// owner knows who repaired their car; telling them is no one's secret).
    Recorded { since: Timestamp, by: PartyId },
    /// It is not.
    NotRecorded,
    /// A part was recorded under this code in this vehicle, and the manufacturer found it was a
    /// copy.
    FoundCounterfeit,
}

/// Everything a scan needs to answer, from one or two reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeStatus {
    pub key: CodeKey,
    /// Shared with the store's record cache: a scan copies no record.
    pub record: Arc<CodeRecord>,
    /// The recall of the code's whole lot, if there was one.
    pub lot_recall: Option<LotRecall>,
}

/// A code's history: the record and every event, commissioning first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    pub key: CodeKey,
    pub record: CodeRecord,
    pub events: Vec<Event>,
    pub lot_recall: Option<LotRecall>,
}

impl Registry {
    /// The code's record and its lot's recall: what a scan needs. `None` if never registered.
    pub fn status(&self, key: &CodeKey) -> Result<Option<CodeStatus>> {
        let Some(record) = self.store.code(key)? else {
            return Ok(None);
        };
        let lot_recall = match &record.lot {
            Some(lot) => self.lot_recall(key, lot)?,
            None => None,
        };
        Ok(Some(CodeStatus {
            key: key.clone(),
            record,
            lot_recall,
        }))
    }

    pub fn history(&self, key: &CodeKey) -> Result<Option<History>> {
        let Some(status) = self.status(key)? else {
            return Ok(None);
        };
        let mut events = vec![status.record.commissioning()];
        events.extend(self.events(key, &status.record)?);
        Ok(Some(History {
            key: status.key,
            record: Arc::unwrap_or_clone(status.record),
            events,
            lot_recall: status.lot_recall,
        }))
    }

    /// What the registry can tell the owner of vehicle `vin` about this code: whether the part is
    /// recorded in their vehicle, or whether the part recorded under it in their vehicle was found
    /// counterfeit (the manufacturer resolved the code's copies, naming another copy or none as
    /// genuine). Nothing else is revealed.
    pub fn vehicle_answer(&self, key: &CodeKey, vin: &Vin) -> Result<VehicleAnswer> {
        let Some(status) = self.status(key)? else {
            return Ok(VehicleAnswer::NotRecorded);
        };
        let record = &status.record;
        if let Custody::Installed { vin: v, by } = &record.custody.custody
            && v == vin
        {
            return Ok(VehicleAnswer::Recorded {
                since: record.custody.since,
                by: by.clone(),
            });
        }
        if record.flags.copies.is_none() {
            return Ok(VehicleAnswer::NotRecorded);
        }
        let recorded_here = self.events(key, record)?.iter().any(|e| {
            matches!(&e.what, What::Action(Action::Install { vin: v }) if v == vin)
                && !e.outcome.is_claim()
        });
        Ok(if recorded_here {
            VehicleAnswer::FoundCounterfeit
        } else {
            VehicleAnswer::NotRecorded
        })
    }

    /// Codes installed in this vehicle now.
    pub fn installed_in(&self, vin: &Vin) -> Result<Vec<CodeStatus>> {
        let mut out = Vec::new();
        for key in self.store.installed_in(vin)? {
            // The index may hold entries left by an interrupted write; the record decides.
            match self.status(&key)? {
                Some(status)
                    if matches!(&status.record.custody.custody,
                                Custody::Installed { vin: v, .. } if v == vin) =>
                {
                    out.push(status)
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The code's events after the commissioning, without the remains of an interrupted update.
    pub(crate) fn events(&self, key: &CodeKey, record: &CodeRecord) -> Result<Vec<Event>> {
        let mut events = self.store.events(key)?;
        events.retain(|e| e.seq < record.events);
        Ok(events)
    }

    /// The code's scan aggregate, including scans not yet written to the store.
    pub fn scans(&self, key: &CodeKey) -> Result<Option<ScanStats>> {
        match self.scans.get(key) {
            Some(stats) => Ok(Some(stats)),
            None => Ok(self.store.scans(key)?),
        }
    }

    /// Counts and sizes of the whole store. It walks the store: seconds for millions of codes.
    pub fn stats(&self) -> Result<StoreStats> {
        Ok(self.store.stats()?)
    }

    /// How the code records kept in memory serve lookups (cheap).
    pub fn record_cache(&self) -> RecordCacheStats {
        self.store.record_cache()
    }

    /// The manufacturer's lots with their code counts, public scans and open alerts, from a walk
    /// of the code records that stops after `max_codes` of them (everyone's codes count towards
    /// the bound; [`crate::Lots::complete`] says whether it was reached). It reads each of the
    /// manufacturer's codes' scan figures too: seconds for a million codes, so it serves a page
    /// asked for, never one loaded on every visit.
    pub fn lots(&self, manufacturer: &PartyId, max_codes: u64) -> Result<crate::Lots> {
        let mut by_lot: std::collections::BTreeMap<(String, String), crate::LotSummary> =
            std::collections::BTreeMap::new();
        let mut out = crate::Lots {
            complete: true,
            ..crate::Lots::default()
        };
        for entry in self.store.codes() {
            if out.examined >= max_codes {
                out.complete = false;
                break;
            }
            let (key, record) = entry?;
            out.examined += 1;
            if &record.manufacturer != manufacturer {
                continue;
            }
            let gtin = key.gtin().map_err(corrupt)?;
            let lot_name = record
                .lot
                .as_ref()
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default();
            let recalled = match &record.lot {
                Some(lot) => self.lot_recall(&key, lot)?.is_some(),
                None => false,
            };
            let scans = self.scans(&key)?.map_or(0, |s| s.total);
            let summary = by_lot
                .entry((gtin.as_str().to_owned(), lot_name))
                .or_insert_with(|| crate::LotSummary {
                    gtin,
                    lot: record.lot.clone(),
                    codes: 0,
                    scans: 0,
                    alerting: 0,
                    recalled,
                });
            summary.codes += 1;
            summary.scans += scans;
            summary.alerting += u64::from(record.flags.alerting());
        }
        out.lots = by_lot.into_values().collect();
        Ok(out)
    }
}
