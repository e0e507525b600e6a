//! A party's packing records, newest first, through the store's index by packer: what the
//! dashboard lists without walking every carton.

use signer::{Sscc, Timestamp};

use super::{Registry, Result};
use crate::carton::Carton;
use crate::party::PartyId;

impl Registry {
    /// At most `limit` of the cartons `packer` packed and has not unpacked, newest first, from
    /// after `after` (the packing time and SSCC of the last one of the page before).
    pub fn cartons_packed_by(
        &self,
        packer: &PartyId,
        after: Option<(Timestamp, Sscc)>,
        limit: usize,
    ) -> Result<Vec<(Sscc, Carton)>> {
        Ok(self.store.cartons_packed_by(packer, after, limit)?)
    }
}
