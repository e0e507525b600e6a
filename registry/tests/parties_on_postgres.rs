//! `parties.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "parties.rs"]
mod on_postgres;
