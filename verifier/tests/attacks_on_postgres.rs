//! `attacks.rs` on PostgreSQL: the same tests, on the other engine (see `support::on_postgres`).

#[path = "attacks.rs"]
mod on_postgres;
