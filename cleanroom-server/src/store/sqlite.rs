//! The embedded SQLite backend (the default: `./cleanroom.db`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::store::StoreResult as Res;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// A SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database. `url` is a
    /// `sqlite:` URL or a plain file path.
    pub async fn connect(url: &str) -> Res<Self> {
        let opts = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            // Chunks come and go by the hundred megabytes: give freed pages
            // back to the file system (see `reclaim`).
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            // And keep the write-ahead log from staying at its largest size.
            .pragma("journal_size_limit", "67108864");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        // A database made before incremental auto-vacuum needs one VACUUM
        // for the setting to take effect.
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&pool)
            .await?;
        if mode != 2 {
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&pool)
                .await?;
            sqlx::query("VACUUM").execute(&pool).await?;
        }
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// Returns the pages freed by deleted chunks to the file system, so a
    /// cancelled 500 MiB upload does not leave a 500 MiB file behind.
    async fn reclaim(&self) {
        for pragma in [
            "PRAGMA incremental_vacuum",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ] {
            if let Err(e) = sqlx::query(pragma).execute(&self.pool).await {
                tracing::warn!(error = %e, pragma, "reclaiming space failed");
            }
        }
    }

    /// SQLite serves one process: its long polls are woken in-process, and
    /// there is no other replica to tell of a session change.
    async fn announce(&self, _session_id: &str) -> Res<()> {
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

// SQLite runs one write at a time, so a claim needs no row locks.
crate::store::sql::impl_sql_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow, "");

// Webhook endpoints and deliveries (store/webhooks.rs).
crate::store::webhooks::impl_webhook_store!(SqliteStore, sqlx::sqlite::SqliteRow);

// Agent heartbeats (store/agents.rs).
crate::store::agents::impl_agent_store!(SqliteStore, sqlx::sqlite::SqliteRow);
