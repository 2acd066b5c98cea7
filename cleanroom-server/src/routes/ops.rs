//! `/healthz`, `/readyz`, `/metrics`, `/v1/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::problem_response;
use crate::problem::ProblemType;
use crate::store::Store;

/// Liveness.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    // A load balancer's probe wants an answer within a second, not the pool's
    // acquire timeout.
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), state.store.ping()).await;
    match ping.unwrap_or(Err(crate::store::StoreError::Database(
        sqlx::Error::PoolTimedOut,
    ))) {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database ping failed");
            problem_response(
                ProblemType::NotReady,
                Some("the database is unreachable".into()),
                None,
            )
        }
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /v1/limits`: the guardrails a client checks its upload against
/// before it creates or joins a session.
pub async fn limits(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
) -> Result<Json<cleanroom_core::api::Limits>, crate::error::ApiError> {
    caller.require(cleanroom_core::api::Scope::View)?;
    Ok(Json(state.config.guardrails.limits()))
}

/// The OpenAPI document.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
