//! `transparency_log.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "transparency_log.rs"]
mod on_postgres;
