//! Public scans: counted in memory per code, written behind, and raising `scan_anomaly` when a
//! code is scanned from more networks than its custody makes plausible.

use signer::Timestamp;

use super::{MAX_CONFLICTS, Registry, Result};
use crate::key::CodeKey;
use crate::record::{CodeRecord, ScanAnomaly};
use crate::scans::ScanContext;
use crate::store::StoreError;

impl Registry {
    /// The context of a scan from `ip`, hashed with this store's salt.
    pub fn scan_context(&self, ip: std::net::IpAddr, region: Option<&str>) -> ScanContext {
        ScanContext::from_ip(ip, &self.salt, region)
    }

    /// Counts one public scan of a registered code and raises `scan_anomaly` when the code is
    /// scanned from more networks within the window than its custody makes plausible (see
    /// [`ScanPolicy::threshold_for`](crate::ScanPolicy::threshold_for)): a part at its maker should not be in the public's hands at
    /// all, a part in stock is seen by a few buyers, a fitted part by its owner and a shop or two.
    /// Returns the anomaly if this scan raised it. An anomaly is a warning and an alert for the
    /// manufacturer, never a verdict of a copy.
    ///
    /// Scans are analytics, not acknowledged writes: the count is kept in memory and written by
    /// [`Registry::write_scans`] (see `scan_cache`), so this is a lookup in memory unless the code
    /// was not scanned lately. The flag, when raised, is written to the code's record at once.
    pub fn record_scan(
        &self,
        key: &CodeKey,
        ctx: &ScanContext,
        now: Timestamp,
    ) -> Result<Option<ScanAnomaly>> {
        let policy = self.config.scans;
        let contexts = self.scans.add(
            key,
            ctx,
            now,
            || self.store.scans(key),
            |stats| stats.distinct_networks(now, policy),
        )?;
        if contexts < policy.lowest_threshold() {
            return Ok(None);
        }
        // Past the lowest threshold, most scans are of a code flagged already or under its
        // custody's threshold: told from the record (in memory, as a rule) without waiting for
        // writes, which a backup holds up for as long as its copy takes.
        let to_raise = |before: &CodeRecord| {
            let threshold = policy.threshold_for(&before.custody.custody)?;
            (contexts >= threshold && before.flags.scan_anomaly.is_none()).then_some(ScanAnomaly {
                at: now,
                contexts,
                window_hours: policy.window_hours,
                threshold,
            })
        };
        match self.store.code(key)? {
            Some(before) if to_raise(&before).is_some() => {}
            _ => return Ok(None),
        }
        let _gate = self.write_gate();
        let _code = self.stripe(key);
        let mut conflicts = 0;
        let (before, anomaly) = loop {
            let Some(before) = self.store.code(key)? else {
                return Ok(None);
            };
            let Some(anomaly) = to_raise(&before) else {
                return Ok(None);
            };
            let mut after = CodeRecord::clone(&before);
            after.flags.scan_anomaly = Some(anomaly.clone());
            match self.store.update_code(key, None, &[], &before, &after) {
                Ok(()) => break (before, anomaly),
                // Another replica wrote the code meanwhile: look again.
                Err(StoreError::Conflict) if conflicts < MAX_CONFLICTS => conflicts += 1,
                Err(e) => return Err(e.into()),
            }
        };
        tracing::warn!(code = %key, contexts, custody = before.custody.custody.name(), "scan anomaly");
        Ok(Some(anomaly))
    }

    /// Writes the scan aggregates counted since the last call to the store; returns how many codes'
    /// aggregates were written. The service calls it every few seconds and at shutdown; dropping
    /// the registry calls it too.
    pub fn write_scans(&self) -> Result<usize> {
        let _gate = self.write_gate();
        Ok(self.scans.write(|deltas| self.store.add_scans(deltas))?)
    }
}
