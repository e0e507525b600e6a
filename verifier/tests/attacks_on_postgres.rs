//! `attacks.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "attacks.rs"]
mod on_postgres;
