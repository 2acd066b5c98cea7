//! The PostgreSQL backend (`--database-url postgres://…`).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::store::StoreResult as Res;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// A PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to and migrates the database.
    pub async fn connect(url: &str) -> Res<Self> {
        let opts = PgConnectOptions::from_str(url)?;
        let target = format!("{}:{}", opts.get_host(), opts.get_port());
        // A request waits at most this long for a connection: with the
        // database down it gets a 503 soon rather than hanging.
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(opts)
            .await
            .map_err(|e| crate::store::StoreError::Unreachable {
                target,
                reason: e.to_string(),
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// PostgreSQL's autovacuum reclaims deleted chunks on its own.
    async fn reclaim(&self) {}

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

// The claim of a computation skips rows another replica is claiming at the
// same moment, so replicas never wait on or claim the same session.
crate::store::sql::impl_sql_store!(
    PgStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    " FOR UPDATE SKIP LOCKED"
);

// Webhook endpoints and deliveries (store/webhooks.rs).
crate::store::webhooks::impl_webhook_store!(PgStore, sqlx::postgres::PgRow);
