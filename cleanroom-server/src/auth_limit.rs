//! Failed authentications are rate-limited per client address and per
//! presented token, so guessing tokens, sign-ins or invitation codes in a
//! loop gets 429s.
//!
//! The counting is `governor`'s (GCRA, keyed). A failure spends one cell of
//! the key's quota; when none is left, the key is blocked until the quota
//! has a cell again, and every attempt from it, right or wrong, is answered
//! 429 with `Retry-After` without looking at the token (so a blocked
//! guesser learns nothing from its further guesses).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// What an attempt is known by: where it came from, and which token it
/// presented (by a hash prefix; never the secret).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum AttemptKey {
    /// The client's address.
    Addr(IpAddr),
    /// The first 16 bytes of the SHA-256 of the presented secret.
    Token([u8; 16]),
}

/// Marks a response that is not a 401 but counts as a failed attempt all
/// the same (an invitation code that is not valid).
#[derive(Clone, Copy, Debug)]
pub struct FailedAttempt;

/// Failed-authentication limits.
pub struct AuthLimiter {
    failures: DefaultKeyedRateLimiter<AttemptKey>,
    blocked: Mutex<HashMap<AttemptKey, Instant>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for AuthLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLimiter").finish_non_exhaustive()
    }
}

/// Keys kept before expired blocks are swept (a bound on memory when an
/// attacker cycles through addresses).
const SWEEP_AT: usize = 10_000;

impl AuthLimiter {
    /// At most `per_minute` failures per key and minute, in bursts of as many.
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        AuthLimiter {
            failures: RateLimiter::keyed(Quota::per_minute(n)),
            blocked: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AttemptKey, Instant>> {
        // Every critical section is one insert, lookup or retain.
        self.blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long the first of `keys` that is blocked stays blocked.
    pub fn blocked(&self, keys: &[AttemptKey]) -> Option<Duration> {
        let now = Instant::now();
        let map = self.lock();
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter(|until| **until > now)
            .map(|until| *until - now)
            .max()
    }

    /// Records a failure for each key; returns how long the caller is now
    /// blocked, if it is.
    pub fn failed(&self, keys: &[AttemptKey]) -> Option<Duration> {
        let mut wait = None;
        for k in keys {
            if let Err(not_until) = self.failures.check_key(k) {
                let d = not_until.wait_time_from(self.clock.now());
                let mut map = self.lock();
                if map.len() >= SWEEP_AT {
                    let now = Instant::now();
                    map.retain(|_, until| *until > now);
                    self.failures.retain_recent();
                }
                map.insert(*k, Instant::now() + d);
                wait = Some(wait.map_or(d, |w: Duration| w.max(d)));
            }
        }
        wait
    }
}

/// The client's address: the connection's peer, or, when the peer is a
/// trusted proxy, the last address of its `X-Forwarded-For` (what that proxy
/// saw; earlier entries are the client's own claims).
pub fn client_addr(req: &axum::extract::Request, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    req.headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .next_back()
        .or(Some(peer))
}

/// The keys of a request: its client address, and the presented bearer
/// token's hash prefix.
pub fn attempt_keys(req: &axum::extract::Request, trusted: &[IpAddr]) -> Vec<AttemptKey> {
    use sha2::Digest as _;
    let mut keys = Vec::with_capacity(2);
    if let Some(addr) = client_addr(req, trusted) {
        keys.push(AttemptKey::Addr(addr));
    }
    if let Some(token) = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let digest = sha2::Sha256::digest(token.as_bytes());
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&digest[..16]);
        keys.push(AttemptKey::Token(prefix));
    }
    keys
}

/// Counts every 401 (a bearer token or a dashboard sign-in that failed) and
/// every response marked [`FailedAttempt`] (an invitation code that is not
/// valid), and answers 429 with `Retry-After` while a key is over its quota.
pub async fn limit_failed_auth(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let keys = attempt_keys(&req, &state.config.trusted_proxies);
    if let Some(wait) = state.auth_limiter.blocked(&keys) {
        return too_many(wait);
    }
    let resp = next.run(req).await;
    if resp.status() == axum::http::StatusCode::UNAUTHORIZED
        || resp.extensions().get::<FailedAttempt>().is_some()
    {
        if let Some(wait) = state.auth_limiter.failed(&keys) {
            tracing::warn!("too many failed authentications; blocking the client for a while");
            return too_many(wait);
        }
    }
    resp
}

fn too_many(wait: Duration) -> axum::response::Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let resp = crate::error::problem_response(
        crate::problem::ProblemType::TooManyFailedAttempts,
        Some(format!(
            "too many failed authentications or invitation codes from this client or with this token; try again in {secs} s"
        )),
        None,
    );
    crate::error::with_retry_after(resp, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_blocked_after_its_quota_of_failures() {
        let l = AuthLimiter::new(3);
        let a = AttemptKey::Addr("192.0.2.1".parse().unwrap());
        let b = AttemptKey::Addr("192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(l.failed(&[a]), None);
        }
        assert!(l.blocked(&[a]).is_none());
        let wait = l.failed(&[a]).expect("the fourth failure blocks");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.blocked(&[a]).is_some());
        assert!(l.blocked(&[b]).is_none(), "another address is not affected");
    }
}
