//! `registration.rs` on PostgreSQL: the same tests, on the other engine (see `common::engine`).

#[path = "registration.rs"]
mod on_postgres;
