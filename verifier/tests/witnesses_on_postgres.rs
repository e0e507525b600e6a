//! `witnesses.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "witnesses.rs"]
mod on_postgres;
