//! The trust state in force (authority keys, certificates, revocation lists), held in memory and
//! changed durably; and, where other processes share the store, how it and the lot recalls are
//! read again from it.

use std::sync::{PoisonError, RwLockReadGuard};

use signer::{Certificate, RevocationList, Timestamp, TrustStore, VerifyingKey};

use super::recalls::load_lot_recalls;
use super::{Registry, RegistryError, Result};
use crate::error::TrustRefused;
use crate::store::{StoreError, TrustEntry};

impl Registry {
    /// The trust state in force (authority keys, certificates, revocations).
    pub fn trust(&self) -> RwLockReadGuard<'_, TrustStore> {
        self.refresh_shared();
        self.trust.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where other processes share the store (replicas), reads the trust state and the lot
    /// recalls again once they are older than the store's bound: a revocation or recall made
    /// through any replica is in force in every one within it. A failed read keeps what is held
    /// and tries again at the next call.
    pub(super) fn refresh_shared(&self) {
        use std::sync::atomic::Ordering;
        let Some(bound) = self.store.shared() else {
            return;
        };
        let now = self.opened.elapsed().as_millis() as u64;
        let due = self.refresh_due.load(Ordering::Acquire);
        if now < due
            || self
                .refresh_due
                .compare_exchange(
                    due,
                    now + bound.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        let fresh = self
            .store
            .trust()
            .map_err(RegistryError::from)
            .and_then(|entries| load_trust(&entries))
            .and_then(|trust| Ok((trust, load_lot_recalls(&self.store)?)));
        match fresh {
            // Never waits: a caller on this thread may hold a read guard (it would deadlock); a
            // busy lock is tried again at the next call.
            Ok((trust, recalls)) => match (self.trust.try_write(), self.lot_recalls.try_write()) {
                (Ok(mut held_trust), Ok(mut held_recalls)) => {
                    *held_trust = trust;
                    *held_recalls = recalls;
                }
                _ => self.refresh_due.store(now, Ordering::Release),
            },
            Err(e) => {
                self.refresh_due.store(now, Ordering::Release);
                tracing::warn!(error = %e, "cannot read the shared trust state and recalls again");
            }
        }
    }

    fn change_trust(
        &self,
        entry: TrustEntry,
        apply: impl FnOnce(&mut TrustStore) -> Result<(), TrustRefused>,
    ) -> Result<()> {
        let _gate = self.write_gate();
        let mut trust = self.trust.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = trust.clone();
        apply(&mut next)?;
        self.store.put_trust(&entry)?;
        self.store.durable()?;
        *trust = next;
        Ok(())
    }

    /// Trusts an authority root key.
    pub fn add_root(&self, key: VerifyingKey, now: Timestamp) -> Result<()> {
        if self.trust().roots().contains(&key) {
            return Ok(());
        }
        self.change_trust(TrustEntry::Root { key, known_at: now }, |t| {
            let mut roots = t.roots().to_vec();
            roots.push(key);
            *t = rebuild(roots, t);
            Ok(())
        })
    }

    /// Adds a certificate, after checking a trusted authority signed it.
    pub fn add_certificate(&self, cert: Certificate, now: Timestamp) -> Result<()> {
        if self.trust().certificates().contains(&cert) {
            return Ok(());
        }
        let entry = TrustEntry::Certificate {
            cert: cert.clone(),
            known_at: now,
        };
        self.change_trust(entry, |t| Ok(t.add_certificate(cert)?))
    }

    /// Puts a revocation list in force, after checking its signature; an older list is refused.
    pub fn set_revocations(&self, list: RevocationList, now: Timestamp) -> Result<()> {
        if self.trust().revocations() == Some(&list) {
            return Ok(());
        }
        let entry = TrustEntry::Revocations {
            list: list.clone(),
            known_at: now,
        };
        self.change_trust(entry, |t| Ok(t.set_revocations(list)?))
    }
}

/// A TrustStore with these roots and the certificates and revocations of `old`.
fn rebuild(roots: Vec<VerifyingKey>, old: &TrustStore) -> TrustStore {
    let mut t = TrustStore::new(roots);
    for cert in old.certificates() {
        let _ = t.add_certificate(cert.clone());
    }
    if let Some(list) = old.revocations() {
        let _ = t.set_revocations(list.clone());
    }
    t
}

pub(super) fn load_trust(entries: &[TrustEntry]) -> Result<TrustStore> {
    let roots = entries
        .iter()
        .filter_map(|e| match e {
            TrustEntry::Root { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    let mut trust = TrustStore::new(roots);
    for entry in entries {
        let checked = match entry {
            TrustEntry::Certificate { cert, .. } => trust
                .add_certificate(cert.clone())
                .map_err(|e| e.to_string()),
            TrustEntry::Revocations { list, .. } => trust
                .set_revocations(list.clone())
                .map_err(|e| e.to_string()),
            TrustEntry::Root { .. } => Ok(()),
        };
        checked.map_err(|why| StoreError::corrupt("stored trust state", why))?;
    }
    Ok(trust)
}
