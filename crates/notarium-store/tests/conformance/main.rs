//! One conformance suite for every `Store` implementation.
//!
//! Each case in `cases` is an `async fn(&Fixture)` and runs twice, through
//! the `every_case!` macro: against SQLite (a fresh temporary file per
//! test, in `sqlite`) and against PostgreSQL (a fresh database per test,
//! created on the server at `NOTARIUM_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards; in
//! `postgres`). When the server is unreachable the PostgreSQL tests fail
//! with a message saying so; they never skip. Each backend's module then
//! has its own tests (the SQLite file lock and kill -9 durability, the
//! PostgreSQL lease across store instances and failover); `upgrades`
//! converts databases left by older binaries; `linearity` checks the
//! query plans of the sequencer's statements.

mod cases;
mod fixture;
mod linearity;
mod postgres;
mod sqlite;
mod stamping;
mod upgrades;
