//! `epcis_capture.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "epcis_capture.rs"]
mod on_postgres;
