//! A manufacturer's lots as its dashboard lists them: codes registered and public scans per GTIN
//! and lot ([`crate::Registry::lots`]).
//!
//! The store keeps no per-lot counters (registration would have to update one under contention
//! for every chunk), so the figures come from walking the code records. The walk is bounded:
//! [`Lots::complete`] says whether every record was seen, and the page says when not.

use signer::{Gtin, Lot};

/// One GTIN and lot of a manufacturer's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotSummary {
    pub gtin: Gtin,
    pub lot: Option<Lot>,
    /// Codes registered.
    pub codes: u64,
    /// Public scans of those codes, in all.
    pub scans: u64,
    /// Codes of the lot with an alert open.
    pub alerting: u64,
    /// The whole lot is recalled.
    pub recalled: bool,
}

/// The lots counted, by GTIN then lot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lots {
    pub lots: Vec<LotSummary>,
    /// Code records looked at (everyone's: the walk goes through the whole store).
    pub examined: u64,
    /// Whether the walk saw every code record, or stopped at its bound.
    pub complete: bool,
}
