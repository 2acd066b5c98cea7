//! Persistence of webhook endpoints and their delivery log, as a trait of
//! its own ([`WebhookStore`]) next to [`super::Store`], so that it lives in
//! its own file and both backends run the same portable SQL.

use std::future::Future;

use zeroize::Zeroize;

use super::{AnyStore, StoreResult};

/// A webhook signing secret. Stored as issued (the server signs with it),
/// but never printed: `Debug` is redacted and the bytes are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret.
    pub fn new(s: String) -> Self {
        WebhookSecret(s)
    }

    /// The secret, for signing and for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for WebhookSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// A registered endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRow {
    /// Id.
    pub id: String,
    /// Owning organization.
    pub org_id: String,
    /// Target URL (`https://`, or `http://` where the deployment allows it).
    pub url: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// The current signing secret.
    pub secret: WebhookSecret,
    /// The secret before the last rotation, still signing until `previous_expires_at`.
    pub previous_secret: Option<WebhookSecret>,
    /// End of the rotation's grace period (unix seconds).
    pub previous_expires_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

impl WebhookRow {
    /// The secrets that sign a delivery at `now`: the current one, and the
    /// previous one during its grace period.
    pub fn signing_secrets(&self, now: i64) -> Vec<&WebhookSecret> {
        let mut out = vec![&self.secret];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_expires_at)
            && now < until
        {
            out.push(prev);
        }
        out
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Attempts used up, or the target was refused.
    Failed,
}

impl DeliveryState {
    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            _ => Err(super::StoreError::Corrupt("state")),
        }
    }
}

/// One event to one endpoint, with the outcome of its latest attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Id (also sent as `Cleanroom-Delivery`).
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// Event type.
    pub event: String,
    /// The exact JSON body every attempt sends.
    pub body: String,
    /// State.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (unix seconds; meaningless once finished).
    pub next_attempt_at: i64,
    /// HTTP status of the latest attempt, if it got an answer.
    pub last_status: Option<u16>,
    /// Why the latest attempt failed, in words (never a secret or body).
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// When it was delivered or given up.
    pub finished_at: Option<i64>,
}

/// The outcome of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// New state.
    pub state: DeliveryState,
    /// When to try again (for `Pending`).
    pub next_attempt_at: i64,
    /// HTTP status, if any.
    pub status: Option<u16>,
    /// Error in words, if any.
    pub error: Option<String>,
    /// Now.
    pub at: i64,
}

/// Webhook endpoints and deliveries.
pub trait WebhookStore: Send + Sync + 'static {
    /// Registers an endpoint.
    fn create_webhook(&self, w: &WebhookRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// An organization's endpoints, oldest first.
    fn webhooks_of_org(
        &self,
        org_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<WebhookRow>>> + Send;
    /// One endpoint, whoever owns it.
    fn webhook(&self, id: &str) -> impl Future<Output = StoreResult<Option<WebhookRow>>> + Send;
    /// Deletes an organization's endpoint and its log; `false` if it has none by that id.
    fn delete_webhook(
        &self,
        org_id: &str,
        id: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces the secret; the old one keeps signing until `grace_until`.
    /// `None` if the organization has no endpoint by that id.
    fn rotate_webhook_secret(
        &self,
        org_id: &str,
        id: &str,
        secret: &WebhookSecret,
        grace_until: i64,
    ) -> impl Future<Output = StoreResult<Option<WebhookRow>>> + Send;
    /// Queues a delivery, due at once.
    fn enqueue_delivery(&self, d: &DeliveryRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// Claims up to `limit` due pending deliveries by moving their due time
    /// to `lease_until`, so another replica does not send them too.
    fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryRow>>> + Send;
    /// Records an attempt.
    fn record_attempt(
        &self,
        id: &str,
        outcome: &AttemptOutcome,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// An endpoint's deliveries, newest first, at most `limit`.
    fn deliveries(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryRow>>> + Send;
}

/// Expands [`WebhookStore`] for one backend; invoked in the backend's module
/// (which owns the `pool` field).
macro_rules! impl_webhook_store {
    ($store:ty, $row:ty) => {
        const _: () = {
            use sqlx::Row as _;

            use crate::store::webhooks::{
                AttemptOutcome, DeliveryRow, DeliveryState, WebhookRow, WebhookSecret, WebhookStore,
            };
            use crate::store::{StoreError, StoreResult};

            fn webhook_row(r: &$row) -> StoreResult<WebhookRow> {
                let events: String = r.try_get("events")?;
                Ok(WebhookRow {
                    id: r.try_get("id")?,
                    org_id: r.try_get("org_id")?,
                    url: r.try_get("url")?,
                    events: serde_json::from_str(&events)
                        .map_err(|_| StoreError::Corrupt("events"))?,
                    secret: WebhookSecret::new(r.try_get("secret")?),
                    previous_secret: r
                        .try_get::<Option<String>, _>("previous_secret")?
                        .map(WebhookSecret::new),
                    previous_expires_at: r.try_get("previous_expires_at")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn delivery_row(r: &$row) -> StoreResult<DeliveryRow> {
                let state: String = r.try_get("state")?;
                Ok(DeliveryRow {
                    id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    event: r.try_get("event")?,
                    body: r.try_get("body")?,
                    state: DeliveryState::parse(&state)?,
                    attempts: u32::try_from(r.try_get::<i64, _>("attempts")?)
                        .map_err(|_| StoreError::Corrupt("attempts"))?,
                    next_attempt_at: r.try_get("next_attempt_at")?,
                    last_status: r
                        .try_get::<Option<i64>, _>("last_status")?
                        .map(|s| u16::try_from(s).map_err(|_| StoreError::Corrupt("last_status")))
                        .transpose()?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    finished_at: r.try_get("finished_at")?,
                })
            }

            impl WebhookStore for $store {
                async fn create_webhook(&self, w: &WebhookRow) -> StoreResult<()> {
                    sqlx::query("INSERT INTO webhooks (id, org_id, url, events, secret, previous_secret, previous_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&w.id)
                    .bind(&w.org_id)
                    .bind(&w.url)
                    .bind(serde_json::to_string(&w.events).map_err(|_| StoreError::Corrupt("events"))?)
                    .bind(w.secret.expose())
                    .bind(w.previous_secret.as_ref().map(|s| s.expose()))
                    .bind(w.previous_expires_at)
                    .bind(w.created_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn webhooks_of_org(&self, org_id: &str) -> StoreResult<Vec<WebhookRow>> {
                    sqlx::query("SELECT id, org_id, url, events, secret, previous_secret, previous_expires_at, created_at FROM webhooks WHERE org_id = $1 ORDER BY created_at, id")
                    .bind(org_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(webhook_row)
                    .collect()
                }

                async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookRow>> {
                    sqlx::query("SELECT id, org_id, url, events, secret, previous_secret, previous_expires_at, created_at FROM webhooks WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(webhook_row)
                        .transpose()
                }

                async fn delete_webhook(&self, org_id: &str, id: &str) -> StoreResult<bool> {
                    let mut tx = self.pool.begin().await?;
                    // The log goes with its endpoint (explicitly: SQLite's
                    // cascade depends on a pragma).
                    sqlx::query(
                        "DELETE FROM webhook_deliveries WHERE webhook_id IN \
                         (SELECT id FROM webhooks WHERE id = $1 AND org_id = $2)",
                    )
                    .bind(id)
                    .bind(org_id)
                    .execute(&mut *tx)
                    .await?;
                    let n = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND org_id = $2")
                        .bind(id)
                        .bind(org_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(n > 0)
                }

                async fn rotate_webhook_secret(
                    &self,
                    org_id: &str,
                    id: &str,
                    secret: &WebhookSecret,
                    grace_until: i64,
                ) -> StoreResult<Option<WebhookRow>> {
                    let n = sqlx::query(
                        "UPDATE webhooks SET previous_secret = secret, previous_expires_at = $1, \
                         secret = $2 WHERE id = $3 AND org_id = $4",
                    )
                    .bind(grace_until)
                    .bind(secret.expose())
                    .bind(id)
                    .bind(org_id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                    if n == 0 {
                        return Ok(None);
                    }
                    self.webhook(id).await
                }

                async fn enqueue_delivery(&self, d: &DeliveryRow) -> StoreResult<()> {
                    sqlx::query("INSERT INTO webhook_deliveries (id, webhook_id, event, body, state, attempts, next_attempt_at, last_status, last_error, created_at, finished_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                    .bind(&d.id)
                    .bind(&d.webhook_id)
                    .bind(&d.event)
                    .bind(&d.body)
                    .bind(d.state.as_str())
                    .bind(i64::from(d.attempts))
                    .bind(d.next_attempt_at)
                    .bind(d.last_status.map(i64::from))
                    .bind(&d.last_error)
                    .bind(d.created_at)
                    .bind(d.finished_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn claim_deliveries(
                    &self,
                    now: i64,
                    lease_until: i64,
                    limit: u32,
                ) -> StoreResult<Vec<DeliveryRow>> {
                    let due = sqlx::query("SELECT id, webhook_id, event, body, state, attempts, next_attempt_at, last_status, last_error, created_at, finished_at FROM webhook_deliveries \
                         WHERE state = 'pending' AND next_attempt_at <= $1 \
                         ORDER BY next_attempt_at, id LIMIT $2")
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    let mut claimed = Vec::new();
                    for r in &due {
                        let d = delivery_row(r)?;
                        // Compare-and-set on the due time: of two replicas
                        // reading the same row, only one moves it.
                        let n = sqlx::query(
                            "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                             WHERE id = $2 AND state = 'pending' AND next_attempt_at = $3",
                        )
                        .bind(lease_until)
                        .bind(&d.id)
                        .bind(d.next_attempt_at)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                        if n == 1 {
                            claimed.push(d);
                        }
                    }
                    Ok(claimed)
                }

                async fn record_attempt(&self, id: &str, o: &AttemptOutcome) -> StoreResult<()> {
                    let finished = (o.state != DeliveryState::Pending).then_some(o.at);
                    sqlx::query(
                        "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, \
                         next_attempt_at = $2, last_status = $3, last_error = $4, finished_at = $5 \
                         WHERE id = $6",
                    )
                    .bind(o.state.as_str())
                    .bind(o.next_attempt_at)
                    .bind(o.status.map(i64::from))
                    .bind(&o.error)
                    .bind(finished)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn deliveries(&self, webhook_id: &str, limit: u32) -> StoreResult<Vec<DeliveryRow>> {
                    sqlx::query("SELECT id, webhook_id, event, body, state, attempts, next_attempt_at, last_status, last_error, created_at, finished_at FROM webhook_deliveries WHERE webhook_id = $1 \
                         ORDER BY created_at DESC, id DESC LIMIT $2")
                    .bind(webhook_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(delivery_row)
                    .collect()
                }
            }
        };
    };
}

pub(crate) use impl_webhook_store;

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Postgres($s) => $e,
        }
    };
}

impl WebhookStore for AnyStore {
    async fn create_webhook(&self, w: &WebhookRow) -> StoreResult<()> {
        dispatch!(self, s => s.create_webhook(w).await)
    }
    async fn webhooks_of_org(&self, org_id: &str) -> StoreResult<Vec<WebhookRow>> {
        dispatch!(self, s => s.webhooks_of_org(org_id).await)
    }
    async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookRow>> {
        dispatch!(self, s => s.webhook(id).await)
    }
    async fn delete_webhook(&self, org_id: &str, id: &str) -> StoreResult<bool> {
        dispatch!(self, s => s.delete_webhook(org_id, id).await)
    }
    async fn rotate_webhook_secret(
        &self,
        org_id: &str,
        id: &str,
        secret: &WebhookSecret,
        grace_until: i64,
    ) -> StoreResult<Option<WebhookRow>> {
        dispatch!(self, s => s.rotate_webhook_secret(org_id, id, secret, grace_until).await)
    }
    async fn enqueue_delivery(&self, d: &DeliveryRow) -> StoreResult<()> {
        dispatch!(self, s => s.enqueue_delivery(d).await)
    }
    async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRow>> {
        dispatch!(self, s => s.claim_deliveries(now, lease_until, limit).await)
    }
    async fn record_attempt(&self, id: &str, outcome: &AttemptOutcome) -> StoreResult<()> {
        dispatch!(self, s => s.record_attempt(id, outcome).await)
    }
    async fn deliveries(&self, webhook_id: &str, limit: u32) -> StoreResult<Vec<DeliveryRow>> {
        dispatch!(self, s => s.deliveries(webhook_id, limit).await)
    }
}
