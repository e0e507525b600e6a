//! [`Tables::apply_held`](crate::store::Tables::apply_held) on PostgreSQL: the key's row locked
//! from the read to the write.
//!
//! The read is a `SELECT … FOR UPDATE` in a transaction of its own at `READ COMMITTED`, whatever
//! the database's default: the row lock, not the isolation level, makes the read and the write
//! one step, and at a stricter level a lock waited for aborts the transaction once its holder
//! commits (the very round the writer is meant to win). The caller judges between the two,
//! outside the store's runtime, so its judgement may read the store (on other connections).
//! Other replicas are told of a code it replaced, as after a shared transaction.

use tokio_postgres::types::ToSql;

use super::{StoreResult, connection, db, upsert_sql};
use crate::store::tables::{Change, Table};

/// A connection in the middle of a held transaction. Dropped before it ends (an error, a
/// panic in the judgement), it is closed rather than returned to the pool, so the database rolls
/// the transaction back and lets the row go.
pub(super) struct Held {
    client: Option<deadpool_postgres::Object>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

impl Held {
    fn client(&self) -> &deadpool_postgres::Object {
        self.client.as_ref().expect("held until it ends")
    }

    /// Back to the pool, its transaction ended.
    fn release(mut self) {
        drop(self.client.take());
    }

    /// Locks `table[key]` and reads it.
    pub(super) async fn read(
        pool: &deadpool_postgres::Pool,
        table: Table,
        key: &[u8],
    ) -> StoreResult<(Held, Option<Vec<u8>>)> {
        let held = Held {
            client: Some(connection(pool).await?),
        };
        let client = held.client();
        client
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(db)?;
        let sql = format!("SELECT v FROM {} WHERE k = $1 FOR UPDATE", table.name());
        let lock = client.prepare_cached(&sql).await.map_err(db)?;
        let row = client.query_opt(&lock, &[&key]).await.map_err(db)?;
        Ok((held, row.map(|r| r.get(0))))
    }

    /// Makes `changes` in order and commits; other replicas hear of a code row among them.
    pub(super) async fn write(self, origin: u64, changes: &[Change]) -> StoreResult<()> {
        let client = self.client();
        let mut codes = Vec::new();
        for change in changes {
            let (sql, params): (String, Vec<&(dyn ToSql + Sync)>) = match change {
                Change::Put(t, k, v) => (upsert_sql(*t), vec![k, v]),
                Change::Remove(t, k) => (format!("DELETE FROM {} WHERE k = $1", t.name()), vec![k]),
            };
            if let Change::Put(Table::Codes, k, _) | Change::Remove(Table::Codes, k) = change {
                codes.push(k.as_slice());
            }
            let statement = client.prepare_cached(&sql).await.map_err(db)?;
            client.execute(&statement, &params).await.map_err(db)?;
        }
        if !codes.is_empty() {
            let notices = super::changes::payloads(origin, codes);
            let notify = client
                .prepare_cached("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
                .await
                .map_err(db)?;
            client
                .query(&notify, &[&super::changes::CHANNEL, &notices])
                .await
                .map_err(db)?;
        }
        client.batch_execute("COMMIT").await.map_err(db)?;
        self.release();
        Ok(())
    }

    /// Ends the transaction with nothing written.
    pub(super) async fn rollback(self) -> StoreResult<()> {
        self.client().batch_execute("ROLLBACK").await.map_err(db)?;
        self.release();
        Ok(())
    }
}
