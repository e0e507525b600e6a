//! `carton_store.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "carton_store.rs"]
mod on_postgres;
