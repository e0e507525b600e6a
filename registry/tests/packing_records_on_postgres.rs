//! `packing_records.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "packing_records.rs"]
mod on_postgres;
