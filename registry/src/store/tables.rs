//! What an engine provides: named tables of byte keys and values, ordered by key.
//!
//! Every engine-independent part of storage (the key layouts in [`keys`](super::keys), the record
//! encodings, the batch table, the record cache, the backup format, the crash-ordered update) is
//! written once in [`Store`](super::Store) on top of this trait. An engine only moves bytes: the
//! embedded one keeps each [`Table`] as a tree, PostgreSQL as a table of `(k bytea primary key,
//! v bytea)`, so a backup reads the same from either and loads into either.
//!
//! The store holds its engine as a `Box<dyn Tables>`. Values come out as plain vectors: the copy
//! out of the embedded engine's buffers costs less than a percent of a read that reaches the
//! engine at all (a code lookup is answered from the record cache in front of it, which holds
//! its own copy anyway), and in exchange the store is one type, whatever the engine.
//! `registry/tests/tables.rs` checks every engine against what this trait promises.

use std::time::Duration;

use super::{Entries, Fault, StoreError, StoreResult};

/// The store's tables, in the order backups list them; a table's position is its tag there, so
/// new tables go last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// CodeKey → CodeRecord, referring to its batch by number.
    Codes,
    /// CodeKey || seq (u32, big-endian) → Event, for every event after the commissioning.
    Events,
    /// GTIN (8 bytes) || lot length || lot → LotRecall.
    LotRecalls,
    /// CodeKey → ScanStats.
    Scans,
    /// Derived: manufacturer length || manufacturer || CodeKey → time flagged (8 bytes) and, once
    /// the manufacturer investigates, the time it began (8 more bytes).
    Alerts,
    /// Derived: VIN (17 bytes) || CodeKey → nothing.
    Vehicles,
    /// `root/…`, `cert/…`, `revocations` → known-at time (8 bytes) || the signed bytes.
    Trust,
    /// `format`, `scan_salt`, `log_key` (the transparency log's Ed25519 seed), `log_head` (its
    /// tree head and checkpoint: the sequencers' compare-and-swap).
    Meta,
    /// PartyId → Party.
    Parties,
    /// Token id → TokenRecord (the secret's hash, never the secret).
    Tokens,
    /// Manufacturer length || manufacturer || time (8 bytes) || report id → Report (version 1
    /// reports: || CodeKey instead of the id).
    Reports,
    /// Batch number (u32, big-endian) → Batch: what the codes of one lot share, stored once.
    Batches,
    /// Party length || party || time (8 bytes) || a unique increasing id (8 bytes) → Notice.
    Notices,
    /// Manufacturer length || manufacturer || CodeKey || time (8 bytes) || unique id (8 bytes) →
    /// AlertNote: append-only, in the order written, never removed with the alert.
    AlertNotes,
    /// SHA-256 of a browser session's id → SessionRecord.
    Sessions,
    /// PartyId → the shop station's list of recent scans, as the verifier encodes it: kept per
    /// shop so the list and its Undo buttons outlive a sign-in and follow the shop to any device.
    StationLists,
    /// SSCC (18 ASCII digits) → Carton: a carton's packing record.
    Cartons,
    /// CodeKey → SSCC (18 ASCII digits): the carton a code is packed in, changed only together
    /// with the carton's record.
    CodeCartons,
    /// The transparency log's pool of entries not yet sequenced (`store::log`): written in the
    /// same write as their event or registration, removed once the log holds them.
    /// `0x00 || CodeKey` → registration id (8) || position (4) || salt || time (8);
    /// `0x01 || CodeKey || seq (4)` → salt || time (8).
    LogPool,
    /// Log index (u64, big-endian) → the entry's 65 bytes.
    LogEntries,
    /// Stored hash index (u64, big-endian, Go's `tlog` layout) → the 32-byte hash.
    LogHashes,
    /// CodeKey || seq (u32, big-endian) → salt || log index (8) || position in its batch (4) ||
    /// codes in the batch (4; 0 for an event's own entry): what a receipt opens. Secret.
    LogOpenings,
    /// Log index of a registration batch's entry → its codes' commitments, 32 bytes each, in
    /// order: what a code's path in the batch is computed from.
    LogBatches,
    /// Derived: packer length || packer || `i64::MAX` less the packing time (8 bytes, big-endian:
    /// the newest first) || SSCC (18 ASCII digits) → nothing. Each packing record's entry, written
    /// in the same atomic change as the record ([`Store::move_cartons`](super::Store::move_cartons)):
    /// a party's recent packing records without walking every carton.
    CartonsByPacker,
    /// Capture job id (ASCII) → the EPCIS capture job as JSON (`epcis_capture::CaptureJob`):
    /// kept so that `GET /epcis/capture/{id}` answers after a restart and on every replica.
    CaptureJobs,
    /// A captured event's `eventID` (UTF-8) → the codes and event numbers it was stored as, JSON
    /// (`epcis_capture::CapturedEvent`): a repeated `eventID` is refused, and a query finds it.
    CapturedEvents,
}

impl Table {
    pub const ALL: [Table; 26] = [
        Table::Codes,
        Table::Events,
        Table::LotRecalls,
        Table::Scans,
        Table::Alerts,
        Table::Vehicles,
        Table::Trust,
        Table::Meta,
        Table::Parties,
        Table::Tokens,
        Table::Reports,
        Table::Batches,
        Table::Notices,
        Table::AlertNotes,
        Table::Sessions,
        Table::StationLists,
        Table::Cartons,
        Table::CodeCartons,
        Table::LogPool,
        Table::LogEntries,
        Table::LogHashes,
        Table::LogOpenings,
        Table::LogBatches,
        Table::CartonsByPacker,
        Table::CaptureJobs,
        Table::CapturedEvents,
    ];

    /// The engine's name for it (a sled tree, a PostgreSQL table): constants, so a mistyped name
    /// can never silently be a new, empty table.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Codes => "codes",
            Table::Events => "events",
            Table::LotRecalls => "lot_recalls",
            Table::Scans => "scans",
            Table::Alerts => "alerts",
            Table::Vehicles => "vehicles",
            Table::Trust => "trust",
            Table::Meta => "meta",
            Table::Parties => "parties",
            Table::Tokens => "tokens",
            Table::Reports => "reports",
            Table::Batches => "batches",
            Table::Notices => "notices",
            Table::AlertNotes => "alert_notes",
            Table::Sessions => "sessions",
            Table::StationLists => "station_lists",
            Table::Cartons => "cartons",
            Table::CodeCartons => "code_cartons",
            Table::LogPool => "log_pool",
            Table::LogEntries => "log_entries",
            Table::LogHashes => "log_hashes",
            Table::LogOpenings => "log_openings",
            Table::LogBatches => "log_batches",
            Table::CartonsByPacker => "cartons_by_packer",
            Table::CaptureJobs => "capture_jobs",
            Table::CapturedEvents => "captured_events",
        }
    }

    /// Its tag in backups.
    pub fn tag(self) -> u8 {
        Table::ALL.iter().position(|t| *t == self).unwrap_or(0) as u8
    }

    pub fn of_tag(tag: u8) -> Option<Table> {
        Table::ALL.get(usize::from(tag)).copied()
    }
}

/// One write of an [`Tables::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put(Table, Vec<u8>, Vec<u8>),
    Remove(Table, Vec<u8>),
}

/// The condition of an [`Tables::apply`]: `table[key]` still holds `expected`.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    pub table: Table,
    pub key: &'a [u8],
    pub expected: &'a [u8],
}

/// A condition of [`Tables::apply_all`]: `table[key]` still holds `expected` (`None`: the key is
/// absent, and the changes then put it).
#[derive(Clone, Copy, Debug)]
pub struct Holds<'a> {
    pub table: Table,
    pub key: &'a [u8],
    pub expected: Option<&'a [u8]>,
}

/// The conditions of an [`Tables::apply_all`] in the one order every engine takes their keys in
/// (table, then key), so writers over crossing sets of keys wait for each other rather than
/// deadlock; and its changes as they end up, one per key (the last of several), in the same order.
/// An engine error if a key is expected twice, or expected absent and not put (an absence is held
/// by putting the key; a database cannot lock a row that is not there).
pub fn in_key_order<'a, 'b>(
    holds: &'b [Holds<'a>],
    changes: &'b [Change],
) -> StoreResult<(Vec<&'b Holds<'a>>, Vec<&'b Change>)> {
    let mut last: std::collections::BTreeMap<(u8, &[u8]), &Change> = Default::default();
    for change in changes {
        let (Change::Put(table, k, _) | Change::Remove(table, k)) = change;
        last.insert((table.tag(), k.as_slice()), change);
    }
    let mut order: Vec<&Holds<'a>> = holds.iter().collect();
    order.sort_unstable_by_key(|h| (h.table.tag(), h.key));
    for pair in order.windows(2) {
        if (pair[0].table, pair[0].key) == (pair[1].table, pair[1].key) {
            return Err(StoreError::Engine(format!(
                "a change over several keys expects {} {:?} twice",
                pair[0].table.name(),
                String::from_utf8_lossy(pair[0].key)
            )));
        }
    }
    for h in &order {
        let put = matches!(last.get(&(h.table.tag(), h.key)), Some(Change::Put(..)));
        if h.expected.is_none() && !put {
            return Err(StoreError::Engine(format!(
                "a change over several keys expects {} {:?} absent but does not put it",
                h.table.name(),
                String::from_utf8_lossy(h.key)
            )));
        }
    }
    Ok((order, last.into_values().collect()))
}

/// One entry of a table, as a backup lists it.
pub type Entry = (Table, Vec<u8>, Vec<u8>);

/// What an engine tells about writes that other processes make to the same store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed<'a> {
    /// Another process changed this code's record.
    Code(&'a [u8]),
    /// From now on every other process's change of a code is told.
    Watching,
    /// Changes may go untold (until `Watching` again).
    Lost,
}

/// Where an engine tells of other processes' changes (see [`Tables::watch`]).
pub type ChangeNote = std::sync::Arc<dyn Fn(Changed<'_>) + Send + Sync>;

/// How [`Tables::merge`] combines a stored value (if any) with a given one.
pub type Merge<'a> = dyn Fn(Option<&[u8]>, &[u8]) -> StoreResult<Vec<u8>> + Sync + 'a;

/// What [`Tables::apply_held`] writes for the value it read (`None` where the key is absent):
/// the changes, or `None` to write nothing.
pub type Judge<'a> = dyn FnMut(Option<&[u8]>) -> Option<Vec<Change>> + 'a;

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// An engine: named, key-ordered tables of bytes.
pub trait Tables: Send + Sync + 'static {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;

    /// The entries whose key starts with `prefix` (all of them for an empty prefix), in the byte
    /// order of their keys.
    fn scan(&self, table: Table, prefix: &[u8]) -> Entries<'_, Pair>;

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> StoreResult<()>;

    /// Inserts each entry whose key is absent, atomically per key, and returns for each the value
    /// already there (`None`: inserted). The keys of one call are distinct. Safe to call from many
    /// threads and processes at once: of several inserting one key, exactly one is told `None`.
    fn insert_new(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> StoreResult<Vec<Option<Vec<u8>>>>;

    /// Makes `changes` in order, if `expect` still holds (else [`StoreError::Conflict`], nothing
    /// written). The check and the changes are one step for every other conditional change of the
    /// expected key, in this process or another: of several writers expecting the same bytes,
    /// exactly one succeeds. An engine that cannot make the changes atomically must make each
    /// atomically, in order, and recover to a prefix of them after a crash (see the crash contract
    /// of [`Store::update_code`](super::Store::update_code)).
    ///
    /// [`StoreError::Conflict`]: super::StoreError::Conflict
    fn apply(&self, expect: Option<Expect<'_>>, changes: &[Change]) -> StoreResult<()>;

    /// Makes `changes` as one atomic step if every one of `holds` is still true (else
    /// [`StoreError::Conflict`], nothing written): every reader, and the store after a crash, finds
    /// all of them or none. For a change over several codes at once: a carton's move moves every
    /// code in it or none. Each condition is one step with every other conditional change of its
    /// key, in this process or another (as [`apply`](Tables::apply)'s is); the keys are taken in
    /// the order of [`in_key_order`], which also says what the conditions and changes may be. Of
    /// several changes of one key, the last counts.
    ///
    /// [`StoreError::Conflict`]: super::StoreError::Conflict
    fn apply_all(&self, holds: &[Holds<'_>], changes: &[Change]) -> StoreResult<()>;

    /// Reads `table[key]` and makes the changes `judge` returns for what it read (`None`: nothing
    /// written), holding the key from the read to the write against every other writer of it, in
    /// this process or another. For a writer that lost a conditional change ([`Tables::apply`])
    /// to another: judged on a record it had to read again, it would reach the key after the
    /// winner's next change (judged on what the winner holds in memory) and lose again, round
    /// after round; held, the winner's next change waits for it. `judge` runs once, on the
    /// caller's thread, and may read the store. [`StoreError::Conflict`] if the engine could not
    /// hold the key (judged again by the caller).
    ///
    /// [`StoreError::Conflict`]: super::StoreError::Conflict
    fn apply_held(&self, table: Table, key: &[u8], judge: &mut Judge<'_>) -> StoreResult<()>;

    /// Replaces the value of each key with `merge(stored value, given value)` (`None` where the key
    /// is absent), atomically per key against every other writer, in this process or another;
    /// returns the values written, in order. For aggregates that several processes add to.
    fn merge(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
        merge: &Merge<'_>,
    ) -> StoreResult<Vec<Vec<u8>>>;

    /// A number no earlier call returned, larger than those earlier calls of this process returned
    /// (orders notes and notices written in the same second).
    fn unique_id(&self) -> StoreResult<u64>;

    /// Returns once every write that returned before this call is durable.
    fn durable(&self) -> StoreResult<()>;

    /// Whether writes go through (see [`Store::writable`](super::Store::writable)). An engine
    /// that recovers by reopening calls `reset` once the new engine is in place and before writes
    /// resume, so what was kept in memory in front of the old one is dropped.
    fn writable(&self, reset: &dyn Fn() -> StoreResult<()>) -> Result<(), Fault>;

    /// `Some(bound)` if other processes may write the same tables (replicas on one database): what
    /// a process keeps in memory must then be read again at least this often, unless
    /// [`watch`](Tables::watch) tells of the change.
    fn shared(&self) -> Option<Duration>;

    /// Tells `note` of every code record another process changes, where the engine can (the
    /// default: it cannot, and never calls it).
    fn watch(&self, note: ChangeNote) {
        let _ = note;
    }

    /// Every entry of every table, the tables in [`Table::ALL`] order and each in key order, as
    /// of one moment: what a backup copies. This default reads the tables one after another,
    /// which is one moment only while nobody writes: right for an engine only this process
    /// writes to, whose caller keeps its own writers out meanwhile. An engine that other
    /// processes write to reads them all in one snapshot.
    fn snapshot(&self) -> Entries<'_, Entry> {
        Box::new(Table::ALL.into_iter().flat_map(move |table| {
            self.scan(table, &[])
                .map(move |entry| entry.map(|(k, v)| (table, k, v)))
        }))
    }

    /// Entries in `table` (may walk it).
    fn len(&self, table: Table) -> StoreResult<u64>;

    /// What the whole store takes on disk.
    fn bytes_on_disk(&self) -> StoreResult<u64>;

    /// Loads a backup's entries into this empty store: all of them, or, where the engine has
    /// transactions, none if `entries` yields an error. Returns how many were loaded.
    fn load(&self, entries: &mut dyn Iterator<Item = StoreResult<Entry>>) -> StoreResult<u64>;
}
