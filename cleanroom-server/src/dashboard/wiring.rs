//! The dashboard wired into this server: sign-in checks tokens with the
//! API's own authentication, the API accepts the sign-in cookie (reading
//! only), and the one state-changing call a cookie may make, "Refresh now"
//! (`POST /dashboard/partnerships/{id}/refresh`), which needs the sign-in's
//! CSRF token in `X-CSRF-Token` and a token of `upload` scope or above.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use cleanroom_core::api::{Scope, Session};

use super::session::{DashboardIdentity, SESSION_COOKIE, cookie_value};
use super::{Dashboard, VerifiedToken, session_from_cookie};
use crate::auth::{Caller, authenticate_secret};
use crate::error::ApiError;
use crate::store::Store as _;
use crate::{AppState, now};

/// The header that carries the sign-in's CSRF token on "Refresh now".
pub const CSRF_HEADER: &str = "x-csrf-token";

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
        .route("/dashboard/sign-in", get(sign_in_info))
        .route("/dashboard/partnerships/{id}/refresh", post(refresh_now))
}

/// `GET /dashboard/sign-in`: what the signed-in token may do from the
/// dashboard, so the page can enable "Refresh now" or say why not.
#[derive(Debug, serde::Serialize)]
pub struct SignInInfo {
    /// The scope of the token the person signed in with.
    pub token_scope: Scope,
    /// Whether "Refresh now" is allowed (token scope `upload` or `admin`).
    pub can_request_sessions: bool,
}

async fn sign_in_info(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SignInInfo>, ApiError> {
    let (caller, _) = signed_in_with_token_scope(&state, &headers).await?;
    Ok(Json(SignInInfo {
        token_scope: caller.token.scope,
        can_request_sessions: caller.token.scope.allows(Scope::Upload),
    }))
}

/// `POST /dashboard/partnerships/{id}/refresh`: "Refresh now" creates a
/// session on the partnership, exactly as `POST /v1/partnerships/{id}/sessions`
/// (budgets, `409 session-open`, audit, `session.requested`); both sides'
/// agents then run it.
///
/// The only state-changing call a cookie can make, so it needs three things:
/// the sign-in cookie (SameSite=Strict), the sign-in's synchronizer CSRF
/// token in `X-CSRF-Token` (a header, which a cross-site form cannot set and
/// a cross-site script cannot send without a CORS preflight this server
/// never grants), and a signed-in token of `upload` scope or above.
/// Anything missing is `403 forbidden` as problem+json.
async fn refresh_now(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let (caller, csrf) = signed_in_with_token_scope(&state, &headers).await?;
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !super::pages::csrf_ok(Some(&csrf), presented) {
        return Err(ApiError::Forbidden(
            "the request did not carry this sign-in's CSRF token: use the dashboard's Refresh now button"
                .into(),
        ));
    }
    if !caller.token.scope.allows(Scope::Upload) {
        return Err(ApiError::Forbidden(
            "you signed in with a view token: requesting a session needs a token with the upload or admin scope"
                .into(),
        ));
    }
    crate::routes::sessions::create(State(state), caller, Path(id)).await
}

/// The live sign-in of a request's cookie, as the API caller it stands for
/// with its token's own scope (not capped at `view`), and its CSRF token.
async fn signed_in_with_token_scope(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Caller, String), ApiError> {
    let cookie = cookie_value(headers, SESSION_COOKIE).ok_or(ApiError::Unauthorized)?;
    let (identity, csrf) = state
        .dashboard
        .lookup(cookie)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok((caller_of(state, &identity).await?, csrf))
}

/// The caller a sign-in stands for, with its token's own scope. The token is
/// looked up again, so revoking or expiring it ends the sign-in at once.
async fn caller_of(state: &AppState, identity: &DashboardIdentity) -> Result<Caller, ApiError> {
    let token = state
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
    Ok(Caller { org, token })
}

/// The API caller a dashboard cookie stands for, when a request carries no
/// `Authorization` header.
///
/// The token the person signed in with is looked up again on every request,
/// so revoking or expiring it ends the sign-in at once. The caller's scope is
/// the sign-in's (`view`), never the token's own: handlers that need
/// `upload` or `admin` answer 403, which is what keeps cookie-authenticated
/// requests to the API from changing anything ("Refresh now" is a dashboard
/// route of its own, with a CSRF token).
pub async fn caller_from_cookie(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let identity = session_from_cookie(headers, &state.dashboard)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut caller = caller_of(state, &identity).await?;
    caller.token.scope = identity.scope;
    Ok(caller)
}
