//! Persistence of agent heartbeats, as a trait of its own ([`AgentStore`])
//! next to [`super::Store`]: one row per organization with its agent's
//! versions, refresh schedules and last heartbeat, never account data.

use std::future::Future;

use cleanroom_core::api::AgentSchedule;

use super::{AnyStore, StoreResult};

/// An organization's agent as its last heartbeat described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRow {
    /// The organization.
    pub org_id: String,
    /// The agent's version.
    pub agent_version: String,
    /// The protocol version it speaks.
    pub protocol: String,
    /// Its refresh schedules, per partnership.
    pub schedules: Vec<AgentSchedule>,
    /// Unix seconds of the last heartbeat.
    pub last_seen: i64,
    /// When a replica reported the agent offline (`agent.offline`), for the
    /// outage since `last_seen`; `None` while it is online or not yet reported.
    pub offline_reported_at: Option<i64>,
}

/// Agent heartbeats.
pub trait AgentStore: Send + Sync + 'static {
    /// Records a heartbeat: replaces the organization's row and clears
    /// `offline_reported_at` (the agent is back).
    fn record_heartbeat(&self, row: &AgentRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// The organization's agent, if it ever sent a heartbeat.
    fn agent(&self, org_id: &str) -> impl Future<Output = StoreResult<Option<AgentRow>>> + Send;
    /// Claims the agents whose last heartbeat is before `seen_before` and
    /// whose outage is not reported yet, marking them reported at `now`.
    /// Each outage is claimed by exactly one caller, whatever the number of
    /// replicas sweeping at once (compare-and-set on `last_seen`), and a
    /// heartbeat landing meanwhile wins.
    fn claim_offline_agents(
        &self,
        seen_before: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<Vec<AgentRow>>> + Send;
}

/// Expands [`AgentStore`] for one backend; invoked in the backend's module
/// (which owns the `pool` field).
macro_rules! impl_agent_store {
    ($store:ty, $row:ty) => {
        const _: () = {
            use sqlx::Row as _;

            use crate::store::agents::{AgentRow, AgentStore};
            use crate::store::{StoreError, StoreResult};

            fn agent_row(r: &$row) -> StoreResult<AgentRow> {
                let schedules: String = r.try_get("schedules")?;
                Ok(AgentRow {
                    org_id: r.try_get("org_id")?,
                    agent_version: r.try_get("agent_version")?,
                    protocol: r.try_get("protocol")?,
                    schedules: serde_json::from_str(&schedules)
                        .map_err(|_| StoreError::Corrupt("schedules"))?,
                    last_seen: r.try_get("last_seen")?,
                    offline_reported_at: r.try_get("offline_reported_at")?,
                })
            }

            impl AgentStore for $store {
                async fn record_heartbeat(&self, a: &AgentRow) -> StoreResult<()> {
                    let schedules = serde_json::to_string(&a.schedules)
                        .map_err(|_| StoreError::Corrupt("schedules"))?;
                    sqlx::query(
                        "INSERT INTO agent_heartbeats (org_id, agent_version, protocol, schedules, last_seen, offline_reported_at) \
                         VALUES ($1, $2, $3, $4, $5, NULL) \
                         ON CONFLICT (org_id) DO UPDATE SET agent_version = excluded.agent_version, \
                         protocol = excluded.protocol, schedules = excluded.schedules, \
                         last_seen = excluded.last_seen, offline_reported_at = NULL",
                    )
                    .bind(&a.org_id)
                    .bind(&a.agent_version)
                    .bind(&a.protocol)
                    .bind(schedules)
                    .bind(a.last_seen)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn agent(&self, org_id: &str) -> StoreResult<Option<AgentRow>> {
                    sqlx::query(
                        "SELECT org_id, agent_version, protocol, schedules, last_seen, \
                         offline_reported_at FROM agent_heartbeats WHERE org_id = $1",
                    )
                    .bind(org_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(agent_row)
                    .transpose()
                }

                async fn claim_offline_agents(
                    &self,
                    seen_before: i64,
                    now: i64,
                ) -> StoreResult<Vec<AgentRow>> {
                    let due = sqlx::query(
                        "SELECT org_id, agent_version, protocol, schedules, last_seen, \
                         offline_reported_at FROM agent_heartbeats \
                         WHERE offline_reported_at IS NULL AND last_seen < $1 \
                         ORDER BY last_seen, org_id LIMIT 100",
                    )
                    .bind(seen_before)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut claimed = Vec::new();
                    for r in &due {
                        let mut a = agent_row(r)?;
                        // Of two replicas reading the same row only one
                        // moves it; a heartbeat since changed last_seen.
                        let n = sqlx::query(
                            "UPDATE agent_heartbeats SET offline_reported_at = $1 \
                             WHERE org_id = $2 AND last_seen = $3 AND offline_reported_at IS NULL",
                        )
                        .bind(now)
                        .bind(&a.org_id)
                        .bind(a.last_seen)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                        if n == 1 {
                            a.offline_reported_at = Some(now);
                            claimed.push(a);
                        }
                    }
                    Ok(claimed)
                }
            }
        };
    };
}

pub(crate) use impl_agent_store;

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Postgres($s) => $e,
        }
    };
}

impl AgentStore for AnyStore {
    async fn record_heartbeat(&self, row: &AgentRow) -> StoreResult<()> {
        dispatch!(self, s => s.record_heartbeat(row).await)
    }
    async fn agent(&self, org_id: &str) -> StoreResult<Option<AgentRow>> {
        dispatch!(self, s => s.agent(org_id).await)
    }
    async fn claim_offline_agents(&self, seen_before: i64, now: i64) -> StoreResult<Vec<AgentRow>> {
        dispatch!(self, s => s.claim_offline_agents(seen_before, now).await)
    }
}
