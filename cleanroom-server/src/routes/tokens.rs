//! `/v1/me` and `/v1/tokens`: the caller's identity and its organization's tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cleanroom_core::api::{
    CreateToken, CreatedToken, Me, Org, PartnershipStatus, Scope, TokenInfo,
};

use crate::AppState;
use crate::auth::{Caller, issue_token};
use crate::error::ApiError;
use crate::problem::ProblemType;
use crate::routes::{audit, rfc3339};
use crate::store::{Store, TokenRow};

fn info(t: &TokenRow) -> TokenInfo {
    TokenInfo {
        id: t.id.clone(),
        label: t.label.clone(),
        scope: t.scope,
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
    }
}

/// `GET /v1/me`.
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        org: Org {
            id: caller.org.id.clone(),
            name: caller.org.name.clone(),
        },
        token: info(&caller.token),
    })
}

/// Token changes are audited on every live partnership of the organization,
/// so both sides see them.
async fn audit_token_change(
    state: &AppState,
    caller: &Caller,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    for p in state.store.list_partnerships(&caller.org.id).await? {
        if p.status != PartnershipStatus::Revoked {
            audit(state, caller, &p.id, action, None, detail.clone()).await?;
        }
    }
    Ok(())
}

/// `POST /v1/tokens`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require(Scope::Admin)?;
    let label = req.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(ApiError::invalid(
            ProblemType::InvalidLabel,
            "a token label is 1 to 100 characters",
        ));
    }
    let expires_at = match req.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(crate::now() + i64::from(d) * 86_400),
        Some(_) => {
            return Err(ApiError::invalid(
                ProblemType::InvalidExpiry,
                "expires_in_days must be between 1 and 3650",
            ));
        }
    };
    let (row, secret) =
        issue_token(&state.store, &caller.org.id, label, req.scope, expires_at).await?;
    audit_token_change(
        &state,
        &caller,
        "token.created",
        serde_json::json!({ "token_id": row.id, "scope": req.scope }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: info(&row),
            token: secret.expose().to_owned(),
        }),
    ))
}

/// `GET /v1/tokens`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    caller.require(Scope::Admin)?;
    let tokens = state.store.list_tokens(&caller.org.id).await?;
    Ok(Json(tokens.iter().map(info).collect()))
}

/// `DELETE /v1/tokens/{id}`.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    state
        .store
        .revoke_token(&caller.org.id, &id, crate::now())
        .await?;
    audit_token_change(
        &state,
        &caller,
        "token.revoked",
        serde_json::json!({ "token_id": id }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
