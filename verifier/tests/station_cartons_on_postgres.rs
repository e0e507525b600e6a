//! `station_cartons.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "station_cartons.rs"]
mod on_postgres;
