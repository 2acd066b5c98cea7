//! The library's error type. `Display` never contains account data: CSV
//! problems name a line number and a column, never a value.

use std::path::PathBuf;

use cleanroom_core::api::Problem;

/// Everything that can go wrong in the client library.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status (problem+json when it could).
    #[error("server error {status}: {}", problem_text(.title, .detail))]
    Api {
        /// HTTP status.
        status: u16,
        /// Machine code from the problem document, if any.
        code: Option<String>,
        /// The problem's title (or the status reason).
        title: String,
        /// The problem's detail, if any.
        detail: Option<String>,
    },
    /// The server refused the token (401) or its scope (403).
    #[error("not authorized ({status}): {}", problem_text(.title, .detail))]
    Auth {
        /// 401 or 403.
        status: u16,
        /// The problem's title.
        title: String,
        /// The problem's detail, if any.
        detail: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the server: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server sent something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The TLS configuration could not be built (bad CA file, ...).
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A local file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input file is not UTF-8.
    #[error(
        "{}: file is not UTF-8 (looks like {guess}) at line {line}: re-export it as UTF-8",
        .path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: u64,
        /// The likely encoding.
        guess: &'static str,
    },
    /// The CSV could not be parsed.
    #[error("{}: line {line}: {message}", .path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong (never the content).
        message: String,
    },
    /// The input does not fit the requested mapping or rules.
    #[error("{0}")]
    Input(String),
    /// A configuration or usage problem (profile, options).
    #[error("{0}")]
    Config(String),
    /// Local session state is unusable or conflicts with the server.
    #[error("{0}")]
    State(String),
    /// Waiting for the counterpart or the server took too long.
    #[error("timed out after {waited_secs}s waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: &'static str,
        /// Seconds waited.
        waited_secs: u64,
    },
    /// The session was cancelled (by either side, or by a revocation).
    #[error("session {session_id} was cancelled")]
    Cancelled {
        /// The session.
        session_id: String,
    },
}

/// Problem code of a 429: the pair's sessions for the last 24 hours are used up.
pub const BUDGET_SESSIONS: &str = "session-budget-exhausted";
/// Problem code of a 429: the pair's ε for the window is used up.
pub const BUDGET_PRIVACY: &str = "privacy-budget-exhausted";

fn problem_text(title: &str, detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() && d != title => format!("{title}: {d}"),
        _ => title.to_owned(),
    }
}

/// Coarse classes of [`Error`], for exit codes and retry decisions.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input files or rules.
    Input,
    /// Bad options or configuration.
    Usage,
    /// The server, the network or the protocol.
    Server,
    /// Authentication or authorization.
    Auth,
    /// A session timed out or was cancelled.
    Session,
    /// Local files or state.
    Local,
}

impl Error {
    /// The error's class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api { .. } | Error::Transport(_) | Error::Protocol(_) => ErrorKind::Server,
            Error::Auth { .. } => ErrorKind::Auth,
            Error::NotUtf8 { .. } | Error::Csv { .. } | Error::Input(_) => ErrorKind::Input,
            Error::Config(_) | Error::Tls(_) => ErrorKind::Usage,
            Error::Timeout { .. } | Error::Cancelled { .. } => ErrorKind::Session,
            Error::Io { .. } | Error::State(_) => ErrorKind::Local,
        }
    }

    /// Whether the server refused a session because a budget of the pair of
    /// organizations is used up (`session-budget-exhausted`,
    /// `privacy-budget-exhausted`); the detail names when it refreshes.
    pub fn is_budget_exhausted(&self) -> bool {
        matches!(
            self,
            Error::Api { code: Some(c), .. }
                if c == BUDGET_SESSIONS || c == BUDGET_PRIVACY
        )
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn from_problem(status: u16, problem: Option<Problem>, reason: &str) -> Self {
        let (code, title, detail) = match problem {
            Some(p) => (Some(p.code), p.title, p.detail),
            None => (None, reason.to_owned(), None),
        };
        if status == 401 || status == 403 {
            Error::Auth {
                status,
                title,
                detail,
            }
        } else {
            Error::Api {
                status,
                code,
                title,
                detail,
            }
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
