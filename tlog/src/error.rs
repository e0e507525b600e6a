//! What the log's formats refuse, each saying what was wrong and where.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TlogError {
    #[error("log entry: {len} bytes where an entry has {expected}")]
    EntryLength { len: usize, expected: usize },
    #[error("log entry: version {0}, and this reader knows version 1 only")]
    EntryVersion(u8),
    #[error("entry bundle: {0}")]
    Bundle(&'static str),
    #[error(
        "tile path `{0}`: not a tlog-tiles path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])"
    )]
    TilePath(String),
    #[error("tile `{path}` lies beyond the tree of size {size}")]
    TileBeyondTree { path: String, size: u64 },
    #[error("log origin `{0}`: a key name must be non-empty, without spaces or `+`")]
    Origin(String),
    #[error("log key `{0}`: not a note verifier key <name>+<id hex>+<base64(0x01 || Ed25519 key)>")]
    VerifierKey(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("checkpoint: origin `{found}`, and the log key is for `{expected}`")]
    CheckpointOrigin { found: String, expected: String },
    #[error("{what}: the proof does not hold")]
    Proof { what: &'static str },
    #[error("receipt: {0}")]
    Receipt(String),
    #[error("{what}: {reason}")]
    Tree { what: &'static str, reason: String },
}

impl TlogError {
    /// A Merkle computation of `tlog_tiles` that failed, named by what was being done.
    pub(crate) fn tree(what: &'static str, error: tlog_tiles::Error) -> Self {
        match error {
            tlog_tiles::Error::InvalidProof => TlogError::Proof { what },
            other => TlogError::Tree {
                what,
                reason: other.to_string(),
            },
        }
    }
}
