//! The dashboard wired into this server: sign-in checks tokens with the
//! API's own authentication, and the API accepts the sign-in cookie.

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;

use super::{Dashboard, VerifiedToken, session_from_cookie};
use crate::auth::{Caller, authenticate_secret};
use crate::error::ApiError;
use crate::store::Store as _;
use crate::{AppState, now};

/// The dashboard routes for this server's state, to merge into its router.
pub fn routes(state: &AppState) -> Router<AppState> {
    let s = state.clone();
    let verifier = move |token: String| {
        let s = s.clone();
        async move {
            match authenticate_secret(&s, &token).await {
                Ok(caller) => Some(VerifiedToken {
                    org_id: caller.org.id,
                    token_id: caller.token.id,
                    scope: caller.token.scope,
                }),
                Err(ApiError::Unauthorized | ApiError::TokenExpired) => None,
                Err(e) => {
                    // The person sees "not accepted"; the operator sees why.
                    tracing::warn!(error = %e, "dashboard sign-in could not check the token");
                    None
                }
            }
        }
    };
    let dashboard = Dashboard::new(state.dashboard.clone(), Arc::new(verifier))
        .secure_cookies(state.config.tls.is_some());
    super::router(dashboard)
}

/// The API caller a dashboard cookie stands for, when a request carries no
/// `Authorization` header.
///
/// The token the person signed in with is looked up again on every request,
/// so revoking or expiring it ends the sign-in at once. The caller's scope is
/// the sign-in's (`view`), never the token's own: handlers that need
/// `upload` or `admin` answer 403, which is what keeps cookie-authenticated
/// requests from changing anything.
pub async fn caller_from_cookie(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let identity = session_from_cookie(headers, &state.dashboard)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut token = state
        .store
        .token_by_id(&identity.token_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if token.revoked_at.is_some() || token.org_id != identity.org_id {
        state.dashboard.remove_token(&identity.token_id).await?;
        return Err(ApiError::Unauthorized);
    }
    if token.expires_at.is_some_and(|e| e <= now()) {
        state.dashboard.remove_token(&identity.token_id).await?;
        return Err(ApiError::TokenExpired);
    }
    let org = state
        .store
        .org_by_id(&token.org_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    token.scope = identity.scope;
    Ok(Caller { org, token })
}
