//! Whether a scanned label is the one registered for its code: the one place that decides it, for
//! the public verdict, the scanning station and every custody submission alike.
//!
//! Registration verified the registered signature, so a scan compares bytes: the label's lot, key
//! id and signature with the registered ones. Verification is strict, so a mauled copy of a label
//! differs from the registered one and is not taken for it. A forged label naming a registered
//! serial must never write into the genuine part's history: [`Registry::submit`] compares the
//! label with the very record it judges, under the code's lock.

use signer::{DigitalLink, KeyId, PartId, Signature, SignedCode};

use super::{CodeStatus, Registry, Result};
use crate::key::CodeKey;
use crate::record::CodeRecord;

/// What a scanned label shows: the code it names (GTIN, lot, serial) and the key id and signature
/// it carries, if any.
#[derive(Clone, Copy, Debug)]
pub struct ScannedLabel<'a> {
    part: &'a PartId,
    key_id: Option<KeyId>,
    signature: Option<&'a Signature>,
}

impl<'a> From<&'a SignedCode> for ScannedLabel<'a> {
    fn from(code: &'a SignedCode) -> Self {
        ScannedLabel {
            part: &code.part,
            key_id: Some(code.key_id),
            signature: Some(&code.signature),
        }
    }
}

impl<'a> From<&'a DigitalLink> for ScannedLabel<'a> {
    fn from(link: &'a DigitalLink) -> Self {
        ScannedLabel {
            part: &link.part,
            key_id: link.key_id,
            signature: link.signature.as_ref(),
        }
    }
}

impl ScannedLabel<'_> {
    /// The code the label names.
    pub fn key(&self) -> CodeKey {
        CodeKey::of(self.part)
    }

    /// Whether this is the label `record` registered: the same lot, key id and signature. (The
    /// record is the one of the label's GTIN and serial: the caller looked it up by them.)
    fn is_registered_as(&self, record: &CodeRecord) -> bool {
        self.key_id == Some(record.key_id)
            && self.signature == Some(&record.signature)
            && self.part.lot == record.lot
    }

    /// Whether this is the label registered as `record` under `key`.
    pub(super) fn is_label_of(&self, key: &CodeKey, record: &CodeRecord) -> bool {
        self.is_registered_as(record) && self.key() == *key
    }
}

/// What the registry says of a scanned label.
// Returned by value and matched at once, never kept in bulk: boxing the status would add an
// allocation to every public scan for no memory saved.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelStatus {
    /// A code is registered under the label's GTIN and serial, and this is its label: the code's
    /// status.
    Registered(CodeStatus),
    /// A code is registered under the label's GTIN and serial, with another label: this one is
    /// forged or altered (or a valid label of another lot, which is no better).
    NotThisLabel,
    /// No code is registered under the label's GTIN and serial.
    NotRegistered,
}

impl Registry {
    /// Whether `label` is the label registered for the code it names, and if so the code's status
    /// (one read, as [`Registry::status`]). Where it is not, only its signature can say more.
    pub fn label_status(&self, label: ScannedLabel<'_>) -> Result<LabelStatus> {
        Ok(match self.status(&label.key())? {
            Some(status) if label.is_registered_as(&status.record) => {
                LabelStatus::Registered(status)
            }
            Some(_) => LabelStatus::NotThisLabel,
            None => LabelStatus::NotRegistered,
        })
    }
}
