//! The [`Store`] on any engine's [`Tables`]: the one place that knows how records, events, indexes
//! and batches are laid out in tables, kept in memory in front of the engine, ordered for crash
//! safety, and guarded against writers in other processes.
//!
//! ## One writer per code
//! Within a process the registry's code locks serialise writers. Across processes (replicas on one
//! PostgreSQL database) [`Store::update_code`] is a compare-and-swap: the code's stored bytes must
//! still be those of the record the update was judged on, or nothing is written and the caller
//! gets [`StoreError::Conflict`] and judges again on the fresh record. The engine checks the
//! condition where it makes the update ([`Tables::apply`]: a row lock in a database).

use std::io::{Read, Write};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use signer::{Gtin, Lot, Sscc, Timestamp};

use super::backup;
use super::batches::{BatchTable, batch_key};
use super::keys::{self, FORMAT, FORMAT_KEY, SALT_KEY};
use super::record_cache::RecordCache;
use super::tables::{Change, Changed, Expect, Holds, Table, Tables};
use super::{Entries, Fault, RecordCacheStats, StoreError, StoreResult, StoreStats};
use super::{TrustEntry, backup::Reader};
use crate::carton::Carton;
use crate::event::Event;
use crate::key::CodeKey;
use crate::notes::AlertNote;
use crate::notices::Notice;
use crate::parties::{Party, Report, TokenRecord};
use crate::party::PartyId;
use crate::record::{Batch, CodeRecord, LotRecall};
use crate::scans::ScanStats;
use crate::sessions::SessionRecord;
use crate::vin::Vin;

/// How long a record is served from memory while the engine tells of every other process's
/// change: a safety net, not the staleness bound (which is then the time a change takes to be
/// told). Long, as a replica's hot set is revisited far more slowly than a second: at 60 s, a
/// replica cycling through 100,000 codes read a sixth of them again from the database.
const WATCHED_MAX_AGE: Duration = Duration::from_secs(600);

/// One code's part in a carton move ([`Store::move_cartons`]): its event, the notices about it, and
/// its record before and after, as [`Store::update_code`] takes them.
#[derive(Clone, Copy)]
pub struct MovedCode<'a> {
    pub key: &'a CodeKey,
    pub event: Option<&'a Event>,
    pub notices: &'a [Notice],
    pub before: &'a CodeRecord,
    pub after: &'a CodeRecord,
}

/// A change of the carton a code is packed in ([`Store::move_cartons`]): `None` for none.
#[derive(Clone, Copy)]
pub struct InCarton<'a> {
    pub key: &'a CodeKey,
    pub before: Option<&'a Sscc>,
    pub after: Option<&'a Sscc>,
}

/// A change of a carton's packing record ([`Store::move_cartons`]): `None` for none stored (a new
/// carton before, an unpacked one after).
#[derive(Clone, Copy)]
pub struct CartonUpdate<'a> {
    pub sscc: &'a Sscc,
    pub before: Option<&'a Carton>,
    pub after: Option<&'a Carton>,
}

/// An event on a code as [`Store::update_code_held`]'s caller judged it: the event, the
/// notices about it, the record after it, and what else the caller worked out on the way.
pub struct CodeUpdate<T> {
    pub event: Event,
    pub notices: Vec<Notice>,
    pub after: CodeRecord,
    pub also: T,
}

/// What the registry needs from storage, on one engine.
///
/// ## Crash contract of [`Store::update_code`]
/// An engine need not make the several keys of one update atomic (sled's atomic batches cost a
/// synchronous log write each and serialise all writers), but it must write them in this order,
/// each key atomically, and recover to a prefix of its writes after a crash:
/// 1. index entries the update adds (a vehicle's new part, a newly flagged code),
/// 2. the event, under the code key and its sequence number,
/// 3. the code's record,
/// 4. index entries the update removes.
///
/// So a crash leaves the old record or the new one. An event stored with a sequence number equal to
/// its record's event count is the remains of an update that was never acknowledged: readers ignore
/// it and the next update overwrites it. Indexes may hold left-over entries but never miss one;
/// readers check every index hit against the record.
pub struct Store {
    pub(super) tables: Box<dyn Tables>,
    /// Every batch, in memory: a record names its batch by number, and a lookup must not cost a
    /// second read.
    batch_table: RwLock<BatchTable>,
    /// Code records in memory, in front of the codes table.
    records: Arc<RecordCache>,
    /// What the store is called in errors (its directory, or its database).
    name: String,
    /// How long records are served from memory, where other processes write too.
    max_age: Option<Duration>,
}

fn decode<V>(what: &str, r: Result<V, impl std::fmt::Display>) -> StoreResult<V> {
    r.map_err(|e| StoreError::corrupt(what, e))
}

impl Store {
    /// The store on `tables` (called `name` in errors), which it marks with the format on first
    /// use. Code records are kept in memory up to `record_cache_bytes`, each for a bounded time if
    /// other processes write to the same tables ([`Tables::shared`]).
    pub(super) fn on(
        tables: Box<dyn Tables>,
        name: String,
        record_cache_bytes: u64,
    ) -> StoreResult<Self> {
        let max_age = tables.shared();
        let found = tables.insert_new(Table::Meta, &[(FORMAT_KEY.to_vec(), FORMAT.to_vec())])?;
        if let Some(Some(found)) = found.first() {
            if found != FORMAT {
                return Err(StoreError::corrupt(
                    "format",
                    format!(
                        "{name} holds {:?}, this version reads {:?}",
                        String::from_utf8_lossy(found),
                        String::from_utf8_lossy(FORMAT)
                    ),
                ));
            }
        } else {
            tables.durable()?;
        }
        let mut records: RecordCache = RecordCache::new(record_cache_bytes);
        if let Some(max_age) = max_age {
            records = records.with_max_age(max_age);
        }
        let store = Store {
            tables,
            batch_table: RwLock::default(),
            records: Arc::new(records),
            name,
            max_age,
        };
        store.reload_batches()?;
        // One process holds an embedded store, so a store written before the packer index is
        // indexed here, once. (PostgreSQL's migration indexes a database, and `restore` a backup.)
        if max_age.is_none()
            && store
                .tables
                .scan(Table::CartonsByPacker, &[])
                .next()
                .is_none()
        {
            store.index_cartons_by_packer()?;
        }
        if let Some(bound) = max_age {
            // Where the engine tells of other processes' changes, records are forgotten as they
            // change and may be kept longer; where it cannot (or stops), the bound holds again.
            let records = store.records.clone();
            store.tables.watch(Arc::new(move |change| match change {
                Changed::Code(key) => records.forget(key),
                Changed::Watching => {
                    // Anything read before may have changed untold.
                    records.clear();
                    records.set_max_age(WATCHED_MAX_AGE);
                }
                Changed::Lost => records.set_max_age(bound),
            }));
        }
        Ok(store)
    }

    fn reload_batches(&self) -> StoreResult<()> {
        let mut table = BatchTable::default();
        for entry in self.tables.scan(Table::Batches, &[]) {
            let (number, value) = entry?;
            let number = number
                .as_slice()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::corrupt("batch number", "not 4 bytes"))?;
            table.add(number, decode("batch", Batch::decode(&value))?);
        }
        *self
            .batch_table
            .write()
            .unwrap_or_else(PoisonError::into_inner) = table;
        Ok(())
    }

    fn batches(&self) -> RwLockReadGuard<'_, BatchTable> {
        self.batch_table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of the record's batch, storing the batch first if it is new (so no record can
    /// refer to a batch a crash lost). Another process may number a batch at the same time: the
    /// insert-if-absent tells, and the table is read again.
    fn batch_number(&self, record: &CodeRecord) -> StoreResult<u32> {
        let batch = record.batch();
        loop {
            if let Some(n) = self.batches().number_of(&batch) {
                return Ok(n);
            }
            let mut table = self
                .batch_table
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(n) = table.number_of(&batch) {
                return Ok(n);
            }
            let n = table.next();
            let encoded = batch.encode();
            let taken = self
                .tables
                .insert_new(Table::Batches, &[(batch_key(n).to_vec(), encoded.clone())])?;
            match taken.into_iter().next().flatten() {
                None => {
                    table.add(n, batch);
                    return Ok(n);
                }
                Some(other) if other == encoded => {
                    table.add(n, batch);
                    return Ok(n);
                }
                Some(_) => {
                    drop(table);
                    self.reload_batches()?;
                }
            }
        }
    }

    fn encode_code(&self, record: &CodeRecord) -> StoreResult<Vec<u8>> {
        Ok(record.encode(self.batch_number(record)?))
    }

    fn decode_record(&self, key: &CodeKey, value: &[u8]) -> StoreResult<CodeRecord> {
        let decode = || {
            CodeRecord::decode(key, value, |n| self.batches().batch(n).cloned())
                .map_err(|e| StoreError::corrupt(key.to_string(), e))
        };
        match decode() {
            Ok(record) => Ok(record),
            // Perhaps a batch another process numbered since this one read the table.
            Err(e) => {
                let known = self.batches().next();
                self.reload_batches()?;
                if self.batches().next() > known {
                    decode()
                } else {
                    Err(e)
                }
            }
        }
    }

    fn decode_code(&self, key: &[u8], value: &[u8]) -> StoreResult<(CodeKey, CodeRecord)> {
        let key = decode("code key", CodeKey::from_bytes(key))?;
        let record = self.decode_record(&key, value)?;
        Ok((key, record))
    }

    /// Runs a write, failing at once while the engine cannot write.
    pub(super) fn write<R>(&self, f: impl FnOnce() -> StoreResult<R>) -> StoreResult<R> {
        self.writable()?;
        f()
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> StoreResult<()> {
        self.write(|| self.tables.put(table, key, value))
    }

    fn get_decoded<V, E: std::fmt::Display>(
        &self,
        table: Table,
        key: &[u8],
        what: &str,
        f: impl FnOnce(&[u8]) -> Result<V, E>,
    ) -> StoreResult<Option<V>> {
        match self.tables.get(table, key)? {
            None => Ok(None),
            Some(bytes) => decode(what, f(&bytes)).map(Some),
        }
    }

    fn list<V>(
        &self,
        table: Table,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> StoreResult<V>,
    ) -> StoreResult<Vec<V>> {
        self.tables
            .scan(table, prefix)
            .map(|entry| {
                let (k, v) = entry?;
                f(&k, &v)
            })
            .collect()
    }

    /// A notice's entry: under its party, then its time and a number this store hands out once,
    /// so notices of one second stay in the order they were written.
    fn notice_entry(&self, notice: &Notice) -> StoreResult<Change> {
        let mut k = keys::party_prefix(&notice.party);
        k.extend_from_slice(&notice.at.0.to_be_bytes());
        k.extend_from_slice(&self.tables.unique_id()?.to_be_bytes());
        Ok(Change::Put(Table::Notices, k, notice.encode_value()))
    }

    /// The code's record, shared with the record cache (a hit clones a pointer).
    pub fn code(&self, key: &CodeKey) -> StoreResult<Option<Arc<CodeRecord>>> {
        let miss = match self.records.get(key.as_bytes()) {
            Ok(cached) => return Ok(Some(cached)),
            Err(miss) => miss,
        };
        match self.tables.get(Table::Codes, key.as_bytes())? {
            None => Ok(None),
            Some(bytes) => {
                let record = Arc::new(self.decode_record(key, &bytes)?);
                self.records.fill(miss, key.as_bytes(), &record);
                Ok(Some(record))
            }
        }
    }

    /// Inserts freshly registered codes whose keys are free, each atomically, and returns for each
    /// the record already there, if any. Safe to call from many threads and processes at once.
    pub fn insert_new_codes(
        &self,
        codes: &[(CodeKey, CodeRecord)],
    ) -> StoreResult<Vec<Option<CodeRecord>>> {
        self.write(|| {
            let entries = codes
                .iter()
                .map(|(key, record)| Ok((key.as_bytes().to_vec(), self.encode_code(record)?)))
                .collect::<StoreResult<Vec<_>>>()?;
            // The log's pool entries before the codes (see `store::log`), so a registered code
            // always has one. A code already registered gets one too: the sequencer drops it if
            // the log holds the code's registration already, and logs it if not yet.
            let registration = self.tables.unique_id()?;
            let code_keys: Vec<&CodeKey> = codes.iter().map(|(key, _)| key).collect();
            let pool = super::log::registration_pool_changes(registration, &code_keys);
            self.tables.apply(None, &pool)?;
            let taken = self.tables.insert_new(Table::Codes, &entries)?;
            codes
                .iter()
                .zip(&entries)
                .zip(taken)
                .map(|(((key, record), (k, _)), taken)| match taken {
                    None => {
                        self.records.wrote(k, Arc::new(record.clone()));
                        Ok(None)
                    }
                    Some(bytes) => self.decode_record(key, &bytes).map(Some),
                })
                .collect()
        })
    }

    /// Appends `event` (if any) to the code's chain and replaces its record (`before` → `after`),
    /// with the derived indexes and the `notices` about the event, in the order the crash
    /// contract sets (notices first: a reader ignores one whose event the record does not count).
    /// [`StoreError::Conflict`], with nothing written, if the stored record is no longer `before`.
    pub fn update_code(
        &self,
        key: &CodeKey,
        event: Option<&Event>,
        notices: &[Notice],
        before: &CodeRecord,
        after: &CodeRecord,
    ) -> StoreResult<()> {
        self.write(|| {
            let changes = self.code_changes(key, event, notices, before, after)?;
            let mut expected = self.encode_code(before)?;
            let mut tries = 0;
            loop {
                let expect = Expect {
                    table: Table::Codes,
                    key: key.as_bytes(),
                    expected: &expected,
                };
                match self.tables.apply(Some(expect), &changes) {
                    Ok(()) => {
                        self.records.wrote(key.as_bytes(), Arc::new(after.clone()));
                        return Ok(());
                    }
                    Err(StoreError::Conflict) if tries == 0 => {
                        tries += 1;
                        self.records.forget(key.as_bytes());
                        // The stored bytes may be an older encoding of the very same record (a
                        // store restored from an older version): that is no conflict.
                        match self.tables.get(Table::Codes, key.as_bytes())? {
                            Some(stored) if self.decode_record(key, &stored)? == *before => {
                                expected = stored;
                            }
                            _ => return Err(StoreError::Conflict),
                        }
                    }
                    Err(e) => {
                        self.records.forget(key.as_bytes());
                        return Err(e);
                    }
                }
            }
        })
    }

    /// Makes a carton move as one atomic change ([`Tables::apply_all`]): every code's event,
    /// notices, index entries and record, the cartons codes are in, and the cartons' packing records,
    /// all of them or none, also across a crash. [`StoreError::Conflict`], with nothing written, if
    /// any code's record, any code's carton or any carton's record is no longer what the move was
    /// judged on.
    pub fn move_cartons(
        &self,
        codes: &[MovedCode<'_>],
        in_cartons: &[InCarton<'_>],
        cartons: &[CartonUpdate<'_>],
    ) -> StoreResult<()> {
        self.write(|| {
            let mut changes = Vec::new();
            for code in codes {
                // Each code's changes as any update's (`code_changes`: so a carton move's events
                // join the transparency log as every other event does).
                changes.extend(self.code_changes(
                    code.key,
                    code.event,
                    code.notices,
                    code.before,
                    code.after,
                )?);
            }
            let mut expected = codes
                .iter()
                .map(|code| self.encode_code(code.before))
                .collect::<StoreResult<Vec<_>>>()?;
            let carton_bytes: Vec<Option<Vec<u8>>> = cartons
                .iter()
                .map(|c| c.before.map(Carton::encode))
                .collect();
            for in_carton in in_cartons {
                let k = in_carton.key.as_bytes().to_vec();
                changes.push(match in_carton.after {
                    Some(sscc) => Change::Put(Table::CodeCartons, k, sscc.as_str().into()),
                    None => Change::Remove(Table::CodeCartons, k),
                });
            }
            for carton in cartons {
                let k = carton.sscc.as_str().as_bytes().to_vec();
                changes.push(match carton.after {
                    Some(after) => Change::Put(Table::Cartons, k, after.encode()),
                    None => Change::Remove(Table::Cartons, k),
                });
                changes.extend(packer_index_changes(carton));
            }
            let mut tries = 0;
            loop {
                let mut holds: Vec<Holds<'_>> = codes
                    .iter()
                    .zip(&expected)
                    .map(|(code, bytes)| Holds {
                        table: Table::Codes,
                        key: code.key.as_bytes(),
                        expected: Some(bytes),
                    })
                    .collect();
                holds.extend(in_cartons.iter().map(|c| Holds {
                    table: Table::CodeCartons,
                    key: c.key.as_bytes(),
                    expected: c.before.map(|s| s.as_str().as_bytes()),
                }));
                holds.extend(cartons.iter().zip(&carton_bytes).map(|(c, bytes)| Holds {
                    table: Table::Cartons,
                    key: c.sscc.as_str().as_bytes(),
                    expected: bytes.as_deref(),
                }));
                match self.tables.apply_all(&holds, &changes) {
                    Ok(()) => {
                        for code in codes {
                            self.records
                                .wrote(code.key.as_bytes(), Arc::new(code.after.clone()));
                        }
                        return Ok(());
                    }
                    Err(StoreError::Conflict) if tries == 0 => {
                        tries += 1;
                        // As for one code: a record stored in an older encoding is no conflict.
                        for (code, bytes) in codes.iter().zip(expected.iter_mut()) {
                            self.records.forget(code.key.as_bytes());
                            match self.tables.get(Table::Codes, code.key.as_bytes())? {
                                Some(stored)
                                    if self.decode_record(code.key, &stored)? == *code.before =>
                                {
                                    *bytes = stored;
                                }
                                _ => return Err(StoreError::Conflict),
                            }
                        }
                    }
                    Err(e) => {
                        for code in codes {
                            self.records.forget(code.key.as_bytes());
                        }
                        return Err(e);
                    }
                }
            }
        })
    }

    /// A carton's packing record.
    pub fn carton(&self, sscc: &Sscc) -> StoreResult<Option<Carton>> {
        self.get_decoded(
            Table::Cartons,
            sscc.as_str().as_bytes(),
            "carton",
            Carton::decode,
        )
    }

    /// The carton a code is packed in.
    pub fn carton_of(&self, key: &CodeKey) -> StoreResult<Option<Sscc>> {
        self.get_decoded(Table::CodeCartons, key.as_bytes(), "code's carton", |v| {
            Sscc::parse(&String::from_utf8_lossy(v))
        })
    }

    /// Every carton's packing record, in SSCC order (for the audit).
    pub fn all_cartons(&self) -> Entries<'_, (Sscc, Carton)> {
        Box::new(self.tables.scan(Table::Cartons, &[]).map(|entry| {
            let (k, v) = entry?;
            let sscc = decode("carton number", Sscc::parse(&String::from_utf8_lossy(&k)))?;
            Ok((sscc, decode("carton", Carton::decode(&v))?))
        }))
    }

    /// The packing records of `packer`, newest first: at most `limit` of those after `after` (the
    /// packing time and SSCC of the last record of the page before). An index entry whose record
    /// is gone or no longer the packer's is passed over: the index changes with the record in one
    /// atomic change, so there is none but where the audit reports one.
    pub fn cartons_packed_by(
        &self,
        packer: &PartyId,
        after: Option<(Timestamp, Sscc)>,
        limit: usize,
    ) -> StoreResult<Vec<(Sscc, Carton)>> {
        let after = after.map(|(at, sscc)| keys::packer_key(packer, at, &sscc));
        let mut out = Vec::new();
        for entry in self
            .tables
            .scan(Table::CartonsByPacker, &keys::party_prefix(packer))
        {
            if out.len() == limit {
                break;
            }
            let (k, _) = entry?;
            if after.as_ref().is_some_and(|after| k <= *after) {
                continue;
            }
            let sscc = keys::sscc_of_packer_key(&k)?;
            if let Some(carton) = self.carton(&sscc)? {
                if keys::packer_key(&carton.packed_by, carton.packed_at, &sscc) == k {
                    out.push((sscc, carton));
                }
            }
        }
        Ok(out)
    }

    /// Every entry of the packer index, in key order (for the audit).
    pub fn all_packer_entries(&self) -> Entries<'_, Vec<u8>> {
        Box::new(
            self.tables
                .scan(Table::CartonsByPacker, &[])
                .map(|entry| entry.map(|(k, _)| k)),
        )
    }

    /// Puts every packing record's entry in the packer index (those present already are put
    /// again, unchanged): for a store written before the index existed.
    fn index_cartons_by_packer(&self) -> StoreResult<()> {
        let mut changes = Vec::new();
        for entry in self.all_cartons() {
            let (sscc, carton) = entry?;
            let k = keys::packer_key(&carton.packed_by, carton.packed_at, &sscc);
            changes.push(Change::Put(Table::CartonsByPacker, k, Vec::new()));
        }
        if changes.is_empty() {
            return Ok(());
        }
        for chunk in changes.chunks(1_000) {
            self.tables.apply(None, chunk)?;
        }
        self.tables.durable()
    }

    /// Every code's carton, in code key order (for the audit).
    pub fn all_code_cartons(&self) -> Entries<'_, (CodeKey, Sscc)> {
        Box::new(self.tables.scan(Table::CodeCartons, &[]).map(|entry| {
            let (k, v) = entry?;
            let key = decode("code key", CodeKey::from_bytes(&k))?;
            let sscc = decode("code's carton", Sscc::parse(&String::from_utf8_lossy(&v)))?;
            Ok((key, sscc))
        }))
    }

    /// [`Store::update_code`] with the code held from the read to the write
    /// ([`Tables::apply_held`]): `judge` works out the update from the code's stored record, or
    /// refuses it with its own error (nothing written). `Ok(None)`: no such code. For a writer
    /// that lost the code to another process: the other's next update waits for this one.
    pub fn update_code_held<T, E: From<StoreError>>(
        &self,
        key: &CodeKey,
        mut judge: impl FnMut(&CodeRecord) -> Result<CodeUpdate<T>, E>,
    ) -> Result<Option<CodeUpdate<T>>, E> {
        self.writable().map_err(StoreError::from)?;
        // What the judgement came to, apart from what the engine says of the write.
        let mut judged: Option<Result<CodeUpdate<T>, E>> = None;
        let written = self
            .tables
            .apply_held(Table::Codes, key.as_bytes(), &mut |stored| {
                let stored = stored?;
                let changes = self
                    .decode_record(key, stored)
                    .map_err(E::from)
                    .and_then(|before| {
                        let update = judge(&before)?;
                        let changes = self.code_changes(
                            key,
                            Some(&update.event),
                            &update.notices,
                            &before,
                            &update.after,
                        )?;
                        Ok((update, changes))
                    });
                match changes {
                    Ok((update, changes)) => {
                        judged = Some(Ok(update));
                        Some(changes)
                    }
                    Err(e) => {
                        judged = Some(Err(e));
                        None
                    }
                }
            });
        if let Err(e) = written {
            self.records.forget(key.as_bytes());
            return Err(e.into());
        }
        let update = judged.transpose()?;
        if let Some(update) = &update {
            self.records
                .wrote(key.as_bytes(), Arc::new(update.after.clone()));
        }
        Ok(update)
    }

    /// The changes of a code's update, in the order of the crash contract.
    fn code_changes(
        &self,
        key: &CodeKey,
        event: Option<&Event>,
        notices: &[Notice],
        before: &CodeRecord,
        after: &CodeRecord,
    ) -> StoreResult<Vec<Change>> {
        let value = self.encode_code(after)?;
        // Index entries added, the event (its notices first: a reader ignores one whose event
        // the record does not count), the record, index entries removed.
        let (added, removed) = index_changes(key, before, after);
        let mut changes = added;
        for notice in notices {
            changes.push(self.notice_entry(notice)?);
        }
        if let Some(event) = event {
            // The log's pool entry in the event's own write, before it (see `store::log`): an
            // acknowledged event can never miss the log. The one place every event's changes are
            // assembled, so every kind of event joins the log here.
            changes.push(super::log::event_pool_change(key, event.seq));
            let k = keys::event_key(key, event.seq);
            changes.push(Change::Put(Table::Events, k, event.encode()));
        }
        changes.push(Change::Put(Table::Codes, key.as_bytes().to_vec(), value));
        changes.extend(removed);
        Ok(changes)
    }

    /// The code's stored events after the commissioning (which its record holds), in order,
    /// including the remains of an interrupted update (see the crash contract).
    pub fn events(&self, key: &CodeKey) -> StoreResult<Vec<Event>> {
        self.list(Table::Events, key.as_bytes(), |_, v| {
            decode(&key.to_string(), Event::decode(v))
        })
    }

    /// Every code, in key order.
    pub fn codes(&self) -> Entries<'_, (CodeKey, CodeRecord)> {
        Box::new(self.tables.scan(Table::Codes, &[]).map(|entry| {
            let (k, v) = entry?;
            self.decode_code(&k, &v)
        }))
    }

    /// Every stored event with its code, in key order (for the audit).
    pub fn all_events(&self) -> Entries<'_, (CodeKey, Event)> {
        Box::new(self.tables.scan(Table::Events, &[]).map(|entry| {
            let (k, v) = entry?;
            let (code, seq) = keys::decode_event_key(&k)?;
            let event = decode(&code.to_string(), Event::decode(&v))?;
            if seq != event.seq {
                return Err(StoreError::corrupt(
                    code.to_string(),
                    "event stored under another sequence number",
                ));
            }
            Ok((code, event))
        }))
    }

    pub fn lot_recall(&self, gtin: &Gtin, lot: &Lot) -> StoreResult<Option<LotRecall>> {
        self.get_decoded(
            Table::LotRecalls,
            &keys::lot_key(gtin, lot),
            "lot recall",
            LotRecall::decode,
        )
    }

    pub fn put_lot_recall(&self, gtin: &Gtin, lot: &Lot, recall: &LotRecall) -> StoreResult<()> {
        self.put(
            Table::LotRecalls,
            &keys::lot_key(gtin, lot),
            &recall.encode(),
        )
    }

    /// Every lot recall (there are few: one per recalled lot), for the registry to hold in memory.
    pub fn lot_recalls(&self) -> StoreResult<Vec<(Gtin, Lot, LotRecall)>> {
        self.list(Table::LotRecalls, &[], |k, v| {
            let (gtin, lot) = keys::decode_lot_key(k)?;
            Ok((gtin, lot, decode("lot recall", LotRecall::decode(v))?))
        })
    }

    pub fn scans(&self, key: &CodeKey) -> StoreResult<Option<ScanStats>> {
        self.get_decoded(
            Table::Scans,
            key.as_bytes(),
            "scan stats",
            ScanStats::decode,
        )
    }

    /// Adds scans counted by this process (see [`ScanStats::merge`]) to each code's stored
    /// aggregate, and returns the aggregates stored, in order. Safe to call from many processes at
    /// once: none overwrites another's scans.
    pub fn add_scans(&self, deltas: &[(CodeKey, ScanStats)]) -> StoreResult<Vec<ScanStats>> {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = deltas
            .iter()
            .map(|(key, delta)| (key.as_bytes().to_vec(), delta.encode()))
            .collect();
        let add = |stored: Option<&[u8]>, delta: &[u8]| -> StoreResult<Vec<u8>> {
            let delta = decode("scan stats", ScanStats::decode(delta))?;
            let Some(stored) = stored else {
                return Ok(delta.encode());
            };
            let mut merged = decode("scan stats", ScanStats::decode(stored))?;
            merged.merge(&delta);
            Ok(merged.encode())
        };
        let written = self.write(|| self.tables.merge(Table::Scans, &entries, &add))?;
        written
            .iter()
            .map(|bytes| decode("scan stats", ScanStats::decode(bytes)))
            .collect()
    }

    /// Codes of this manufacturer with a flag that needs attention, per the alert index (which may
    /// hold left-over entries).
    pub fn alerts(&self, manufacturer: &PartyId) -> StoreResult<Vec<CodeKey>> {
        let prefix = keys::party_prefix(manufacturer);
        self.list(Table::Alerts, &prefix, |k, _| {
            decode("alert index", CodeKey::from_bytes(&k[prefix.len()..]))
        })
    }

    /// When the manufacturer began investigating this flagged code, if it has.
    pub fn alert_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> StoreResult<Option<Timestamp>> {
        let value = self
            .tables
            .get(Table::Alerts, &keys::alert_key(manufacturer, key))?;
        Ok(value.and_then(|v| keys::time_at(&v, 8)))
    }

    /// Marks a flagged code's alert as under investigation; false if the code has no alert. The
    /// mark goes when the alert does (its flags are resolved).
    pub fn set_alert_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.write(|| {
            let entry = keys::alert_key(manufacturer, key);
            let Some(value) = self.tables.get(Table::Alerts, &entry)? else {
                return Ok(false);
            };
            let mut marked = value.get(..8).unwrap_or_default().to_vec();
            marked.extend_from_slice(&at.0.to_be_bytes());
            self.tables.put(Table::Alerts, &entry, &marked)?;
            Ok(true)
        })
    }

    /// Keeps a manufacturer's note on one of its codes, after the notes already kept.
    pub fn add_alert_note(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        note: &AlertNote,
    ) -> StoreResult<()> {
        self.write(|| {
            let mut k = keys::alert_key(manufacturer, key);
            k.extend_from_slice(&note.at.0.to_be_bytes());
            // Two notes in the same second keep their order and never overwrite each other.
            k.extend_from_slice(&self.tables.unique_id()?.to_be_bytes());
            self.tables.put(Table::AlertNotes, &k, &note.encode())
        })
    }

    /// The manufacturer's notes on a code, oldest first.
    pub fn alert_notes(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> StoreResult<Vec<AlertNote>> {
        let prefix = keys::alert_key(manufacturer, key);
        self.list(Table::AlertNotes, &prefix, |k, v| {
            // Code keys are prefix-free, so the prefix holds this code's notes only.
            if k.len() != prefix.len() + 16 {
                return Err(StoreError::corrupt("alert note", "malformed key"));
            }
            decode("alert note", AlertNote::decode(v))
        })
    }

    /// Every alert index entry (for the audit).
    pub fn all_alerts(&self) -> Entries<'_, (PartyId, CodeKey)> {
        Box::new(
            self.tables
                .scan(Table::Alerts, &[])
                .map(|entry| keys::decode_alert_key(&entry?.0)),
        )
    }

    /// Codes installed in this vehicle, per the vehicle index (which may hold left-over entries).
    pub fn installed_in(&self, vin: &Vin) -> StoreResult<Vec<CodeKey>> {
        self.list(Table::Vehicles, vin.as_bytes(), |k, _| {
            decode("vehicle index", CodeKey::from_bytes(&k[17..]))
        })
    }

    /// Every vehicle index entry (for the audit).
    pub fn all_installed(&self) -> Entries<'_, (Vin, CodeKey)> {
        Box::new(
            self.tables
                .scan(Table::Vehicles, &[])
                .map(|entry| keys::decode_vehicle_key(&entry?.0)),
        )
    }

    pub fn trust(&self) -> StoreResult<Vec<TrustEntry>> {
        self.list(Table::Trust, &[], keys::decode_trust)
    }

    pub fn put_trust(&self, entry: &TrustEntry) -> StoreResult<()> {
        self.put(
            Table::Trust,
            &keys::trust_key(entry),
            &keys::encode_trust(entry),
        )
    }

    pub fn party(&self, id: &PartyId) -> StoreResult<Option<Party>> {
        self.get_decoded(
            Table::Parties,
            id.as_str().as_bytes(),
            "party",
            Party::decode,
        )
    }

    pub fn put_party(&self, party: &Party) -> StoreResult<()> {
        self.put(
            Table::Parties,
            party.id.as_str().as_bytes(),
            &party.encode(),
        )
    }

    pub fn parties(&self) -> StoreResult<Vec<Party>> {
        self.list(Table::Parties, &[], |_, v| {
            decode("party", Party::decode(v))
        })
    }

    pub fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.get_decoded(Table::Tokens, id.as_bytes(), "token", TokenRecord::decode)
    }

    pub fn put_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.put(Table::Tokens, token.id.as_bytes(), &token.encode())
    }

    pub fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.list(Table::Tokens, &[], |_, v| {
            decode("token", TokenRecord::decode(v))
        })
    }

    /// This party's notices, oldest first.
    pub fn notices(&self, party: &PartyId) -> StoreResult<Vec<Notice>> {
        let prefix = keys::party_prefix(party);
        self.list(Table::Notices, &prefix, |k, v| {
            let at = keys::time_at(k, prefix.len())
                .ok_or_else(|| StoreError::corrupt("notice", "malformed key"))?;
            decode("notice", Notice::decode_value(party.clone(), at, v))
        })
    }

    /// A browser session, by [`session_key`](crate::session_key).
    pub fn session(&self, key: &[u8; 32]) -> StoreResult<Option<SessionRecord>> {
        self.get_decoded(Table::Sessions, key, "session", SessionRecord::decode)
    }

    pub fn put_session(&self, key: &[u8; 32], session: &SessionRecord) -> StoreResult<()> {
        self.put(Table::Sessions, key, &session.encode())
    }

    /// A shop station's list of recent scans, opaque here (the verifier encodes it).
    pub fn station_list(&self, party: &PartyId) -> StoreResult<Option<Vec<u8>>> {
        self.tables
            .get(Table::StationLists, party.as_str().as_bytes())
    }

    pub fn put_station_list(&self, party: &PartyId, list: &[u8]) -> StoreResult<()> {
        self.put(Table::StationLists, party.as_str().as_bytes(), list)
    }

    /// An EPCIS capture job as its JSON, opaque here (`epcis_capture::CaptureJob`).
    pub fn capture_job(&self, id: &str) -> StoreResult<Option<Vec<u8>>> {
        self.tables.get(Table::CaptureJobs, id.as_bytes())
    }

    pub fn put_capture_job(&self, id: &str, job: &[u8]) -> StoreResult<()> {
        self.put(Table::CaptureJobs, id.as_bytes(), job)
    }

    /// What a captured `eventID` was stored as, JSON, opaque here (`epcis_capture`).
    pub fn captured_event(&self, event_id: &str) -> StoreResult<Option<Vec<u8>>> {
        self.tables.get(Table::CapturedEvents, event_id.as_bytes())
    }

    pub fn put_captured_event(&self, event_id: &str, stored_as: &[u8]) -> StoreResult<()> {
        self.put(Table::CapturedEvents, event_id.as_bytes(), stored_as)
    }

    pub fn remove_session(&self, key: &[u8; 32]) -> StoreResult<()> {
        self.write(|| {
            let removal = Change::Remove(Table::Sessions, key.to_vec());
            self.tables.apply(None, &[removal])
        })
    }

    /// Removes the sessions that expired before `now`; returns how many.
    pub fn remove_expired_sessions(&self, now: Timestamp) -> StoreResult<usize> {
        // Few: a sign-in per station and day.
        let expired = self.list(Table::Sessions, &[], |k, v| {
            let session = decode("session", SessionRecord::decode(v))?;
            Ok((session.expires_at <= now).then(|| k.to_vec()))
        })?;
        let removals: Vec<Change> = expired
            .into_iter()
            .flatten()
            .map(|k| Change::Remove(Table::Sessions, k))
            .collect();
        if !removals.is_empty() {
            self.write(|| self.tables.apply(None, &removals))?;
        }
        Ok(removals.len())
    }

    /// Keyed by maker, time and the report's own random id, so reports never overwrite each
    /// other. (Version 1 reports were keyed by maker, time and code; they still read.)
    pub fn add_report(&self, report: &Report) -> StoreResult<()> {
        let mut key = keys::party_prefix(&report.manufacturer);
        key.extend_from_slice(&report.at.0.to_be_bytes());
        key.extend_from_slice(report.id.as_bytes());
        self.put(Table::Reports, &key, &report.encode())
    }

    /// Reports on this manufacturer's codes, oldest first.
    pub fn reports(&self, manufacturer: &PartyId) -> StoreResult<Vec<Report>> {
        let prefix = keys::party_prefix(manufacturer);
        self.list(Table::Reports, &prefix, |k, v| {
            let legacy_code = || {
                k.get(prefix.len() + 8..)
                    .and_then(|b| CodeKey::from_bytes(b).ok())
            };
            decode("report", Report::decode(v, legacy_code))
        })
    }

    /// The store's secret salt for scan contexts, created on first use.
    pub fn scan_salt(&self) -> StoreResult<[u8; 32]> {
        let salt = match self.tables.get(Table::Meta, SALT_KEY)? {
            Some(salt) => salt,
            None => {
                let mut salt = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
                // Two first callers racing must end up with one salt: keep whichever landed first.
                let taken = self.write(|| {
                    self.tables
                        .insert_new(Table::Meta, &[(SALT_KEY.to_vec(), salt.to_vec())])
                })?;
                self.durable()?;
                taken
                    .into_iter()
                    .next()
                    .flatten()
                    .unwrap_or_else(|| salt.to_vec())
            }
        };
        salt.as_slice()
            .try_into()
            .map_err(|_| StoreError::corrupt("scan salt", "not 32 bytes"))
    }

    /// Returns once every write that returned before this call is durable. Concurrent callers share
    /// one sync (group commit).
    pub fn durable(&self) -> StoreResult<()> {
        self.tables.durable()
    }

    /// Whether writes go through: `Err` with the fault while they cannot (reads go on). While
    /// faulted this may test the device and, once it takes writes again, recover the engine, so
    /// calling it now and then (a readiness probe) is enough for writes to resume by themselves.
    pub fn writable(&self) -> Result<(), Fault> {
        self.tables.writable(&|| {
            // Writes the engine took only in memory are gone; so is what was kept in front of it.
            self.records.clear();
            self.reload_batches()
        })
    }

    /// Counts walk the store: seconds for millions of codes.
    pub fn stats(&self) -> StoreResult<StoreStats> {
        Ok(StoreStats {
            codes: self.tables.len(Table::Codes)?,
            events: self.tables.len(Table::Events)?,
            alerts: self.tables.len(Table::Alerts)?,
            lot_recalls: self.tables.len(Table::LotRecalls)?,
            scanned_codes: self.tables.len(Table::Scans)?,
            bytes_on_disk: self.tables.bytes_on_disk()?,
        })
    }

    /// How the records kept in memory in front of the engine serve (cheap).
    pub fn record_cache(&self) -> RecordCacheStats {
        self.records.stats()
    }

    /// `Some(bound)` if other processes write to the same store (replicas on one database): what
    /// a process keeps in memory must then be read again at least this often.
    pub fn shared(&self) -> Option<Duration> {
        self.max_age
    }

    /// Writes every record to `out` in a self-checking format, as of one moment: where other
    /// processes write too, the engine reads everything in one snapshot; the caller keeps this
    /// process's writers out while it runs.
    pub fn backup(&self, out: &mut dyn Write) -> StoreResult<u64> {
        backup::write(self.tables.as_ref(), out)
    }

    /// Loads a backup into this store, which must hold no codes, events or trust state
    /// ([`StoreError::NotEmpty`]). The whole file is checked as it loads: all of it, or (where the
    /// engine has transactions) none; [`Location::restore`](super::Location::restore) makes it
    /// all-or-nothing on every engine.
    pub(super) fn restore(&self, input: &mut dyn Read) -> StoreResult<u64> {
        let holds = |table| -> StoreResult<bool> {
            Ok(self.tables.scan(table, &[]).next().transpose()?.is_some())
        };
        if holds(Table::Codes)? || holds(Table::Events)? || holds(Table::Trust)? {
            return Err(StoreError::NotEmpty(self.name.clone()));
        }
        // The backup holds the format mark this store was opened with: loading puts it again.
        let n = self.tables.load(&mut Reader::new(input))?;
        // A backup made before the packer index holds none of it.
        self.index_cartons_by_packer()?;
        self.durable()?;
        self.reload_batches()?;
        self.records.clear();
        Ok(n)
    }
}

/// The packer index's changes for a change of a packing record: its entry follows the record,
/// which only a packing adds and an unpacking removes (moving a carton into a pallet keeps its
/// packer and time, so its entry).
fn packer_index_changes(carton: &CartonUpdate<'_>) -> Vec<Change> {
    let entry = |c: &Carton| keys::packer_key(&c.packed_by, c.packed_at, carton.sscc);
    let (before, after) = (carton.before.map(entry), carton.after.map(entry));
    if before == after {
        return Vec::new();
    }
    let removed = before.map(|k| Change::Remove(Table::CartonsByPacker, k));
    let added = after.map(|k| Change::Put(Table::CartonsByPacker, k, Vec::new()));
    removed.into_iter().chain(added).collect()
}

/// The index entries an update from `before` to `after` adds and those it removes: the first and
/// the last writes of the crash contract of [`Store::update_code`].
fn index_changes(
    key: &CodeKey,
    before: &CodeRecord,
    after: &CodeRecord,
) -> (Vec<Change>, Vec<Change>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let alert = keys::alert_key(&after.manufacturer, key);
    let alerting = (before.flags.alerting(), after.flags.alerting());
    if alerting == (false, true) {
        let since = after.custody.since.0.to_be_bytes().to_vec();
        added.push(Change::Put(Table::Alerts, alert.clone(), since));
    }
    let vins = (keys::installed_vin(before), keys::installed_vin(after));
    if vins.0 != vins.1 {
        if let Some(vin) = &vins.1 {
            added.push(Change::Put(
                Table::Vehicles,
                keys::vehicle_key(vin, key),
                vec![],
            ));
        }
        if let Some(vin) = &vins.0 {
            removed.push(Change::Remove(Table::Vehicles, keys::vehicle_key(vin, key)));
        }
    }
    if alerting == (true, false) {
        removed.push(Change::Remove(Table::Alerts, alert));
    }
    (added, removed)
}
