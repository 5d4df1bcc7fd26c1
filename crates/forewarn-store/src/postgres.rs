//! The PostgreSQL backend, for several coordinator instances on one database. Write
//! transactions run at READ COMMITTED; operations that read before they write guard the
//! write with the state they read (`UPDATE ... WHERE state = $old`) or take the row lock
//! first (`UPDATE ... RETURNING`, `SELECT ... FOR UPDATE`), so concurrent writers never both
//! win; work one instance does for all (the rounds of the schedule) takes an advisory
//! transaction lock, and the other instances skip it meanwhile. The operations are `ops/`,
//! compiled here for sqlx's PostgreSQL driver.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::{Error, Result};

pub(crate) type Db = Postgres;

// The same files are `ops` of sqlite.rs too, on purpose: one source, two drivers.
#[allow(clippy::duplicate_mod)]
#[path = "ops/mod.rs"]
pub(crate) mod ops;

/// What ends the query that picks rows to claim: each row is locked as it is picked, and
/// rows another transaction holds are passed over, so concurrent instances claim disjoint
/// sets.
pub(crate) const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// What ends a query that reads a row the transaction then changes according to what it
/// read: the row stays locked until the transaction ends, so that concurrent writers of it
/// (through any instance) queue there and each reads what the one before committed.
pub(crate) const FOR_UPDATE: &str = " FOR UPDATE";

/// What ends a query that reads a row which must not change (nor be deleted) until the
/// transaction ends, while other transactions may read it so too.
pub(crate) const FOR_SHARE: &str = " FOR SHARE";

/// Takes the advisory lock `key` for the rest of the transaction unless another transaction
/// (of any instance) holds it; whether it was taken. For work that one instance does for
/// all: the others skip it while one does it.
pub(crate) async fn try_exclusive(c: &mut sqlx::PgConnection, key: i64) -> Result<bool> {
    use sqlx::Row;
    let row = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS taken").bind(key).fetch_one(&mut *c).await?;
    Ok(row.try_get("taken")?)
}

/// Waits until no other transaction holds advisory lock `key`, and holds it until this
/// transaction ends: work that must happen one at a time across instances.
pub(crate) async fn in_turn(c: &mut sqlx::PgConnection, key: i64) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key).execute(&mut *c).await?;
    Ok(())
}

/// The transaction's commit returns without waiting for the log to reach the disk (see
/// `ops::telling::staging_batch` for when that is safe).
pub(crate) async fn commit_lazily(c: &mut sqlx::PgConnection) -> Result<()> {
    sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *c).await?;
    Ok(())
}

/// Inserts slots told for the first time (sequence 0: target, start and end in
/// microseconds): as three arrays that one statement unnests, which PostgreSQL takes
/// several times faster than rows of bound values.
pub(crate) async fn insert_new_notices(
    c: &mut sqlx::PgConnection,
    campaign: &str,
    rows: &[(&str, i64, i64)],
) -> Result<()> {
    for chunk in rows.chunks(25_000) {
        let targets: Vec<&str> = chunk.iter().map(|r| r.0).collect();
        let starts: Vec<i64> = chunk.iter().map(|r| r.1).collect();
        let ends: Vec<i64> = chunk.iter().map(|r| r.2).collect();
        sqlx::query(
            "INSERT INTO slot_notices (campaign, target, starts, ends, sequence) \
             SELECT $1, t, s, e, 0 FROM UNNEST($2::text[], $3::bigint[], $4::bigint[]) AS u(t, s, e)",
        )
        .bind(campaign)
        .bind(&targets)
        .bind(&starts)
        .bind(&ends)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Writes `(part, data)` rows of event `seq`: as two arrays one statement unnests.
pub(crate) async fn insert_parts(c: &mut sqlx::PgConnection, seq: i64, parts: &[(i64, &str)]) -> Result<()> {
    let numbers: Vec<i64> = parts.iter().map(|p| p.0).collect();
    let data: Vec<&str> = parts.iter().map(|p| p.1).collect();
    sqlx::query(
        "INSERT INTO event_parts (event, part, data) SELECT $1, n, d FROM UNNEST($2::bigint[], $3::text[]) AS u(n, d)",
    )
    .bind(seq)
    .bind(&numbers)
    .bind(&data)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Writes messages of event `seq` created at `created` (microseconds) as pending, skipping
/// any whose key is taken: as arrays, a column each, that one statement unnests; how many
/// were written.
pub(crate) async fn insert_messages(
    c: &mut sqlx::PgConnection,
    created: i64,
    seq: i64,
    rows: &[crate::outbox::MessageRow<'_>],
) -> Result<u64> {
    fn column<'r, T>(
        rows: &'r [crate::outbox::MessageRow<'r>],
        f: impl Fn(&'r crate::outbox::MessageRow<'r>) -> T,
    ) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    let done = sqlx::query(
        "INSERT INTO outbox (key, channel, sender, recipient, subject, cause, payload, created, state, attempts, \
         due, event, part, data) \
         SELECT k, ch, se, r, su, ca, pa, $1, 'pending', 0, du, $2, pt, da \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
                     $10::bigint[], $11::bigint[], $12::text[]) AS u(k, ch, se, r, su, ca, pa, du, pt, da) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(created)
    .bind(seq)
    .bind(column(rows, |m| m.key))
    .bind(column(rows, |m| m.channel))
    .bind(column(rows, |m| m.sender))
    .bind(column(rows, |m| m.recipient))
    .bind(column(rows, |m| m.subject))
    .bind(column(rows, |m| m.cause))
    .bind(column(rows, |m| m.payload))
    .bind(column(rows, |m| m.due))
    .bind(column(rows, |m| m.part))
    .bind(column(rows, |m| m.data))
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected())
}

/// How long a request waits for a connection: all of them busy, or the database away (sqlx
/// tries to connect again and again meanwhile). Then it fails (the service answers 503) rather
/// than keep its client waiting; a load balancer's health check gets its answer in time.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn open(url: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::Invalid(format!("cannot use the PostgreSQL database URL: {e}")))?;
    Ok(PgPoolOptions::new().max_connections(10).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?)
}

pub(crate) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool.begin().await?)
}
