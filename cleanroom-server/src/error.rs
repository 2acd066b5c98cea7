//! Errors per layer, and their RFC 9457 `application/problem+json` form.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cleanroom_core::api::Problem;

use crate::store::StoreError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answered to an API caller. Its text never carries account data or secrets.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No, malformed, unknown or revoked bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The token's expiry has passed.
    #[error("the token has expired")]
    TokenExpired,
    /// The token's scope does not allow the call, or the caller's side may not do it.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or not visible to the caller (never distinguishes the two).
    #[error("no such resource")]
    NotFound,
    /// Not allowed in the current state.
    #[error("{detail}")]
    Conflict {
        /// Machine code.
        code: &'static str,
        /// Explanation.
        detail: String,
        /// The open session, for `session-open`.
        session_id: Option<String>,
    },
    /// Well-formed but invalid.
    #[error("{detail}")]
    Invalid {
        /// Machine code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// A body in a media type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A budget of the pair of organizations is used up.
    #[error("{detail}")]
    Budget {
        /// `session-budget-exhausted` or `privacy-budget-exhausted`.
        code: &'static str,
        /// Which budget and how much is spent.
        detail: String,
        /// Unix seconds when a session fits again; `None` if it never will.
        retry_at: Option<i64>,
    },
    /// The database does not answer; the call may be retried.
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// Something failed on the server; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 422.
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// A 409.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            detail: detail.into(),
            session_id: None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::TokenExpired => (StatusCode::UNAUTHORIZED, "token-expired"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not-found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Invalid { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
            }
            ApiError::Budget { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database-unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict {
                code,
                detail,
                session_id,
            } => ApiError::Conflict {
                code,
                detail,
                session_id,
            },
            StoreError::Invalid { code, detail } => ApiError::Invalid { code, detail },
            StoreError::Budget {
                code,
                detail,
                retry_at,
            } => ApiError::Budget {
                code,
                detail,
                retry_at,
            },
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// A fixed title per status.
pub fn title_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict with the current state",
        413 => "Payload too large",
        415 => "Unsupported media type",
        422 => "Unprocessable content",
        429 => "Too many requests",
        503 => "Service unavailable",
        s if s >= 500 => "Internal server error",
        _ => "Request failed",
    }
}

/// Builds a problem+json response.
pub fn problem_response(
    status: StatusCode,
    code: &str,
    detail: Option<String>,
    session_id: Option<String>,
) -> Response {
    problem_with(
        status,
        code,
        detail,
        session_id.map(|id| ("session_id", id)),
    )
}

/// A problem+json response with one extension member.
fn problem_with(
    status: StatusCode,
    code: &str,
    detail: Option<String>,
    extension: Option<(&str, String)>,
) -> Response {
    let problem = Problem {
        type_: format!("urn:cleanroom:problem:{code}"),
        title: title_of(status).to_owned(),
        status: status.as_u16(),
        detail,
        code: code.to_owned(),
    };
    let mut value = serde_json::to_value(&problem).unwrap_or_default();
    if let (Some((name, v)), Some(obj)) = (extension, value.as_object_mut()) {
        obj.insert(name.into(), serde_json::Value::String(v));
    }
    let body = serde_json::to_vec(&value).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A 429: the problem names the time the budget refreshes (`retry_at`,
/// RFC 3339) and `Retry-After` says the same in seconds.
fn budget_response(
    status: StatusCode,
    code: &str,
    detail: Option<String>,
    retry_at: Option<i64>,
) -> Response {
    let detail = detail.map(|d| match retry_at {
        Some(at) => format!("{d}; it refreshes at {}", crate::routes::rfc3339(at)),
        None => format!("{d}; no session at this epsilon can ever fit: agree on a lower epsilon"),
    });
    let extra = retry_at.map(|at| ("retry_at", crate::routes::rfc3339(at)));
    let resp = problem_with(status, code, detail, extra);
    match retry_at {
        Some(at) => with_retry_after(resp, u64::try_from(at - crate::now()).unwrap_or(0)),
        None => resp,
    }
}

/// Adds `Retry-After: secs` (at least 1: a client must not retry at once).
pub fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(msg) = &self {
            tracing::error!(error = %msg, "internal error");
            return problem_response(status, code, None, None);
        }
        let detail = Some(self.to_string());
        match self {
            ApiError::Conflict { session_id, .. } => {
                problem_response(status, code, detail, session_id)
            }
            ApiError::Budget { retry_at, .. } => budget_response(status, code, detail, retry_at),
            ApiError::Unavailable => {
                with_retry_after(problem_response(status, code, detail, None), 5)
            }
            _ => problem_response(status, code, detail, None),
        }
    }
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Binding or serving failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// TLS configuration failed.
    #[error("tls: {0}")]
    Tls(String),
    /// Plain HTTP on a non-loopback address without `--insecure-http`.
    #[error(
        "refusing plain HTTP on non-loopback address {0}: configure --tls-cert/--tls-key or pass --insecure-http"
    )]
    InsecureBind(std::net::SocketAddr),
    /// Bad configuration.
    #[error("config: {0}")]
    Config(String),
}
