//! The transparency log, as the registry offers it: its key, one sequencer round, its head.
//! The work is the store's (`store::log`); here it is gated like every other write, so a backup
//! copies a tree, its entries and its pool as of one moment.

use super::{Registry, Result};
use crate::key::CodeKey;
use crate::store::log::{LogHead, LogOpening, Sequenced};

impl Registry {
    /// The log's own Ed25519 key, created with the store: never the authority's or a maker's.
    pub fn log_signing_key(&self) -> Result<signer::SigningKey> {
        Ok(self.store.log_signing_key()?)
    }

    /// Adds the pool's entries to the log and signs the new checkpoint. Several processes may call
    /// it at once on one store: exactly one round wins each head (see `store::log`).
    pub fn sequence_log(&self, key: &tlog::LogKey) -> Result<Sequenced> {
        let _gate = self.write_gate();
        Ok(self.store.sequence_log(key)?)
    }

    /// The log's current tree head and checkpoint.
    pub fn log_head(&self) -> Result<LogHead> {
        Ok(self.store.log_head()?)
    }

    /// The entry at `index`, if the tree holds it.
    pub fn log_entry(&self, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.store.log_entry(index)?)
    }

    /// The proof that the tree of `size` entries holds entry `index`.
    pub fn log_inclusion_proof(&self, size: u64, index: u64) -> Result<Vec<tlog::Hash>> {
        Ok(self.store.log_inclusion_proof(size, index)?)
    }

    /// The proof that the tree of `new_size` entries extends that of its first `old_size`.
    pub fn log_consistency_proof(&self, new_size: u64, old_size: u64) -> Result<Vec<tlog::Hash>> {
        Ok(self.store.log_consistency_proof(new_size, old_size)?)
    }

    /// A tile of the tree of `size` entries (see `tlog::TilePath::within`), as tlog-tiles serves it.
    pub fn log_tile(&self, tile: &tlog::TilePath, size: u64) -> Result<Vec<u8>> {
        Ok(if tile.is_entries() {
            self.store.log_entries_tile(tile, size)?
        } else {
            self.store.log_hash_tile(tile, size)?
        })
    }

    /// The commitments of the registration batch whose entry is at `index`.
    pub fn log_batch(&self, index: u64) -> Result<Vec<tlog::Commitment>> {
        Ok(self.store.log_batch(index)?)
    }

    /// The receipt of the code's latest logged event, naming the code by `link` (its URI).
    pub fn log_receipt(&self, key: &CodeKey, link: String) -> Result<Option<tlog::Receipt>> {
        Ok(self.store.log_receipt(key, link)?)
    }

    /// Where a code's event is in the log, once it is.
    pub fn log_opening(&self, key: &CodeKey, seq: u32) -> Result<Option<LogOpening>> {
        Ok(self.store.log_opening(key, seq)?)
    }
}
