//! `/v1/agents/heartbeat` and `/v1/partnerships/{id}/agents`: each
//! organization's agent reports, and both sides of a partnership see each
//! other's agents (versions, schedule, liveness; never account data).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cleanroom_core::api::{AgentHeartbeat, PartnershipAgents, Scope};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::problem::ProblemType;
use crate::routes::member_partnership;
use crate::store::Store;
use crate::store::agents::{AgentRow, AgentStore};

/// Longest `agent_version`, `protocol` and schedule `refresh` text.
pub const MAX_TEXT_CHARS: usize = 64;
/// Most schedules one heartbeat may carry.
pub const MAX_SCHEDULES: usize = 1000;

fn check_text(what: &str, s: &str) -> Result<(), ApiError> {
    let n = s.chars().count();
    if n == 0 || n > MAX_TEXT_CHARS || s.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            ProblemType::Unprocessable,
            format!("{what} must be 1 to {MAX_TEXT_CHARS} characters without control characters"),
        ));
    }
    Ok(())
}

/// `POST /v1/agents/heartbeat` (upload scope): records the organization's
/// agent as alive now, with its versions and schedules. 204.
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Json(hb): Json<AgentHeartbeat>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Upload)?;
    check_text("agent_version", &hb.agent_version)?;
    check_text("protocol", &hb.protocol)?;
    if hb.schedules.len() > MAX_SCHEDULES {
        return Err(ApiError::invalid(
            ProblemType::Unprocessable,
            format!("a heartbeat carries at most {MAX_SCHEDULES} schedules"),
        ));
    }
    let own: Vec<String> = state
        .store
        .list_partnerships(&caller.org.id)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    for (i, s) in hb.schedules.iter().enumerate() {
        check_text("a schedule's refresh", &s.refresh)?;
        if !own.contains(&s.partnership_id) {
            return Err(ApiError::invalid(
                ProblemType::Unprocessable,
                format!("schedule {i} names a partnership that is not one of your organization's"),
            ));
        }
        if hb.schedules[..i]
            .iter()
            .any(|o| o.partnership_id == s.partnership_id)
        {
            return Err(ApiError::invalid(
                ProblemType::Unprocessable,
                format!("schedule {i} names a partnership an earlier schedule names"),
            ));
        }
    }
    state
        .store
        .record_heartbeat(&AgentRow {
            org_id: caller.org.id.clone(),
            agent_version: hb.agent_version,
            protocol: hb.protocol,
            schedules: hb.schedules,
            last_seen: crate::now(),
            offline_reported_at: None,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/partnerships/{id}/agents` (view scope): both sides' agents.
pub async fn partnership_agents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PartnershipAgents>, ApiError> {
    caller.require(Scope::View)?;
    let (p, _) = member_partnership(&state, &caller, &id).await?;
    let other = if p.vendor_org_id == caller.org.id {
        &p.partner_org_id
    } else {
        &p.vendor_org_id
    };
    let now = crate::now();
    let view = |a: Option<AgentRow>| a.map(|a| crate::agents::status(&state, &a, &p.id, now));
    Ok(Json(PartnershipAgents {
        own: view(state.store.agent(&caller.org.id).await?),
        partner: view(state.store.agent(other).await?),
    }))
}
