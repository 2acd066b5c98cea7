//! Sign-in, sign-out and page serving, driven through the router with a
//! fake token verifier (the real one is exercised in tests/dashboard.rs).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use cleanroom_core::api::Scope;
use tower::ServiceExt as _;

use super::*;

const GOOD: &str = "cr_good-token-of-org-a";

fn dashboard(secure: bool) -> (Router, Arc<DashboardSessions>) {
    let sessions = Arc::new(DashboardSessions::default());
    let verifier = |token: String| async move {
        (token == GOOD).then(|| VerifiedToken {
            org_id: "org-a".into(),
            token_id: "cr_goodtoken".into(),
            scope: Scope::Admin,
        })
    };
    let d = Dashboard::new(sessions.clone(), Arc::new(verifier)).secure_cookies(secure);
    (router(d), sessions)
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.expect("infallible")
}

async fn body_text(res: Response<Body>) -> String {
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).expect("request")
}

fn post_form(uri: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut b =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(form.to_owned())).expect("request")
}

fn set_cookies(res: &Response<Body>) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// The value of `name` in the Set-Cookie headers.
fn cookie_set(res: &Response<Body>, name: &str) -> Option<String> {
    set_cookies(res).into_iter().find_map(|c| {
        let first = c.split(';').next()?.trim().to_owned();
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// The `value` of the hidden input named `name` in a page.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// Signs in through the form; returns the session cookie value.
async fn sign_in(app: &Router) -> String {
    let res = send(app, get("/dashboard/login", None)).await;
    let csrf_cookie = cookie_set(&res, "cleanroom_login_csrf").expect("csrf cookie");
    let html = body_text(res).await;
    let csrf = hidden_field(&html, "csrf").expect("csrf field");
    assert_eq!(csrf, csrf_cookie);
    let res = send(
        app,
        post_form(
            "/dashboard/login",
            Some(&format!("cleanroom_login_csrf={csrf_cookie}")),
            &format!("token={GOOD}&csrf={csrf}"),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    cookie_set(&res, SESSION_COOKIE).expect("session cookie")
}

#[tokio::test]
async fn pages_need_a_sign_in() {
    let (app, _) = dashboard(false);
    let res = send(&app, get("/dashboard/partnerships/p%201", None)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        "/dashboard/login?next=/dashboard/partnerships/p%25201"
    );
    let res = send(&app, get("/dashboard/", Some("cleanroom_session=forged"))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_form_sets_a_strict_httponly_csrf_cookie_and_security_headers() {
    let (app, _) = dashboard(false);
    let res = send(&app, get("/dashboard/login", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(csp.contains("default-src 'self'"));
    assert!(csp.contains("script-src 'self'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("cleanroom_login_csrf="))
        .expect("csrf cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"));
    let html = body_text(res).await;
    assert!(!html.contains("{{"), "unfilled placeholder");
    assert!(html.contains("type=\"password\""));
}

#[tokio::test]
async fn login_without_or_with_a_wrong_csrf_token_is_forbidden() {
    let (app, sessions) = dashboard(false);
    let res = send(
        &app,
        post_form("/dashboard/login", None, &format!("token={GOOD}")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(
        &app,
        post_form(
            "/dashboard/login",
            Some("cleanroom_login_csrf=aaaa"),
            &format!("token={GOOD}&csrf=bbbb"),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(cookie_set(&res, SESSION_COOKIE).is_none());
    // An empty cookie and an empty field are equal but still refused.
    let res = send(
        &app,
        post_form(
            "/dashboard/login",
            Some("cleanroom_login_csrf="),
            &format!("token={GOOD}&csrf="),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(sessions.is_empty().await.unwrap());
}

#[tokio::test]
async fn login_with_a_bad_token_is_unauthorized() {
    let (app, sessions) = dashboard(false);
    // The long one is over MAX_TOKEN_LEN but under the form size limit.
    for token in ["cr_wrong", "", &"x".repeat(1_000)] {
        let res = send(
            &app,
            post_form(
                "/dashboard/login",
                Some("cleanroom_login_csrf=c1"),
                &format!("token={token}&csrf=c1"),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "token {token:.10}");
        assert!(cookie_set(&res, SESSION_COOKIE).is_none());
        let html = body_text(res).await;
        assert!(html.contains("not accepted"));
    }
    let huge = format!("token={}&csrf=c1", "x".repeat(10_000));
    let res = send(
        &app,
        post_form("/dashboard/login", Some("cleanroom_login_csrf=c1"), &huge),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(sessions.is_empty().await.unwrap());
}

#[tokio::test]
async fn login_sets_a_view_only_session_cookie_with_the_right_flags() {
    for secure in [false, true] {
        let (app, sessions) = dashboard(secure);
        let res = send(
            &app,
            post_form(
                "/dashboard/login",
                Some("cleanroom_login_csrf=c1; cleanroom_session=planted"),
                &format!("token=%20{GOOD}%0A&csrf=c1&next=/dashboard/partnerships/p1"),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()[header::LOCATION],
            "/dashboard/partnerships/p1"
        );
        let cookie = set_cookies(&res)
            .into_iter()
            .find(|c| c.starts_with("cleanroom_session="))
            .expect("session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/;"), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
        let value = cookie_set(&res, SESSION_COOKIE).expect("value");
        assert_ne!(value, "planted");
        let (identity, _) = sessions.lookup(&value).await.unwrap().expect("signed in");
        assert_eq!(identity.org_id, "org-a");
        assert_eq!(identity.token_id, "cr_goodtoken");
        // An admin token signs in, but the cookie only ever reads.
        assert_eq!(identity.scope, Scope::View);
    }
}

#[tokio::test]
async fn next_cannot_leave_the_dashboard() {
    let (app, _) = dashboard(false);
    for next in ["//evil.example/x", "https://evil.example/", "/v1/tokens"] {
        let res = send(
            &app,
            post_form(
                "/dashboard/login",
                Some("cleanroom_login_csrf=c1"),
                &format!("token={GOOD}&csrf=c1&next={next}"),
            ),
        )
        .await;
        assert_eq!(res.headers()[header::LOCATION], "/dashboard/", "{next}");
    }
}

#[tokio::test]
async fn signed_in_pages_carry_the_sign_out_form() {
    let (app, _) = dashboard(false);
    let cookie = sign_in(&app).await;
    for (path, page) in [
        ("/dashboard/", "partnerships"),
        ("/dashboard/partnerships/p1", "partnership"),
        ("/dashboard/sessions/s1", "session"),
    ] {
        let res = send(&app, get(path, Some(&format!("{SESSION_COOKIE}={cookie}")))).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let html = body_text(res).await;
        assert!(html.contains(&format!("data-page=\"{page}\"")), "{path}");
        assert!(html.contains("action=\"/dashboard/logout\""));
        assert!(!html.contains("{{"), "unfilled placeholder in {path}");
        let csrf = hidden_field(&html, "csrf").expect("csrf");
        assert_eq!(csrf.len(), 43);
    }
}

#[tokio::test]
async fn the_login_page_passes_signed_in_people_through_unless_expired() {
    let (app, _) = dashboard(false);
    let cookie = sign_in(&app).await;
    let jar = format!("{SESSION_COOKIE}={cookie}");
    let res = send(
        &app,
        get("/dashboard/login?next=/dashboard/sessions/s1", Some(&jar)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/sessions/s1");
    let res = send(&app, get("/dashboard/login?expired=1", Some(&jar))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body_text(res).await.contains("Your sign-in has ended"));
}

#[tokio::test]
async fn logout_needs_the_session_csrf_token() {
    let (app, sessions) = dashboard(false);
    let cookie = sign_in(&app).await;
    let jar = format!("{SESSION_COOKIE}={cookie}");
    let res = send(&app, get("/dashboard/", Some(&jar))).await;
    let csrf = hidden_field(&body_text(res).await, "csrf").expect("csrf");

    let res = send(
        &app,
        post_form("/dashboard/logout", Some(&jar), "csrf=wrong"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(sessions.lookup(&cookie).await.unwrap().is_some());

    let res = send(
        &app,
        post_form("/dashboard/logout", Some(&jar), &format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/login");
    let cleared = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("cleanroom_session="))
        .expect("cleared cookie");
    assert!(cleared.contains("Max-Age=0"));
    assert!(sessions.lookup(&cookie).await.unwrap().is_none());
    let res = send(&app, get("/dashboard/", Some(&jar))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn assets_are_embedded_with_etags() {
    let (app, _) = dashboard(false);
    let res = send(&app, get("/dashboard/assets/dashboard.js", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = res.headers()[header::ETAG]
        .to_str()
        .expect("ascii")
        .to_owned();
    let req = Request::get("/dashboard/assets/dashboard.js")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&app, req).await.status(), StatusCode::NOT_MODIFIED);
    let res = send(&app, get("/dashboard/assets/dashboard.css", None)).await;
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    let res = send(&app, get("/dashboard/assets/../Cargo.toml", None)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = send(&app, get("/dashboard/assets/nope.js", None)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_dashboard_paths_are_not_found_pages() {
    let (app, _) = dashboard(false);
    let res = send(&app, get("/dashboard/nope/deeper", None)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(body_text(res).await.contains("Page not found"));
    let res = send(&app, get("/dashboard", None)).await;
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/");
    let res = send(&app, get("/", None)).await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/");
}
