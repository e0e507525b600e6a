//! Group commit for code updates: concurrent updates (custody events) share transactions.
//!
//! One commit per event cannot go past what the server's WAL flushes allow (`pgbench -N`'s rate).
//! So updates wait in a queue; each of a few workers takes every update waiting, and makes them all
//! in one transaction of a fixed number of statements, whatever their count:
//!
//! 1. one `UPDATE codes … FROM unnest(…)` replaces each code's row only if it still holds the bytes
//!    its update was judged on, and returns the codes it replaced;
//! 2. the other changes of those updates only (events, notices, index entries), one upsert and
//!    one delete per table;
//! 3. one notice to the other replicas of the codes it replaced (`changes`), and one commit.
//!
//! An update whose code changed meanwhile is left out of step 2 and answered
//! [`StoreError::Conflict`]: one event's refusal never undoes another's. A failure of the
//! transaction itself fails every update in it; none of them was acknowledged.
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
type Columns<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Makes the batch's updates in one transaction; returns the codes whose rows it replaced.
async fn transaction(pool: &Pool, origin: u64, batch: &[Update]) -> StoreResult<HashSet<Vec<u8>>> {
    let mut client = connection(pool).await?;
    let tx = client.transaction().await.map_err(db)?;
    let keys: Vec<&[u8]> = batch.iter().map(|u| u.key.as_slice()).collect();
    let expected: Vec<&[u8]> = batch.iter().map(|u| u.expected.as_slice()).collect();
    let values: Vec<&[u8]> = batch.iter().map(|u| u.value.as_slice()).collect();
    let replace = tx
        .prepare_cached(
            "UPDATE codes SET v = u.n FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) \
             AS u(k, e, n) WHERE codes.k = u.k AND codes.v = u.e RETURNING codes.k",
        )
        .await
        .map_err(db)?;
    let replaced: HashSet<Vec<u8>> = tx
        .query(&replace, &[&keys, &expected, &values])
        .await
        .map_err(db)?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    let mut puts: HashMap<Table, Columns<'_>> = HashMap::new();
    let mut removes: HashMap<Table, Vec<&[u8]>> = HashMap::new();
    for update in batch.iter().filter(|u| replaced.contains(&u.key)) {
        for change in &update.changes {
            match change {
                Change::Put(table, k, v) => {
                    let (ks, vs) = puts.entry(*table).or_default();
                    ks.push(k);
                    vs.push(v);
                }
                Change::Remove(table, k) => removes.entry(*table).or_default().push(k),
            }
        }
    }
    for (table, (ks, vs)) in &puts {
        let statement = tx
            .prepare_cached(&upsert_many_sql(*table))
            .await
            .map_err(db)?;
        tx.execute(&statement, &[ks, vs]).await.map_err(db)?;
    }
    for (table, ks) in &removes {
        let sql = format!("DELETE FROM {} WHERE k = ANY($1::bytea[])", table.name());
        let statement = tx.prepare_cached(&sql).await.map_err(db)?;
        tx.execute(&statement, &[ks]).await.map_err(db)?;
    }
    // Every other replica forgets these records once this commits (see `changes`).
    let notices = super::changes::payloads(origin, replaced.iter().map(Vec::as_slice));
    if !notices.is_empty() {
        let notify = tx
            .prepare_cached("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .await
            .map_err(db)?;
        tx.query(&notify, &[&super::changes::CHANNEL, &notices])
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(replaced)
}
