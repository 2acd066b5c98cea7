//! `/v1/webhooks`: an organization's signed-webhook endpoints (admin scope).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cleanroom_core::api::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::problem::ProblemType;
use crate::routes::rfc3339;
use crate::store::webhooks::{DeliveryRow, DeliveryState, WebhookRow, WebhookStore};
use crate::webhooks::target::{self, TargetError};
use crate::webhooks::{Event, generate_secret};

/// Longest grace period of a secret rotation (7 days).
pub const MAX_GRACE_SECS: u32 = 7 * 86_400;
/// Grace period when the request names none (24 hours).
pub const DEFAULT_GRACE_SECS: u32 = 86_400;
/// Deliveries listed at most, newest first.
pub const MAX_DELIVERIES_LISTED: u32 = 100;

/// `POST /v1/webhooks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Target, `https://`; the deployment refuses private and loopback addresses.
    pub url: String,
    /// Event types to deliver, e.g. `session.completed`.
    pub events: Vec<String>,
}

/// An endpoint, without its secret.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    /// Id.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Until when the previous secret also signs (RFC 3339), during a rotation.
    pub previous_secret_expires_at: Option<String>,
}

/// An endpoint and its signing secret: shown only in this answer.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    pub webhook: Webhook,
    /// The secret (`whsec_` and 64 hex digits) that signs deliveries.
    pub secret: String,
}

impl std::fmt::Debug for WebhookWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWithSecret")
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/webhooks/{id}/rotate-secret`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// Seconds the previous secret keeps signing (default 86400, at most
    /// 604800; 0 retires it at once).
    #[serde(default)]
    pub grace_seconds: Option<u32>,
}

/// One entry of an endpoint's delivery log.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// Id (the `Cleanroom-Delivery` header).
    pub id: String,
    /// Event type.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the latest attempt, if it got an answer.
    pub last_status: Option<u16>,
    /// Why the latest attempt failed.
    pub last_error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Next attempt (RFC 3339), while pending.
    pub next_attempt_at: Option<String>,
    /// When it was delivered or given up (RFC 3339).
    pub finished_at: Option<String>,
}

fn view(w: &WebhookRow) -> Webhook {
    Webhook {
        id: w.id.clone(),
        url: w.url.clone(),
        events: w.events.clone(),
        created_at: rfc3339(w.created_at),
        previous_secret_expires_at: w
            .previous_expires_at
            .filter(|t| *t > crate::now())
            .map(rfc3339),
    }
}

fn delivery_view(d: DeliveryRow) -> WebhookDelivery {
    WebhookDelivery {
        next_attempt_at: (d.state == DeliveryState::Pending).then(|| rfc3339(d.next_attempt_at)),
        id: d.id,
        event: d.event,
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: rfc3339(d.created_at),
        finished_at: d.finished_at.map(rfc3339),
    }
}

fn target_error(e: TargetError) -> ApiError {
    match e {
        TargetError::Denied => ApiError::invalid(ProblemType::WebhookTargetDenied, e.to_string()),
        TargetError::Invalid(_) | TargetError::Unresolved => {
            ApiError::invalid(ProblemType::InvalidWebhook, e.to_string())
        }
    }
}

/// `POST /v1/webhooks`: registers an endpoint; the secret is in this answer only.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    caller.require(Scope::Admin)?;
    let settings = &state.config.webhooks;
    let mut events: Vec<String> = Vec::new();
    for e in &req.events {
        let Some(ev) = Event::parse(e) else {
            return Err(ApiError::invalid(
                ProblemType::InvalidWebhook,
                format!(
                    "unknown event type; known: {}",
                    Event::ALL
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if !events.iter().any(|x| x == ev.as_str()) {
            events.push(ev.as_str().to_owned());
        }
    }
    if events.is_empty() {
        return Err(ApiError::invalid(
            ProblemType::InvalidWebhook,
            "subscribe to at least one event type",
        ));
    }
    let url = target::parse_url(settings, &req.url).map_err(target_error)?;
    // Checked now so a mistake is reported at once; checked again at every
    // connection, since what the name resolves to can change.
    target::resolve(settings, &url, settings.attempt_timeout)
        .await
        .map_err(target_error)?;
    let existing = state.store.webhooks_of_org(&caller.org.id).await?;
    if existing.len() >= settings.max_per_org {
        return Err(ApiError::invalid(
            ProblemType::InvalidWebhook,
            format!(
                "an organization has at most {} webhook endpoints",
                settings.max_per_org
            ),
        ));
    }
    let secret = generate_secret();
    let row = WebhookRow {
        id: format!("wh_{}", uuid::Uuid::now_v7().simple()),
        org_id: caller.org.id.clone(),
        url: url.to_string(),
        events,
        secret: secret.clone(),
        previous_secret: None,
        previous_expires_at: None,
        created_at: crate::now(),
    };
    state.store.create_webhook(&row).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret {
            webhook: view(&row),
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// `GET /v1/webhooks`: the organization's endpoints, without secrets.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    caller.require(Scope::Admin)?;
    let hooks = state.store.webhooks_of_org(&caller.org.id).await?;
    Ok(Json(hooks.iter().map(view).collect()))
}

/// `DELETE /v1/webhooks/{id}`: the endpoint and its delivery log.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    if state.store.delete_webhook(&caller.org.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `POST /v1/webhooks/{id}/rotate-secret`: a new secret; the previous one
/// keeps signing (a second signature) for the grace period.
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<RotateWebhookSecret>,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    caller.require(Scope::Admin)?;
    let grace = req.grace_seconds.unwrap_or(DEFAULT_GRACE_SECS);
    if grace > MAX_GRACE_SECS {
        return Err(ApiError::invalid(
            ProblemType::InvalidWebhook,
            format!("grace_seconds is at most {MAX_GRACE_SECS}"),
        ));
    }
    let secret = generate_secret();
    let row = state
        .store
        .rotate_webhook_secret(
            &caller.org.id,
            &id,
            &secret,
            crate::now() + i64::from(grace),
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(WebhookWithSecret {
        webhook: view(&row),
        secret: secret.expose().to_owned(),
    }))
}

/// `GET /v1/webhooks/{id}/deliveries`: the delivery log, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    caller.require(Scope::Admin)?;
    let hook = state.store.webhook(&id).await?.ok_or(ApiError::NotFound)?;
    // Another organization's endpoint looks like none.
    if hook.org_id != caller.org.id {
        return Err(ApiError::NotFound);
    }
    let log = state
        .store
        .deliveries(&hook.id, MAX_DELIVERIES_LISTED)
        .await?;
    Ok(Json(log.into_iter().map(delivery_view).collect()))
}
