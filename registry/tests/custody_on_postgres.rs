//! `custody.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "custody.rs"]
mod on_postgres;
