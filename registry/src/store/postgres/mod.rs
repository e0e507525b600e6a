//! The server database: [`Tables`] on PostgreSQL (or a database that speaks its protocol), for
//! more than one machine. The only module that names tokio-postgres's types.
//!
//! Each [`Table`] is a table `(k bytea PRIMARY KEY, v bytea)` (`migrations/`), so records, events
//! and indexes are laid out exactly as on sled and a backup moves between the engines unchanged.
//!
//! ## Many replicas, one database
//! Any number of processes may use one database. Nothing relies on a lock inside a process:
//! - an update is one transaction that locks the code's row, and replaces it only if it still
//!   holds the bytes the update was judged on (the row lock serialises writers of one code; a
//!   loser writes nothing and is judged again: [`StoreError::Conflict`]); within a process, an
//!   update of a code waits for the one before it, so two never share a transaction;
//! - a transaction that holds several rows locks them in key order ([`group_commit`]), so
//!   replicas wait for each other rather than deadlock; one the database aborts all the same (a
//!   deadlock, a serialization failure) is a conflict, never a fault: made again, or judged
//!   again by the caller;
//! - a change over several keys (a carton's move) is one transaction of its own that locks its
//!   rows in the same order and writes all or nothing (`all_or_nothing`);
//! - a writer that lost its code to another replica is judged again with the code's row locked
//!   ([`held`]), so the other's next update waits for it rather than win every round;
//! - registration inserts with `ON CONFLICT DO NOTHING`, so one code is registered once;
//! - batch numbers are claimed with insert-if-absent and read back on a miss;
//! - each process is told of the codes the others change (`changes`: LISTEN/NOTIFY, sent in
//!   the changing transaction) and forgets those records, so it may keep records in memory long;
//!   while it is not told (connection lost, a database without LISTEN) it serves a record for at
//!   most [`STALENESS`] after reading it. Its own writes it serves at once.
//!
//! ## Durability
//! Every write is a committed transaction before it returns: with PostgreSQL's default
//! `synchronous_commit = on`, its WAL is flushed (and, with a synchronous standby, replicated) by
//! then. Opening the store warns if the server says otherwise. [`Tables::durable`] has nothing left
//! to wait for. Concurrent code updates share transactions ([`group_commit`]), so one WAL flush
//! covers many events.
//!
//! ## Blocking
//! The store keeps a small tokio runtime of its own that drives the connections; the blocking
//! methods wait on it. Called from a multi-threaded tokio runtime they wait in
//! `tokio::task::block_in_place`, so the executor's other tasks move on.

mod all_or_nothing;
mod changes;
mod group_commit;
mod held;
mod migrations;

use std::future::Future;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::key_locks::KeyLocks;
use super::tables::{
    Change, ChangeNote, Entry, Expect, Holds, Judge, Merge, Pair, Table, Tables, in_key_order,
};
use super::{Entries, Fault, StoreError, StoreResult};

/// The longest a process serves a code record it read without reading it again: the bound on
/// how stale one replica's answer can be about another replica's write.
pub const STALENESS: Duration = Duration::from_secs(1);
/// How long an operation keeps trying to get a connection (the database restarting, a standby
/// being promoted) before it answers that the store is unavailable.
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);
/// Connections per process.
const POOL_SIZE: usize = 32;
/// Rows per statement when loading a backup.
const CHUNK: usize = 2000;
/// Rows per transaction when registering many codes.
const COPY_CHUNK: usize = 8192;
/// Attempts of an unconditional write the database keeps aborting (see [`again_after_conflict`]).
const WRITE_ATTEMPTS: usize = 8;

pub struct PgTables {
    /// `None` only while dropping (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// Code updates waiting to share a transaction (see [`group_commit`]).
    updates: tokio::sync::mpsc::Sender<group_commit::Update>,
    /// Codes with an update waiting: two updates of one code never share a transaction, where
    /// the database could not tell which of them its row was replaced for.
    updating: KeyLocks,
    /// The database as errors name it: hosts and database, never the password.
    name: String,
    config: tokio_postgres::Config,
    /// This process among those on the database: its own change notices are not news to it.
    origin: u64,
    /// The last fault an operation met, and when: writes are refused for a moment after one, and
    /// [`Tables::writable`] tests the database again.
    fault: Mutex<Option<(Fault, Instant)>>,
}

impl Drop for PgTables {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which a caller inside another runtime may not do.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A database error as a store error: faults that pass (the server restarting or read-only, a
/// full disk, a dropped connection) apart from everything else. A transaction the database
/// aborted for a deadlock or a serialization failure is no fault of the store: it was rolled back
/// whole, and is made again ([`again_after_conflict`]) or judged again by the caller
/// ([`StoreError::Conflict`]); writes stay open.
pub(crate) fn db(e: tokio_postgres::Error) -> StoreError {
    let Some(state) = e.code() else {
        // No SQL state: the connection failed or closed; the cause (refused, timed out) is the
        // error's source.
        let cause = std::error::Error::source(&e).map_or_else(String::new, |s| format!(": {s}"));
        return Fault::Unavailable(format!("the database connection failed ({e}{cause})")).into();
    };
    let text = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned());
    if *state == SqlState::T_R_DEADLOCK_DETECTED || *state == SqlState::T_R_SERIALIZATION_FAILURE {
        tracing::debug!(error = %text, "transaction aborted by the database; made or judged again");
        StoreError::Conflict
    } else if *state == SqlState::DISK_FULL {
        Fault::Full(text).into()
    } else if state.code().starts_with("08")
        || state.code().starts_with("53")
        || state.code().starts_with("57P")
        || *state == SqlState::READ_ONLY_SQL_TRANSACTION
    {
        Fault::Unavailable(text).into()
    } else {
        StoreError::Engine(format!("{text} (SQL state {})", state.code()))
    }
}

pub(crate) fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db(e),
        other => Fault::Unavailable(format!("no database connection: {other}")).into(),
    }
}

/// Makes an unconditional write (one that no caller judges) again while the database aborts
/// its transaction for a deadlock or a serialization failure ([`StoreError::Conflict`] from
/// [`db`]): the transaction was rolled back whole, so making it again writes it once. A few
/// attempts, apart by a moment, a random one so two aborted writers do not meet again.
async fn again_after_conflict<T, F: Future<Output = StoreResult<T>>>(
    mut attempt: impl FnMut() -> F,
) -> StoreResult<T> {
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(StoreError::Conflict) if tries < WRITE_ATTEMPTS => {
                tries += 1;
                let pause = rand::random::<u64>() % (2 * tries as u64);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            result => return result,
        }
    }
}

/// A connection from the pool, waiting (with backoff) while the database cannot be reached.
pub(crate) async fn connection(pool: &Pool) -> StoreResult<deadpool_postgres::Object> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match pool.get().await {
            Ok(client) => return Ok(client),
            Err(e) if started.elapsed() < CONNECT_PATIENCE => {
                tracing::debug!(error = %e, "waiting for the database");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Err(e) => return Err(pool_error(e)),
        }
    }
}

/// The first key after every key that starts with `prefix`, if there is one.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A connection string as tokio-postgres reads it.
fn parse(url: &str) -> StoreResult<tokio_postgres::Config> {
    tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError::Engine(format!("not a PostgreSQL URL: {e}")))
}

/// The database at `url` as messages name it: hosts and database, never user or password.
pub(super) fn describe_url(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(config) => describe(&config),
        Err(_) => "a PostgreSQL database (its URL does not parse)".to_owned(),
    }
}

/// A failure to reach the database while opening: not a write that failed, but no store at all.
fn cannot_reach(name: &str, e: StoreError) -> StoreError {
    match e.fault() {
        Some(fault) => StoreError::Engine(format!(
            "cannot reach the database {name}: {}",
            fault.cause()
        )),
        None => e,
    }
}

/// Whether the database at `url` holds a store (its schema), read without changing anything.
pub(super) fn holds_store(url: &str) -> StoreResult<bool> {
    let config = parse(url)?;
    let name = describe(&config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let check = async {
        let (client, connection) = config.connect(NoTls).await.map_err(db)?;
        let connection = tokio::spawn(connection);
        let present = migrations::present(&client).await;
        drop(client);
        let _ = connection.await;
        present
    };
    wait_on(&runtime, check).map_err(|e| cannot_reach(&name, e))
}

/// Waits for `f` on `runtime`, from any thread: outside a runtime, on a worker of a
/// multi-threaded one (whose other tasks are handed on first), or on a single-threaded one
/// (tests), which cannot hand its tasks on, so `f` runs on a scoped thread outside it.
fn wait_on<F: Future + Send>(runtime: &tokio::runtime::Runtime, f: F) -> F::Output
where
    F::Output: Send,
{
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => runtime.block_on(f),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| runtime.block_on(f))
        }
        Ok(_) => std::thread::scope(|s| {
            s.spawn(|| runtime.block_on(f))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
    }
}

impl PgTables {
    /// Connects to the database at `url` (a `postgres://` URL; several hosts with
    /// `target_session_attrs=read-write` pick the primary) and applies pending migrations.
    pub(super) fn connect(url: &str) -> StoreResult<Self> {
        let config = parse(url)?;
        let name = describe(&config);
        let origin = rand::random::<u64>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("partseal-postgres")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Engine(e.to_string()))?;
        let updates = {
            let _on = runtime.enter();
            group_commit::start(pool.clone(), origin)
        };
        let tables = PgTables {
            runtime: Some(runtime),
            updates,
            updating: KeyLocks::default(),
            pool,
            name,
            config,
            origin,
            fault: Mutex::new(None),
        };
        tables.run(async {
            let client = tables.client().await?;
            migrations::apply(&client).await?;
            let sync: String = client
                .query_one("SHOW synchronous_commit", &[])
                .await
                .map_err(db)?
                .get(0);
            if sync == "off" || sync == "local" {
                tracing::warn!(synchronous_commit = %sync, "the database may lose acknowledged writes in a crash: set synchronous_commit = on");
            }
            Ok::<_, StoreError>(())
        })
        .map_err(|e| cannot_reach(&tables.name, e))?;
        tracing::info!(database = %tables.name, "store: PostgreSQL");
        Ok(tables)
    }

    /// Waits for `f` on the store's runtime.
    fn run<F: Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        wait_on(runtime, f)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        connection(&self.pool).await
    }

    /// Runs an operation, noting the fault if it meets one.
    fn op<T: Send>(&self, f: impl Future<Output = StoreResult<T>> + Send) -> StoreResult<T> {
        let result = self.run(f);
        if let Err(e) = &result {
            if let Some(fault) = e.fault() {
                let mut noted = self.fault.lock().unwrap_or_else(PoisonError::into_inner);
                if noted.is_none() {
                    tracing::error!(error = %fault, "the database cannot write; reads go on where they can");
                }
                *noted = Some((fault, Instant::now()));
            }
        }
        result
    }

    async fn get_async(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let client = self.client().await?;
        let sql = format!("SELECT v FROM {} WHERE k = $1", table.name());
        let statement = client.prepare_cached(&sql).await.map_err(db)?;
        let row = client.query_opt(&statement, &[&key]).await.map_err(db)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn scan_async(&self, table: Table, prefix: &[u8]) -> StoreResult<Vec<Pair>> {
        let client = self.client().await?;
        let (sql, end) = scan_sql(table, prefix);
        let statement = client.prepare_cached(&sql).await.map_err(db)?;
        let rows = match &end {
            Some(end) => client.query(&statement, &[&prefix, end]).await,
            None if prefix.is_empty() => client.query(&statement, &[]).await,
            None => client.query(&statement, &[&prefix]).await,
        }
        .map_err(db)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Inserts absent keys; returns the value of each key that was present. Many entries go in
    /// through a binary COPY into a temporary table and one `INSERT … SELECT … ON CONFLICT DO
    /// NOTHING` from it, a transaction per chunk: COPY is the cheapest way into PostgreSQL, and a
    /// plain COPY into the table could not skip the keys already there.
    async fn insert_new_async(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(COPY_CHUNK) {
            out.extend(again_after_conflict(|| self.insert_chunk(table, chunk)).await?);
        }
        Ok(out)
    }

    /// [`Self::insert_new_async`] of one chunk, in one transaction. The rows go in in key order:
    /// an insert waits for another transaction's insert of the same key, so two uploads of the
    /// same codes must take them in one order.
    async fn insert_chunk(
        &self,
        table: Table,
        chunk: &[(Vec<u8>, Vec<u8>)],
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.batch_execute(
            "CREATE TEMP TABLE IF NOT EXISTS partseal_incoming (k bytea, v bytea) \
             ON COMMIT DELETE ROWS",
        )
        .await
        .map_err(db)?;
        let sink = tx
            .copy_in("COPY partseal_incoming (k, v) FROM STDIN (FORMAT binary)")
            .await
            .map_err(db)?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::BYTEA, Type::BYTEA]);
        let mut writer = std::pin::pin!(writer);
        for (k, v) in chunk {
            writer.as_mut().write(&[k, v]).await.map_err(db)?;
        }
        writer.finish().await.map_err(db)?;
        let insert = tx
            .prepare_cached(&format!(
                "INSERT INTO {} (k, v) SELECT k, v FROM partseal_incoming ORDER BY k \
                 ON CONFLICT (k) DO NOTHING RETURNING k",
                table.name()
            ))
            .await
            .map_err(db)?;
        let inserted: HashSet<Vec<u8>> = tx
            .query(&insert, &[])
            .await
            .map_err(db)?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        let taken: Vec<&[u8]> = chunk
            .iter()
            .map(|(k, _)| k.as_slice())
            .filter(|k| !inserted.contains(*k))
            .collect();
        let mut present = HashMap::new();
        if !taken.is_empty() {
            let select = tx
                .prepare_cached(&format!(
                    "SELECT k, v FROM {} WHERE k = ANY($1::bytea[])",
                    table.name()
                ))
                .await
                .map_err(db)?;
            for row in tx.query(&select, &[&taken]).await.map_err(db)? {
                present.insert(row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1));
            }
        }
        tx.commit().await.map_err(db)?;
        chunk
            .iter()
            .map(|(k, _)| match inserted.contains(k) {
                true => Ok(None),
                false => present.get(k).cloned().map(Some).ok_or_else(|| {
                    StoreError::corrupt(String::from_utf8_lossy(k), "vanished during insert")
                }),
            })
            .collect()
    }

    /// [`Tables::merge`] in one transaction: the rows there are locked, the absent ones inserted,
    /// and those another process inserted meanwhile locked and merged in turn; the rows, all of
    /// them this transaction's by then, are then written. Both the locks and the inserts (an
    /// insert waits for another transaction's insert of the same key) go in key order, so two
    /// processes merging into the same keys wait rather than deadlock.
    async fn merge_async(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
        merge: &Merge<'_>,
    ) -> StoreResult<Vec<Vec<u8>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let lock = tx
            .prepare_cached(&format!(
                "SELECT k, v FROM {} WHERE k = ANY($1::bytea[]) ORDER BY k FOR UPDATE",
                table.name()
            ))
            .await
            .map_err(db)?;
        let keys: Vec<&[u8]> = entries.iter().map(|(k, _)| k.as_slice()).collect();
        let mut stored: HashMap<Vec<u8>, Vec<u8>> = tx
            .query(&lock, &[&keys])
            .await
            .map_err(db)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut absent: Vec<&(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .filter(|(k, _)| !stored.contains_key(k))
            .collect();
        absent.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut inserted: HashMap<&[u8], Vec<u8>> = HashMap::new();
        if !absent.is_empty() {
            let fresh: Vec<Vec<u8>> = absent
                .iter()
                .map(|(_, given)| merge(None, given))
                .collect::<StoreResult<_>>()?;
            let ks: Vec<&[u8]> = absent.iter().map(|(k, _)| k.as_slice()).collect();
            let vs: Vec<&[u8]> = fresh.iter().map(Vec::as_slice).collect();
            let insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO {} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                     ON CONFLICT (k) DO NOTHING RETURNING k",
                    table.name()
                ))
                .await
                .map_err(db)?;
            let landed: HashSet<Vec<u8>> = tx
                .query(&insert, &[&ks, &vs])
                .await
                .map_err(db)?
                .into_iter()
                .map(|r| r.get(0))
                .collect();
            for (k, value) in ks.iter().zip(fresh) {
                if landed.contains(*k) {
                    inserted.insert(k, value);
                }
            }
            // Inserted by another process since the lock: lock and merge those too.
            let raced: Vec<&[u8]> = ks.into_iter().filter(|k| !landed.contains(*k)).collect();
            if !raced.is_empty() {
                for row in tx.query(&lock, &[&raced]).await.map_err(db)? {
                    stored.insert(row.get(0), row.get(1));
                }
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        let (mut ks, mut vs) = (Vec::new(), Vec::new());
        for (k, given) in entries {
            if let Some(value) = inserted.get(k.as_slice()) {
                out.push(value.clone());
                continue;
            }
            let merged = merge(stored.get(k).map(Vec::as_slice), given)?;
            ks.push(k.as_slice());
            vs.push(merged.clone());
            out.push(merged);
        }
        if !ks.is_empty() {
            let vs: Vec<&[u8]> = vs.iter().map(Vec::as_slice).collect();
            let update = tx
                .prepare_cached(&upsert_many_sql(table))
                .await
                .map_err(db)?;
            tx.execute(&update, &[&ks, &vs]).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn apply_async(&self, expect: Option<Expect<'_>>, changes: &[Change]) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        if let Some(expect) = expect {
            let guarded = changes.iter().find_map(|c| match c {
                Change::Put(t, k, v) if *t == expect.table && k.as_slice() == expect.key => Some(v),
                _ => None,
            });
            // The guarded row first: its lock serialises writers of the code, and a loser writes
            // nothing.
            let held = match guarded {
                Some(value) => {
                    let sql = format!(
                        "UPDATE {} SET v = $1 WHERE k = $2 AND v = $3",
                        expect.table.name()
                    );
                    let statement = tx.prepare_cached(&sql).await.map_err(db)?;
                    tx.execute(&statement, &[value, &expect.key, &expect.expected])
                        .await
                        .map_err(db)?
                        == 1
                }
                None => {
                    let sql = format!(
                        "SELECT v FROM {} WHERE k = $1 FOR UPDATE",
                        expect.table.name()
                    );
                    let statement = tx.prepare_cached(&sql).await.map_err(db)?;
                    let row = tx.query_opt(&statement, &[&expect.key]).await.map_err(db)?;
                    row.is_some_and(|r| r.get::<_, &[u8]>(0) == expect.expected)
                }
            };
            if !held {
                return Err(StoreError::Conflict);
            }
        }
        for change in changes {
            let (sql, params): (String, Vec<&(dyn ToSql + Sync)>) = match change {
                Change::Put(t, k, _)
                    if expect.is_some_and(|e| e.table == *t && e.key == k.as_slice()) =>
                {
                    continue;
                }
                Change::Put(t, k, v) => (upsert_sql(*t), vec![k, v]),
                Change::Remove(t, k) => (format!("DELETE FROM {} WHERE k = $1", t.name()), vec![k]),
            };
            let statement = tx.prepare_cached(&sql).await.map_err(db)?;
            tx.execute(&statement, &params).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn load_async(
        &self,
        entries: &mut (dyn Iterator<Item = StoreResult<Entry>> + Send),
    ) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let mut n = 0u64;
        let mut pending: Vec<Entry> = Vec::new();
        let flush = |pending: Vec<Entry>| {
            let tx = &tx;
            async move {
                let Some(table) = pending.first().map(|e| e.0) else {
                    return Ok::<_, StoreError>(());
                };
                let sql = upsert_many_sql(table);
                let keys: Vec<&[u8]> = pending.iter().map(|e| e.1.as_slice()).collect();
                let values: Vec<&[u8]> = pending.iter().map(|e| e.2.as_slice()).collect();
                tx.execute(&sql, &[&keys, &values]).await.map_err(db)?;
                Ok(())
            }
        };
        for entry in entries {
            // An error anywhere in the file drops the transaction: nothing is loaded.
            let entry = entry?;
            if pending.len() >= CHUNK || pending.first().is_some_and(|e| e.0 != entry.0) {
                flush(std::mem::take(&mut pending)).await?;
            }
            pending.push(entry);
            n += 1;
        }
        flush(pending).await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }
}

/// Upserts the rows of two arrays, keys and values.
pub(crate) fn upsert_many_sql(table: Table) -> String {
    format!(
        "INSERT INTO {} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
         ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
        table.name()
    )
}

fn upsert_sql(table: Table) -> String {
    format!(
        "INSERT INTO {} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
        table.name()
    )
}

/// The query listing a prefix of `table`, and the end of its key range if it has one.
fn scan_sql(table: Table, prefix: &[u8]) -> (String, Option<Vec<u8>>) {
    let t = table.name();
    if prefix.is_empty() {
        return (format!("SELECT k, v FROM {t} ORDER BY k"), None);
    }
    match successor(prefix) {
        Some(end) => (
            format!("SELECT k, v FROM {t} WHERE k >= $1 AND k < $2 ORDER BY k"),
            Some(end),
        ),
        None => (
            format!("SELECT k, v FROM {t} WHERE k >= $1 ORDER BY k"),
            None,
        ),
    }
}

/// Hosts, ports and database of a connection, without user or password.
fn describe(config: &tokio_postgres::Config) -> String {
    // One port stands for every host; none means the default.
    let ports = config.get_ports();
    let port_of = |i: usize| match ports {
        [] => 5432,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(5432),
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| (host, port_of(i)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(h) => format!("{h}:{port}"),
            tokio_postgres::config::Host::Unix(p) => format!("{}:{port}", p.display()),
        })
        .collect();
    format!(
        "postgres://{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl Tables for PgTables {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.op(self.get_async(table, key))
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Entries<'_, Pair> {
        if !prefix.is_empty() {
            // A prefix is one code's events or one party's entries: few rows.
            return match self.op(self.scan_async(table, prefix)) {
                Ok(rows) => Box::new(rows.into_iter().map(Ok)),
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
        }
        // A whole table (audit, backup, stats) streams in key order, a bounded channel ahead.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<StoreResult<Pair>>(4096);
        let pool = self.pool.clone();
        let sql = scan_sql(table, prefix).0;
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        runtime.spawn(async move {
            let stream = async {
                let client = pool.get().await.map_err(pool_error)?;
                let rows = client
                    .query_raw(&sql, std::iter::empty::<&(dyn ToSql + Sync)>())
                    .await
                    .map_err(db)?;
                Ok::<_, StoreError>((client, rows))
            };
            match stream.await {
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                }
                Ok((_client, rows)) => {
                    let mut rows = std::pin::pin!(rows);
                    while let Some(row) = rows.next().await {
                        let item = row.map(|r| (r.get(0), r.get(1))).map_err(db);
                        let failed = item.is_err();
                        if sender.send(item).await.is_err() || failed {
                            break;
                        }
                    }
                }
            }
        });
        Box::new(std::iter::from_fn(move || self.run(receiver.recv())))
    }

    fn snapshot(&self) -> Entries<'_, Entry> {
        // Read in one transaction, whose every statement sees the snapshot its first one took, so
        // the tables agree with each other while other replicas write: no event past its record,
        // no index entry missing for it. REPEATABLE READ gives exactly that, and READ ONLY makes
        // sure the copy writes nothing. (SERIALIZABLE READ ONLY DEFERRABLE would first wait for a
        // snapshot no serializable transaction could contradict; the writers run at READ
        // COMMITTED, so the wait would buy nothing.) Rows stream in key order, a bounded channel
        // ahead of the reader.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<StoreResult<Entry>>(4096);
        let pool = self.pool.clone();
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        runtime.spawn(async move {
            let read = async {
                let mut client = connection(&pool).await?;
                let tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await
                    .map_err(db)?;
                for table in Table::ALL {
                    let sql = scan_sql(table, &[]).0;
                    let rows = tx
                        .query_raw(&sql, std::iter::empty::<&(dyn ToSql + Sync)>())
                        .await
                        .map_err(db)?;
                    let mut rows = std::pin::pin!(rows);
                    while let Some(row) = rows.next().await {
                        let row = row.map_err(db)?;
                        if sender
                            .send(Ok((table, row.get(0), row.get(1))))
                            .await
                            .is_err()
                        {
                            // The reader stopped: nothing more to read.
                            return Ok(());
                        }
                    }
                }
                tx.commit().await.map_err(db)
            };
            if let Err(e) = read.await {
                let _ = sender.send(Err(e)).await;
            }
        });
        Box::new(std::iter::from_fn(move || self.run(receiver.recv())))
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> StoreResult<()> {
        self.op(again_after_conflict(|| async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&upsert_sql(table))
                .await
                .map_err(db)?;
            client
                .execute(&statement, &[&key, &value])
                .await
                .map_err(db)?;
            Ok(())
        }))
    }

    fn insert_new(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        self.op(self.insert_new_async(table, entries))
    }

    fn apply(&self, expect: Option<Expect<'_>>, changes: &[Change]) -> StoreResult<()> {
        // A code's update (with its new row among the changes) shares a transaction with the
        // updates of other codes waiting at the same time.
        let guarded = expect.filter(|e| e.table == Table::Codes).and_then(|e| {
            changes.iter().find_map(|c| match c {
                Change::Put(Table::Codes, k, v) if k.as_slice() == e.key => Some((e, v)),
                _ => None,
            })
        });
        let Some((expect, value)) = guarded else {
            return match expect {
                // The caller judges a conflict.
                Some(_) => self.op(self.apply_async(expect, changes)),
                None => self.op(again_after_conflict(|| self.apply_async(None, changes))),
            };
        };
        let _held = self.updating.lock(Table::Codes, expect.key);
        let (done, answer) = tokio::sync::oneshot::channel();
        let update = group_commit::Update {
            key: expect.key.to_vec(),
            expected: expect.expected.to_vec(),
            value: value.clone(),
            changes: changes
                .iter()
                .filter(
                    |c| !matches!(c, Change::Put(Table::Codes, k, _) if k.as_slice() == expect.key),
                )
                .cloned()
                .collect(),
            done,
        };
        self.op(async {
            self.updates
                .send(update)
                .await
                .map_err(|_| StoreError::Engine("the store is closing".into()))?;
            answer
                .await
                .map_err(|_| StoreError::Engine("the store is closing".into()))?
        })
    }

    fn apply_all(&self, holds: &[Holds<'_>], changes: &[Change]) -> StoreResult<()> {
        let (holds, changes) = in_key_order(holds, changes)?;
        // As a single code's update does, wait for this process's update of each code before, so
        // two never share a transaction; in key order, as every writer of several keys takes them.
        let _held: Vec<_> = holds
            .iter()
            .filter(|h| h.table == Table::Codes)
            .map(|h| self.updating.lock(Table::Codes, h.key))
            .collect();
        self.op(async {
            let mut client = self.client().await?;
            all_or_nothing::transaction(&mut client, self.origin, &holds, &changes).await
        })
    }

    fn apply_held(&self, table: Table, key: &[u8], judge: &mut Judge<'_>) -> StoreResult<()> {
        // In this process, after an update of the key already waiting for a shared transaction.
        let _held = self.updating.lock(table, key);
        let (held, stored) = self.op(held::Held::read(&self.pool, table, key))?;
        match judge(stored.as_deref()) {
            Some(changes) => self.op(held.write(self.origin, &changes)),
            None => self.op(held.rollback()),
        }
    }

    fn merge(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
        merge: &Merge<'_>,
    ) -> StoreResult<Vec<Vec<u8>>> {
        self.op(again_after_conflict(|| {
            self.merge_async(table, entries, merge)
        }))
    }

    fn unique_id(&self) -> StoreResult<u64> {
        self.op(async {
            let client = self.client().await?;
            let row = client
                .query_one("SELECT nextval('partseal_ids')", &[])
                .await
                .map_err(db)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn durable(&self) -> StoreResult<()> {
        // Every write returned only once committed (see the module docs).
        Ok(())
    }

    fn writable(&self, _reset: &dyn Fn() -> StoreResult<()>) -> Result<(), Fault> {
        let noted = self
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some((fault, at)) = noted else {
            return Ok(());
        };
        if at.elapsed() < Duration::from_secs(1) {
            return Err(fault);
        }
        // Test the database: it must take writes (a standby promoted, space freed).
        let test = self.run(async {
            let client = self.client().await?;
            let row = client
                .query_one("SHOW transaction_read_only", &[])
                .await
                .map_err(db)?;
            match row.get::<_, String>(0).as_str() {
                "off" => Ok(()),
                _ => Err(StoreError::Fault(Fault::Unavailable(
                    "the database is read-only (a standby)".into(),
                ))),
            }
        });
        let mut noted = self.fault.lock().unwrap_or_else(PoisonError::into_inner);
        match test {
            Ok(()) => {
                *noted = None;
                tracing::info!("the database takes writes again");
                Ok(())
            }
            Err(e) => {
                let fault = e
                    .fault()
                    .unwrap_or_else(|| Fault::Unavailable(e.to_string()));
                *noted = Some((fault.clone(), Instant::now()));
                Err(fault)
            }
        }
    }

    fn shared(&self) -> Option<Duration> {
        Some(STALENESS)
    }

    fn watch(&self, note: ChangeNote) {
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        runtime.spawn(changes::listen(self.config.clone(), self.origin, note));
    }

    fn len(&self, table: Table) -> StoreResult<u64> {
        self.op(async {
            let client = self.client().await?;
            let row = client
                .query_one(&format!("SELECT count(*) FROM {}", table.name()), &[])
                .await
                .map_err(db)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn bytes_on_disk(&self) -> StoreResult<u64> {
        self.op(async {
            let client = self.client().await?;
            let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
            let row = client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname = ANY($1)",
                    &[&names],
                )
                .await
                .map_err(db)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn load(&self, entries: &mut dyn Iterator<Item = StoreResult<Entry>>) -> StoreResult<u64> {
        // The backup is read on this thread; its entries go to the database in one transaction.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<StoreResult<Entry>>(CHUNK);
        std::thread::scope(|s| {
            let loader = s.spawn(|| {
                let mut received = receiver.into_iter();
                self.op(self.load_async(&mut received))
            });
            for entry in entries {
                let failed = entry.is_err();
                if sender.send(entry).is_err() || failed {
                    break;
                }
            }
            drop(sender);
            loader
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_before_the_first_key_past_it() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF, 0xFF]), None);
        assert_eq!(successor(&[]), None);
    }

    #[test]
    fn a_database_is_named_without_its_credentials() {
        let config =
            tokio_postgres::Config::from_str("postgres://u:secret@h1:5433,h2:5434/reg").unwrap();
        let name = describe(&config);
        assert_eq!(name, "postgres://h1:5433,h2:5434/reg");
        assert!(!name.contains("secret"));
        let one_port = "host=h1,h2 port=6000 dbname=reg password=secret";
        let name = describe(&tokio_postgres::Config::from_str(one_port).unwrap());
        assert_eq!(name, "postgres://h1:6000,h2:6000/reg");
    }
}
