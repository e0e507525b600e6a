//! A registration batch in one entry: an RFC 6962 tree over its codes' commitments, in the batch's
//! order, whose root is the entry's value; a code's receipt carries its path to that root. The
//! entry does not say how many codes the batch has.

use crate::commitment::Commitment;
use crate::error::TlogError;
use crate::tree::{self, Hash, MemoryTree};

/// Where one code's commitment sits in its batch's tree.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchPath {
    pub index: u64,
    pub size: u64,
    pub hashes: Vec<Hash>,
}

/// The tree over a batch's commitments (leaf `i` is `SHA-256(0x00 ‖ cᵢ)`).
#[derive(Clone, Debug)]
pub struct BatchTree(MemoryTree);

impl BatchTree {
    pub fn new<'a>(
        commitments: impl IntoIterator<Item = &'a Commitment>,
    ) -> Result<Self, TlogError> {
        let mut tree = MemoryTree::new();
        for c in commitments {
            tree.push(&c.0)?;
        }
        if tree.size() == 0 {
            return Err(TlogError::Tree {
                what: "a batch's tree",
                reason: "a batch of no codes".into(),
            });
        }
        Ok(BatchTree(tree))
    }

    pub fn root(&self) -> Result<Hash, TlogError> {
        self.0.root()
    }

    pub fn path(&self, index: u64) -> Result<BatchPath, TlogError> {
        let size = self.0.size();
        Ok(BatchPath {
            index,
            size,
            hashes: tree::inclusion_proof(size, index, &self.0)?,
        })
    }
}

/// Checks that `commitment` is the batch's code at `path.index` under `root`.
pub fn check_batch_path(
    path: &BatchPath,
    commitment: &Commitment,
    root: Hash,
) -> Result<(), TlogError> {
    tree::check_inclusion(
        &path.hashes,
        path.size,
        root,
        path.index,
        MemoryTree::leaf_hash(&commitment.0),
    )
    .map_err(|_| TlogError::Proof {
        what: "the code's path in its registration batch",
    })
}
