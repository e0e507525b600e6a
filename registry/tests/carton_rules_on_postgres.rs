//! `carton_rules.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "carton_rules.rs"]
mod on_postgres;
