//! Agents: the program each organization runs next to its CRM to take part
//! in sessions unattended. It reports with `POST /v1/agents/heartbeat`; the
//! server keeps the last report per organization (versions, refresh
//! schedules, time; never account data), shows both sides' agents per
//! partnership (`GET /v1/partnerships/{id}/agents`), and sends
//! `agent.offline` once when an agent stops reporting.
//!
//! The offline sweep runs on every replica; [`AgentStore::claim_offline_agents`]
//! hands each outage to exactly one of them, so the event is sent once.

use std::time::Duration;

use cleanroom_core::api::{AgentScheduleStatus, AgentStatus, PartnershipStatus};

use crate::AppState;
use crate::store::agents::{AgentRow, AgentStore};
use crate::store::{Store, StoreResult};

/// The offline threshold in seconds.
fn offline_after_secs(state: &AppState) -> i64 {
    i64::try_from(state.config.agent_offline_after.as_secs()).unwrap_or(i64::MAX)
}

/// Whether an agent last seen at `last_seen` is online at `now`.
pub fn is_online(state: &AppState, last_seen: i64, now: i64) -> bool {
    now.saturating_sub(last_seen) <= offline_after_secs(state)
}

/// The API view of an agent for one partnership.
pub fn status(state: &AppState, a: &AgentRow, partnership_id: &str, now: i64) -> AgentStatus {
    AgentStatus {
        online: is_online(state, a.last_seen, now),
        last_seen: a.last_seen,
        agent_version: a.agent_version.clone(),
        protocol: a.protocol.clone(),
        schedule: a
            .schedules
            .iter()
            .find(|s| s.partnership_id == partnership_id)
            .map(|s| AgentScheduleStatus {
                refresh: s.refresh.clone(),
                next_run_at: s.next_run_at,
            }),
    }
}

/// Reports every agent that went offline since the last sweep: one
/// `agent.offline` per outage, to the agent's organization and to the
/// organizations it has an active partnership with. Returns how many.
pub async fn report_offline(state: &AppState) -> StoreResult<usize> {
    let now = crate::now();
    let seen_before = now.saturating_sub(offline_after_secs(state));
    let mut n = 0;
    loop {
        let claimed = state.store.claim_offline_agents(seen_before, now).await?;
        let batch = claimed.len();
        for a in claimed {
            let mut orgs = vec![a.org_id.clone()];
            for p in state.store.list_partnerships(&a.org_id).await? {
                if p.status != PartnershipStatus::Active {
                    continue;
                }
                for o in [p.vendor_org_id, p.partner_org_id] {
                    if !orgs.contains(&o) {
                        orgs.push(o);
                    }
                }
            }
            let org_name = state
                .store
                .org_by_id(&a.org_id)
                .await?
                .map(|o| o.name)
                .unwrap_or_default();
            let refs: Vec<&str> = orgs.iter().map(String::as_str).collect();
            crate::webhooks::emit(
                state,
                crate::webhooks::Event::AgentOffline,
                &refs,
                serde_json::json!({
                    "org_id": a.org_id,
                    "org_name": org_name,
                    "last_seen": crate::routes::rfc3339(a.last_seen),
                    "agent_version": a.agent_version,
                }),
            )
            .await;
            tracing::info!("an organization's agent went offline");
            n += 1;
        }
        // Fewer than a full page: nothing else is due.
        if batch < 100 {
            return Ok(n);
        }
    }
}

/// How often the offline sweep runs: a quarter of the threshold, between 1
/// and 30 seconds.
pub fn sweep_interval(state: &AppState) -> Duration {
    (state.config.agent_offline_after / 4).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Reports offline agents every [`sweep_interval`]. Runs until aborted.
pub async fn sweep(state: AppState) {
    let mut tick = tokio::time::interval(sweep_interval(&state));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = report_offline(&state).await {
            tracing::warn!(error = %e, "reporting offline agents failed");
        }
    }
}
