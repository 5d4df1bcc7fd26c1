//! The PostgreSQL backend, for several coordinator instances on one database. Write
//! transactions run at READ COMMITTED; operations that read before they write guard the
//! write with the state they read (`UPDATE ... WHERE state = $old`) or take the row lock
//! first (`UPDATE ... RETURNING`), so concurrent writers never both win. The operations
//! are `ops/`, compiled here for sqlx's PostgreSQL driver.

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

pub(crate) async fn open(url: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::Invalid(format!("cannot use the PostgreSQL database URL: {e}")))?;
    Ok(PgPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(10)).connect_with(options).await?)
}

pub(crate) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool.begin().await?)
}
