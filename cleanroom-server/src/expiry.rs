//! Session expiry: a session that has not reached `computing` by its
//! `expires_at` is cancelled (reason `expired`) and its blinded sets and
//! tokens are deleted.
//!
//! Two paths lead there, both through [`Store::expire_session`], which
//! re-checks state and expiry under the session's row lock, so any number
//! of replicas may run them at once and each expired session is cancelled,
//! announced and audited exactly once:
//!
//! - every replica's [`sweep`] looks for expired sessions each
//!   `compute.sweep_interval`;
//! - a request that reads an expired session first expires it
//!   ([`expire_if_due`]), so the API never shows an open session past its
//!   expiry, whatever the sweep's timing.

use cleanroom_core::api::SessionState;

use crate::AppState;
use crate::metrics::Metrics;
use crate::store::{AuditRow, SessionRow, Store, StoreResult};

/// The deployment's session expiry, in seconds, as the store takes it.
fn default_expiry(state: &AppState) -> i64 {
    i64::try_from(state.config.guardrails.session_expiry_secs).unwrap_or(i64::MAX)
}

/// When an open session expires (its own expiry, or for a session from
/// before session expiry, its creation plus the deployment's expiry).
pub fn expires_at(state: &AppState, s: &SessionRow) -> i64 {
    s.effective_expiry(default_expiry(state))
}

/// Cancels `s` if it is awaiting uploads and its expiry has passed, and
/// returns the session as it is now.
pub async fn expire_if_due(state: &AppState, s: SessionRow) -> StoreResult<SessionRow> {
    let open = matches!(
        s.state,
        SessionState::AwaitingBlinded | SessionState::AwaitingTokens
    );
    if !open || expires_at(state, &s) > crate::now() {
        return Ok(s);
    }
    match expire(state, &s.id).await? {
        Some(cancelled) => Ok(cancelled),
        // Someone else acted first (another replica's sweep, a commit that
        // started the computation): read what it left.
        None => Ok(state.store.session(&s.id).await?.unwrap_or(s)),
    }
}

/// Expires one session if it is due; announces and audits it when this call
/// cancelled it.
async fn expire(state: &AppState, id: &str) -> StoreResult<Option<SessionRow>> {
    let now = crate::now();
    let Some(s) = state
        .store
        .expire_session(id, now, default_expiry(state))
        .await?
    else {
        return Ok(None);
    };
    // Wakes this replica's long polls and announces it to the others.
    crate::events::session_changed(state, &s.id).await;
    Metrics::inc(&state.metrics.sessions_cancelled);
    crate::webhooks::emit_session(
        state,
        crate::webhooks::Event::SessionCancelled,
        &s.partnership_id,
        &s.id,
        s.state,
    )
    .await;
    state
        .store
        .append_audit(&AuditRow {
            partnership_id: s.partnership_id.clone(),
            at: now,
            org_name: "cleanroom-server".into(),
            token_id: "-".into(),
            action: "session.expired".into(),
            session_id: Some(s.id.clone()),
            detail: serde_json::json!({
                "expires_at": expires_at(state, &s),
                "blinded_data_deleted": true,
            }),
        })
        .await?;
    tracing::info!("session expired; its blinded data and tokens are deleted");
    Ok(Some(s))
}

/// Expires every session that is due now; returns how many this call cancelled.
pub async fn expire_due(state: &AppState) -> StoreResult<usize> {
    let mut n = 0;
    loop {
        let due = state
            .store
            .expired_sessions(crate::now(), default_expiry(state))
            .await?;
        let batch = due.len();
        for id in due {
            n += usize::from(expire(state, &id).await?.is_some());
        }
        // Fewer than a full page: nothing else is due.
        if batch < 100 {
            return Ok(n);
        }
    }
}

/// Every `compute.sweep_interval`, cancels the sessions whose expiry passed.
/// Runs until aborted.
pub async fn sweep(state: AppState) {
    let mut tick = tokio::time::interval(state.config.compute.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = expire_due(&state).await {
            tracing::warn!(error = %e, "expiring sessions failed");
        }
    }
}
