//! The SQLite backend: the file is created if missing, in WAL mode, with foreign keys on
//! and a busy timeout; write transactions begin IMMEDIATE so that writers queue for the
//! lock up front instead of failing when a read turns into a write. The operations are
//! `ops/`, compiled here for sqlx's SQLite driver.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use crate::{Error, Result};

pub(crate) type Db = Sqlite;

// The same files are `ops` of postgres.rs too, on purpose: one source, two drivers.
#[allow(clippy::duplicate_mod)]
#[path = "ops/mod.rs"]
pub(crate) mod ops;

/// What ends the query that picks rows to claim: nothing, since one writer at a time
/// holds the whole database (`BEGIN IMMEDIATE`).
pub(crate) const SKIP_LOCKED: &str = "";

/// What ends a query that reads a row the transaction then changes: nothing, as above.
pub(crate) const FOR_UPDATE: &str = "";

/// Shared row locks: none either.
pub(crate) const FOR_SHARE: &str = "";

/// Advisory locks: always taken, since a write transaction holds the whole database already
/// and one process uses the file.
pub(crate) async fn try_exclusive(_c: &mut sqlx::SqliteConnection, _key: i64) -> Result<bool> {
    Ok(true)
}

/// Nothing to do: a write transaction (`BEGIN IMMEDIATE`) already holds the whole database.
pub(crate) async fn in_turn(_c: &mut sqlx::SqliteConnection, _key: i64) -> Result<()> {
    Ok(())
}

/// Nothing to do: in the write-ahead log's normal mode (`synchronous = NORMAL`) a commit
/// does not wait for the disk anyway; a checkpoint does.
pub(crate) async fn commit_lazily(_c: &mut sqlx::SqliteConnection) -> Result<()> {
    Ok(())
}

/// Inserts slots told for the first time (sequence 0: target, start and end in
/// microseconds), many rows per statement.
pub(crate) async fn insert_new_notices(
    c: &mut sqlx::SqliteConnection,
    campaign: &str,
    rows: &[(&str, i64, i64)],
) -> Result<()> {
    // 4 values a row: well below SQLite's limit on parameters.
    for chunk in rows.chunks(1000) {
        let mut insert =
            sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO slot_notices (campaign, target, starts, ends, sequence) ");
        insert.push_values(chunk, |mut row, &(target, start, end)| {
            row.push_bind(campaign).push_bind(target).push_bind(start).push_bind(end);
            row.push("0");
        });
        insert.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// Writes `(part, data)` rows of event `seq`, many rows per statement.
pub(crate) async fn insert_parts(c: &mut sqlx::SqliteConnection, seq: i64, parts: &[(i64, &str)]) -> Result<()> {
    let mut insert = sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO event_parts (event, part, data) ");
    insert.push_values(parts, |mut row, &(i, data)| {
        row.push_bind(seq).push_bind(i).push_bind(data);
    });
    insert.build().execute(&mut *c).await?;
    Ok(())
}

/// Writes messages of event `seq` created at `created` (microseconds) as pending, many rows
/// per statement, skipping any whose key is taken; how many were written.
pub(crate) async fn insert_messages(
    c: &mut sqlx::SqliteConnection,
    created: i64,
    seq: i64,
    rows: &[crate::outbox::MessageRow<'_>],
) -> Result<u64> {
    let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
        "INSERT INTO outbox (key, channel, sender, recipient, subject, cause, payload, created, state, attempts, \
         due, event, part, data) ",
    );
    insert.push_values(rows, |mut row, m| {
        row.push_bind(m.key)
            .push_bind(m.channel)
            .push_bind(m.sender)
            .push_bind(m.recipient)
            .push_bind(m.subject)
            .push_bind(m.cause)
            .push_bind(m.payload)
            .push_bind(created);
        row.push("'pending'").push("0");
        row.push_bind(m.due).push_bind(seq).push_bind(m.part).push_bind(m.data);
    });
    insert.push(" ON CONFLICT (key) DO NOTHING");
    Ok(insert.build().execute(&mut *c).await?.rows_affected())
}

/// How long a writer waits for another one before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn open(url: &str) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Invalid(format!("cannot use the SQLite database URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL loses no committed transaction when the process dies, only
        // (possibly) the last ones when the machine loses power.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    // `sqlite::memory:` is one shared in-memory database per URL; it lives as long as one
    // connection stays open, and shared-cache locking does not wait, so one connection.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = if in_memory {
        SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
    } else {
        let file = options.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(Error::Invalid(format!(
                    "cannot create the SQLite database {}: the directory {} does not exist",
                    file.display(),
                    dir.display()
                )));
            }
        }
        create_private(file)?;
        SqlitePoolOptions::new().max_connections(8)
    };
    Ok(pool.connect_with(options).await?)
}

/// Creates a missing database file readable and writable by its owner only (0600): it holds
/// contacts' addresses, operators' password hashes and the installation's secret. SQLite
/// gives its `-wal` and `-shm` files the database file's permissions. An existing file keeps
/// the permissions it has.
fn create_private(file: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::Invalid(format!("cannot create the SQLite database {}: {e}", file.display()))),
    }
}

pub(crate) async fn begin(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}
