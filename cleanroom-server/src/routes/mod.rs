//! The HTTP API under `/v1` plus operational endpoints, and the middleware
//! that turns every error into `application/problem+json`.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use cleanroom_core::api::{self, PartyProgress, Role, SessionSummary, UploadState};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, PROBLEM_JSON, problem_response};
use crate::problem::ProblemType;
use crate::store::{AuditRow, ChunkKind, PartnershipRow, PartyRow, SessionRow, Store};

pub mod agents;
pub mod audit;
pub mod invitations;
pub mod ops;
pub mod partnerships;
pub mod results;
pub mod sessions;
pub mod tokens;
pub mod webhooks;

/// Builds the full application router.
pub fn router(state: AppState) -> Router {
    let chunk_limit = DefaultBodyLimit::max(state.config.max_chunk_bytes);
    let v1 = Router::new()
        .route("/me", get(tokens::me))
        .route("/limits", get(ops::limits))
        .route("/tokens", post(tokens::create).get(tokens::list))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route(
            "/invitations",
            post(invitations::create).get(invitations::list),
        )
        .route("/invitations/preview", post(invitations::preview))
        .route("/invitations/accept", post(invitations::accept))
        .route("/invitations/{id}/cancel", post(invitations::cancel))
        .route("/partnerships", get(partnerships::list))
        .route("/partnerships/{id}", get(partnerships::get))
        .route("/partnerships/{id}/accept", post(partnerships::accept))
        .route("/partnerships/{id}/policy", put(partnerships::policy))
        .route("/partnerships/{id}/revoke", post(partnerships::revoke))
        .route("/partnerships/{id}/audit", get(audit::list))
        .route(
            "/partnerships/{id}/sessions",
            post(sessions::create).get(sessions::list),
        )
        .route("/partnerships/{id}/agents", get(agents::partnership_agents))
        .route("/agents/heartbeat", post(agents::heartbeat))
        .route("/sessions/{id}", get(sessions::get))
        .route("/sessions/{id}/cancel", post(sessions::cancel))
        .route(
            "/sessions/{id}/blinded/commit",
            post(sessions::commit_blinded),
        )
        .route(
            "/sessions/{id}/blinded/{seq}",
            put(sessions::put_blinded).layer(chunk_limit),
        )
        .route(
            "/sessions/{id}/counterpart/points",
            get(sessions::counterpart_points),
        )
        .route(
            "/sessions/{id}/tokens/commit",
            post(sessions::commit_tokens),
        )
        .route(
            "/sessions/{id}/tokens/{seq}",
            put(sessions::put_tokens).layer(chunk_limit),
        )
        .route("/sessions/{id}/results", get(results::results))
        .route("/sessions/{id}/overlaps", get(results::overlaps))
        .route("/webhooks", post(webhooks::create).get(webhooks::list))
        .route("/webhooks/{id}", delete(webhooks::delete))
        .route(
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/openapi.json", get(ops::openapi))
        // API answers carry organization data: no cache (browser, proxy) may keep them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(crate::dashboard::routes(&state))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            problems_and_metrics,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth_limit::limit_failed_auth,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Route templates and request ids only: never raw paths, bodies or headers.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            tracing::info_span!("request", method = %req.method(), route, request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Outermost, so the limit applies to what the client sent, before
        // any other layer reads a header.
        .layer(middleware::from_fn(limit_headers))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::NotFound
}

/// Counts requests and rewrites any error response that is not already
/// problem+json (axum's own 400/404/405/413/415/422 rejections) into one.
async fn problems_and_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = as_problem(next.run(req).await).await;
    state
        .metrics
        .request(&method, &route, resp.status().as_u16());
    resp
}

async fn as_problem(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let media = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    // Dashboard pages answer errors (bad sign-in, not found) as HTML for people.
    if media.starts_with(PROBLEM_JSON.as_bytes()) || media.starts_with(b"text/html") {
        return resp;
    }
    let is_text = media.starts_with(b"text/plain");
    let (_, body) = resp.into_parts();
    let detail = if is_text && status.is_client_error() {
        to_bytes(body, 2048)
            .await
            .ok()
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .chars()
                    .take(300)
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty())
    } else {
        None
    };
    problem_response(ProblemType::for_status(status), detail, None)
}

/// At most this many bytes of header fields in a request, each field
/// counting its name, its value and 4 bytes (`: ` and CRLF, as in HTTP/1.1).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// At most this many header fields in a request. Below hyper's own
/// HTTP/1.1 limit of 100 fields, which it answers with a bare 431 before any
/// middleware runs: up to there a client gets a problem it can read.
pub const MAX_HEADER_FIELDS: usize = 64;

/// 431 `headers-too-large` above [`MAX_HEADER_BYTES`] or [`MAX_HEADER_FIELDS`].
async fn limit_headers(req: Request, next: Next) -> Response {
    let fields = req.headers().len();
    let bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if fields > MAX_HEADER_FIELDS || bytes > MAX_HEADER_BYTES {
        return problem_response(
            ProblemType::HeadersTooLarge,
            Some(format!(
                "the request has {fields} header fields of {bytes} bytes; \
                 this server takes at most {MAX_HEADER_FIELDS} fields and {MAX_HEADER_BYTES} bytes"
            )),
            None,
        );
    }
    next.run(req).await
}

/// RFC 3339 of unix seconds.
pub(crate) fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The partnership if the caller's organization is part of it (else 404).
pub(crate) async fn member_partnership(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(PartnershipRow, Role), ApiError> {
    let p = state
        .store
        .partnership(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let role = p.role_of(&caller.org.id).ok_or(ApiError::NotFound)?;
    Ok((p, role))
}

/// The session if the caller's organization is part of its partnership (else 404).
pub(crate) async fn member_session(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(SessionRow, PartnershipRow, Role), ApiError> {
    let s = state.store.session(id).await?.ok_or(ApiError::NotFound)?;
    let (p, role) = member_partnership(state, caller, &s.partnership_id).await?;
    // Past its expiry a session is cancelled, whether or not a sweep got to it yet.
    let s = crate::expiry::expire_if_due(state, s).await?;
    Ok((s, p, role))
}

/// Appends an audit entry for the caller's action.
pub(crate) async fn audit(
    state: &AppState,
    caller: &Caller,
    partnership_id: &str,
    action: &str,
    session_id: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    state
        .store
        .append_audit(&AuditRow {
            partnership_id: partnership_id.to_owned(),
            at: crate::now(),
            org_name: caller.org.name.clone(),
            token_id: caller.token.id.clone(),
            action: action.to_owned(),
            session_id: session_id.map(str::to_owned),
            detail,
        })
        .await?;
    Ok(())
}

async fn progress(
    state: &AppState,
    s: &SessionRow,
    party: PartyRow,
) -> Result<PartyProgress, ApiError> {
    let blinded_chunks: Vec<u32> = state
        .store
        .chunks(ChunkKind::Blinded, &s.id, party.role)
        .await?
        .iter()
        .map(|c| c.seq)
        .collect();
    let token_chunks: Vec<u32> = state
        .store
        .chunks(ChunkKind::Tokens, &s.id, party.role)
        .await?
        .iter()
        .map(|c| c.seq)
        .collect();
    let upload = |committed: bool, chunks: &[u32]| {
        if committed {
            UploadState::Committed
        } else if chunks.is_empty() {
            UploadState::Pending
        } else {
            UploadState::Uploading
        }
    };
    Ok(PartyProgress {
        populations: party.populations,
        records: party.records,
        blinded: upload(party.blinded_committed, &blinded_chunks),
        tokens: upload(party.tokens_committed, &token_chunks),
        blinded_chunks,
        token_chunks,
    })
}

/// The API view of a session.
pub(crate) async fn session_view(
    state: &AppState,
    s: &SessionRow,
    my_role: Role,
) -> Result<api::Session, ApiError> {
    let [vendor, partner] = state.store.parties(&s.id).await?;
    Ok(api::Session {
        id: s.id.clone(),
        partnership_id: s.partnership_id.clone(),
        state: s.state,
        protocol_version: s.protocol_version.clone(),
        created_by: s.created_by,
        created_at: rfc3339(s.created_at),
        finished_at: s.finished_at.map(rfc3339),
        expires_at: Some(rfc3339(crate::expiry::expires_at(state, s))),
        cancel_reason: s.cancel_reason,
        vendor: progress(state, s, vendor).await?,
        partner: progress(state, s, partner).await?,
        my_role,
    })
}

/// The API view of an organization.
pub(crate) async fn org_view(state: &AppState, id: &str) -> Result<api::Org, ApiError> {
    let o = state
        .store
        .org_by_id(id)
        .await?
        .ok_or_else(|| ApiError::Internal("dangling organization reference".into()))?;
    Ok(api::Org {
        id: o.id,
        name: o.name,
    })
}

/// The API view of a partnership.
pub(crate) async fn partnership_view(
    state: &AppState,
    p: &PartnershipRow,
    my_role: Role,
) -> Result<api::Partnership, ApiError> {
    let last_session = state
        .store
        .list_sessions(&p.id)
        .await?
        .into_iter()
        .next()
        .map(|s| SessionSummary {
            id: s.id,
            state: s.state,
            created_at: rfc3339(s.created_at),
        });
    Ok(api::Partnership {
        id: p.id.clone(),
        vendor: org_view(state, &p.vendor_org_id).await?,
        partner: org_view(state, &p.partner_org_id).await?,
        my_role,
        status: p.status,
        policy: p.policy,
        pending_policy: p.pending,
        created_at: rfc3339(p.created_at),
        last_session,
        budget: Some(pair_budget(state, p).await?),
    })
}

/// What the partnership's two organizations have left of their budgets.
pub(crate) async fn pair_budget(
    state: &AppState,
    p: &PartnershipRow,
) -> Result<api::PairBudget, ApiError> {
    let g = &state.config.guardrails;
    let now = crate::now();
    let window = i64::from(g.epsilon_window_days) * 86_400;
    let usage = state
        .store
        .pair_usage(
            &p.vendor_org_id,
            &p.partner_org_id,
            now - 86_400,
            now - window,
        )
        .await?;
    Ok(api::PairBudget {
        sessions_used: usage.sessions_last_day,
        sessions_per_day: g.sessions_per_day,
        epsilon_spent: api::Epsilon(usage.epsilon_spent()),
        epsilon_budget: g.epsilon_budget,
        epsilon_window_days: g.epsilon_window_days,
        next_refresh_at: usage
            .epsilon_spending
            .first()
            .map(|(at, _)| rfc3339(at + window)),
    })
}

/// A response with a binary body.
pub(crate) fn octet_stream(body: Body, records: u64) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&records.to_string()) {
        h.insert("x-record-count", v);
    }
    *resp.status_mut() = StatusCode::OK;
    resp
}

/// Upper bound on how long a graceful shutdown waits for open connections.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
