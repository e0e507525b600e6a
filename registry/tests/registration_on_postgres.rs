//! `registration.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "registration.rs"]
mod on_postgres;
