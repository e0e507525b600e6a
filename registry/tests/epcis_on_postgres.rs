//! `epcis.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "epcis.rs"]
mod on_postgres;
