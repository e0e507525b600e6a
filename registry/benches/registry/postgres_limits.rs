//! The raw limits of the PostgreSQL server the registry bench runs on, measured in the same run:
//! a binary COPY of code-sized rows into a table with their primary key (what registration
//! cannot beat), and `pgbench -N` (what one commit per write can reach).

use std::process::Command;
use std::time::Instant;

use registry::CodeKey;
use signer::PartId;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

const ROWS: u64 = 200_000;

pub fn run(url: &str, part: &(impl Fn(u64) -> PartId + Sync)) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(copy(url, part));
    for clients in [64, 16] {
        pgbench(url, clients);
    }
}

/// Rows shaped like the registry's codes: the code key, and a value of a record's size.
async fn copy(url: &str, part: &(impl Fn(u64) -> PartId + Sync)) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "DROP TABLE IF EXISTS raw_copy; \
             CREATE TABLE raw_copy (k bytea PRIMARY KEY, v bytea NOT NULL)",
        )
        .await
        .unwrap();
    let keys: Vec<Vec<u8>> = (0..ROWS)
        .map(|i| CodeKey::of(&part(20_000_000_000 + i)).as_bytes().to_vec())
        .collect();
    let value = vec![7u8; 90];
    let started = Instant::now();
    let sink = client
        .copy_in("COPY raw_copy (k, v) FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(sink, &[Type::BYTEA, Type::BYTEA]);
    let mut writer = std::pin::pin!(writer);
    for k in &keys {
        writer.as_mut().write(&[k, &value]).await.unwrap();
    }
    writer.finish().await.unwrap();
    let rate = ROWS as f64 / started.elapsed().as_secs_f64();
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('raw_copy')", &[])
        .await
        .unwrap()
        .get(0);
    println!(
        "raw binary COPY of {ROWS} code-sized rows with their primary key: {rate:.0} rows/s, \
         {} bytes a row",
        size as u64 / ROWS
    );
    client.batch_execute("DROP TABLE raw_copy").await.unwrap();
}

/// `pgbench -N` (no updates of the contended branch rows) in a database of its own on the server.
fn pgbench(url: &str, clients: u32) {
    let (base, _) = url.rsplit_once('/').expect("a URL naming a database");
    let db = format!("{base}/pgbench");
    let psql = |sql: &str| {
        let admin = format!("{base}/postgres");
        let ok = Command::new("psql")
            .args([admin.as_str(), "-qAtc", sql])
            .status()
            .unwrap()
            .success();
        assert!(ok, "psql {sql}");
    };
    psql("DROP DATABASE IF EXISTS pgbench WITH (FORCE)");
    psql("CREATE DATABASE pgbench");
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &db])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = Command::new("pgbench")
        .args(["-N", "-c", &clients.to_string(), "-j", "2", "-T", "10", &db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps"))
        .unwrap_or("tps = ?");
    println!("pgbench -N, {clients} clients, 10 s: {tps}");
}
