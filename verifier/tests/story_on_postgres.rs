//! `story.rs` on PostgreSQL: the same tests, on the other engine (see `testkit::engine`).

#[path = "story.rs"]
mod on_postgres;
