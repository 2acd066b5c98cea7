//! `GET /v1/partnerships/{id}/audit`: the log both organizations see.

use axum::Json;
use axum::extract::{Path, State};
use cleanroom_core::api::{AuditEntry, Scope};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::{member_partnership, rfc3339};
use crate::store::Store;

/// `GET /v1/partnerships/{id}/audit`, oldest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    caller.require(Scope::View)?;
    let (p, _) = member_partnership(&state, &caller, &id).await?;
    let entries = state.store.audit(&p.id).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntry {
                at: rfc3339(e.at),
                org: e.org_name,
                token_id: e.token_id,
                action: e.action,
                session_id: e.session_id,
                detail: e.detail,
            })
            .collect(),
    ))
}
