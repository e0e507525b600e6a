//! The registry's history as a public transparency log that anyone can check, and that names
//! nothing in clear: pure formats and checks, no storage and no HTTP.
//!
//! `docs/transparency-log.md` in the repository is the construction and its threat model. In short:
//! every registration batch and custody event is an [`Entry`] of an append-only Merkle tree; an entry
//! is a lookup [`Tag`] and a [`Commitment`], both keyed on the label's signature ([`LabelKey`]), so
//! only those who have seen a label can find its entries, and only whoever holds an entry's
//! [`Opening`] (its salt) can read it. The log's head is a C2SP checkpoint signed with the log's own
//! key ([`LogKey`]); it is served as tlog-tiles tiles ([`TilePath`]).
//!
//! The Merkle arithmetic, tile coordinates and note format are Cloudflare's `tlog_tiles` and
//! `signed_note` (ports of Go's `sumdb` packages); this crate names their operations and adds the
//! project's own parts.
//!
//! | module | what lives there |
//! |---|---|
//! | [`commitment`] | the code key from a label's signature, lookup tags, salted commitments and their openings |
//! | [`entry`] | the 65-byte entry, its leaf hash; tlog-tiles entry bundles |
//! | [`batch`] | a registration batch in one entry: the tree over its codes' commitments, a code's path in it |
//! | [`tree`] | the log's tree as stored hashes: appending, roots, inclusion and consistency proofs |
//! | [`checkpoint`] | the log key, checkpoints signed as notes, opening them with strict signature checks |
//! | [`tile`] | tlog-tiles coordinates and a hash tile's bytes |
//! | [`witness`] | the witness's rules (what it cosigns: only a tree that extends the one it knows) and cosignature/v1 lines |
//! | [`receipt`] | one code's entry opened, with its proofs and checkpoint, and its offline check |
//! | [`walk`] | a monitor's walk over the tiles: entries re-hashed, hash tiles and root compared, a tree's [`walk::Frontier`] extended in bounded memory |
//! | `error` | [`TlogError`]: what a format refuses, and where |
//!
//! ```
//! use tlog::{Entry, LabelKey, LogKey, MemoryTree, Opening, tree};
//!
//! // The registry commits to a code's first custody event, keyed on its label's signature.
//! let label = LabelKey::from_signature(&[7u8; 64]);
//! let opening = Opening::new(&mut rand_core::OsRng, b"code".to_vec(), b"event".to_vec());
//! let entry = Entry::event(label.tag(1), label.commit(&opening));
//!
//! // The log appends it and signs its head.
//! let mut log = MemoryTree::new();
//! log.push(&entry.to_bytes()).unwrap();
//! let key = LogKey::new("verify.example.cn/partseal-log", signer::keys::generate()).unwrap();
//! let note = key.sign_checkpoint(log.size(), log.root().unwrap()).unwrap();
//!
//! // Whoever holds the opening checks the entry is in the signed tree.
//! let checkpoint = key.verifier().open_checkpoint(&note).unwrap();
//! let proof = tree::inclusion_proof(log.size(), 0, &log).unwrap();
//! tree::check_inclusion(&proof, checkpoint.size, checkpoint.root, 0, entry.leaf_hash()).unwrap();
//! ```

pub mod batch;
pub mod checkpoint;
pub mod commitment;
pub mod entry;
mod error;
pub mod receipt;
pub mod tile;
pub mod tree;
pub mod walk;
pub mod witness;

pub use batch::{BatchPath, BatchTree, check_batch_path};
pub use checkpoint::{LogKey, LogVerifier, SignedCheckpoint};
pub use commitment::{Commitment, LabelKey, Opening, SALT_LEN, Tag};
pub use entry::{ENTRY_LEN, Entry};
pub use error::TlogError;
pub use receipt::{CheckedReceipt, Receipt};
pub use tile::TilePath;
pub use tree::{Hash, HashReader, MemoryTree};
