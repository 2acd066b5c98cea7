//! Errors per layer, and their RFC 9457 `application/problem+json` form.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cleanroom_core::api::Problem;
use cleanroom_core::protocol::protocol_version;

use crate::problem::ProblemType;
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
    /// An invitation code that cannot be accepted, for whatever reason: the
    /// answer never says which (wrong, expired, cancelled, already used).
    #[error(
        "this invitation code is not valid: it may be mistyped, expired, cancelled or already used; ask the inviting organization for a new one"
    )]
    InvitationInvalid,
    /// Not allowed in the current state.
    #[error("{detail}")]
    Conflict {
        /// A 409 problem type.
        code: ProblemType,
        /// Explanation.
        detail: String,
        /// The open session, for `session-open`.
        session_id: Option<String>,
    },
    /// Well-formed but invalid.
    #[error("{detail}")]
    Invalid {
        /// A 422 problem type.
        code: ProblemType,
        /// Explanation.
        detail: String,
    },
    /// The upload declares a protocol version other than the server's.
    #[error(
        "this server speaks protocol {}, the upload declares {declared}: client and server must speak the same version",
        protocol_version()
    )]
    VersionMismatch {
        /// The version the client declared, cut to 100 characters.
        declared: String,
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
        code: ProblemType,
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
    /// A well-formed request the server refuses (a 422 code).
    pub fn invalid(code: ProblemType, detail: impl Into<String>) -> Self {
        debug_assert_eq!(code.status(), StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        ApiError::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// A request that does not fit the current state (a 409 code).
    pub fn conflict(code: ProblemType, detail: impl Into<String>) -> Self {
        debug_assert_eq!(code.status(), StatusCode::CONFLICT, "{code}");
        ApiError::Conflict {
            code,
            detail: detail.into(),
            session_id: None,
        }
    }

    /// The problem type answered for this error; its status is the response's.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            ApiError::Unauthorized => ProblemType::Unauthorized,
            ApiError::TokenExpired => ProblemType::TokenExpired,
            ApiError::Forbidden(_) => ProblemType::Forbidden,
            ApiError::NotFound => ProblemType::NotFound,
            ApiError::InvitationInvalid => ProblemType::InvitationInvalid,
            ApiError::Conflict { code, .. }
            | ApiError::Invalid { code, .. }
            | ApiError::Budget { code, .. } => *code,
            ApiError::VersionMismatch { .. } => ProblemType::ProtocolVersionMismatch,
            ApiError::BadRequest(_) => ProblemType::BadRequest,
            ApiError::UnsupportedMediaType(_) => ProblemType::UnsupportedMediaType,
            ApiError::Unavailable => ProblemType::DatabaseUnavailable,
            ApiError::Internal(_) => ProblemType::Internal,
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

/// Builds a problem+json response; `session_id` is the open session of a
/// `session-open` conflict.
pub fn problem_response(
    problem: ProblemType,
    detail: Option<String>,
    session_id: Option<String>,
) -> Response {
    problem_with(problem, detail, session_id.map(|id| ("session_id", id)))
}

/// A problem+json response with one extension member.
fn problem_with(
    problem: ProblemType,
    detail: Option<String>,
    extension: Option<(&str, String)>,
) -> Response {
    let status = problem.status();
    let body = Problem {
        type_: problem.type_uri().to_owned(),
        title: problem.title().to_owned(),
        status: status.as_u16(),
        detail,
        code: problem.code().to_owned(),
    };
    let mut value = serde_json::to_value(&body).unwrap_or_default();
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
    problem: ProblemType,
    detail: Option<String>,
    retry_at: Option<i64>,
) -> Response {
    let detail = detail.map(|d| match retry_at {
        Some(at) => format!("{d}; it refreshes at {}", crate::routes::rfc3339(at)),
        None => format!("{d}; no session at this epsilon can ever fit: agree on a lower epsilon"),
    });
    let extra = retry_at.map(|at| ("retry_at", crate::routes::rfc3339(at)));
    let resp = problem_with(problem, detail, extra);
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
        let problem = self.problem_type();
        if let ApiError::Internal(msg) = &self {
            tracing::error!(error = %msg, "internal error");
            return problem_response(problem, None, None);
        }
        let detail = Some(self.to_string());
        match self {
            ApiError::Conflict { session_id, .. } => problem_response(problem, detail, session_id),
            ApiError::Budget { retry_at, .. } => budget_response(problem, detail, retry_at),
            // The server's version as a member of its own, so a client can
            // tell which side is behind without parsing the detail.
            ApiError::VersionMismatch { .. } => problem_with(
                problem,
                detail,
                Some(("protocol_version", protocol_version())),
            ),
            ApiError::Unavailable => with_retry_after(problem_response(problem, detail, None), 5),
            // Counted by the failed-attempt limiter like a 401.
            ApiError::InvitationInvalid => {
                let mut resp = problem_response(problem, detail, None);
                resp.extensions_mut()
                    .insert(crate::auth_limit::FailedAttempt);
                resp
            }
            _ => problem_response(problem, detail, None),
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
