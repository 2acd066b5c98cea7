//! The web dashboard: a few HTML pages under `/dashboard/` for alliance and
//! partner managers, served by the server itself with every asset embedded
//! in the binary (no CDN, no front-end build, works offline).
//!
//! The pages are static shells; `assets/dashboard.js` fills them from the
//! JSON API (`/v1/...`) with the sign-in cookie. So the API must accept the
//! cookie as well as a bearer token: its authentication calls
//! [`session_from_cookie`] when a request has no `Authorization` header and
//! then treats the caller as holding a `view`-scoped token (see
//! [`DashboardIdentity::scope`]), so every state-changing API call is
//! refused with 403 for cookie callers. The one exception is the dashboard's
//! own "Refresh now" route (`wiring`), which creates a session only with the
//! sign-in's CSRF token in a header and a signed-in token of `upload` scope
//! or above.
//!
//! Sign-in exchanges a token (any scope: `view` is enough) for a random
//! cookie, `cleanroom_session` (HttpOnly, SameSite=Strict, Secure on TLS).
//! Only its SHA-256 is kept, in the database: a sign-in works on every
//! replica on that database and survives a restart.
//!
//! CSRF: the sign-in form uses a double-submit cookie (there is no session
//! yet to bind a token to); the signed-in forms (sign-out) carry the
//! session's own synchronizer token, and so does "Refresh now" (in the
//! `X-CSRF-Token` header). The API needs no token of its own: cookie
//! callers may only read, and the cookie is SameSite=Strict.
//!
//! Every dashboard response carries a strict Content-Security-Policy (no
//! inline script or style), `nosniff`, `no-referrer` and frame denial. The
//! script renders user-controlled text (organization and population names)
//! with `textContent` only.

mod assets;
mod pages;
mod session;
mod wiring;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use cleanroom_core::api::Scope;

pub use session::{
    DEFAULT_LIFETIME, DashboardIdentity, DashboardSessions, NewSignIn, SESSION_COOKIE,
    cookie_value, session_from_cookie,
};
pub use wiring::{caller_from_cookie, routes};

/// A token that [`TokenVerifier::verify`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The token's organization.
    pub org_id: String,
    /// The token's public id.
    pub token_id: String,
    /// The token's own scope (the sign-in is capped at `view` regardless).
    pub scope: Scope,
}

/// The future [`TokenVerifier::verify`] returns.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Option<VerifiedToken>> + Send + 'a>>;

/// Checks a presented bearer token, as the API's authentication does: known,
/// secret matching, not revoked, not expired.
///
/// A trait object keeps the dashboard independent of the store. Any
/// `Fn(String) -> impl Future<Output = Option<VerifiedToken>>` is one.
pub trait TokenVerifier: Send + Sync + 'static {
    /// The token's owner and scope, or `None` if it is not valid now.
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;
}

impl<F, Fut> TokenVerifier for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<VerifiedToken>> + Send + 'static,
{
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self(token.to_owned()))
    }
}

/// What the dashboard routes need.
#[derive(Clone)]
pub struct Dashboard {
    sessions: Arc<DashboardSessions>,
    verifier: Arc<dyn TokenVerifier>,
    secure_cookies: bool,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("sessions", &self.sessions)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// The dashboard over a sign-in store shared with the API's
    /// authentication, checking tokens with `verifier`. Cookies are not
    /// marked `Secure` until [`Dashboard::secure_cookies`] says so.
    pub fn new(sessions: Arc<DashboardSessions>, verifier: Arc<dyn TokenVerifier>) -> Self {
        Dashboard {
            sessions,
            verifier,
            secure_cookies: false,
        }
    }

    /// Marks cookies `Secure`: set it when the server terminates TLS. (Plain
    /// HTTP is only allowed on loopback or with an explicit opt-in, where a
    /// `Secure` cookie would never be sent back.)
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// The sign-in store.
    pub fn sessions(&self) -> &Arc<DashboardSessions> {
        &self.sessions
    }
}

/// Largest sign-in or sign-out form accepted. A token is 46 characters; the
/// rest is the CSRF token and a `next` path.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// The dashboard's pages, sign-in, sign-out and assets, all under
/// `/dashboard`, ready to be merged into the server's router.
pub fn router<S>(dashboard: Dashboard) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(pages::root_to_home))
        .route("/dashboard", get(pages::to_home))
        .route("/dashboard/", get(pages::partnerships))
        .route("/dashboard/partnerships/{id}", get(pages::partnership))
        .route("/dashboard/sessions/{id}", get(pages::session))
        .route(
            "/dashboard/login",
            get(pages::login_form).post(pages::login),
        )
        .route("/dashboard/logout", post(pages::logout))
        .route("/dashboard/assets/{name}", get(assets::serve))
        .route("/dashboard/{*rest}", get(pages::not_found))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(pages::security_headers))
        .with_state(dashboard)
}

#[cfg(test)]
mod tests;
