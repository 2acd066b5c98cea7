//! The library's error type. `Display` never contains account data: CSV
//! problems name a line number and a column, never a value.

use std::path::PathBuf;

use cleanroom_core::api::{CancelReason, NamesWithoutCountry, Problem};
use cleanroom_core::protocol::protocol_version;

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
    /// The client and the server speak different protocol versions: the
    /// server refused the upload (`protocol-version-mismatch`), or its
    /// `GET /v1/limits` named another version before anything was uploaded.
    #[error("{}", version_advice(.client, .server.as_deref()))]
    VersionMismatch {
        /// The version this client speaks.
        client: String,
        /// The version the server speaks, when it said so.
        server: Option<String>,
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
    /// The input was prepared with another rule for names without a country
    /// than the partnership's policy: its company names would not meet the
    /// partner's.
    #[error(
        "the input was prepared with names without a country = {}, but the partnership's policy says {}; \
         prepare it again with InputOptions::names_without_country set to {} (the cleanroom CLI does this itself)",
        .prepared.as_str(), .agreed.as_str(), .agreed.as_str()
    )]
    NamesWithoutCountryMismatch {
        /// The rule the input was prepared with.
        prepared: NamesWithoutCountry,
        /// The rule of the partnership's policy.
        agreed: NamesWithoutCountry,
    },
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
    /// The session was cancelled (by either side, by a revocation, or
    /// because it expired before both sides had uploaded).
    #[error("session {session_id} was cancelled{}", cancel_text(.reason))]
    Cancelled {
        /// The session.
        session_id: String,
        /// Why, when the server said.
        reason: Option<CancelReason>,
    },
}

/// Problem code of a 429: the pair's sessions for the last 24 hours are used up.
pub const BUDGET_SESSIONS: &str = "session-budget-exhausted";
/// Problem code of a 429: the pair's ε for the window is used up.
pub const BUDGET_PRIVACY: &str = "privacy-budget-exhausted";

/// Problem code of a 422: the upload declares another protocol version
/// than the server's (member `protocol_version`: the server's).
pub const VERSION_MISMATCH: &str = "protocol-version-mismatch";

/// `cleanroom-vN` of a version string (`cleanroom-vN+psl-…`) as N.
fn protocol_generation(version: &str) -> Option<u32> {
    let id = version.split('+').next()?;
    id.strip_prefix("cleanroom-v")?.parse().ok()
}

/// Which side to upgrade. The `cleanroom-vN` parts are ordered; the data
/// part after `+` names a Public Suffix List snapshot by its hash, which says
/// nothing about which is newer.
fn version_advice(client: &str, server: Option<&str>) -> String {
    let Some(server) = server else {
        return format!(
            "the server speaks another protocol version than this cleanroom CLI ({client}): \
             upgrade whichever is older; a CLI and a server of the same release always agree"
        );
    };
    // The server's string goes to a terminal: no control characters from it.
    let server: String = server
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    let server = server.as_str();
    let both = format!("this cleanroom CLI speaks protocol {client}, the server {server}");
    match (protocol_generation(client), protocol_generation(server)) {
        (Some(c), Some(s)) if c < s => format!(
            "{both}: the server is newer; upgrade the cleanroom CLI to a release that speaks {server}"
        ),
        (Some(c), Some(s)) if c > s => format!(
            "{both}: the server is older; ask its operator to upgrade cleanroom-server to a release \
             that speaks {client}, or use a cleanroom CLI that speaks {server}"
        ),
        (Some(_), Some(_)) => format!(
            "{both}: the same protocol with different Public Suffix List data, which must match too; \
             upgrade whichever is older (a CLI and a server of the same release always agree)"
        ),
        _ => format!(
            "{both}: they must be the same; upgrade whichever is older \
             (a CLI and a server of the same release always agree)"
        ),
    }
}

fn cancel_text(reason: &Option<CancelReason>) -> &'static str {
    match reason {
        None => "",
        Some(CancelReason::CancelledByVendor) => " by the vendor",
        Some(CancelReason::CancelledByPartner) => " by the partner",
        Some(CancelReason::PartnershipRevoked) => ": the partnership was revoked",
        Some(CancelReason::ComputationFailed) => ": the server could not compute the result",
        Some(CancelReason::Expired) => {
            ": it expired before both sides had uploaded, and the server deleted its data; start a new session"
        }
    }
}

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
            Error::Api { .. }
            | Error::VersionMismatch { .. }
            | Error::Transport(_)
            | Error::Protocol(_) => ErrorKind::Server,
            Error::Auth { .. } => ErrorKind::Auth,
            Error::NotUtf8 { .. }
            | Error::Csv { .. }
            | Error::Input(_)
            | Error::NamesWithoutCountryMismatch { .. } => ErrorKind::Input,
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

    /// The error of an error status; `server_version` is the problem's
    /// `protocol_version` member, if it had one.
    pub(crate) fn from_problem(
        status: u16,
        problem: Option<Problem>,
        reason: &str,
        server_version: Option<String>,
    ) -> Self {
        if problem.as_ref().is_some_and(|p| p.code == VERSION_MISMATCH) {
            return Error::VersionMismatch {
                client: protocol_version(),
                server: server_version,
            };
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mismatch(server: Option<&str>) -> Error {
        let problem = Problem {
            type_: format!("urn:cleanroom:problem:{VERSION_MISMATCH}"),
            title: "Protocol version mismatch".into(),
            status: 422,
            detail: Some("this server speaks protocol …".into()),
            code: VERSION_MISMATCH.into(),
        };
        Error::from_problem(422, Some(problem), "", server.map(str::to_owned))
    }

    #[test]
    fn a_version_mismatch_says_which_side_to_upgrade() {
        let ours = protocol_version();
        let newer = mismatch(Some("cleanroom-v99+psl-0123456789ab")).to_string();
        assert!(newer.contains("upgrade the cleanroom CLI"), "{newer}");
        assert!(newer.contains(&ours) && newer.contains("cleanroom-v99+psl-0123456789ab"));
        let older = mismatch(Some("cleanroom-v1")).to_string();
        assert!(
            older.contains("ask its operator to upgrade cleanroom-server"),
            "{older}"
        );
        let data = mismatch(Some(&format!(
            "{}+psl-000000000000",
            cleanroom_core::protocol::PROTOCOL_ID
        )))
        .to_string();
        assert!(data.contains("Public Suffix List"), "{data}");
        let unsaid = mismatch(None);
        assert!(unsaid.to_string().contains("upgrade whichever is older"));
        assert_eq!(unsaid.kind(), ErrorKind::Server);
    }

    #[test]
    fn other_problems_stay_api_errors() {
        let problem = Problem {
            type_: "urn:cleanroom:problem:session-state".into(),
            title: "Not allowed in the session's state".into(),
            status: 409,
            detail: None,
            code: "session-state".into(),
        };
        assert!(matches!(
            Error::from_problem(409, Some(problem), "Conflict", None),
            Error::Api { status: 409, .. }
        ));
    }
}
