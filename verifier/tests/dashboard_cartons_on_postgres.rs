//! `dashboard_cartons.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "dashboard_cartons.rs"]
mod on_postgres;
