//! The PostgreSQL backend (`--database-url postgres://…`).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use crate::store::StoreResult as Res;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The `LISTEN/NOTIFY` channel on which replicas announce session changes;
/// the payload is the session id and nothing else.
const SESSION_CHANGES: &str = "cleanroom_session_changes";

/// A PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// One connection, apart from the request pool, that listens for other
    /// replicas' session changes (see [`crate::replica_wakeups`]).
    listen_pool: PgPool,
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
            .connect_with(opts.clone())
            .await
            .map_err(|e| crate::store::StoreError::Unreachable {
                target,
                reason: e.to_string(),
            })?;
        MIGRATOR.run(&pool).await?;
        // Held for as long as it lives: no idle timeout or maximum lifetime.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(opts.application_name("cleanroom-server session wake-ups"));
        Ok(PgStore { pool, listen_pool })
    }

    /// PostgreSQL's autovacuum reclaims deleted chunks on its own.
    async fn reclaim(&self) {}

    /// `NOTIFY`s the other replicas' listeners (and this one's) of a session
    /// change.
    async fn announce(&self, session_id: &str) -> Res<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(SESSION_CHANGES)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A connection listening for session changes announced by any replica.
    /// Its `try_recv` answers `Ok(None)` or an error once the connection is
    /// lost, without reconnecting: the caller decides when to try again.
    pub async fn session_change_listener(&self) -> Res<PgListener> {
        let mut listener = PgListener::connect_with(&self.listen_pool).await?;
        listener.eager_reconnect(false);
        listener.listen(SESSION_CHANGES).await?;
        Ok(listener)
    }

    /// Closes the pools.
    pub async fn close(&self) {
        self.listen_pool.close().await;
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

// Agent heartbeats (store/agents.rs).
crate::store::agents::impl_agent_store!(PgStore, sqlx::postgres::PgRow);
