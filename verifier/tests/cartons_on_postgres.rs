//! `cartons.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "cartons.rs"]
mod on_postgres;
