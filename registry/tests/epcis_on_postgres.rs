//! `epcis.rs` on PostgreSQL: the same tests, on the other engine (see `common::engine`).

#[path = "epcis.rs"]
mod on_postgres;
