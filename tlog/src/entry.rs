//! Log entries: one shape, 65 bytes, for registration batches and custody events alike, so a
//! reader cannot tell them apart; and the entry bundles that tlog-tiles serves them in.

use tlog_tiles::{Hash, record_hash};

use crate::commitment::{Commitment, Tag};
use crate::error::TlogError;

/// The only entry version.
pub const ENTRY_VERSION: u8 = 1;
/// Bytes of an encoded entry: version, tag, value.
pub const ENTRY_LEN: usize = 1 + 32 + 32;

/// One entry: a lookup tag and a value (a commitment, or a batch's root over its commitments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: Tag,
    pub value: [u8; 32],
}

impl Entry {
    /// A custody event's entry: the tag `t(n)` of its code and its commitment.
    pub fn event(tag: Tag, commitment: Commitment) -> Self {
        Entry {
            tag,
            value: commitment.0,
        }
    }

    /// A registration batch's entry: `t(0)` of its first code and the root over its commitments
    /// (`crate::batch`).
    pub fn batch(first_tag: Tag, root: Hash) -> Self {
        Entry {
            tag: first_tag,
            value: root.0,
        }
    }

    pub fn to_bytes(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0] = ENTRY_VERSION;
        out[1..33].copy_from_slice(&self.tag.0);
        out[33..].copy_from_slice(&self.value);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TlogError> {
        let bytes: &[u8; ENTRY_LEN] = bytes.try_into().map_err(|_| TlogError::EntryLength {
            len: bytes.len(),
            expected: ENTRY_LEN,
        })?;
        if bytes[0] != ENTRY_VERSION {
            return Err(TlogError::EntryVersion(bytes[0]));
        }
        let mut tag = [0u8; 32];
        let mut value = [0u8; 32];
        tag.copy_from_slice(&bytes[1..33]);
        value.copy_from_slice(&bytes[33..]);
        Ok(Entry {
            tag: Tag(tag),
            value,
        })
    }

    /// The entry's leaf in the log's tree, `SHA-256(0x00 ‖ entry)`.
    pub fn leaf_hash(&self) -> Hash {
        record_hash(&self.to_bytes())
    }
}

/// An entry bundle as tlog-tiles serves it: each entry prefixed by its length, two bytes big-endian.
pub fn bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, TlogError> {
    let mut out = Vec::new();
    for entry in entries {
        let len = u16::try_from(entry.len())
            .map_err(|_| TlogError::Bundle("an entry longer than 65535 bytes"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// The entries of a bundle, in order; a truncated length or entry is refused, not skipped.
pub fn unbundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, TlogError> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<2>() else {
            return Err(TlogError::Bundle("a length prefix cut short"));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(TlogError::Bundle("an entry cut short"));
        }
        let (entry, rest) = rest.split_at(len);
        entries.push(entry);
        bytes = rest;
    }
    Ok(entries)
}
