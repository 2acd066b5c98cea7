//! Signed webhooks: events an organization subscribes an HTTPS endpoint to,
//! delivered by a background task with retries, signed with HMAC-SHA256 over
//! `<timestamp>.<body>` (PROTOCOL.md, "Webhooks").
//!
//! Bodies carry ids and states only, never account data. Targets are checked
//! against the deployment's allow/deny list at registration and again, on
//! every resolved address, at every connection ([`target`]).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use rand::Rng as _;
use serde::Deserialize;
use sha2::Sha256;

use crate::AppState;
use crate::store::webhooks::{DeliveryRow, DeliveryState, WebhookSecret, WebhookStore};

pub mod deliver;
pub mod target;

pub use target::Cidr;

/// Header carrying the unix-seconds timestamp that is signed with the body.
pub const TIMESTAMP_HEADER: &str = "Cleanroom-Timestamp";
/// Header carrying `v1=<hex>` signatures, comma-separated.
pub const SIGNATURE_HEADER: &str = "Cleanroom-Signature";
/// Header carrying the event type.
pub const EVENT_HEADER: &str = "Cleanroom-Event";
/// Header carrying the delivery id (the same on every retry of a delivery).
pub const DELIVERY_HEADER: &str = "Cleanroom-Delivery";
/// Receivers reject a timestamp further than this from their clock.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// An event type an endpoint can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// An organization invited another to a partnership.
    PartnershipInvited,
    /// The invited organization accepted.
    PartnershipAccepted,
    /// A session was created on a partnership: a refresh both sides' agents run.
    SessionRequested,
    /// Both blinded sets are committed; the token phase starts.
    SessionAwaitingTokens,
    /// Results are available.
    SessionCompleted,
    /// A session was cancelled (by a participant, a revocation or a failure).
    SessionCancelled,
    /// An organization's agent stopped sending heartbeats.
    AgentOffline,
}

impl Event {
    /// Every event type, in the specification's order.
    pub const ALL: &'static [Event] = &[
        Event::PartnershipInvited,
        Event::PartnershipAccepted,
        Event::SessionRequested,
        Event::SessionAwaitingTokens,
        Event::SessionCompleted,
        Event::SessionCancelled,
        Event::AgentOffline,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Event::PartnershipInvited => "partnership.invited",
            Event::PartnershipAccepted => "partnership.accepted",
            Event::SessionRequested => "session.requested",
            Event::SessionAwaitingTokens => "session.awaiting_tokens",
            Event::SessionCompleted => "session.completed",
            Event::SessionCancelled => "session.cancelled",
            Event::AgentOffline => "agent.offline",
        }
    }

    /// The event of a wire name.
    pub fn parse(s: &str) -> Option<Event> {
        Event::ALL.iter().copied().find(|e| e.as_str() == s)
    }
}

/// Deployment settings of webhook delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Accept `http://` targets. For tests and closed networks only: the
    /// signature authenticates a delivery but does not hide it.
    pub allow_http: bool,
    /// Ranges allowed even when a deny range covers them (e.g. a partner
    /// tool on an internal network, or loopback in tests).
    pub allow: Vec<Cidr>,
    /// Ranges refused; by default private, loopback, link-local, CGNAT,
    /// multicast, unspecified and reserved ranges ([`target::default_deny`]).
    pub deny: Vec<Cidr>,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles for each further one.
    pub backoff_base: Duration,
    /// Longest delay between attempts.
    pub backoff_max: Duration,
    /// How often the delivery task looks for due deliveries.
    pub poll_interval: Duration,
    /// Time for one attempt (connect, send, answer).
    pub attempt_timeout: Duration,
    /// Endpoints per organization at most.
    pub max_per_org: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_http: false,
            allow: Vec::new(),
            deny: target::default_deny(),
            max_attempts: 8,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(10),
            max_per_org: 20,
        }
    }
}

/// The `[webhooks]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileWebhooks {
    allow_http: Option<bool>,
    allow_cidrs: Option<Vec<String>>,
    deny_cidrs: Option<Vec<String>>,
    max_attempts: Option<u32>,
}

impl WebhookSettings {
    /// Settings from the config file's `[webhooks]` table over the defaults.
    /// `deny_cidrs`, when given, replaces the default deny list.
    pub fn from_file(file: Option<FileWebhooks>) -> Result<Self, String> {
        let mut s = WebhookSettings::default();
        let Some(f) = file else { return Ok(s) };
        let parse = |list: Vec<String>| {
            list.iter()
                .map(|c| c.parse::<Cidr>())
                .collect::<Result<Vec<_>, _>>()
        };
        if let Some(v) = f.allow_http {
            s.allow_http = v;
        }
        if let Some(list) = f.allow_cidrs {
            s.allow = parse(list)?;
        }
        if let Some(list) = f.deny_cidrs {
            s.deny = parse(list)?;
        }
        if let Some(n) = f.max_attempts {
            s.max_attempts = n.clamp(1, 20);
        }
        Ok(s)
    }

    /// Delay after the `attempts`-th failed attempt: base · 2^(attempts-1), capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff_base
            .checked_mul(factor)
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max)
    }
}

/// A new secret: `whsec_` and 32 random bytes in hex.
pub fn generate_secret() -> WebhookSecret {
    let mut bytes = [0u8; 32];
    // The OS CSPRNG failing is not recoverable; UnwrapErr panics in that case only.
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
    let s = WebhookSecret::new(format!("whsec_{}", hex::encode(bytes)));
    zeroize::Zeroize::zeroize(&mut bytes);
    s
}

/// Hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`.
pub fn sign(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Cleanroom-Signature` value: one `v1=` per secret.
pub fn signature_header(secrets: &[&WebhookSecret], timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| format!("v1={}", sign(s, timestamp, body)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Queues `event` for every endpoint of `orgs` subscribed to it. Never
/// fails the caller: the state change it reports has already happened, so a
/// queueing error is logged (without data) and the event is lost.
pub async fn emit(state: &AppState, event: Event, orgs: &[&str], data: serde_json::Value) {
    if let Err(e) = enqueue(state, event, orgs, data).await {
        tracing::warn!(error = %e, event = event.as_str(), "queueing a webhook event failed");
    }
}

async fn enqueue(
    state: &AppState,
    event: Event,
    orgs: &[&str],
    data: serde_json::Value,
) -> crate::store::StoreResult<()> {
    let now = crate::now();
    let body = serde_json::json!({
        "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
        "type": event.as_str(),
        "created_at": crate::routes::rfc3339(now),
        "data": data,
    })
    .to_string();
    let mut seen: Vec<&str> = Vec::new();
    for org in orgs {
        if seen.contains(org) {
            continue;
        }
        seen.push(org);
        for hook in state.store.webhooks_of_org(org).await? {
            if !hook.events.iter().any(|e| e == event.as_str()) {
                continue;
            }
            state
                .store
                .enqueue_delivery(&DeliveryRow {
                    id: format!("dlv_{}", uuid::Uuid::now_v7().simple()),
                    webhook_id: hook.id.clone(),
                    event: event.as_str().to_owned(),
                    body: body.clone(),
                    state: DeliveryState::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    last_status: None,
                    last_error: None,
                    created_at: now,
                    finished_at: None,
                })
                .await?;
        }
    }
    Ok(())
}

/// Emits a session event to both organizations of its partnership.
pub async fn emit_session(
    state: &AppState,
    event: Event,
    partnership_id: &str,
    session_id: &str,
    session_state: cleanroom_core::api::SessionState,
) {
    let p = match crate::Store::partnership(&state.store, partnership_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, event = event.as_str(), "queueing a webhook event failed");
            return;
        }
    };
    emit(
        state,
        event,
        &[&p.vendor_org_id, &p.partner_org_id],
        serde_json::json!({
            "partnership_id": p.id,
            "session_id": session_id,
            "state": session_state.as_str(),
        }),
    )
    .await;
}

/// Emits a partnership event to both of its organizations.
pub async fn emit_partnership(
    state: &AppState,
    event: Event,
    partnership: &crate::store::PartnershipRow,
) {
    let status = serde_json::to_value(partnership.status).unwrap_or_default();
    emit(
        state,
        event,
        &[&partnership.vendor_org_id, &partnership.partner_org_id],
        serde_json::json!({
            "partnership_id": partnership.id,
            "status": status,
        }),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = WebhookSettings::default();
        assert_eq!(s.backoff(1), Duration::from_secs(30));
        assert_eq!(s.backoff(2), Duration::from_secs(60));
        assert_eq!(s.backoff(3), Duration::from_secs(120));
        assert_eq!(s.backoff(40), Duration::from_secs(3600));
    }

    #[test]
    fn secrets_are_redacted() {
        let s = generate_secret();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.expose().len(), 6 + 64);
        assert!(!format!("{s:?}").contains(s.expose()));
    }

    #[test]
    fn event_names_round_trip() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(*e));
        }
        assert_eq!(Event::parse("session.exploded"), None);
    }

    /// The test vector of PROTOCOL.md section 11.7.
    #[test]
    fn protocol_test_vector() {
        let body = br#"{"id":"evt_1","type":"session.completed","created_at":"2023-11-14T22:13:20Z","data":{"partnership_id":"p1","session_id":"s1","state":"completed"}}"#;
        let secret = WebhookSecret::new("whsec_test".into());
        assert_eq!(
            sign(&secret, 1_700_000_000, body),
            "d60291b3932daf2811d0e9980ea680633e49dda83db6c00a5458582ea28209d0"
        );
        let spec = include_str!("../../../protocol-spec/PROTOCOL.md");
        assert!(spec.contains("d60291b3932daf2811d0e9980ea680633e49dda83db6c00a5458582ea28209d0"));
    }

    #[test]
    fn config_file_table() {
        let f: FileWebhooks =
            toml::from_str("allow_http = true\nallow_cidrs = [\"127.0.0.0/8\"]\nmax_attempts = 3")
                .unwrap();
        let s = WebhookSettings::from_file(Some(f)).unwrap();
        assert!(s.allow_http);
        assert_eq!(s.allow.len(), 1);
        assert_eq!(s.deny, target::default_deny());
        assert_eq!(s.max_attempts, 3);
        let bad: FileWebhooks = toml::from_str("deny_cidrs = [\"10.0.0.0/99\"]").unwrap();
        assert!(WebhookSettings::from_file(Some(bad)).is_err());
    }
}
