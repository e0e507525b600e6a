//! `carton_undo.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "carton_undo.rs"]
mod on_postgres;
