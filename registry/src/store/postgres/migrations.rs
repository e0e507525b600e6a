//! The schema, versioned in the repository: each migration runs once per database, in order, in
//! its own transaction, when a process opens the store.
//!
//! A migration's version row is inserted in the same transaction as its statements, so two
//! processes starting together cannot both run it: the second waits on the row, then finds it
//! taken and skips. No advisory lock, which databases that speak PostgreSQL's protocol lack.

use super::{StoreError, StoreResult, db};

/// Every migration, oldest first: (version, what it does, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "the store's tables",
        include_str!("migrations/0001_tables.sql"),
    ),
    (
        2,
        "browser sessions",
        include_str!("migrations/0002_sessions.sql"),
    ),
    (
        3,
        "the shop stations' lists of recent scans",
        include_str!("migrations/0003_station_lists.sql"),
    ),
    (
        4,
        "cartons: packing records, and which carton each code is in",
        include_str!("migrations/0004_cartons.sql"),
    ),
    (
        5,
        "the transparency log",
        include_str!("migrations/0005_transparency_log.sql"),
    ),
    (
        6,
        "packing records by packer, the cartons already packed included",
        include_str!("migrations/0006_cartons_by_packer.sql"),
    ),
    (
        7,
        "EPCIS capture jobs",
        include_str!("migrations/0007_capture_jobs.sql"),
    ),
    (
        8,
        "captured EPCIS events' eventIDs",
        include_str!("migrations/0008_captured_events.sql"),
    ),
];

/// Whether the database holds the store's schema (without creating it).
pub async fn present(client: &tokio_postgres::Client) -> StoreResult<bool> {
    let row = client
        .query_one("SELECT to_regclass('partseal_schema') IS NOT NULL", &[])
        .await
        .map_err(db)?;
    Ok(row.get(0))
}

pub async fn apply(client: &deadpool_postgres::Object) -> StoreResult<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS partseal_schema (\
                 version integer PRIMARY KEY, \
                 description text NOT NULL, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db)?;
    let applied: Vec<i32> = client
        .query("SELECT version FROM partseal_schema", &[])
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(newest) = applied.iter().max() {
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if *newest > known {
            return Err(StoreError::corrupt(
                "schema",
                format!(
                    "the database is at schema version {newest}; this version of partseal knows \
                     up to {known}: upgrade partseal"
                ),
            ));
        }
    }
    for &(version, description, sql) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        // `Object` derefs to a client; a transaction needs it mutably, so use explicit statements.
        client.batch_execute("BEGIN").await.map_err(db)?;
        let claimed = client
            .query_opt(
                "INSERT INTO partseal_schema (version, description) VALUES ($1, $2) \
                 ON CONFLICT (version) DO NOTHING RETURNING version",
                &[&version, &description],
            )
            .await;
        let result = match claimed {
            Err(e) => Err(db(e)),
            // Another process applied it meanwhile.
            Ok(None) => client.batch_execute("ROLLBACK").await.map_err(db),
            Ok(Some(_)) => match client.batch_execute(sql).await {
                Ok(()) => {
                    tracing::info!(version, description, "database schema migrated");
                    client.batch_execute("COMMIT").await.map_err(db)
                }
                Err(e) => Err(db(e)),
            },
        };
        if result.is_err() {
            let _ = client.batch_execute("ROLLBACK").await;
        }
        result?;
    }
    Ok(())
}
