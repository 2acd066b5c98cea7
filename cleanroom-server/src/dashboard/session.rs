//! Dashboard sign-ins: an in-memory map from the SHA-256 of a random cookie
//! value to the organization and token that signed in.
//!
//! Only the hash is kept so that a memory dump or debug print of the map does
//! not hand out live cookies. Sign-ins do not survive a restart: people sign
//! in again, which is cheap, and nothing about sessions needs persisting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cleanroom_core::api::Scope;
use rand::Rng as _;
use sha2::{Digest, Sha256};

/// Name of the sign-in cookie.
pub const SESSION_COOKIE: &str = "cleanroom_session";

/// How long a sign-in lasts when nothing else is configured: a working day.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// Upper bound on live sign-ins. Signing in needs a valid token, so this is
/// only a backstop against a script signing in in a loop and growing memory.
const MAX_SESSIONS: usize = 10_000;

/// Live sign-ins one organization may hold. Past it, that organization's
/// oldest sign-in makes room: a script signing in a loop with one
/// organization's token only ever evicts that organization's sign-ins.
pub const MAX_SESSIONS_PER_ORG: usize = 200;

/// Who a dashboard cookie stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardIdentity {
    /// The organization that signed in.
    pub org_id: String,
    /// The id of the token used to sign in. The API re-checks that this
    /// token is still live on every request, so revoking it ends the sign-in.
    pub token_id: String,
    /// Always [`Scope::View`]: the dashboard only reads, so a cookie never
    /// carries more, whatever the token's own scope. This is what makes a
    /// forged cross-site state-changing request useless even if SameSite
    /// were bypassed.
    pub scope: Scope,
}

#[derive(Debug)]
struct Entry {
    identity: DashboardIdentity,
    /// Synchronizer token for the signed-in forms (sign-out).
    csrf: String,
    expires: Instant,
}

/// The live dashboard sign-ins.
#[derive(Debug)]
pub struct DashboardSessions {
    inner: Mutex<HashMap<[u8; 32], Entry>>,
    lifetime: Duration,
}

impl Default for DashboardSessions {
    fn default() -> Self {
        DashboardSessions::new(DEFAULT_LIFETIME)
    }
}

/// A new sign-in: the cookie value to hand to the browser, and its CSRF token.
#[derive(Clone)]
pub struct NewSignIn {
    /// The `cleanroom_session` cookie value (secret).
    pub cookie: String,
    /// The CSRF token embedded in the signed-in pages' forms.
    pub csrf: String,
}

impl std::fmt::Debug for NewSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSignIn(<redacted>)")
    }
}

/// 32 bytes from the OS CSPRNG, base64url without padding (43 characters).
pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // Straight from the OS: these are bearer secrets. If the OS cannot give
    // randomness there is no safe way to go on, so that failure panics.
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn key(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

impl DashboardSessions {
    /// An empty store whose sign-ins last `lifetime` (absolute, not idle).
    pub fn new(lifetime: Duration) -> Self {
        DashboardSessions {
            inner: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    /// How long a sign-in lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding this lock cannot leave the map half-updated
        // (every critical section is a single insert/remove/retain), so a
        // poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a sign-in and returns its fresh secrets.
    pub fn create(&self, identity: DashboardIdentity) -> NewSignIn {
        let cookie = random_secret();
        let csrf = random_secret();
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, e| e.expires > now);
        // Evict the sign-in closest to expiry rather than refuse a valid token
        // holder; never another organization's while this one is over its share.
        let own = map
            .values()
            .filter(|e| e.identity.org_id == identity.org_id)
            .count();
        let oldest_of = |map: &HashMap<[u8; 32], Entry>, org: Option<&str>| {
            map.iter()
                .filter(|(_, e)| org.is_none_or(|o| e.identity.org_id == o))
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| *k)
        };
        let evict = if own >= MAX_SESSIONS_PER_ORG {
            oldest_of(&map, Some(&identity.org_id))
        } else if map.len() >= MAX_SESSIONS {
            oldest_of(&map, None)
        } else {
            None
        };
        if let Some(k) = evict {
            map.remove(&k);
        }
        map.insert(
            key(&cookie),
            Entry {
                identity: DashboardIdentity {
                    scope: Scope::View,
                    ..identity
                },
                csrf: csrf.clone(),
                expires: now + self.lifetime,
            },
        );
        NewSignIn { cookie, csrf }
    }

    /// The identity and CSRF token of a live sign-in.
    ///
    /// The map is keyed by SHA-256 of the cookie, so the lookup's timing can
    /// only reveal something about hashes, never about a valid cookie value.
    pub fn lookup(&self, cookie: &str) -> Option<(DashboardIdentity, String)> {
        let k = key(cookie);
        let mut map = self.lock();
        match map.get(&k) {
            Some(e) if e.expires > Instant::now() => Some((e.identity.clone(), e.csrf.clone())),
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Ends a sign-in (sign-out).
    pub fn remove(&self, cookie: &str) {
        self.lock().remove(&key(cookie));
    }

    /// Ends every sign-in made with a token, e.g. when the token is revoked.
    pub fn remove_token(&self, token_id: &str) {
        self.lock().retain(|_, e| e.identity.token_id != token_id);
    }

    /// Live sign-ins (for metrics and tests).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().values().filter(|e| e.expires > now).count()
    }

    /// Whether there is no live sign-in.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in a request, if present.
///
/// Browsers send one `Cookie` header over HTTP/1.1 but may split it over
/// several with HTTP/2, so every header is searched.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The dashboard sign-in a request's cookie stands for, if any.
///
/// This is what the API's authentication calls when a request carries no
/// `Authorization` header. The identity's scope is always `view`.
pub fn session_from_cookie(
    headers: &HeaderMap,
    sessions: &DashboardSessions,
) -> Option<DashboardIdentity> {
    let value = cookie_value(headers, SESSION_COOKIE)?;
    sessions.lookup(value).map(|(identity, _)| identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn identity(scope: Scope) -> DashboardIdentity {
        DashboardIdentity {
            org_id: "org-1".into(),
            token_id: "cr_abcdefghi".into(),
            scope,
        }
    }

    #[test]
    fn one_organization_cannot_evict_another() {
        let store = DashboardSessions::new(Duration::from_secs(60));
        let id = |org: &str| DashboardIdentity {
            org_id: org.into(),
            token_id: format!("tok_{org}"),
            scope: Scope::Admin,
        };
        let victim = store.create(id("victim"));
        for _ in 0..10_001 {
            store.create(id("flooder"));
        }
        assert!(
            store.lookup(&victim.cookie).is_some(),
            "the other organization's sign-in survives"
        );
        assert_eq!(store.len(), MAX_SESSIONS_PER_ORG + 1);
    }

    #[test]
    fn sign_ins_are_capped_at_view_and_found_by_cookie() {
        let s = DashboardSessions::default();
        let new = s.create(identity(Scope::Admin));
        assert_eq!(new.cookie.len(), 43);
        assert_ne!(new.cookie, new.csrf);
        let (found, csrf) = s.lookup(&new.cookie).expect("live");
        assert_eq!(found.scope, Scope::View);
        assert_eq!(csrf, new.csrf);
        assert!(s.lookup("not-a-cookie").is_none());

        let mut headers = HeaderMap::new();
        let cookie = format!("other=1; {SESSION_COOKIE}={}; x=y", new.cookie);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).expect("ascii"),
        );
        assert_eq!(session_from_cookie(&headers, &s), Some(found));

        s.remove(&new.cookie);
        assert!(session_from_cookie(&headers, &s).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn sign_ins_expire_and_end_with_their_token() {
        let s = DashboardSessions::new(Duration::ZERO);
        let new = s.create(identity(Scope::View));
        assert!(s.lookup(&new.cookie).is_none());

        let s = DashboardSessions::default();
        let a = s.create(identity(Scope::View));
        let b = s.create(DashboardIdentity {
            token_id: "cr_other0000".into(),
            ..identity(Scope::View)
        });
        s.remove_token("cr_abcdefghi");
        assert!(s.lookup(&a.cookie).is_none());
        assert!(s.lookup(&b.cookie).is_some());
    }

    #[test]
    fn cookies_split_over_several_headers_are_found() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1"));
        headers.append(header::COOKIE, HeaderValue::from_static("b=2 ; c=3"));
        assert_eq!(cookie_value(&headers, "b"), Some("2"));
        assert_eq!(cookie_value(&headers, "c"), Some("3"));
        assert_eq!(cookie_value(&headers, "d"), None);
    }
}
