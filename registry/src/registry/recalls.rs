//! Recalls: the reason a code or its lot is recalled, and lot recalls, which every scan must know
//! of and so are held in memory.

use std::sync::PoisonError;

use signer::{Gtin, Lot, Timestamp};

use super::{LotRecalls, Registry, Result, corrupt};
use crate::error::{NotAllowed, TextField};
use crate::event::{Action, What};
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::record::{CodeRecord, LotRecall};
use crate::store::Store;

impl Registry {
    /// Why the code or its lot is recalled, if it is: the lot recall's reason, or the code's
    /// recall event's.
    pub fn recall_reason(&self, key: &CodeKey, record: &CodeRecord) -> Result<Option<String>> {
        if let Some(lot) = &record.lot {
            if let Some(recall) = self.lot_recall(key, lot)? {
                return Ok(Some(recall.reason));
            }
        }
        let Some((_, seq)) = record.flags.recalled else {
            return Ok(None);
        };
        let reason = self
            .events(key, record)?
            .into_iter()
            .find(|e| e.seq == seq)
            .and_then(|e| match e.what {
                What::Action(Action::Recall { reason }) => Some(reason),
                _ => None,
            })
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "recalled by its manufacturer".to_owned());
        Ok(Some(reason))
    }

    /// Recalls a whole lot: one record, effective for every code of the lot. Only a manufacturer
    /// certified for the GTIN may do it.
    pub fn recall_lot(
        &self,
        gtin: &Gtin,
        lot: &Lot,
        actor: &PartyId,
        reason: &str,
        now: Timestamp,
    ) -> Result<LotRecall> {
        TextField::RecallReason.check(reason)?;
        let certified = self
            .trust()
            .certificates()
            .iter()
            .any(|c| c.body().manufacturer_id == actor.as_str() && c.covers(gtin));
        if !certified {
            return Err(NotAllowed::NotCertified {
                party: actor.clone(),
                gtin: *gtin,
            }
            .into());
        }
        let _gate = self.write_gate();
        let mut recalls = self
            .lot_recalls
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = self.store.lot_recall(gtin, lot)? {
            return Ok(existing);
        }
        let recall = LotRecall {
            actor: actor.clone(),
            at: now,
            reason: reason.to_owned(),
        };
        self.store.put_lot_recall(gtin, lot, &recall)?;
        self.store.durable()?;
        recalls
            .entry(gtin.as_str().to_owned())
            .or_default()
            .insert(lot.as_str().to_owned(), recall.clone());
        Ok(recall)
    }

    /// The recall of this code's lot, from memory.
    pub(super) fn lot_recall(&self, key: &CodeKey, lot: &Lot) -> Result<Option<LotRecall>> {
        self.refresh_shared();
        let recalls = self
            .lot_recalls
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if recalls.is_empty() {
            return Ok(None);
        }
        let gtin = key.gtin().map_err(corrupt)?;
        Ok(recalls
            .get(gtin.as_str())
            .and_then(|lots| lots.get(lot.as_str()))
            .cloned())
    }
}

pub(super) fn load_lot_recalls(store: &Store) -> Result<LotRecalls> {
    let mut lot_recalls = LotRecalls::new();
    for (gtin, lot, recall) in store.lot_recalls()? {
        lot_recalls
            .entry(gtin.as_str().to_owned())
            .or_default()
            .insert(lot.as_str().to_owned(), recall);
    }
    Ok(lot_recalls)
}
