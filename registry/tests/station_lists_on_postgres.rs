//! `station_lists.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "station_lists.rs"]
mod on_postgres;
