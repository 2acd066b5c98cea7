//! The dashboard's static files, embedded at compile time so the binary
//! serves them with nothing on disk and no network.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// HTML shell shared by every page.
pub(super) const LAYOUT_HTML: &str = include_str!("../../assets/layout.html");
/// Header navigation with the sign-out form, for signed-in pages.
pub(super) const NAV_HTML: &str = include_str!("../../assets/nav.html");
/// Sign-in page body.
pub(super) const LOGIN_HTML: &str = include_str!("../../assets/login.html");
/// Partnerships list body.
pub(super) const PARTNERSHIPS_HTML: &str = include_str!("../../assets/partnerships.html");
/// One partnership's body.
pub(super) const PARTNERSHIP_HTML: &str = include_str!("../../assets/partnership.html");
/// One session's body.
pub(super) const SESSION_HTML: &str = include_str!("../../assets/session.html");
/// Not-found body.
pub(super) const NOT_FOUND_HTML: &str = include_str!("../../assets/not-found.html");

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "dashboard.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/dashboard.css"),
    },
    Asset {
        name: "dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/dashboard.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/favicon.svg"),
    },
];

/// Strong ETags from the content, so browsers revalidate cheaply and never
/// run a stale script after an upgrade.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..32]))
        .collect()
});

/// `GET /dashboard/assets/{name}`.
pub(super) async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let asset = &ASSETS[i];
    let etag = &ETAGS[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = res.headers_mut();
    // `no-cache` means "revalidate", which the ETag makes a cheap 304.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    res
}
