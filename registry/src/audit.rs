//! The end-to-end check behind `partseal registry audit`: every hash chain, every record against
//! its history, every derived index against the records, every carton's contents against the
//! carton each code and each nested carton is in, and the packing records against their index by
//! packer.

use std::collections::{BTreeMap, BTreeSet};

use signer::Sscc;

use crate::carton::Carton;
use crate::custody::Custody;
use crate::event::GENESIS;
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::registry::{Registry, Result};
use crate::rules;
use crate::store::keys::{packer_key, sscc_of_packer_key};
use crate::store::{Entries, Store};
use crate::vin::Vin;

/// What the audit found. Clean means no problems.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    pub codes: u64,
    /// Events checked, commissioning included.
    pub events: u64,
    /// Remains of updates a crash interrupted before they were acknowledged: an event one past its
    /// record, or an index entry its record does not back. Harmless (readers ignore them, the next
    /// write replaces them), so they do not make the audit fail.
    pub interrupted: u64,
    pub problems: Vec<String>,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_LISTED {
            self.problems.push(text);
        } else if self.problems.len() == MAX_LISTED {
            self.problems.push("… more problems not listed".to_owned());
        }
    }

    /// A derived index against the entries the records call for: one no record backs is the
    /// remains of an interrupted update; one missing is a problem (`missing` says which).
    fn check_index<T: Ord>(
        &mut self,
        name: &str,
        indexed: Entries<'_, T>,
        expected: &BTreeSet<T>,
        missing: impl Fn(&T) -> String,
    ) {
        let indexed: BTreeSet<T> = match indexed.collect() {
            Ok(set) => set,
            Err(e) => {
                self.problem(format!("unreadable {name} index: {e}"));
                BTreeSet::new()
            }
        };
        self.interrupted += indexed.difference(expected).count() as u64;
        for entry in expected.difference(&indexed) {
            self.problem(missing(entry));
        }
    }
}

/// Problems listed in full; beyond this only counted, so a badly damaged store gives a readable report.
const MAX_LISTED: usize = 100;

impl Registry {
    /// Walks the whole store. Storage errors (unreadable or undecodable data) are problems too, not
    /// silently skipped entries.
    pub fn audit(&self, mut progress: impl FnMut(u64)) -> Result<AuditReport> {
        let store = self.store();
        let mut report = AuditReport::default();
        let mut alerting: BTreeSet<(PartyId, CodeKey)> = BTreeSet::new();
        let mut installed: BTreeSet<(Vin, CodeKey)> = BTreeSet::new();
        let mut stored_events = 0u64;
        for entry in store.codes() {
            let (key, record) = match entry {
                Ok(e) => e,
                Err(e) => {
                    report.problem(format!("unreadable code record: {e}"));
                    continue;
                }
            };
            report.codes += 1;
            if report.codes % 65_536 == 0 {
                progress(report.codes);
            }
            let events = match store.events(&key) {
                Ok(e) => e,
                Err(e) => {
                    report.problem(format!("{key}: unreadable events: {e}"));
                    continue;
                }
            };
            stored_events += events.len() as u64;
            let mut events = events;
            if events.last().is_some_and(|e| e.seq == record.events) {
                events.pop();
                report.interrupted += 1;
            }
            report.events += 1 + events.len() as u64;
            let mut head = record.commissioning().hash(&key);
            let mut intact = true;
            for (i, event) in events.iter().enumerate() {
                let expected_seq = i as u32 + 1;
                if event.seq != expected_seq {
                    report.problem(format!(
                        "{key}: event {} found where {expected_seq} belongs",
                        event.seq
                    ));
                    intact = false;
                    break;
                }
                if event.prev != head || event.prev == GENESIS {
                    report.problem(format!(
                        "{key}: event {} does not chain to event {} (altered or reordered history)",
                        event.seq,
                        event.seq - 1
                    ));
                    intact = false;
                    break;
                }
                head = event.hash(&key);
            }
            if intact && (record.events as usize != events.len() + 1 || record.head != head) {
                report.problem(format!(
                    "{key}: the record names {} events and a head the history does not end in \
                         (an event is missing or was altered)",
                    record.events
                ));
            }
            if intact {
                let (replayed, _) = rules::replay(&record, &events, &rules::corrected(&events));
                if replayed.custody.custody != record.custody.custody
                    || replayed.flags != record.flags
                {
                    report.problem(format!(
                        "{key}: the record's custody does not follow from its history"
                    ));
                }
            }
            if record.flags.alerting() {
                alerting.insert((record.manufacturer.clone(), key.clone()));
            }
            if let Custody::Installed { vin, .. } = &record.custody.custody {
                installed.insert((*vin, key.clone()));
            }
        }
        let mut total_events = 0u64;
        for entry in store.all_events() {
            match entry {
                Ok(_) => total_events += 1,
                Err(e) => report.problem(format!("unreadable event: {e}")),
            }
        }
        if total_events != stored_events {
            report.problem(format!(
                "{} stored events belong to no registered code's chain",
                total_events.saturating_sub(stored_events)
            ));
        }
        report.check_index("alert", store.all_alerts(), &alerting, |(party, key)| {
            format!("the alert index misses {key} of {party}, which is flagged")
        });
        report.check_index(
            "vehicle",
            store.all_installed(),
            &installed,
            |(vin, key)| format!("the vehicle index misses {key}, which is installed in {vin}"),
        );
        check_cartons(store, &mut report);
        progress(report.codes);
        Ok(report)
    }
}

/// Cartons against what each code and each nested carton says it is in. A carton move writes both
/// sides in one atomic change, so any disagreement is a problem, never the remains of a crash.
fn check_cartons(store: &Store, report: &mut AuditReport) {
    let mut cartons: BTreeMap<Sscc, Carton> = BTreeMap::new();
    for entry in store.all_cartons() {
        match entry {
            Ok((sscc, carton)) => {
                cartons.insert(sscc, carton);
            }
            Err(e) => report.problem(format!("unreadable carton: {e}")),
        }
    }
    let mut code_cartons: BTreeMap<CodeKey, Sscc> = BTreeMap::new();
    for entry in store.all_code_cartons() {
        match entry {
            Ok((key, sscc)) => {
                code_cartons.insert(key, sscc);
            }
            Err(e) => report.problem(format!("unreadable code's carton: {e}")),
        }
    }
    for (sscc, carton) in &cartons {
        if carton.is_empty() {
            report.problem(format!("carton {sscc} is stored empty"));
        }
        for key in &carton.codes {
            match store.code(key) {
                Ok(Some(_)) => {}
                Ok(None) => report.problem(format!(
                    "carton {sscc} holds {key}, which is not registered"
                )),
                Err(e) => report.problem(format!("carton {sscc}: {key} unreadable: {e}")),
            }
            if code_cartons.get(key) != Some(sscc) {
                report.problem(format!(
                    "carton {sscc} holds {key}, which is not recorded in it"
                ));
            }
        }
        for inner in &carton.cartons {
            if cartons.get(inner).and_then(|c| c.parent.as_ref()) != Some(sscc) {
                report.problem(format!(
                    "carton {sscc} holds carton {inner}, which is not recorded in it"
                ));
            }
        }
        if let Some(parent) = &carton.parent {
            if !cartons
                .get(parent)
                .is_some_and(|p| p.cartons.contains(sscc))
            {
                report.problem(format!(
                    "carton {sscc} is recorded in carton {parent}, which does not hold it"
                ));
            }
        }
    }
    for (key, sscc) in &code_cartons {
        if !cartons.get(sscc).is_some_and(|c| c.codes.contains(key)) {
            report.problem(format!(
                "{key} is recorded in carton {sscc}, which does not hold it"
            ));
        }
    }
    check_packer_index(store, &cartons, report);
}

/// The index of packing records by packer against the records: written in the same atomic change,
/// so each record has its entry and each entry its record.
fn check_packer_index(store: &Store, cartons: &BTreeMap<Sscc, Carton>, report: &mut AuditReport) {
    let mut expected: BTreeMap<Vec<u8>, Sscc> = cartons
        .iter()
        .map(|(sscc, c)| (packer_key(&c.packed_by, c.packed_at, sscc), *sscc))
        .collect();
    for entry in store.all_packer_entries() {
        match entry {
            Ok(k) => {
                if expected.remove(&k).is_none() {
                    let sscc =
                        sscc_of_packer_key(&k).map_or_else(|e| e.to_string(), |s| s.to_string());
                    report.problem(format!(
                        "the packer index lists carton {sscc}, which no packing record backs"
                    ));
                }
            }
            Err(e) => report.problem(format!("unreadable packer index entry: {e}")),
        }
    }
    for sscc in expected.into_values() {
        report.problem(format!("the packer index misses carton {sscc}"));
    }
}
