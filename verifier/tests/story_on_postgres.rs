//! `story.rs` on PostgreSQL: the same tests, on the other engine (see `support::on_postgres`).

#[path = "story.rs"]
mod on_postgres;
