//! `/v1/partnerships`: list, agree on a policy, revoke (partners are
//! invited with codes: `invitations`).

use axum::Json;
use axum::extract::{Path, State};
use cleanroom_core::api::{
    CountsMode, Partnership, PartnershipStatus, PendingPolicy, ProposePolicy, Scope, SharingPolicy,
};

use crate::AppState;
use crate::auth::Caller;
use crate::config::Guardrails;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::problem::ProblemType;
use crate::routes::{audit, member_partnership, partnership_view};
use crate::store::{Store, StoreError};

/// Fills in the deployment's default counts mode (noisy, at the default ε)
/// and checks an ε named explicitly is within the deployment's bounds.
pub(crate) fn complete_policy(
    state: &AppState,
    mut policy: SharingPolicy,
) -> Result<SharingPolicy, ApiError> {
    let g = &state.config.guardrails;
    let mode = *policy.counts.get_or_insert(CountsMode::Noisy {
        epsilon: g.epsilon_default,
    });
    check_epsilon(g, mode, "")?;
    check_session_expiry(g, &policy)?;
    Ok(policy)
}

/// A policy's session expiry may shorten the deployment's, never lengthen it.
fn check_session_expiry(g: &Guardrails, policy: &SharingPolicy) -> Result<(), ApiError> {
    match policy.session_expiry_secs {
        Some(secs) if secs == 0 || secs > g.session_expiry_secs => Err(ApiError::invalid(
            ProblemType::InvalidSessionExpiry,
            format!(
                "a policy's session expiry is 1 to {} seconds, the longest this server allows",
                g.session_expiry_secs
            ),
        )),
        _ => Ok(()),
    }
}

/// A noisy policy's ε must lie within the deployment's bounds (which an
/// operator may narrow after a partnership agreed on its policy: `hint`
/// then says what to do).
pub(crate) fn check_epsilon(g: &Guardrails, mode: CountsMode, hint: &str) -> Result<(), ApiError> {
    match mode {
        CountsMode::Noisy { epsilon } if epsilon < g.epsilon_min || epsilon > g.epsilon_max => {
            Err(ApiError::invalid(
                ProblemType::EpsilonOutOfRange,
                format!(
                    "epsilon {epsilon} is outside the {} to {} this server allows{hint}",
                    g.epsilon_min, g.epsilon_max
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// `GET /v1/partnerships`: the caller's own partnerships.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Partnership>>, ApiError> {
    caller.require(Scope::View)?;
    let mut out = Vec::new();
    for p in state.store.list_partnerships(&caller.org.id).await? {
        if let Some(role) = p.role_of(&caller.org.id) {
            out.push(partnership_view(&state, &p, role).await?);
        }
    }
    Ok(Json(out))
}

/// `GET /v1/partnerships/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Partnership>, ApiError> {
    caller.require(Scope::View)?;
    let (p, role) = member_partnership(&state, &caller, &id).await?;
    Ok(Json(partnership_view(&state, &p, role).await?))
}

/// `POST /v1/partnerships/{id}/accept`: the invitee agrees to the proposed
/// policy of a partnership invited by name, before invitation codes.
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Partnership>, ApiError> {
    caller.require(Scope::Admin)?;
    let (_, role) = member_partnership(&state, &caller, &id).await?;
    let p = state
        .store
        .update_partnership(&id, &mut |p| {
            if p.status != PartnershipStatus::Invited {
                return Err(StoreError::conflict(
                    ProblemType::PartnershipState,
                    "only an invited partnership can be accepted",
                ));
            }
            if p.invited_by == role {
                return Err(StoreError::conflict(
                    ProblemType::PartnershipState,
                    "only the invited organization can accept",
                ));
            }
            p.status = PartnershipStatus::Active;
            Ok(())
        })
        .await?;
    crate::webhooks::emit_partnership(&state, crate::webhooks::Event::PartnershipAccepted, &p)
        .await;
    audit(
        &state,
        &caller,
        &p.id,
        "partnership.accepted",
        None,
        serde_json::json!({ "policy": p.policy }),
    )
    .await?;
    Ok(Json(partnership_view(&state, &p, role).await?))
}

/// `PUT /v1/partnerships/{id}/policy`: takes effect once both sides put the same policy.
pub async fn policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(mut req): Json<ProposePolicy>,
) -> Result<Json<Partnership>, ApiError> {
    caller.require(Scope::Admin)?;
    req.policy = complete_policy(&state, req.policy)?;
    let (_, role) = member_partnership(&state, &caller, &id).await?;
    let mut agreed = false;
    let p = state
        .store
        .update_partnership(&id, &mut |p| {
            agreed = false;
            if p.status != PartnershipStatus::Active {
                return Err(StoreError::conflict(
                    ProblemType::PartnershipState,
                    "the policy of a partnership can change only while it is active",
                ));
            }
            match p.pending {
                Some(pending) if pending.proposed_by != role && pending.policy == req.policy => {
                    p.policy = req.policy;
                    p.pending = None;
                    agreed = true;
                }
                _ if req.policy == p.policy => p.pending = None,
                _ => {
                    p.pending = Some(PendingPolicy {
                        policy: req.policy,
                        proposed_by: role,
                    })
                }
            }
            Ok(())
        })
        .await?;
    let action = if agreed {
        "policy.agreed"
    } else {
        "policy.proposed"
    };
    audit(
        &state,
        &caller,
        &p.id,
        action,
        None,
        serde_json::json!({ "policy": req.policy }),
    )
    .await?;
    Ok(Json(partnership_view(&state, &p, role).await?))
}

/// `POST /v1/partnerships/{id}/revoke`: cancels open sessions and deletes their data.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Partnership>, ApiError> {
    caller.require(Scope::Admin)?;
    let (_, role) = member_partnership(&state, &caller, &id).await?;
    let (p, cancelled) = state.store.revoke_partnership(&id, crate::now()).await?;
    for sid in &cancelled {
        crate::events::session_changed(&state, sid).await;
        crate::webhooks::emit_session(
            &state,
            crate::webhooks::Event::SessionCancelled,
            &p.id,
            sid,
            cleanroom_core::api::SessionState::Cancelled,
        )
        .await;
    }
    for _ in &cancelled {
        Metrics::inc(&state.metrics.sessions_cancelled);
    }
    audit(
        &state,
        &caller,
        &p.id,
        "partnership.revoked",
        None,
        serde_json::json!({ "cancelled_sessions": cancelled }),
    )
    .await?;
    Ok(Json(partnership_view(&state, &p, role).await?))
}
