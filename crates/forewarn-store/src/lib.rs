//! forewarn's storage: SQLite (the embedded default) and PostgreSQL through sqlx.
//!
//! [`Store::open`] picks the backend by the URL's scheme and applies that backend's
//! migrations. Every mutating method takes the time and who acts (the store never reads
//! the clock), runs as one transaction and writes its audit row in it: on error nothing
//! stays behind. History is kept: inventory and plan versions, post updates and
//! revisions, and the audit log only grow.
//!
//! Each operation is written once, in `ops/` (a module per domain), which `sqlite.rs` and
//! `postgres.rs` both mount as a module: the same source compiled against each driver's concrete types.

mod api;
mod codec;
mod migrate;
pub mod outbox;
mod postgres;
mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod types;

#[cfg(test)]
mod story;

pub use outbox::{
    Ahead, Body, Channel, Confirmation, Confirmed, Event, Intent, Message, MessageState, NewMessage, Notifier,
    OutboxCounts, PlannedSlot, RetryPolicy, Silent, SlotChange, SlotNotice, Subscriber, SubscriptionRequest, Told,
    What,
};
pub use types::{
    Agent, AgentReport, AuditEntry, Backend, CampaignState, Correction, Counts, Holding, NewCampaign, NewPost, Outcome,
    PlanSummary, Run, RunState, Session, StoredCampaign, StoredInventory, StoredPlan, Taken, Token, TokenFor,
    TzdbFinding, TzdbRecord,
};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was asked for does not exist: "campaign `os-2025`", "post 7".
    #[error("{0} not found")]
    NotFound(String),
    /// It exists already, or someone else changed it first.
    #[error("{0}")]
    Conflict(String),
    /// A change that is not allowed, or input the store refuses.
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// Whether the database could not be reached: it is down or restarting, the connection
    /// to it was lost, or no connection came free in time. Trying again later may work;
    /// nothing about the request itself was wrong.
    pub fn is_unavailable(&self) -> bool {
        let Error::Database(e) = self else { return false };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
            sqlx::Error::WorkerCrashed => true,
            // Connection exceptions (class 08), the server shutting down or starting
            // (57P01-57P03), too many connections (53300).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")),
            _ => false,
        }
    }
}

impl Error {
    /// Whether the database was busy with another write for longer than the busy timeout
    /// (SQLite: `SQLITE_BUSY`, `SQLITE_LOCKED` and their extended codes). Trying again
    /// later may work; nothing about the request itself was wrong.
    pub fn is_busy(&self) -> bool {
        let Error::Database(sqlx::Error::Database(db)) = self else { return false };
        // SQLite's result codes: the primary one is the low byte of the extended one.
        db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
            && db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Error {
        Error::Database(sqlx::Error::Migrate(Box::new(e)))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The store: a pool of connections to one database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Every write is rolled back at the end of its transaction ([`Store::rehearsal`]).
    rehearse: bool,
    /// SQLite's writers take turns here, first come first served, rather than polling the
    /// database's lock: a write that waits behind a long series of short ones (a large
    /// publication's batches) gets in after the batch that runs, not whenever its polling
    /// happens to find the lock free.
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens `sqlite://PATH` (the file is created if missing; `sqlite::memory:` for a
    /// throwaway database) or `postgres://...` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        let pool = match scheme {
            "sqlite" => {
                let pool = sqlite::open(url).await?;
                migrate::migrator(migrate::SQLITE).await?.run(&pool).await?;
                Pool::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let pool = postgres::open(url).await?;
                migrate::migrator(migrate::POSTGRES).await?.run(&pool).await?;
                Pool::Postgres(pool)
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown database URL scheme `{scheme}`: use sqlite://PATH or postgres://USER@HOST/DATABASE"
                )));
            }
        };
        Ok(Store { pool, rehearse: false, writers: Default::default() })
    }

    /// The same store, rehearsing: each write runs whole (every check, the messages it
    /// causes) and is then rolled back, so that nothing of it stays. For previews: what a
    /// publication or a move would tell, before anything is written.
    pub fn rehearsal(&self) -> Store {
        Store { pool: self.pool.clone(), rehearse: true, writers: self.writers.clone() }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Waits for the connections in use to come back and closes them all.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}
