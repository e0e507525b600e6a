//! Group commit for code updates: concurrent updates (custody events) share transactions.
//!
//! One commit per event cannot go past what the server's WAL flushes allow (`pgbench -N`'s rate).
//! So updates wait in a queue; each of a few workers takes every update waiting, and makes them all
//! in one transaction of a fixed number of statements, whatever their count:
//!
//! 1. one `SELECT … ORDER BY k FOR UPDATE` locks the codes' rows in key order and reads them;
//! 2. one `UPDATE codes … FROM unnest(…)` replaces the rows that still hold the bytes their
//!    update was judged on;
//! 3. the other changes of those updates only (events, notices, index entries), one upsert and
//!    one delete per table, each in key order;
//! 4. one notice to the other replicas of the codes it replaced (`changes`), and one commit.
//!
//! An update whose code changed meanwhile is left out of step 3 and answered
//! [`StoreError::Conflict`]: one event's refusal never undoes another's. A failure of the
//! transaction itself fails every update in it; none of them was acknowledged.
//!
//! ## No deadlocks
//! Transactions of this process and of other replicas hold several codes at once, so they must
//! take the codes' row locks in one global order, or two of them can each hold a code the other
//! waits for. Locking in the update itself would follow the plan's join order (the order of the
//! batch, for a nested loop over `unnest`): two replicas' batches of the same codes in different
//! orders deadlocked under load. A locking `SELECT` sorts before it locks (PostgreSQL applies
//! `ORDER BY` below `FOR UPDATE`), so step 1 takes them in key order. The rows of the other
//! tables an update writes are its own code's (events and index entries under the code's key,
//! notices under a unique id), guarded by that lock; they are written in key order too, so no
//! order between transactions rests on that alone. Should the database still abort a
//! transaction (a deadlock, or a serialization failure under a stricter isolation level than
//! the default), its updates are answered [`StoreError::Conflict`] and judged again.
//!
//! Two updates of one code never share a transaction: a process holds a code's lock while its
//! update waits, and another process's update is in another transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{StoreError, StoreResult, connection, db, upsert_many_sql};
use crate::store::tables::{Change, Table};

/// Updates in one transaction at most.
const MAX_BATCH: usize = 512;
/// Transactions in flight at once: while one commits (waits on the WAL flush), others gather.
const WORKERS: usize = 4;

/// A code update waiting for its transaction.
pub struct Update {
    pub key: Vec<u8>,
    pub expected: Vec<u8>,
    pub value: Vec<u8>,
    /// The update's other changes.
    pub changes: Vec<Change>,
    pub done: oneshot::Sender<StoreResult<()>>,
}

/// Starts the workers on the current runtime; updates sent to the queue they return are made in
/// shared transactions.
pub fn start(pool: Pool, origin: u64) -> mpsc::Sender<Update> {
    let (queue, waiting) = mpsc::channel::<Update>(MAX_BATCH * WORKERS);
    let waiting = Arc::new(Mutex::new(waiting));
    for _ in 0..WORKERS {
        let (pool, waiting) = (pool.clone(), waiting.clone());
        tokio::spawn(async move {
            loop {
                let mut batch = Vec::new();
                {
                    let mut waiting = waiting.lock().await;
                    match waiting.recv().await {
                        Some(update) => batch.push(update),
                        // The store is gone.
                        None => return,
                    }
                    while batch.len() < MAX_BATCH {
                        match waiting.try_recv() {
                            Ok(update) => batch.push(update),
                            Err(_) => break,
                        }
                    }
                }
                commit(&pool, origin, batch).await;
            }
        });
    }
    queue
}

async fn commit(pool: &Pool, origin: u64, batch: Vec<Update>) {
    match transaction(pool, origin, &batch).await {
        Ok(replaced) => {
            for update in batch {
                let result = if replaced.contains(&update.key) {
                    Ok(())
                } else {
                    Err(StoreError::Conflict)
                };
                let _ = update.done.send(result);
            }
        }
        Err(e) => {
            for update in batch {
                let _ = update.done.send(Err(copy(&e)));
            }
        }
    }
}

/// The same error for every update the failed transaction held.
fn copy(e: &StoreError) -> StoreError {
    match (e.fault(), e) {
        (Some(fault), _) => fault.into(),
        (None, StoreError::Conflict) => StoreError::Conflict,
        (None, other) => StoreError::Engine(other.to_string()),
    }
}

/// Keys and values to upsert into one table.
type Rows<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Makes the batch's updates in one transaction; returns the codes whose rows it replaced.
async fn transaction(pool: &Pool, origin: u64, batch: &[Update]) -> StoreResult<HashSet<Vec<u8>>> {
    let mut client = connection(pool).await?;
    let tx = client.transaction().await.map_err(db)?;
    let mut keys: Vec<&[u8]> = batch.iter().map(|u| u.key.as_slice()).collect();
    keys.sort_unstable();
    let lock = tx
        .prepare_cached("SELECT k, v FROM codes WHERE k = ANY($1::bytea[]) ORDER BY k FOR UPDATE")
        .await
        .map_err(db)?;
    let stored: HashMap<Vec<u8>, Vec<u8>> = tx
        .query(&lock, &[&keys])
        .await
        .map_err(db)?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    // Locked: the codes that still hold what their updates were judged on keep holding it.
    let held: Vec<&Update> = batch
        .iter()
        .filter(|u| stored.get(&u.key) == Some(&u.expected))
        .collect();
    if held.is_empty() {
        return Ok(HashSet::new());
    }
    let keys: Vec<&[u8]> = held.iter().map(|u| u.key.as_slice()).collect();
    let values: Vec<&[u8]> = held.iter().map(|u| u.value.as_slice()).collect();
    let replace = tx
        .prepare_cached(
            "UPDATE codes SET v = u.n FROM unnest($1::bytea[], $2::bytea[]) AS u(k, n) \
             WHERE codes.k = u.k",
        )
        .await
        .map_err(db)?;
    tx.execute(&replace, &[&keys, &values]).await.map_err(db)?;
    let mut puts: HashMap<Table, Rows<'_>> = HashMap::new();
    let mut removes: HashMap<Table, Vec<&[u8]>> = HashMap::new();
    for update in &held {
        for change in &update.changes {
            match change {
                Change::Put(table, k, v) => puts.entry(*table).or_default().push((k, v)),
                Change::Remove(table, k) => removes.entry(*table).or_default().push(k),
            }
        }
    }
    // Tables in one order, each table's keys in key order.
    for table in Table::ALL {
        if let Some(mut rows) = puts.remove(&table) {
            rows.sort_unstable();
            let (ks, vs): (Vec<&[u8]>, Vec<&[u8]>) = rows.into_iter().unzip();
            let statement = tx
                .prepare_cached(&upsert_many_sql(table))
                .await
                .map_err(db)?;
            tx.execute(&statement, &[&ks, &vs]).await.map_err(db)?;
        }
        if let Some(mut ks) = removes.remove(&table) {
            ks.sort_unstable();
            let sql = format!("DELETE FROM {} WHERE k = ANY($1::bytea[])", table.name());
            let statement = tx.prepare_cached(&sql).await.map_err(db)?;
            tx.execute(&statement, &[&ks]).await.map_err(db)?;
        }
    }
    // Every other replica forgets these records once this commits (see `changes`).
    let notices = super::changes::payloads(origin, keys.iter().copied());
    let notify = tx
        .prepare_cached("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
        .await
        .map_err(db)?;
    tx.query(&notify, &[&super::changes::CHANNEL, &notices])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(keys.into_iter().map(<[u8]>::to_vec).collect())
}
