//! `dashboard.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "dashboard.rs"]
mod on_postgres;
