//! Every operation of the store, written once over `super::Db` and compiled for each
//! backend: `sqlite.rs` and `postgres.rs` both mount this directory as their `ops` module.
//! Queries use `$N` placeholders (both drivers take them) and `RETURNING` (both databases
//! have it); what differs (DDL, identity columns, how a write transaction begins) lives
//! in the migrations and the backend modules. A mutating operation runs inside the
//! caller's transaction and writes its audit row there too.
//!
//! One module per domain; each starts with `use super::*`, which brings the helpers
//! below and every other domain's operations (re-exported here), so that an operation
//! calls another by its bare name. What one domain lends another is `pub(super)`.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::{Database, Row};

use super::Db;
use crate::Result;
use crate::codec::{from_micros, json_value};
use crate::outbox::sort_notices;

mod agents;
mod audit;
mod campaigns;
mod components;
mod generation;
mod inventory;
mod metrics;
mod notices;
mod operators;
mod outbox;
mod plans;
mod posts;
mod runs;
mod schedule;
mod secrets;
mod subscribers;
mod telling;
mod tokens;
mod tzdb;

pub(crate) use agents::*;
pub(crate) use audit::*;
pub(crate) use campaigns::*;
pub(crate) use components::*;
pub(crate) use generation::*;
pub(crate) use inventory::*;
pub(crate) use metrics::*;
pub(crate) use notices::*;
pub(crate) use operators::*;
pub(crate) use outbox::*;
pub(crate) use plans::*;
pub(crate) use posts::*;
pub(crate) use runs::*;
pub(crate) use schedule::*;
pub(crate) use secrets::*;
pub(crate) use subscribers::*;
pub(crate) use telling::stage_told;
use telling::*;
pub(crate) use tokens::*;
pub(crate) use tzdb::*;

type Conn = <Db as Database>::Connection;
type DbRow = <Db as Database>::Row;
type Query<'q> = sqlx::query::Query<'q, Db, <Db as Database>::Arguments<'q>>;

/// The advisory lock of the rounds of the schedule (reminders, slot progress, posts and
/// campaigns moved by it): work one instance does for all, while the others skip it.
const SCHEDULE_LOCK: i64 = 0x666f_7265_7761_0001;
/// The advisory lock of recording the time zone database at start: instances started
/// together record it once.
const TZDB_LOCK: i64 = 0x666f_7265_7761_0002;
/// The advisory lock of granting FleetLock locks: one grant at a time, across groups and
/// instances, so that what holds is what the next grant counts.
const GRANT_LOCK: i64 = 0x666f_7265_7761_0003;

/// Whether this transaction may do work that one instance does for all (`key`, such as
/// [`SCHEDULE_LOCK`]): on PostgreSQL, unless another instance's transaction is doing it
/// right now (an advisory lock until this transaction ends); on SQLite, always.
async fn alone(c: &mut Conn, key: i64) -> Result<bool> {
    super::try_exclusive(c, key).await
}

fn query(sql: &str) -> Query<'_> {
    sqlx::query(sql)
}

fn ts(row: &DbRow, column: &str) -> Result<Timestamp> {
    from_micros(row.try_get(column)?)
}

fn opt_ts(row: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_micros).transpose()
}

fn json_col(row: &DbRow, column: &str) -> Result<Value> {
    json_value(row.try_get(column)?, column)
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}
