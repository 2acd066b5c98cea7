//! Verifying cleanroom webhook deliveries, for receivers (PROTOCOL.md,
//! "Webhooks").
//!
//! A delivery carries `Cleanroom-Timestamp: <unix seconds>` and
//! `Cleanroom-Signature: v1=<hex>[, v1=<hex>]`, each `v1` the HMAC-SHA256,
//! under one of the endpoint's secrets, of `<timestamp>.<body>`. Two
//! signatures are sent while a rotated secret's grace period runs, so a
//! receiver holding either secret accepts.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from the receiver's clock, either
/// way: an older delivery is a replay (or too late to trust).
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a delivery is rejected. The texts carry no secret and no signature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The timestamp header is not a unix time in seconds.
    #[error("the Cleanroom-Timestamp header is not a unix time")]
    BadTimestamp,
    /// The timestamp is outside the replay window.
    #[error("the delivery's timestamp is more than {REPLAY_WINDOW_SECS} seconds from now")]
    Expired,
    /// The signature header holds no `v1=` signature.
    #[error("the Cleanroom-Signature header holds no v1 signature")]
    NoSignature,
    /// No signature matches the secret: altered, or signed with another secret.
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a delivery: `secret` is the endpoint's secret (`whsec_…`), the
/// two headers as received, `body` the raw request body (before any JSON
/// parsing), `now` the receiver's unix time in seconds. Comparison is
/// constant-time.
pub fn verify_webhook(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let ts = timestamp_header.trim();
    // Digits only: "+5" or " 5" would sign differently from what was sent.
    if ts.is_empty() || ts.len() > 19 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::BadTimestamp);
    }
    let ts_value: i64 = ts.parse().map_err(|_| WebhookError::BadTimestamp)?;
    if now.abs_diff(ts_value) > REPLAY_WINDOW_SECS.unsigned_abs() {
        return Err(WebhookError::Expired);
    }
    let mut any = false;
    let mut ok = false;
    for part in signature_header.split(',') {
        let Some(sig) = part.trim().strip_prefix("v1=") else {
            continue;
        };
        any = true;
        let Ok(sig) = hex::decode(sig) else { continue };
        // HMAC takes a key of any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return Err(WebhookError::Mismatch);
        };
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        // Every signature is checked (no early exit), in constant time each.
        ok |= mac.verify_slice(&sig).is_ok();
    }
    match (any, ok) {
        (_, true) => Ok(()),
        (false, false) => Err(WebhookError::NoSignature),
        (true, false) => Err(WebhookError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, ts: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn accepts_fresh_and_either_secret() {
        let body = br#"{"type":"session.completed"}"#;
        let h = format!("{}, {}", sign("old", 1000, body), sign("new", 1000, body));
        assert_eq!(verify_webhook("new", "1000", &h, body, 1000), Ok(()));
        assert_eq!(verify_webhook("old", "1000", &h, body, 1299), Ok(()));
        assert_eq!(
            verify_webhook("other", "1000", &h, body, 1000),
            Err(WebhookError::Mismatch)
        );
    }

    #[test]
    fn rejects_replay_alteration_and_junk() {
        let body = b"{}";
        let h = sign("s", 1000, body);
        assert_eq!(
            verify_webhook("s", "1000", &h, body, 1301),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            verify_webhook("s", "1000", &h, b"{ }", 1000),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_webhook("s", "1001", &h, body, 1000),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_webhook("s", "+1000", &h, body, 1000),
            Err(WebhookError::BadTimestamp)
        );
        assert_eq!(
            verify_webhook("s", "1000", "v0=abc", body, 1000),
            Err(WebhookError::NoSignature)
        );
        assert_eq!(
            verify_webhook("s", "1000", "v1=zz", body, 1000),
            Err(WebhookError::Mismatch)
        );
    }

    /// The test vector of PROTOCOL.md section 11.7.
    #[test]
    fn protocol_test_vector() {
        let body = br#"{"id":"evt_1","type":"session.completed","created_at":"2023-11-14T22:13:20Z","data":{"partnership_id":"p1","session_id":"s1","state":"completed"}}"#;
        let sig = "v1=d60291b3932daf2811d0e9980ea680633e49dda83db6c00a5458582ea28209d0";
        assert_eq!(
            verify_webhook("whsec_test", "1700000000", sig, body, 1_700_000_000),
            Ok(())
        );
    }
}
