//! Dashboard sign-ins: a map from the SHA-256 of a random cookie value to
//! the organization and token that signed in.
//!
//! Only the hash is kept so that a database dump, a memory dump or a debug
//! print does not hand out live cookies. The server keeps sign-ins in its
//! database ([`DashboardSessions::in_store`]), so a cookie issued by one
//! replica works on every other and survives a restart; the in-memory map
//! ([`DashboardSessions::new`]) serves the dashboard's own unit tests.
//!
//! The CSRF token of a sign-in is derived from its cookie (a hash under
//! another label), so no replica needs to store it and a stored cookie hash
//! does not reveal it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cleanroom_core::api::Scope;
use rand::Rng as _;
use sha2::{Digest, Sha256};

use crate::store::{AnyStore, SignInRow, Store as _, StoreResult};

/// Name of the sign-in cookie.
pub const SESSION_COOKIE: &str = "cleanroom_session";

/// How long a sign-in lasts when nothing else is configured: a working day.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// Upper bound on live sign-ins in the in-memory map. Signing in needs a
/// valid token, so this is only a backstop against a script signing in in a
/// loop and growing memory. (In the database the per-organization cap bounds
/// the table, since only the admin command creates organizations.)
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
    expires: Instant,
}

/// Where sign-ins are kept.
enum Backing {
    /// In this process only (unit tests of the dashboard).
    Memory(Mutex<HashMap<[u8; 32], Entry>>),
    /// In the server's database, shared by every replica.
    Store(AnyStore),
}

/// The live dashboard sign-ins.
pub struct DashboardSessions {
    backing: Backing,
    lifetime: Duration,
}

impl std::fmt::Debug for DashboardSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backing = match self.backing {
            Backing::Memory(_) => "memory",
            Backing::Store(_) => "database",
        };
        f.debug_struct("DashboardSessions")
            .field("backing", &backing)
            .field("lifetime", &self.lifetime)
            .finish()
    }
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

/// The CSRF token of the sign-in `cookie` stands for: a hash of the cookie
/// under its own label, so it differs from the stored key and every replica
/// derives the same one without storing it.
fn csrf_of(cookie: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cleanroom dashboard csrf\0");
    h.update(cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

fn unix_now() -> i64 {
    crate::now()
}

impl DashboardSessions {
    /// An empty in-memory store whose sign-ins last `lifetime` (absolute,
    /// not idle). Sign-ins are lost on restart and unknown to other replicas.
    pub fn new(lifetime: Duration) -> Self {
        DashboardSessions {
            backing: Backing::Memory(Mutex::new(HashMap::new())),
            lifetime,
        }
    }

    /// Sign-ins kept in the server's database (shared by every replica on
    /// it, and surviving restarts), lasting `lifetime`.
    pub fn in_store(store: AnyStore, lifetime: Duration) -> Self {
        DashboardSessions {
            backing: Backing::Store(store),
            lifetime,
        }
    }

    /// How long a sign-in lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    fn lock(
        map: &Mutex<HashMap<[u8; 32], Entry>>,
    ) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding this lock cannot leave the map half-updated
        // (every critical section is a single insert/remove/retain), so a
        // poisoned lock is still safe to use.
        map.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a sign-in and returns its fresh secrets.
    pub async fn create(&self, identity: DashboardIdentity) -> StoreResult<NewSignIn> {
        let cookie = random_secret();
        let csrf = csrf_of(&cookie);
        match &self.backing {
            Backing::Memory(map) => {
                let now = Instant::now();
                let mut map = Self::lock(map);
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
                        expires: now + self.lifetime,
                    },
                );
            }
            Backing::Store(store) => {
                let now = unix_now();
                let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
                store
                    .create_sign_in(
                        &SignInRow {
                            cookie_hash: key(&cookie).to_vec(),
                            org_id: identity.org_id,
                            token_id: identity.token_id,
                            created_at: now,
                            expires_at: now.saturating_add(lifetime),
                        },
                        MAX_SESSIONS_PER_ORG as u64,
                    )
                    .await?;
            }
        }
        Ok(NewSignIn { cookie, csrf })
    }

    /// The identity and CSRF token of a live sign-in.
    ///
    /// Sign-ins are keyed by SHA-256 of the cookie, so the lookup's timing can
    /// only reveal something about hashes, never about a valid cookie value.
    pub async fn lookup(&self, cookie: &str) -> StoreResult<Option<(DashboardIdentity, String)>> {
        let k = key(cookie);
        let identity = match &self.backing {
            Backing::Memory(map) => {
                let mut map = Self::lock(map);
                match map.get(&k) {
                    Some(e) if e.expires > Instant::now() => Some(e.identity.clone()),
                    Some(_) => {
                        map.remove(&k);
                        None
                    }
                    None => None,
                }
            }
            Backing::Store(store) => {
                store
                    .sign_in(&k, unix_now())
                    .await?
                    .map(|row| DashboardIdentity {
                        org_id: row.org_id,
                        token_id: row.token_id,
                        scope: Scope::View,
                    })
            }
        };
        Ok(identity.map(|i| (i, csrf_of(cookie))))
    }

    /// Ends a sign-in (sign-out).
    pub async fn remove(&self, cookie: &str) -> StoreResult<()> {
        match &self.backing {
            Backing::Memory(map) => {
                Self::lock(map).remove(&key(cookie));
                Ok(())
            }
            Backing::Store(store) => store.delete_sign_in(&key(cookie)).await,
        }
    }

    /// Ends every sign-in made with a token, e.g. when the token is revoked.
    pub async fn remove_token(&self, token_id: &str) -> StoreResult<()> {
        match &self.backing {
            Backing::Memory(map) => {
                Self::lock(map).retain(|_, e| e.identity.token_id != token_id);
                Ok(())
            }
            Backing::Store(store) => store.delete_sign_ins_of_token(token_id).await,
        }
    }

    /// Live sign-ins (for metrics and tests).
    pub async fn len(&self) -> StoreResult<usize> {
        match &self.backing {
            Backing::Memory(map) => {
                let now = Instant::now();
                Ok(Self::lock(map).values().filter(|e| e.expires > now).count())
            }
            Backing::Store(store) => {
                Ok(usize::try_from(store.count_sign_ins(unix_now()).await?).unwrap_or(usize::MAX))
            }
        }
    }

    /// Whether there is no live sign-in.
    pub async fn is_empty(&self) -> StoreResult<bool> {
        Ok(self.len().await? == 0)
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
pub async fn session_from_cookie(
    headers: &HeaderMap,
    sessions: &DashboardSessions,
) -> StoreResult<Option<DashboardIdentity>> {
    let Some(value) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(sessions.lookup(value).await?.map(|(identity, _)| identity))
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

    #[tokio::test]
    async fn one_organization_cannot_evict_another() {
        let store = DashboardSessions::new(Duration::from_secs(60));
        let id = |org: &str| DashboardIdentity {
            org_id: org.into(),
            token_id: format!("tok_{org}"),
            scope: Scope::Admin,
        };
        let victim = store.create(id("victim")).await.unwrap();
        for _ in 0..10_001 {
            store.create(id("flooder")).await.unwrap();
        }
        assert!(
            store.lookup(&victim.cookie).await.unwrap().is_some(),
            "the other organization's sign-in survives"
        );
        assert_eq!(store.len().await.unwrap(), MAX_SESSIONS_PER_ORG + 1);
    }

    #[tokio::test]
    async fn sign_ins_are_capped_at_view_and_found_by_cookie() {
        let s = DashboardSessions::default();
        let new = s.create(identity(Scope::Admin)).await.unwrap();
        assert_eq!(new.cookie.len(), 43);
        assert_ne!(new.cookie, new.csrf);
        let (found, csrf) = s.lookup(&new.cookie).await.unwrap().expect("live");
        assert_eq!(found.scope, Scope::View);
        assert_eq!(csrf, new.csrf);
        assert!(s.lookup("not-a-cookie").await.unwrap().is_none());

        let mut headers = HeaderMap::new();
        let cookie = format!("other=1; {SESSION_COOKIE}={}; x=y", new.cookie);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).expect("ascii"),
        );
        assert_eq!(
            session_from_cookie(&headers, &s).await.unwrap(),
            Some(found)
        );

        s.remove(&new.cookie).await.unwrap();
        assert!(session_from_cookie(&headers, &s).await.unwrap().is_none());
        assert!(s.is_empty().await.unwrap());
    }

    #[tokio::test]
    async fn sign_ins_expire_and_end_with_their_token() {
        let s = DashboardSessions::new(Duration::ZERO);
        let new = s.create(identity(Scope::View)).await.unwrap();
        assert!(s.lookup(&new.cookie).await.unwrap().is_none());

        let s = DashboardSessions::default();
        let a = s.create(identity(Scope::View)).await.unwrap();
        let b = s
            .create(DashboardIdentity {
                token_id: "cr_other0000".into(),
                ..identity(Scope::View)
            })
            .await
            .unwrap();
        s.remove_token("cr_abcdefghi").await.unwrap();
        assert!(s.lookup(&a.cookie).await.unwrap().is_none());
        assert!(s.lookup(&b.cookie).await.unwrap().is_some());
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
