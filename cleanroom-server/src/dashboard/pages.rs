//! Page shells, sign-in and sign-out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::Dashboard;
use super::assets::{
    LAYOUT_HTML, LOGIN_HTML, NAV_HTML, NOT_FOUND_HTML, PARTNERSHIP_HTML, PARTNERSHIPS_HTML,
    SESSION_HTML,
};
use super::session::{DashboardIdentity, SESSION_COOKIE, cookie_value, random_secret};

/// Double-submit cookie of the sign-in form.
const LOGIN_CSRF_COOKIE: &str = "cleanroom_login_csrf";
/// Where people land after signing in.
const HOME: &str = "/dashboard/";
/// Longest token accepted before asking the verifier; real ones are 46.
const MAX_TOKEN_LEN: usize = 256;

/// `script-src 'self'` and `style-src 'self'` forbid inline code, so an
/// injected string can never run even if it slipped into markup.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Adds the security headers to every dashboard response.
pub(super) async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Partnership and session ids sit in dashboard URLs; keep them in house.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{name}}` placeholders of a trusted template in one pass, escaping
/// every value, so a value can neither inject markup nor be re-expanded.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => out.push_str(&escape(v)),
            None => debug_assert!(false, "template placeholder {name} has no value"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A full page: the layout around a body, with the signed-in navigation when
/// `csrf` is given.
fn page(
    title: &str,
    page_id: &str,
    body: &str,
    csrf: Option<&str>,
    vars: &[(&str, &str)],
) -> String {
    // The layout and fragments are trusted compile-time text, so they are
    // spliced before filling; only the variables are data.
    let html = LAYOUT_HTML
        .replace("{{nav}}", if csrf.is_some() { NAV_HTML } else { "" })
        .replace("{{body}}", body);
    let mut all: Vec<(&str, &str)> = vec![
        ("title", title),
        ("page", page_id),
        ("csrf", csrf.unwrap_or("")),
    ];
    all.extend_from_slice(vars);
    fill(&html, &all)
}

/// An HTML response that no cache keeps: pages embed the CSRF token.
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The live sign-in of a request: identity and CSRF token. `Err` is a page
/// to answer with: sign-ins live in the database, which may be unreachable.
async fn signed_in(
    d: &Dashboard,
    headers: &HeaderMap,
) -> Result<Option<(DashboardIdentity, String)>, Response> {
    let Some(cookie) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    d.sessions.lookup(cookie).await.map_err(unavailable)
}

/// The page for a sign-in store that failed: 503, try again shortly. The
/// operator finds the cause in the log; the person is told nothing internal.
fn unavailable(e: crate::store::StoreError) -> Response {
    tracing::warn!(error = %e, "dashboard sign-ins could not be read or written");
    let mut res = html(
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            "Unavailable",
            "message",
            "<h1>Temporarily unavailable</h1><p>The server cannot reach its database. \
             Please try again in a few seconds.</p>",
            None,
            &[],
        ),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

/// Percent-encodes a path for a query value, keeping `/` readable.
fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `next` target is only ever a dashboard path on this origin: anything
/// else (`//evil`, `https://…`, backslashes, control characters) goes home,
/// so sign-in cannot be turned into an open redirect.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with(HOME)
                && n.len() <= 512
                && !n.contains("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => HOME,
    }
}

/// A signed-in page, or a redirect to sign in and come back.
async fn shell(
    d: &Dashboard,
    headers: &HeaderMap,
    uri: &Uri,
    title: &str,
    id: &str,
    body: &str,
) -> Response {
    match signed_in(d, headers).await {
        Err(page) => page,
        Ok(Some((_, csrf))) => html(StatusCode::OK, page(title, id, body, Some(&csrf), &[])),
        Ok(None) => Redirect::to(&format!(
            "/dashboard/login?next={}",
            encode_query_value(uri.path())
        ))
        .into_response(),
    }
}

/// `GET /dashboard`.
pub(super) async fn to_home() -> Redirect {
    Redirect::permanent(HOME)
}

/// `GET /`: people type the server's bare address; send them to the dashboard.
/// Temporary, so that the root stays free for something else later.
pub(super) async fn root_to_home() -> Redirect {
    Redirect::temporary(HOME)
}

/// `GET /dashboard/`: the partnerships list.
pub(super) async fn partnerships(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shell(
        &d,
        &headers,
        &uri,
        "Partnerships",
        "partnerships",
        PARTNERSHIPS_HTML,
    )
    .await
}

/// `GET /dashboard/partnerships/{id}`. The shell is the same for every id;
/// the script asks the API, which answers 404 for other organizations'.
pub(super) async fn partnership(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shell(
        &d,
        &headers,
        &uri,
        "Partnership",
        "partnership",
        PARTNERSHIP_HTML,
    )
    .await
}

/// `GET /dashboard/sessions/{id}`.
pub(super) async fn session(State(d): State<Dashboard>, headers: HeaderMap, uri: Uri) -> Response {
    shell(&d, &headers, &uri, "Session", "session", SESSION_HTML).await
}

/// Any other `/dashboard/...` path.
pub(super) async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        page("Not found", "not-found", NOT_FOUND_HTML, None, &[]),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    expired: Option<String>,
}

fn login_csrf_cookie(value: &str, secure: bool) -> String {
    // Scoped to the sign-in path: no other request needs it.
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{LOGIN_CSRF_COOKIE}={value}; Path=/dashboard/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    )
}

/// The sign-in page with a fresh double-submit token.
fn login_page(d: &Dashboard, status: StatusCode, message: &str, next: &str) -> Response {
    let csrf = random_secret();
    let body = page(
        "Sign in",
        "login",
        LOGIN_HTML,
        None,
        &[("login_csrf", &csrf), ("message", message), ("next", next)],
    );
    let mut res = html(status, body);
    if let Ok(v) = HeaderValue::from_str(&login_csrf_cookie(&csrf, d.secure_cookies)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `GET /dashboard/login`. Someone already signed in goes straight on,
/// unless the script sent them here because the API refused the cookie.
pub(super) async fn login_form(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if q.expired.is_some() {
        let message = "Your sign-in has ended. Sign in again to continue.";
        return login_page(&d, StatusCode::OK, message, next);
    }
    match signed_in(&d, &headers).await {
        Err(page) => return page,
        Ok(Some(_)) => return Redirect::to(next).into_response(),
        Ok(None) => {}
    }
    login_page(&d, StatusCode::OK, "", next)
}

/// The sign-in form. Missing fields are empty so that they fail the checks
/// below with a helpful page rather than a bare 422.
#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

/// Constant-time equality of a presented CSRF token with the expected one;
/// an empty expectation never matches.
pub(super) fn csrf_ok(expected: Option<&str>, presented: &str) -> bool {
    match expected {
        Some(e) if !e.is_empty() => e.as_bytes().ct_eq(presented.as_bytes()).into(),
        _ => false,
    }
}

/// `POST /dashboard/login`: token for cookie.
pub(super) async fn login(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if !csrf_ok(cookie_value(&headers, LOGIN_CSRF_COOKIE), &form.csrf) {
        return login_page(
            &d,
            StatusCode::FORBIDDEN,
            "The sign-in form had expired or cookies are blocked. Please try again.",
            next,
        );
    }
    let token = form.token.trim();
    let verified = if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        None
    } else {
        d.verifier.verify(token).await
    };
    let Some(verified) = verified else {
        return login_page(
            &d,
            StatusCode::UNAUTHORIZED,
            "That token was not accepted: it is unknown, revoked or expired.",
            next,
        );
    };
    // A fresh cookie on every sign-in (never reuse one the browser brought),
    // so a planted cookie cannot be upgraded into a signed-in one.
    if let Some(old) = cookie_value(&headers, SESSION_COOKIE) {
        if let Err(e) = d.sessions.remove(old).await {
            return unavailable(e);
        }
    }
    let created = d
        .sessions
        .create(DashboardIdentity {
            org_id: verified.org_id,
            token_id: verified.token_id,
            scope: verified.scope,
        })
        .await;
    let new = match created {
        Ok(new) => new,
        Err(e) => return unavailable(e),
    };
    let secure = if d.secure_cookies { "; Secure" } else { "" };
    let session_cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        new.cookie,
        d.sessions.lifetime().as_secs()
    );
    let clear_csrf = format!(
        "{LOGIN_CSRF_COOKIE}=; Path=/dashboard/login; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    );
    (
        AppendHeaders([
            (header::SET_COOKIE, session_cookie),
            (header::SET_COOKIE, clear_csrf),
        ]),
        Redirect::to(next),
    )
        .into_response()
}

/// The sign-out form.
#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/logout`.
pub(super) async fn logout(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    // Without a live sign-in there is nothing to protect: just clear the
    // cookie. With one, the form must carry that sign-in's CSRF token.
    // (No let-chains: the workspace's rust-version is 1.85.)
    let cookie = cookie_value(&headers, SESSION_COOKIE);
    let live = match signed_in(&d, &headers).await {
        Ok(live) => live,
        Err(page) => return page,
    };
    if let (Some(c), Some((_, csrf))) = (cookie, live) {
        if !csrf_ok(Some(&csrf), &form.csrf) {
            return html(
                StatusCode::FORBIDDEN,
                page(
                    "Sign-out refused",
                    "message",
                    "<h1>Sign-out refused</h1><p>The request did not come from a dashboard page. \
                     <a href=\"/dashboard/\">Back to the dashboard</a>.</p>",
                    None,
                    &[],
                ),
            );
        }
        if let Err(e) = d.sessions.remove(c).await {
            return unavailable(e);
        }
    }
    let secure = if d.secure_cookies { "; Secure" } else { "" };
    (
        AppendHeaders([
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
            ),
            // Drops what the script cached in sessionStorage (browsers honour
            // it on secure origins, localhost included; the script also
            // clears it when the form is submitted).
            (
                header::HeaderName::from_static("clear-site-data"),
                "\"cache\", \"storage\"".to_owned(),
            ),
        ]),
        Redirect::to("/dashboard/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_escapes_values_and_does_not_reexpand() {
        let out = fill(
            "<p>{{a}}</p><i>{{b}}</i>",
            &[("a", "<b>&\"'"), ("b", "{{a}}")],
        );
        assert_eq!(out, "<p>&lt;b&gt;&amp;&quot;&#39;</p><i>{{a}}</i>");
    }

    #[test]
    fn next_is_only_a_dashboard_path() {
        assert_eq!(
            safe_next(Some("/dashboard/partnerships/p1")),
            "/dashboard/partnerships/p1"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/dashboard/",
            "/dashboard//evil.example",
            "/dashboard/\\evil",
            "/dashboard/a b",
            "/v1/tokens",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), HOME, "{bad}");
        }
        assert_eq!(safe_next(None), HOME);
    }

    #[test]
    fn csrf_needs_a_nonempty_equal_token() {
        assert!(csrf_ok(Some("abc"), "abc"));
        assert!(!csrf_ok(Some("abc"), "abd"));
        assert!(!csrf_ok(Some(""), ""));
        assert!(!csrf_ok(None, "abc"));
    }
}
