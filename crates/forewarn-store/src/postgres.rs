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

/// Takes the advisory lock `key` for the rest of the transaction unless another transaction
/// (of any instance) holds it; whether it was taken. For work that one instance does for
/// all: the others skip it while one does it.
pub(crate) async fn try_exclusive(c: &mut sqlx::PgConnection, key: i64) -> Result<bool> {
    use sqlx::Row;
    let row = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS taken").bind(key).fetch_one(&mut *c).await?;
    Ok(row.try_get("taken")?)
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
