//! The migration histories, one per backend, embedded in the binary and applied by sqlx's
//! migrator (its `_sqlx_migrations` table, checksums and, on PostgreSQL, its advisory lock)
//! at `Store::open`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// A migration file: `NNNN_name.sql` and its text.
#[derive(Debug)]
pub(crate) struct Embedded {
    pub file: &'static str,
    pub sql: &'static str,
}

macro_rules! embed {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(Embedded { file: $file, sql: include_str!(concat!("../migrations/", $dir, "/", $file)) }),*]
    };
}

/// `migrations/sqlite/`, in order.
pub(crate) const SQLITE: &[Embedded] = embed!(
    "sqlite": "0001_initial.sql", "0002_outbox.sql", "0003_slot_progress.sql", "0004_status.sql", "0006_tzdb.sql",
    "0007_tokens.sql", "0008_component_retired.sql", "0009_subscription_requests.sql", "0010_outbox_intents.sql",
    "0011_generation.sql", "0012_staged_publication.sql", "0013_slots_by_start.sql", "0014_plan_pieces.sql",
    "0015_notices_unchecked_campaign.sql", "0016_parts_lz4.sql", "0017_inventory_pieces.sql",
    "0018_machine_tokens.sql", "0019_agents.sql", "0020_fleetlock.sql"
);

/// `migrations/postgres/`, in order.
pub(crate) const POSTGRES: &[Embedded] = embed!(
    "postgres": "0001_initial.sql", "0002_outbox.sql", "0003_slot_progress.sql", "0004_status.sql", "0006_tzdb.sql",
    "0007_tokens.sql", "0008_component_retired.sql", "0009_subscription_requests.sql", "0010_outbox_intents.sql",
    "0011_generation.sql", "0012_staged_publication.sql", "0013_slots_by_start.sql", "0014_plan_pieces.sql",
    "0015_notices_unchecked_campaign.sql", "0016_parts_lz4.sql", "0017_inventory_pieces.sql",
    "0018_machine_tokens.sql", "0019_agents.sql", "0020_fleetlock.sql"
);

impl Embedded {
    fn migration(&self) -> Result<Migration, BoxDynError> {
        let stem = self.file.strip_suffix(".sql").ok_or_else(|| format!("migration {} is no .sql file", self.file))?;
        let (version, description) =
            stem.split_once('_').ok_or_else(|| format!("migration {} is not named NNNN_name.sql", self.file))?;
        let version: i64 = version.parse().map_err(|_| format!("migration {} has no number", self.file))?;
        Ok(Migration::new(
            version,
            Cow::Owned(description.replace('_', " ")),
            MigrationType::Simple,
            Cow::Borrowed(self.sql),
            false,
        ))
    }
}

#[derive(Debug)]
struct Source(&'static [Embedded]);

impl MigrationSource<'static> for Source {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { self.0.iter().map(Embedded::migration).collect() })
    }
}

/// The migrator of one history.
pub(crate) async fn migrator(history: &'static [Embedded]) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Source(history)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<(String, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let mut files: Vec<(String, String)> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_migration_file_is_embedded_in_order_and_both_histories_match() {
        for (dir, history) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let embedded: Vec<(String, String)> =
                history.iter().map(|m| (m.file.to_owned(), m.sql.to_owned())).collect();
            assert_eq!(embedded, files(dir), "migrations/{dir} and the list in migrate.rs differ");
            let versions: Vec<i64> = history.iter().map(|m| m.migration().unwrap().version).collect();
            // In order from 1 (numbers are reserved by work in progress, so a gap may open for a while).
            assert_eq!(versions.first(), Some(&1));
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        }
        let names = |h: &[Embedded]| h.iter().map(|m| m.file).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES), "each change needs a migration on both backends");
    }

    /// Migration 0013 rebuilds `slot_notices` in the order of their starts: every notice an
    /// installation kept before it is there after it, each column as it was.
    const NOTICES_BEFORE_0013: &str = "INSERT INTO inventories (version, at, actor, format, text, summary) VALUES (1, 0, 'a', 'toml', '', '{}'); \
         INSERT INTO campaigns (id, title, text, state, inventory_version, created, updated) \
         VALUES ('os', 't', '', 'published', 1, 0, 0); \
         INSERT INTO slot_notices (campaign, target, starts, ends, sequence, cancelled, reminded, started, finished) \
         VALUES ('os', 'web-2', 50, 60, 2, TRUE, TRUE, FALSE, FALSE), ('os', 'web-1', 70, 90, 0, FALSE, FALSE, TRUE, TRUE)";
    const NOTICES: &str = "SELECT campaign, target, starts, ends, sequence, cancelled, reminded, started, finished \
                           FROM slot_notices ORDER BY target";
    type NoticeRow = (String, String, i64, i64, i64, bool, bool, bool, bool);

    fn before_and_0013(history: &'static [Embedded]) -> (&'static [Embedded], &'static Embedded) {
        let at = history.iter().position(|m| m.file.starts_with("0013_")).unwrap();
        (&history[..at], &history[at])
    }

    fn kept(rows: Vec<NoticeRow>) {
        assert_eq!(
            rows,
            [
                ("os".into(), "web-1".into(), 70, 90, 0, false, false, true, true),
                ("os".into(), "web-2".into(), 50, 60, 2, true, true, false, false),
            ]
        );
    }

    #[tokio::test]
    async fn slots_by_start_keeps_every_notice_on_sqlite() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let (before, m) = before_and_0013(SQLITE);
        for b in before {
            sqlx::raw_sql(b.sql).execute(&mut conn).await.unwrap();
        }
        sqlx::raw_sql(NOTICES_BEFORE_0013).execute(&mut conn).await.unwrap();
        sqlx::raw_sql(m.sql).execute(&mut conn).await.unwrap();
        kept(sqlx::query_as(NOTICES).fetch_all(&mut conn).await.unwrap());
    }

    #[tokio::test]
    async fn slots_by_start_keeps_every_notice_on_postgres() {
        use sqlx::Connection;
        let Some(pg) = crate::testing::TestPostgres::start().await else { return };
        let url = pg.create_database("migrate").await.unwrap();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let (before, m) = before_and_0013(POSTGRES);
        for b in before {
            sqlx::raw_sql(b.sql).execute(&mut conn).await.unwrap();
        }
        sqlx::raw_sql(NOTICES_BEFORE_0013).execute(&mut conn).await.unwrap();
        sqlx::raw_sql(m.sql).execute(&mut conn).await.unwrap();
        kept(sqlx::query_as(NOTICES).fetch_all(&mut conn).await.unwrap());
    }
}
