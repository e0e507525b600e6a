//! `tables.rs` on PostgreSQL: the engine contract, on the other engine (see `testkit::engine`).

#[path = "tables.rs"]
mod on_postgres;
