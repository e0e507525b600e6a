//! The transparency log in the store: the pool of entries written with their events, and the
//! sequencer that adds them to the tree (`docs/transparency-log.md`; the formats are `tlog`'s).
//!
//! ## Written with the event, sequenced later
//! An event's pool entry (its salt) is one more change of the event's own write
//! ([`Store::update_code`]), before the event in the crash order; a registration's are written just
//! before its codes. So an acknowledged event always has its pool entry, and the write path pays one
//! small put. The sequencer, off the write path, turns the pool into entries: it reads each code's
//! record and logs only what the record counts, computing the commitment from the stored event itself
//! (an interrupted update's pool entry is never logged, and is dropped once old).
//!
//! ## One tree, whoever sequences
//! The tree head (`log_head` in the meta table: size, root, checkpoint) is the one compare-and-swap:
//! a round writes its hashes, entries and openings, then replaces the head *only if it is still the
//! one the round started from* (several replicas on one database race; exactly one wins, the others
//! write nothing). The checkpoint is signed only after the head holding its tree is stored, so no
//! sequencer ever signs a tree that is not the stored one: two checkpoints the log signs are always
//! consistent. On the embedded engine, whose writes are ordered but not atomic, the head is written
//! after everything it covers and before the pool is cleared; anything past the head is ignored
//! (an opening whose index is beyond the head is not yet logged) and overwritten by the next round.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use rand::RngCore;
use signer::Timestamp;
use tlog::tree::{self, Hash, HashReader};
use tlog::{BatchTree, Commitment, Entry, LabelKey, LogKey, Opening, SALT_LEN};

use super::keys;
use super::table_store::Store;
use super::tables::{Change, Expect, Table};
use super::{StoreError, StoreResult};
use crate::key::CodeKey;

const LOG_KEY: &[u8] = b"log_key";
const LOG_HEAD: &[u8] = b"log_head";
const HEAD_VERSION: u8 = 1;
const REGISTRATION: u8 = 0x00;
const EVENT: u8 = 0x01;
/// Pool entries one round takes at most, so one write stays bounded.
const ROUND_LIMIT: usize = 50_000;
/// A pool entry whose event its record still does not count this long after it was written is the
/// remains of an update that failed (or crashed) before the record: it will never be logged.
const ABANDONED_AFTER_SECS: i64 = 600;

/// The log's tree head as stored: what the sequencers compare and swap.
#[derive(Clone, Debug, PartialEq)]
pub struct LogHead {
    pub size: u64,
    pub root: Hash,
    /// The signed checkpoint of this tree; empty until it is signed (just after the head is stored).
    pub checkpoint: String,
}

impl LogHead {
    fn empty() -> Self {
        LogHead {
            size: 0,
            root: tlog_empty_root(),
            checkpoint: String::new(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![HEAD_VERSION];
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.root.0);
        out.extend_from_slice(self.checkpoint.as_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> StoreResult<Self> {
        let bad = |why: &str| StoreError::corrupt("log head", why);
        let (&version, rest) = bytes.split_first().ok_or_else(|| bad("empty"))?;
        if version != HEAD_VERSION {
            return Err(bad(&format!("version {version}")));
        }
        let (size, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| bad("cut short"))?;
        let (root, rest) = rest
            .split_first_chunk::<32>()
            .ok_or_else(|| bad("cut short"))?;
        let checkpoint =
            String::from_utf8(rest.to_vec()).map_err(|_| bad("checkpoint not UTF-8"))?;
        Ok(LogHead {
            size: u64::from_be_bytes(*size),
            root: Hash(*root),
            checkpoint,
        })
    }
}

fn tlog_empty_root() -> Hash {
    // SHA-256 of nothing: RFC 6962's root of the empty tree.
    Hash(<sha2::Sha256 as sha2::Digest>::digest(b"").into())
}

/// What a receipt opens: the salt, where the entry is, and where in its batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOpening {
    pub salt: [u8; SALT_LEN],
    pub index: u64,
    /// The code's place in its registration batch's tree and the batch's size (0 for an event's
    /// own entry).
    pub batch_position: u32,
    pub batch_size: u32,
}

impl LogOpening {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.salt.to_vec();
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.batch_position.to_be_bytes());
        out.extend_from_slice(&self.batch_size.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> StoreResult<Self> {
        let bad = || StoreError::corrupt("log opening", "not 48 bytes");
        let bytes: &[u8; SALT_LEN + 16] = bytes.try_into().map_err(|_| bad())?;
        let (salt, rest) = bytes.split_first_chunk::<SALT_LEN>().ok_or_else(bad)?;
        let (index, rest) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
        let (position, size) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
        Ok(LogOpening {
            salt: *salt,
            index: u64::from_be_bytes(*index),
            batch_position: u32::from_be_bytes(*position),
            batch_size: u32::from_be_bytes(size.try_into().map_err(|_| bad())?),
        })
    }
}

/// What one round of the sequencer did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequenced {
    /// Entries added to the tree.
    pub entries: u64,
    /// The tree's size after the round.
    pub size: u64,
    /// Another sequencer changed the head first: this round wrote nothing.
    pub lost_race: bool,
}

fn fresh_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

/// The pool's clock: the machine's, not the event's time (which a test, or an import, may set in the
/// past), since it only says how long an entry has waited.
fn pool_clock() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
}

fn pool_value(salt: &[u8; SALT_LEN], at: Timestamp) -> Vec<u8> {
    let mut out = salt.to_vec();
    out.extend_from_slice(&at.0.to_be_bytes());
    out
}

/// The salt and time at the end of a pool value.
fn split_pool_value(v: &[u8]) -> StoreResult<(&[u8], [u8; SALT_LEN], Timestamp)> {
    let bad = || StoreError::corrupt("log pool", "value cut short");
    let (rest, at) = v.split_last_chunk::<8>().ok_or_else(bad)?;
    let (rest, salt) = rest.split_last_chunk::<SALT_LEN>().ok_or_else(bad)?;
    Ok((rest, *salt, Timestamp(i64::from_be_bytes(*at))))
}

fn opening_key(code: &CodeKey, seq: u32) -> Vec<u8> {
    keys::event_key(code, seq)
}

/// An event's pool entry: a change of the event's own write.
pub(super) fn event_pool_change(code: &CodeKey, seq: u32) -> Change {
    let mut k = vec![EVENT];
    k.extend_from_slice(&keys::event_key(code, seq));
    Change::Put(Table::LogPool, k, pool_value(&fresh_salt(), pool_clock()))
}

/// The pool entries of one registration call's codes, in order: one batch entry once sequenced.
/// Keyed by the code, so a registration sent again (after a full disk, or a crash) overwrites its
/// codes' entries rather than adding more; the call's id and the code's place in it are in the value.
pub(super) fn registration_pool_changes(id: u64, codes: &[&CodeKey]) -> Vec<Change> {
    let at = pool_clock();
    codes
        .iter()
        .enumerate()
        .map(|(position, code)| {
            let mut k = vec![REGISTRATION];
            k.extend_from_slice(code.as_bytes());
            let mut v = id.to_be_bytes().to_vec();
            v.extend_from_slice(&(position as u32).to_be_bytes());
            v.extend_from_slice(&pool_value(&fresh_salt(), at));
            Change::Put(Table::LogPool, k, v)
        })
        .collect()
}

/// One code's event on its way into the log.
struct Pending {
    pool_key: Vec<u8>,
    code: CodeKey,
    seq: u32,
    label: LabelKey,
    salt: [u8; SALT_LEN],
    commitment: Commitment,
}

/// The stored hashes, with this round's new ones in front of them, each stored one read at most
/// once per round (an append reads the tree's right edge again and again).
struct RoundHashes<'a> {
    store: &'a Store,
    first_new: u64,
    new: Vec<Hash>,
    read: RefCell<HashMap<u64, Hash>>,
}

impl HashReader for RoundHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::tree::HashError> {
        indexes
            .iter()
            .map(|&i| {
                if i >= self.first_new {
                    let at = usize::try_from(i - self.first_new)
                        .map_err(|_| tlog::tree::HashError::IndexesNotInTree)?;
                    return self
                        .new
                        .get(at)
                        .copied()
                        .ok_or(tlog::tree::HashError::IndexesNotInTree);
                }
                if let Some(h) = self.read.borrow().get(&i) {
                    return Ok(*h);
                }
                let h = self
                    .store
                    .log_hash(i)
                    .map_err(|_| tlog::tree::HashError::IndexesNotInTree)?;
                self.read.borrow_mut().insert(i, h);
                Ok(h)
            })
            .collect()
    }
}

/// The stored hashes, read one at a time.
struct StoredHashes<'a>(&'a Store);

impl HashReader for StoredHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::tree::HashError> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .log_hash(i)
                    .map_err(|_| tlog::tree::HashError::IndexesNotInTree)
            })
            .collect()
    }
}

impl Store {
    /// The proof that the tree of `size` entries holds entry `index`.
    pub fn log_inclusion_proof(&self, size: u64, index: u64) -> StoreResult<Vec<Hash>> {
        tree::inclusion_proof(size, index, &StoredHashes(self)).map_err(log_error)
    }

    /// The proof that the tree of `new_size` entries extends that of its first `old_size`.
    pub fn log_consistency_proof(&self, new_size: u64, old_size: u64) -> StoreResult<Vec<Hash>> {
        tree::consistency_proof(new_size, old_size, &StoredHashes(self)).map_err(log_error)
    }

    /// An entries tile's bundle: entries `first ..first + width` of a tree of `size` entries. A
    /// full tile's 256 entries share their keys' first seven bytes, so one prefix scan reads them.
    pub fn log_entries_tile(&self, tile: &tlog::TilePath, size: u64) -> StoreResult<Vec<u8>> {
        let first = tile.first_entry();
        let end = first + u64::from(tile.width());
        if !tile.is_entries() || end > size {
            return Err(log_error(tlog::TlogError::TileBeyondTree {
                path: tile.path(),
                size,
            }));
        }
        let prefix = &first.to_be_bytes()[..7];
        let mut entries = Vec::with_capacity(tile.width() as usize);
        for entry in self.tables.scan(Table::LogEntries, prefix) {
            let (k, v) = entry?;
            let index = u64::from_be_bytes(
                k.as_slice()
                    .try_into()
                    .map_err(|_| StoreError::corrupt("log entries", "key not 8 bytes"))?,
            );
            if index >= end {
                break;
            }
            if index != first + entries.len() as u64 {
                return Err(StoreError::corrupt(
                    "log entries",
                    format!("entry {} missing", first + entries.len() as u64),
                ));
            }
            entries.push(v);
        }
        if entries.len() as u64 != end - first {
            return Err(StoreError::corrupt(
                "log entries",
                format!("entries {first} to {end} incomplete"),
            ));
        }
        tlog::entry::bundle(entries.iter().map(Vec::as_slice)).map_err(log_error)
    }

    /// A hash tile's bytes, for a tree of `size` entries.
    pub fn log_hash_tile(&self, tile: &tlog::TilePath, size: u64) -> StoreResult<Vec<u8>> {
        tile.hash_tile(size, &StoredHashes(self)).map_err(log_error)
    }

    /// The log's signing key, created (once, whoever asks first) with the store.
    pub fn log_signing_key(&self) -> StoreResult<signer::SigningKey> {
        if let Some(seed) = self.tables.get(Table::Meta, LOG_KEY)? {
            return decode_seed(&seed);
        }
        let seed = signer::keys::generate().to_bytes();
        let taken = self.write(|| {
            self.tables
                .insert_new(Table::Meta, &[(LOG_KEY.to_vec(), seed.to_vec())])
        })?;
        self.tables.durable()?;
        match taken.into_iter().next().flatten() {
            Some(other) => decode_seed(&other),
            None => Ok(signer::SigningKey::from_bytes(&seed)),
        }
    }

    /// The stored tree head (the empty tree before the first round).
    pub fn log_head(&self) -> StoreResult<LogHead> {
        match self.tables.get(Table::Meta, LOG_HEAD)? {
            None => Ok(LogHead::empty()),
            Some(bytes) => LogHead::decode(&bytes),
        }
    }

    /// The stored hash at `index` (Go's `tlog` layout).
    pub fn log_hash(&self, index: u64) -> StoreResult<Hash> {
        let bytes = self
            .tables
            .get(Table::LogHashes, &index.to_be_bytes())?
            .ok_or_else(|| StoreError::corrupt("log hashes", format!("hash {index} missing")))?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::corrupt("log hashes", format!("hash {index} not 32 bytes")))?;
        Ok(Hash(hash))
    }

    /// The entry at `index`, if the tree holds it.
    pub fn log_entry(&self, index: u64) -> StoreResult<Option<Vec<u8>>> {
        if index >= self.log_head()?.size {
            return Ok(None);
        }
        self.tables.get(Table::LogEntries, &index.to_be_bytes())
    }

    /// How a code's event is opened, once the tree holds its entry.
    pub fn log_opening(&self, code: &CodeKey, seq: u32) -> StoreResult<Option<LogOpening>> {
        let size = self.log_head()?.size;
        self.logged_opening(code, seq, size)
    }

    fn logged_opening(
        &self,
        code: &CodeKey,
        seq: u32,
        size: u64,
    ) -> StoreResult<Option<LogOpening>> {
        match self
            .tables
            .get(Table::LogOpenings, &opening_key(code, seq))?
        {
            Some(bytes) => {
                let opening = LogOpening::decode(&bytes)?;
                // Past the head: written by a round that never stored its head.
                Ok((opening.index < size).then_some(opening))
            }
            None => Ok(None),
        }
    }

    /// The commitments of the registration batch whose entry is at `index`.
    pub fn log_batch(&self, index: u64) -> StoreResult<Vec<Commitment>> {
        let bytes = self
            .tables
            .get(Table::LogBatches, &index.to_be_bytes())?
            .ok_or_else(|| StoreError::corrupt("log batches", format!("batch {index} missing")))?;
        Ok(bytes
            .chunks_exact(32)
            .map(|c| Commitment(c.try_into().unwrap_or([0; 32])))
            .collect())
    }

    /// The opening of a code's event: what its commitment hides, from the stored record and event.
    pub fn log_event_opening(
        &self,
        code: &CodeKey,
        seq: u32,
        salt: [u8; SALT_LEN],
    ) -> StoreResult<Option<(LabelKey, Opening)>> {
        let Some(record) = self.code(code)? else {
            return Ok(None);
        };
        if seq >= record.events {
            return Ok(None);
        }
        let event = if seq == 0 {
            record.commissioning()
        } else {
            let k = keys::event_key(code, seq);
            match self.tables.get(Table::Events, &k)? {
                Some(bytes) => crate::event::Event::decode(&bytes)
                    .map_err(|e| StoreError::corrupt(code.to_string(), e))?,
                None => return Ok(None),
            }
        };
        let label = LabelKey::from_signature(&record.signature.to_bytes());
        Ok(Some((
            label,
            Opening {
                salt,
                code: code.as_bytes().to_vec(),
                event: event.encode(),
            },
        )))
    }

    /// The receipt of a code's latest logged event, with `link` (the code's URI) as its code; `None`
    /// until the log holds one of its events.
    pub fn log_receipt(&self, code: &CodeKey, link: String) -> StoreResult<Option<tlog::Receipt>> {
        let Some(record) = self.code(code)? else {
            return Ok(None);
        };
        let head = self.log_head()?;
        if head.checkpoint.is_empty() {
            return Ok(None);
        }
        // The latest event the log holds that a label holder may see opened: usually the latest,
        // or the one before while the newest waits for the next round. An install names the
        // vehicle, so an installed part's receipt opens its receiving; its `prev` still pins
        // every event before it.
        let mut found = None;
        for seq in (0..record.events).rev() {
            let Some(at) = self.logged_opening(code, seq, head.size)? else {
                continue;
            };
            let Some((_, opening)) = self.log_event_opening(code, seq, at.salt)? else {
                continue;
            };
            let event = crate::event::Event::decode(&opening.event)
                .map_err(|e| StoreError::corrupt(code.to_string(), e))?;
            if event.opens_to_label_holders() {
                found = Some((seq, at, opening, event));
                break;
            }
        }
        let Some((seq, at, opening, event)) = found else {
            return Ok(None);
        };
        let entry = self
            .tables
            .get(Table::LogEntries, &at.index.to_be_bytes())?
            .ok_or_else(|| {
                StoreError::corrupt("log entries", format!("entry {} missing", at.index))
            })?;
        let entry = Entry::from_bytes(&entry).map_err(log_error)?;
        let proof = self.log_inclusion_proof(head.size, at.index)?;
        let batch = if at.batch_size > 0 {
            let commitments = self.log_batch(at.index)?;
            let tree = BatchTree::new(&commitments).map_err(log_error)?;
            Some(tree.path(u64::from(at.batch_position)).map_err(log_error)?)
        } else {
            None
        };
        let mut receipt = tlog::Receipt::new(
            link,
            seq,
            &opening,
            &entry,
            at.index,
            &proof,
            batch.as_ref(),
            head.checkpoint,
        );
        // The event in clear, for people; the opening is what the check trusts.
        receipt.event = Some(serde_json::json!({
            "seq": event.seq,
            "step": event.step().as_str(),
            "at": event.at.to_string(),
            "actor": event.actor.as_str(),
            "outcome": event.outcome.as_str(),
        }));
        Ok(Some(receipt))
    }

    /// One round of the sequencer: the pool into the tree, the head swapped, the checkpoint signed.
    pub fn sequence_log(&self, key: &LogKey) -> StoreResult<Sequenced> {
        let now = pool_clock();
        let mut head_bytes = self.head_bytes()?;
        let mut head = LogHead::decode(&head_bytes)?;
        if head.checkpoint.is_empty() {
            // A round stored this head and stopped before signing it (or this is the empty tree,
            // never signed yet): sign it now, and start from whatever head is stored after that.
            self.sign_head(key, &head_bytes, &head)?;
            head_bytes = self.head_bytes()?;
            head = LogHead::decode(&head_bytes)?;
        }
        let mut removals = Vec::new();
        let mut events: Vec<Pending> = Vec::new();
        let mut registrations: BTreeMap<u64, Vec<(u32, Pending)>> = BTreeMap::new();
        // A code registered twice (a manifest sent again after a crash) may have two pool entries.
        let mut seen: HashSet<(CodeKey, u32)> = HashSet::new();
        for entry in self.tables.scan(Table::LogPool, &[]).take(ROUND_LIMIT) {
            let (k, v) = entry?;
            let (kind, rest) = k
                .split_first()
                .ok_or_else(|| StoreError::corrupt("log pool", "empty key"))?;
            let (code, seq, group, value) = match *kind {
                EVENT => {
                    let (code, seq) = keys::decode_event_key(rest)?;
                    (code, seq, None, v.as_slice())
                }
                REGISTRATION => {
                    let code = CodeKey::from_bytes(rest)
                        .map_err(|_| StoreError::corrupt("log pool", "code key"))?;
                    let (place, ..) = split_pool_value(&v)?;
                    let (id, position) = place
                        .split_first_chunk::<8>()
                        .and_then(|(id, p)| {
                            let p: [u8; 4] = p.try_into().ok()?;
                            Some((u64::from_be_bytes(*id), u32::from_be_bytes(p)))
                        })
                        .ok_or_else(|| StoreError::corrupt("log pool", "registration value"))?;
                    (code, 0, Some((id, position)), v.as_slice())
                }
                other => return Err(StoreError::corrupt("log pool", format!("kind {other}"))),
            };
            let (_, salt, at) = split_pool_value(value)?;
            if !seen.insert((code.clone(), seq))
                || self.logged_opening(&code, seq, head.size)?.is_some()
            {
                // Logged by a round that stopped before clearing the pool.
                removals.push(Change::Remove(Table::LogPool, k));
                continue;
            }
            let Some((label, opening)) = self.log_event_opening(&code, seq, salt)? else {
                if now.0 - at.0 > ABANDONED_AFTER_SECS {
                    removals.push(Change::Remove(Table::LogPool, k));
                }
                continue;
            };
            let pending = Pending {
                pool_key: k,
                commitment: label.commit(&opening),
                code,
                seq,
                label,
                salt,
            };
            match group {
                None => events.push(pending),
                Some((id, position)) => {
                    registrations
                        .entry(id)
                        .or_default()
                        .push((position, pending));
                }
            }
        }
        if events.is_empty() && registrations.is_empty() {
            if !removals.is_empty() {
                self.write(|| self.tables.apply(None, &removals))?;
            }
            return Ok(Sequenced {
                entries: 0,
                size: head.size,
                lost_race: false,
            });
        }
        self.append(
            key,
            &head_bytes,
            head,
            // A registration's codes in the order it gave them.
            registrations
                .into_values()
                .map(|mut codes| {
                    codes.sort_by_key(|(position, _)| *position);
                    codes.into_iter().map(|(_, p)| p).collect::<Vec<_>>()
                })
                .chain(events.into_iter().map(|e| vec![e])),
            removals,
        )
    }

    /// Appends one entry per group (a registration's codes, or one event), then swaps the head.
    fn append(
        &self,
        key: &LogKey,
        head_bytes: &[u8],
        head: LogHead,
        groups: impl Iterator<Item = Vec<Pending>>,
        removals: Vec<Change>,
    ) -> StoreResult<Sequenced> {
        let mut hashes = RoundHashes {
            store: self,
            first_new: tree::stored_count(head.size),
            new: Vec::new(),
            read: RefCell::default(),
        };
        let mut changes = Vec::new();
        let mut pool_keys = Vec::new();
        let mut size = head.size;
        for group in groups {
            let entry = match group.as_slice() {
                [one] if one.seq > 0 => Entry::event(one.label.tag(one.seq), one.commitment),
                _ => {
                    let batch =
                        BatchTree::new(group.iter().map(|p| &p.commitment)).map_err(log_error)?;
                    let commitments: Vec<u8> = group.iter().flat_map(|p| p.commitment.0).collect();
                    changes.push(Change::Put(
                        Table::LogBatches,
                        size.to_be_bytes().to_vec(),
                        commitments,
                    ));
                    Entry::batch(group[0].label.tag(0), batch.root().map_err(log_error)?)
                }
            };
            let bytes = entry.to_bytes();
            let new = tree::hashes_to_store(size, &bytes, &hashes).map_err(log_error)?;
            for h in new {
                let index = hashes.first_new + hashes.new.len() as u64;
                changes.push(Change::Put(
                    Table::LogHashes,
                    index.to_be_bytes().to_vec(),
                    h.0.to_vec(),
                ));
                hashes.new.push(h);
            }
            changes.push(Change::Put(
                Table::LogEntries,
                size.to_be_bytes().to_vec(),
                bytes.to_vec(),
            ));
            let batch_size = if group.len() == 1 && group[0].seq > 0 {
                0
            } else {
                group.len() as u32
            };
            for (position, p) in group.into_iter().enumerate() {
                let opening = LogOpening {
                    salt: p.salt,
                    index: size,
                    batch_position: position as u32,
                    batch_size,
                };
                changes.push(Change::Put(
                    Table::LogOpenings,
                    opening_key(&p.code, p.seq),
                    opening.encode(),
                ));
                pool_keys.push(p.pool_key);
            }
            size += 1;
        }
        let root = tree::root(size, &hashes).map_err(log_error)?;
        let added = size - head.size;
        let new_head = LogHead {
            size,
            root,
            checkpoint: String::new(),
        };
        let new_bytes = new_head.encode();
        // The head after everything it covers, the pool cleared after the head.
        changes.push(Change::Put(
            Table::Meta,
            LOG_HEAD.to_vec(),
            new_bytes.clone(),
        ));
        changes.extend(
            pool_keys
                .into_iter()
                .map(|k| Change::Remove(Table::LogPool, k)),
        );
        changes.extend(removals);
        let expect = Expect {
            table: Table::Meta,
            key: LOG_HEAD,
            expected: head_bytes,
        };
        match self.write(|| self.tables.apply(Some(expect), &changes)) {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Ok(Sequenced {
                    entries: 0,
                    size: head.size,
                    lost_race: true,
                });
            }
            Err(e) => return Err(e),
        }
        self.sign_head(key, &new_bytes, &new_head)?;
        Ok(Sequenced {
            entries: added,
            size,
            lost_race: false,
        })
    }

    /// Signs the stored head's tree and stores the checkpoint, if the head is still that one.
    fn sign_head(&self, key: &LogKey, head_bytes: &[u8], head: &LogHead) -> StoreResult<()> {
        let checkpoint = key
            .sign_checkpoint(head.size, head.root)
            .map_err(log_error)?;
        let signed = LogHead {
            checkpoint,
            ..head.clone()
        };
        let expect = Expect {
            table: Table::Meta,
            key: LOG_HEAD,
            expected: head_bytes,
        };
        let put = Change::Put(Table::Meta, LOG_HEAD.to_vec(), signed.encode());
        match self.write(|| self.tables.apply(Some(expect), &[put])) {
            // Another sequencer signed it (the same tree) or moved past it.
            Ok(()) | Err(StoreError::Conflict) => self.tables.durable(),
            Err(e) => Err(e),
        }
    }

    /// The stored head's bytes, storing the empty tree's first if there is none.
    fn head_bytes(&self) -> StoreResult<Vec<u8>> {
        if let Some(bytes) = self.tables.get(Table::Meta, LOG_HEAD)? {
            return Ok(bytes);
        }
        let empty = LogHead::empty().encode();
        let taken = self.write(|| {
            self.tables
                .insert_new(Table::Meta, &[(LOG_HEAD.to_vec(), empty.clone())])
        })?;
        Ok(taken.into_iter().next().flatten().unwrap_or(empty))
    }
}

fn decode_seed(bytes: &[u8]) -> StoreResult<signer::SigningKey> {
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt("log key", "not 32 bytes"))?;
    Ok(signer::SigningKey::from_bytes(&seed))
}

fn log_error(e: tlog::TlogError) -> StoreError {
    StoreError::corrupt("transparency log", e)
}
