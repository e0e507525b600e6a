//! The log's Merkle tree (RFC 6962 hashing, Go's stored-hash layout), its root and its proofs: thin,
//! named wrappers over `tlog_tiles`, so the arithmetic is Cloudflare's maintained port of Go's
//! `sumdb/tlog`, and every failure says which computation it was.
//!
//! A store keeps the tree as its *stored hashes*, indexed by `tlog_tiles::stored_hash_index`: each
//! appended entry adds [`hashes_to_store`], and everything else (roots, tiles, proofs) reads them back
//! through a [`HashReader`].

pub use tlog_tiles::{Error as HashError, Hash, HashReader};
use tlog_tiles::{
    Error, check_record, check_tree, prove_record, prove_tree, record_hash, stored_hash_count,
    stored_hashes, tree_hash,
};

use crate::error::TlogError;

/// The hashes to store, in order from index `stored_hash_count(n)`, when the `n`-th entry
/// (counting from 0) is appended to a tree of `n` entries.
pub fn hashes_to_store(
    n: u64,
    entry: &[u8],
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TlogError> {
    stored_hashes(n, entry, reader).map_err(|e| TlogError::tree("appending to the log", e))
}

/// How many stored hashes a tree of `size` entries has.
pub fn stored_count(size: u64) -> u64 {
    stored_hash_count(size)
}

/// The root of the tree's first `size` entries.
pub fn root(size: u64, reader: &impl HashReader) -> Result<Hash, TlogError> {
    tree_hash(size, reader).map_err(|e| TlogError::tree("the tree's root", e))
}

/// The proof that the tree of `size` entries holds entry `index`.
pub fn inclusion_proof(
    size: u64,
    index: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TlogError> {
    prove_record(size, index, reader).map_err(|e| TlogError::tree("an inclusion proof", e))
}

/// Checks that the tree of `size` entries with `root` holds the leaf `leaf` at `index`.
pub fn check_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), TlogError> {
    check_record(&proof.to_vec(), size, root, index, leaf)
        .map_err(|e| TlogError::tree("inclusion proof", e))
}

/// The proof that the tree of `new_size` entries extends the tree of its first `old_size`.
pub fn consistency_proof(
    new_size: u64,
    old_size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TlogError> {
    if old_size == 0 || old_size == new_size {
        // Every tree extends the empty tree and itself: RFC 6962's proof is empty (Go's `ProveTree`
        // refuses these sizes).
        return Ok(Vec::new());
    }
    prove_tree(new_size, old_size, reader).map_err(|e| TlogError::tree("a consistency proof", e))
}

/// Checks that the tree `(new_size, new_root)` extends the tree `(old_size, old_root)`.
pub fn check_consistency(
    proof: &[Hash],
    new_size: u64,
    new_root: Hash,
    old_size: u64,
    old_root: Hash,
) -> Result<(), TlogError> {
    const WHAT: &str = "consistency proof";
    if old_size > new_size {
        return Err(TlogError::Tree {
            what: WHAT,
            reason: format!("the tree shrank from {old_size} to {new_size} entries"),
        });
    }
    if old_size == new_size {
        return match proof.is_empty() && old_root == new_root {
            true => Ok(()),
            false => Err(TlogError::Proof { what: WHAT }),
        };
    }
    if old_size == 0 {
        return match proof.is_empty() {
            true => Ok(()),
            false => Err(TlogError::Proof { what: WHAT }),
        };
    }
    check_tree(&proof.to_vec(), new_size, new_root, old_size, old_root)
        .map_err(|e| TlogError::tree(WHAT, e))
}

/// The root of the empty tree: SHA-256 of nothing (RFC 6962, 2.1).
pub fn empty_root() -> Hash {
    use sha2::Digest as _;
    Hash(sha2::Sha256::digest(b"").into())
}

/// A tree held in memory: a registration batch's codes, and tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    pub fn new() -> Self {
        MemoryTree::default()
    }

    /// Appends one entry (hashed as a leaf, `SHA-256(0x00 ‖ entry)`).
    pub fn push(&mut self, entry: &[u8]) -> Result<(), TlogError> {
        let new = hashes_to_store(self.size, entry, self)?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Result<Hash, TlogError> {
        root(self.size, self)
    }

    /// The leaf hash of an entry, as [`MemoryTree::push`] hashes it.
    pub fn leaf_hash(entry: &[u8]) -> Hash {
        record_hash(entry)
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.hashes.get(i))
                    .copied()
                    .ok_or(Error::IndexesNotInTree)
            })
            .collect()
    }
}
