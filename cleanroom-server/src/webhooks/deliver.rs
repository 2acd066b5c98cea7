//! The delivery task: claims due deliveries, posts them signed, records each
//! attempt, and retries with exponential backoff up to the attempt limit.

use std::sync::Arc;

use futures_util::StreamExt as _;

use super::target::{self, TargetError};
use super::{
    DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSettings,
    signature_header,
};
use crate::AppState;
use crate::store::webhooks::{AttemptOutcome, DeliveryRow, DeliveryState, WebhookStore};

/// Deliveries attempted at once by one replica.
const PARALLEL: usize = 8;
/// Deliveries claimed per poll.
const BATCH: u32 = 32;

/// Runs until aborted (server shutdown).
pub async fn run(state: AppState) {
    let tls = match tls_config() {
        Ok(t) => Arc::new(t),
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery disabled: no TLS configuration");
            return;
        }
    };
    let settings = &state.config.webhooks;
    loop {
        let now = crate::now();
        // A claim outlives the attempt, so a replica that dies mid-attempt
        // leaves the delivery to be retried by another after this.
        let lease = 2 * settings.attempt_timeout.as_secs().max(1) as i64 + 5;
        match state.store.claim_deliveries(now, now + lease, BATCH).await {
            Ok(due) if !due.is_empty() => {
                futures_util::stream::iter(due)
                    .for_each_concurrent(PARALLEL, |d| {
                        let state = &state;
                        let tls = &tls;
                        async move { deliver(state, tls, d).await }
                    })
                    .await;
                // More may be due: look again at once.
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}

fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    // An explicit provider: the process-wide one may not be installed (or
    // may be another), and the server's own TLS does not need it.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Why one attempt failed.
enum Failure {
    /// Never retried: the target is refused by policy.
    Refused(TargetError),
    /// Retried: no answer, or an answer that is not 2xx.
    Retry { status: Option<u16>, error: String },
}

async fn deliver(state: &AppState, tls: &rustls::ClientConfig, d: DeliveryRow) {
    let settings = &state.config.webhooks;
    let hook = match state.store.webhook(&d.webhook_id).await {
        Ok(Some(h)) => h,
        // Deleted meanwhile: its log went with it.
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, delivery = %d.id, "loading a webhook failed");
            return;
        }
    };
    let now = crate::now();
    let result = attempt(settings, tls, &hook, &d, now).await;
    let attempts = d.attempts.saturating_add(1);
    let at = crate::now();
    let outcome = match result {
        Ok(status) => AttemptOutcome {
            state: DeliveryState::Delivered,
            next_attempt_at: at,
            status: Some(status),
            error: None,
            at,
        },
        Err(Failure::Refused(e)) => AttemptOutcome {
            state: DeliveryState::Failed,
            next_attempt_at: at,
            status: None,
            error: Some(e.to_string()),
            at,
        },
        Err(Failure::Retry { status, error }) => {
            let last = attempts >= settings.max_attempts;
            AttemptOutcome {
                state: if last {
                    DeliveryState::Failed
                } else {
                    DeliveryState::Pending
                },
                next_attempt_at: at + settings.backoff(attempts).as_secs().max(1) as i64,
                status,
                error: Some(error),
                at,
            }
        }
    };
    // Ids and outcome only: never the URL, body or secret.
    tracing::info!(
        webhook = %hook.id,
        delivery = %d.id,
        event = %d.event,
        attempts,
        state = outcome.state.as_str(),
        status = outcome.status,
        "webhook delivery attempt"
    );
    if let Err(e) = state.store.record_attempt(&d.id, &outcome).await {
        tracing::warn!(error = %e, delivery = %d.id, "recording a webhook attempt failed");
    }
}

async fn attempt(
    settings: &WebhookSettings,
    tls: &rustls::ClientConfig,
    hook: &crate::store::webhooks::WebhookRow,
    d: &DeliveryRow,
    now: i64,
) -> Result<u16, Failure> {
    let url = target::parse_url(settings, &hook.url).map_err(Failure::Refused)?;
    let (domain, addrs) = match target::resolve(settings, &url, settings.attempt_timeout).await {
        Ok(r) => r,
        Err(e @ TargetError::Unresolved) => {
            return Err(Failure::Retry {
                status: None,
                error: e.to_string(),
            });
        }
        Err(e) => return Err(Failure::Refused(e)),
    };
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls.clone())
        // No proxy (it would resolve the name itself) and no redirects
        // (a redirect target would skip the address check).
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.attempt_timeout)
        .pool_max_idle_per_host(0)
        .https_only(!settings.allow_http)
        .user_agent(concat!("cleanroom-webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(domain) = &domain {
        // Connect to exactly the addresses just checked.
        builder = builder.resolve_to_addrs(domain, &addrs);
    }
    let client = builder.build().map_err(|_| Failure::Retry {
        status: None,
        error: "building the HTTP client failed".into(),
    })?;
    let secrets = hook.signing_secrets(now);
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(
            SIGNATURE_HEADER,
            signature_header(&secrets, now, d.body.as_bytes()),
        )
        .header(EVENT_HEADER, &d.event)
        .header(DELIVERY_HEADER, &d.id)
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| Failure::Retry {
            status: None,
            error: describe(&e).into(),
        })?;
    let status = resp.status();
    // The answer's body is not read: a receiver cannot make the server
    // download anything.
    drop(resp);
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(Failure::Retry {
            status: Some(status.as_u16()),
            error: format!("the receiver answered HTTP {}", status.as_u16()),
        })
    }
}

/// A reqwest error in words, without its URL.
fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "the attempt timed out"
    } else if e.is_connect() {
        "connecting to the receiver failed"
    } else {
        "sending the request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_config_builds() {
        assert!(tls_config().is_ok());
    }
}
