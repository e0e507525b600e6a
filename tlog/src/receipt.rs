//! Receipts: one code's latest entry opened for whoever holds it, with everything needed to check
//! it offline against the log's key: the opening, the entry, its inclusion proof (and the code's
//! path in its registration batch), and the signed checkpoint.
//!
//! What a receipt proves: the registry recorded this event (and, through the event's `prev`, the
//! chain before it) for this code, in a log whose head the checkpoint's signers saw. Not that the
//! physical part is the labelled one (a cloned label carries the same signature), nor that the
//! event happened as recorded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::batch::{BatchPath, check_batch_path};
use crate::checkpoint::{LogVerifier, SignedCheckpoint};
use crate::commitment::{Commitment, LabelKey, Opening, SALT_LEN};
use crate::entry::Entry;
use crate::error::TlogError;
use crate::tree::{self, Hash};

/// A receipt as served (`receipt=1` on the public verdict) and saved to a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The service's verdict when the receipt was made: shown, not proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<serde_json::Value>,
    /// The code's link, with its signature.
    pub code: String,
    /// The event in clear, as the service describes it: shown, not proven (the opening is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<serde_json::Value>,
    /// The event's number in the code's chain (0: the registration).
    pub seq: u32,
    pub opening: ReceiptOpening,
    /// The entry's bytes, base64.
    pub entry: String,
    pub index: u64,
    /// The inclusion proof's hashes, base64.
    pub proof: Vec<String>,
    /// For a registration: the code's place in its batch's tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<ReceiptBatch>,
    /// The checkpoint, as a signed note (with witnesses' cosignatures, if any).
    pub checkpoint: String,
}

/// What the entry's commitment hides, base64.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptOpening {
    pub salt: String,
    /// The code's identity as the registry keys it.
    pub code: String,
    /// The event's stored encoding.
    pub event: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptBatch {
    pub position: u64,
    pub size: u64,
    pub path: Vec<String>,
}

/// What a receipt's check established.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedReceipt {
    pub checkpoint: SignedCheckpoint,
    pub seq: u32,
    /// The opened event's stored encoding, for the caller to decode and show.
    pub event: Vec<u8>,
}

impl Receipt {
    /// Builds a receipt (the service's side).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        code: String,
        seq: u32,
        opening: &Opening,
        entry: &Entry,
        index: u64,
        proof: &[Hash],
        batch: Option<&BatchPath>,
        checkpoint: String,
    ) -> Self {
        let b64 = |h: &Hash| BASE64.encode(h.0);
        Receipt {
            verdict: None,
            code,
            event: None,
            seq,
            opening: ReceiptOpening {
                salt: BASE64.encode(opening.salt),
                code: BASE64.encode(&opening.code),
                event: BASE64.encode(&opening.event),
            },
            entry: BASE64.encode(entry.to_bytes()),
            index,
            proof: proof.iter().map(b64).collect(),
            batch: batch.map(|p| ReceiptBatch {
                position: p.index,
                size: p.size,
                path: p.hashes.iter().map(b64).collect(),
            }),
            checkpoint,
        }
    }

    /// Checks the receipt offline: the checkpoint's signature by `log`; the opening against the
    /// entry's commitment, keyed on the label's `signature`, for the code `code` (as the registry
    /// keys it); the entry's tag; the batch path; and the entry's inclusion in the checkpoint's tree.
    pub fn check(
        &self,
        log: &LogVerifier,
        code: &[u8],
        signature: &[u8; 64],
    ) -> Result<CheckedReceipt, TlogError> {
        let checkpoint = log.open_checkpoint(&self.checkpoint)?;
        let field = |what: &'static str| {
            move |_| TlogError::Receipt(format!("`{what}` is not valid base64"))
        };
        let salt: [u8; SALT_LEN] = BASE64
            .decode(&self.opening.salt)
            .map_err(field("opening.salt"))?
            .try_into()
            .map_err(|_| TlogError::Receipt("`opening.salt` is not 32 bytes".into()))?;
        let opening = Opening {
            salt,
            code: BASE64
                .decode(&self.opening.code)
                .map_err(field("opening.code"))?,
            event: BASE64
                .decode(&self.opening.event)
                .map_err(field("opening.event"))?,
        };
        if opening.code != code {
            return Err(TlogError::Receipt(
                "the opening is for another code than the receipt's".into(),
            ));
        }
        let entry = Entry::from_bytes(&BASE64.decode(&self.entry).map_err(field("entry"))?)?;
        let label = LabelKey::from_signature(signature);
        let commitment = label.commit(&opening);
        match &self.batch {
            None => {
                if entry.tag != label.tag(self.seq) || entry.value != commitment.0 {
                    return Err(TlogError::Receipt(
                        "the entry is not this code's event: the opening does not match it".into(),
                    ));
                }
            }
            Some(batch) => {
                // A batch entry holds registrations only: the code's first event.
                if self.seq != 0 {
                    return Err(TlogError::Receipt(
                        "a registration batch's entry holds event 0 only".into(),
                    ));
                }
                let path = BatchPath {
                    index: batch.position,
                    size: batch.size,
                    hashes: hashes(&batch.path, "batch.path")?,
                };
                check_batch_path(&path, &Commitment(commitment.0), Hash(entry.value))?;
            }
        }
        tree::check_inclusion(
            &hashes(&self.proof, "proof")?,
            checkpoint.size,
            checkpoint.root,
            self.index,
            entry.leaf_hash(),
        )
        .map_err(|_| TlogError::Proof {
            what: "the entry's inclusion in the checkpoint's tree",
        })?;
        Ok(CheckedReceipt {
            checkpoint,
            seq: self.seq,
            event: opening.event,
        })
    }

    /// The same entry proven in another checkpoint of the log (an older one its witnesses
    /// cosigned): that checkpoint's note and the entry's inclusion proof in its tree.
    pub fn prove_in(&mut self, checkpoint: String, proof: &[Hash]) {
        self.checkpoint = checkpoint;
        self.proof = proof.iter().map(|h| BASE64.encode(h.0)).collect();
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, TlogError> {
        serde_json::from_str(text).map_err(|e| TlogError::Receipt(format!("not a receipt: {e}")))
    }
}

fn hashes(list: &[String], what: &str) -> Result<Vec<Hash>, TlogError> {
    list.iter()
        .map(|h| {
            BASE64
                .decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash)
                .ok_or_else(|| {
                    TlogError::Receipt(format!(
                        "`{what}` holds something other than 32-byte base64 hashes"
                    ))
                })
        })
        .collect()
}
