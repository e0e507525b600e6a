//! `parties.rs` on PostgreSQL: the same tests, on the other engine (see `common::engine`).

#[path = "parties.rs"]
mod on_postgres;
