//! A change over several keys in one transaction ([`Tables::apply_all`]: a carton's move, every
//! code in it or none), beside the shared code updates of [`group_commit`](super::group_commit).
//!
//! 1. The conditions' rows, table by table in [`Table::ALL`] order, each table's keys in key order:
//!    present ones locked with one `SELECT … ORDER BY k FOR UPDATE` (PostgreSQL sorts before it
//!    locks), absent ones claimed by inserting their new value (`ON CONFLICT DO NOTHING`: an insert
//!    of a key another transaction is inserting waits for it, then finds it taken). One that no
//!    longer holds: the transaction is dropped, nothing written, [`StoreError::Conflict`].
//! 2. The changes, one upsert and one delete per table, each in key order.
//! 3. One notice to the other replicas of the codes it changed, and one commit.
//!
//! Every transaction that holds several code rows takes them in key order, so this one and the
//! shared updates wait for each other rather than deadlock; one the database aborts all the same
//! is a conflict, judged again by the caller.
//!
//! [`Tables::apply_all`]: crate::store::tables::Tables::apply_all

use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::Object;

use super::{StoreError, StoreResult, changes, db, upsert_many_sql};
use crate::store::tables::{Change, Holds, Table};

/// One table's upserts: the table, its keys and their values, in key order.
type Upserts<'a> = (Table, Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Makes `changes` if every one of `holds` is true, as one transaction on `client`. Both come in
/// the order of [`in_key_order`](crate::store::tables::in_key_order), changes one per key.
pub async fn transaction(
    client: &mut Object,
    origin: u64,
    holds: &[&Holds<'_>],
    changes: &[&Change],
) -> StoreResult<()> {
    let tx = client.transaction().await.map_err(db)?;
    let put: HashMap<(Table, &[u8]), &[u8]> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Put(t, k, v) => Some(((*t, k.as_slice()), v.as_slice())),
            Change::Remove(..) => None,
        })
        .collect();
    let mut by_table: BTreeMap<u8, Vec<&Holds<'_>>> = BTreeMap::new();
    for h in holds {
        by_table.entry(h.table.tag()).or_default().push(h);
    }
    for holds in by_table.values() {
        let table = holds[0].table;
        let present: Vec<&[u8]> = holds
            .iter()
            .filter(|h| h.expected.is_some())
            .map(|h| h.key)
            .collect();
        if !present.is_empty() {
            let lock = tx
                .prepare_cached(&format!(
                    "SELECT k, v FROM {} WHERE k = ANY($1::bytea[]) ORDER BY k FOR UPDATE",
                    table.name()
                ))
                .await
                .map_err(db)?;
            let stored: HashMap<Vec<u8>, Vec<u8>> = tx
                .query(&lock, &[&present])
                .await
                .map_err(db)?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let all_hold = holds
                .iter()
                .filter_map(|h| Some((h.key, h.expected?)))
                .all(|(key, expected)| stored.get(key).is_some_and(|v| v.as_slice() == expected));
            if !all_hold {
                return Err(StoreError::Conflict);
            }
        }
        let absent: Vec<&[u8]> = holds
            .iter()
            .filter(|h| h.expected.is_none())
            .map(|h| h.key)
            .collect();
        if !absent.is_empty() {
            // `in_key_order` made sure each absent key is put.
            let values: Vec<&[u8]> = absent
                .iter()
                .map(|k| put.get(&(table, *k)).copied().unwrap_or_default())
                .collect();
            let claim = tx
                .prepare_cached(&format!(
                    "INSERT INTO {} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                     ON CONFLICT (k) DO NOTHING",
                    table.name()
                ))
                .await
                .map_err(db)?;
            let claimed = tx.execute(&claim, &[&absent, &values]).await.map_err(db)?;
            if claimed != absent.len() as u64 {
                return Err(StoreError::Conflict);
            }
        }
    }
    // Changes come in (table, key) order already: one statement per table and kind.
    let mut puts: BTreeMap<u8, Upserts<'_>> = BTreeMap::new();
    let mut removes: BTreeMap<u8, (Table, Vec<&[u8]>)> = BTreeMap::new();
    let mut codes: Vec<&[u8]> = Vec::new();
    for change in changes {
        match change {
            Change::Put(table, k, v) => {
                let rows = puts.entry(table.tag()).or_insert((*table, vec![], vec![]));
                rows.1.push(k);
                rows.2.push(v);
            }
            Change::Remove(table, k) => {
                removes
                    .entry(table.tag())
                    .or_insert((*table, vec![]))
                    .1
                    .push(k);
            }
        }
        let (Change::Put(table, k, _) | Change::Remove(table, k)) = change;
        if *table == Table::Codes {
            codes.push(k);
        }
    }
    for (table, ks, vs) in puts.values() {
        let statement = tx
            .prepare_cached(&upsert_many_sql(*table))
            .await
            .map_err(db)?;
        tx.execute(&statement, &[ks, vs]).await.map_err(db)?;
    }
    for (table, ks) in removes.values() {
        let sql = format!("DELETE FROM {} WHERE k = ANY($1::bytea[])", table.name());
        let statement = tx.prepare_cached(&sql).await.map_err(db)?;
        tx.execute(&statement, &[ks]).await.map_err(db)?;
    }
    if !codes.is_empty() {
        // Every other replica forgets these records once this commits.
        let notices = changes::payloads(origin, codes);
        let notify = tx
            .prepare_cached("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .await
            .map_err(db)?;
        tx.query(&notify, &[&changes::CHANNEL, &notices])
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}
