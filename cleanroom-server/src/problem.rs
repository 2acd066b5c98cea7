//! Every problem type the server answers with, in one place.
//!
//! A problem's `code`, HTTP status and title come from [`ProblemType`] and
//! nowhere else, so the table in PROTOCOL.md section 11.2 can be checked
//! against [`ProblemType::ALL`] (`tests/problem_codes.rs`): a code added
//! here and not there, or the other way round, fails the build's tests.

use axum::http::StatusCode;

/// Prefix of every problem's `type` URI; the code is its last segment.
pub const TYPE_PREFIX: &str = "urn:cleanroom:problem:";

/// One line per problem type: `Variant = ("code", STATUS, "Title")`. A macro,
/// so that `ALL` cannot miss a variant.
macro_rules! problem_types {
    ($($(#[doc = $doc:literal])+ $variant:ident = ($code:literal, $status:ident, $title:literal),)+) => {
        /// A problem type: its `code` (the last segment of `type`), its HTTP
        /// status and its fixed title.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ProblemType {
            /// Every problem type, in the order of the specification's table.
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant,)+];

            /// The machine code, e.g. `session-state`.
            pub const fn code(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $code,)+
                }
            }

            /// The `type` URI: `urn:cleanroom:problem:<code>`.
            pub const fn type_uri(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => concat!("urn:cleanroom:problem:", $code),)+
                }
            }

            /// The HTTP status every occurrence is answered with.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(ProblemType::$variant => StatusCode::$status,)+
                }
            }

            /// The problem's `title`: the same for every occurrence (RFC 9457).
            pub const fn title(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $title,)+
                }
            }

            /// What the problem means (its doc comment).
            pub fn meaning(self) -> &'static str {
                let doc = match self {
                    $(ProblemType::$variant => concat!($($doc),+),)+
                };
                doc.trim()
            }
        }
    };
}

problem_types! {
    /// Malformed JSON, path or query, a chunk number that is not canonical,
    /// or a body that did not arrive within the body timeout.
    BadRequest = ("bad-request", BAD_REQUEST, "Bad request"),
    /// No, unknown or revoked token.
    Unauthorized = ("unauthorized", UNAUTHORIZED, "Unauthorized"),
    /// The token's expiry has passed.
    TokenExpired = ("token-expired", UNAUTHORIZED, "Token expired"),
    /// The token's scope is too low; a dashboard sign-in making a
    /// state-changing call; `GET overlaps` under the counts policy.
    Forbidden = ("forbidden", FORBIDDEN, "Forbidden"),
    /// No such resource, or another organization's (the two look the same).
    NotFound = ("not-found", NOT_FOUND, "Not found"),
    /// An invitation code that is wrong, expired, cancelled or already
    /// accepted (the four look the same); counts as a failed attempt.
    InvitationInvalid = ("invitation-invalid", NOT_FOUND, "Invalid invitation code"),
    /// The path exists, the method does not.
    MethodNotAllowed = ("method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed"),
    /// The call is not allowed in the session's current state.
    SessionState = ("session-state", CONFLICT, "Not allowed in the session's state"),
    /// The caller's side has already committed this upload.
    AlreadyCommitted = ("already-committed", CONFLICT, "Already committed"),
    /// The partnership has an open session (member `session_id`).
    SessionOpen = ("session-open", CONFLICT, "A session is open"),
    /// Not allowed in the partnership's current state.
    PartnershipState = ("partnership-state", CONFLICT, "Not allowed in the partnership's state"),
    /// Sessions need an active partnership.
    PartnershipNotActive = ("partnership-not-active", CONFLICT, "Partnership not active"),
    /// The two organizations already have a partnership (accepting an
    /// invitation from an organization one is already partnered with).
    PartnershipExists = ("partnership-exists", CONFLICT, "Partnership exists"),
    /// The partnership is already revoked.
    PartnershipRevoked = ("partnership-revoked", CONFLICT, "Partnership revoked"),
    /// The body is larger than the endpoint takes (64 KiB of JSON, or the
    /// deployment's chunk size).
    PayloadTooLarge = ("payload-too-large", PAYLOAD_TOO_LARGE, "Payload too large"),
    /// The body's `Content-Type` is not the one the endpoint takes.
    UnsupportedMediaType = ("unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
    /// `CommitBlinded.protocol_version` is not the server's (member
    /// `protocol_version`: the server's version).
    ProtocolVersionMismatch = ("protocol-version-mismatch", UNPROCESSABLE_ENTITY, "Protocol version mismatch"),
    /// The declared populations: none, too many, bad or repeated names, or no
    /// slot left for `(other)`.
    InvalidPopulations = ("invalid-populations", UNPROCESSABLE_ENTITY, "Invalid populations"),
    /// A population (or `(other)`) has fewer accounts than `min_population_size`.
    PopulationTooSmall = ("population-too-small", UNPROCESSABLE_ENTITY, "Population too small"),
    /// A record names a population that was not declared.
    UndeclaredPopulation = ("undeclared-population", UNPROCESSABLE_ENTITY, "Undeclared population"),
    /// The keys of one row carry different population bits.
    InconsistentRow = ("inconsistent-row", UNPROCESSABLE_ENTITY, "Inconsistent row"),
    /// One row carries two keys of the same type.
    DuplicateKey = ("duplicate-key", UNPROCESSABLE_ENTITY, "Duplicate key"),
    /// The same blinded key is on two records.
    DuplicatePoint = ("duplicate-point", UNPROCESSABLE_ENTITY, "Duplicate point"),
    /// A row is in more populations than `max_populations_per_row`.
    TooManyPopulationsPerRow = ("too-many-populations-per-row", UNPROCESSABLE_ENTITY, "Too many populations per row"),
    /// Records per side, bytes per organization, or a chunk number at or
    /// above the record quota.
    QuotaExceeded = ("quota-exceeded", UNPROCESSABLE_ENTITY, "Quota exceeded"),
    /// A blinded chunk that does not decode (also a non-canonical or
    /// identity point).
    MalformedRecords = ("malformed-records", UNPROCESSABLE_ENTITY, "Malformed records"),
    /// A token chunk that is not a whole number of tokens.
    MalformedTokens = ("malformed-tokens", UNPROCESSABLE_ENTITY, "Malformed tokens"),
    /// A chunk with no record.
    EmptyChunk = ("empty-chunk", UNPROCESSABLE_ENTITY, "Empty chunk"),
    /// The commit's chunk count is not the chunks uploaded.
    ChunksMismatch = ("chunks-mismatch", UNPROCESSABLE_ENTITY, "Chunks mismatch"),
    /// The commit's record count is not the records uploaded.
    RecordCountMismatch = ("record-count-mismatch", UNPROCESSABLE_ENTITY, "Record count mismatch"),
    /// The token count is not the counterpart's record count.
    TokenCountMismatch = ("token-count-mismatch", UNPROCESSABLE_ENTITY, "Token count mismatch"),
    /// ε outside the deployment's `[epsilon_min, epsilon_max]`.
    EpsilonOutOfRange = ("epsilon-out-of-range", UNPROCESSABLE_ENTITY, "Epsilon out of range"),
    /// A policy's `session_expiry_secs` of 0 or longer than the
    /// deployment's session expiry (a policy may only shorten it).
    InvalidSessionExpiry = ("invalid-session-expiry", UNPROCESSABLE_ENTITY, "Invalid session expiry"),
    /// An organization accepted its own invitation.
    SelfPartnership = ("self-partnership", UNPROCESSABLE_ENTITY, "Self partnership"),
    /// A token label that is empty or longer than 100 characters.
    InvalidLabel = ("invalid-label", UNPROCESSABLE_ENTITY, "Invalid label"),
    /// A token expiry outside 1 to 3650 days, or an invitation's outside 1
    /// to the deployment's `invitation_expiry_days`.
    InvalidExpiry = ("invalid-expiry", UNPROCESSABLE_ENTITY, "Invalid expiry"),
    /// A count too large to store.
    OutOfRange = ("out-of-range", UNPROCESSABLE_ENTITY, "Out of range"),
    /// A webhook registration or rotation that does not fit: not an
    /// `https://` URL, credentials in it, a host name that does not resolve,
    /// an unknown or no event type, too many endpoints, a grace period too long.
    InvalidWebhook = ("invalid-webhook", UNPROCESSABLE_ENTITY, "Invalid webhook"),
    /// A webhook target that is, or resolves to, an address the deployment
    /// denies (by default private, loopback, link-local and similar ranges).
    WebhookTargetDenied = ("webhook-target-denied", UNPROCESSABLE_ENTITY, "Webhook target denied"),
    /// A JSON body that does not fit its schema, e.g. a non-positive ε.
    Unprocessable = ("unprocessable", UNPROCESSABLE_ENTITY, "Unprocessable content"),
    /// The pair's sessions for the last 24 hours are used up (member
    /// `retry_at`, header `Retry-After`).
    SessionBudgetExhausted = ("session-budget-exhausted", TOO_MANY_REQUESTS, "Session budget exhausted"),
    /// The pair's ε for the window is used up (member `retry_at`, header
    /// `Retry-After`, both absent when no session at this ε can ever fit).
    PrivacyBudgetExhausted = ("privacy-budget-exhausted", TOO_MANY_REQUESTS, "Privacy budget exhausted"),
    /// Too many failed authentications or invitation codes from the
    /// client's address or with the presented token (header `Retry-After`).
    TooManyFailedAttempts = ("too-many-failed-attempts", TOO_MANY_REQUESTS, "Too many failed attempts"),
    /// The request's header fields exceed 16 KiB or 64 fields.
    HeadersTooLarge = ("headers-too-large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Request header fields too large"),
    /// Something failed on the server; details are only in its log.
    Internal = ("internal", INTERNAL_SERVER_ERROR, "Internal server error"),
    /// `/readyz`: the database does not answer within a second.
    NotReady = ("not-ready", SERVICE_UNAVAILABLE, "Not ready"),
    /// The database is unreachable; retry (header `Retry-After: 5`).
    DatabaseUnavailable = ("database-unavailable", SERVICE_UNAVAILABLE, "Database unavailable"),
}

impl ProblemType {
    /// The problem type of a code, if it is one.
    pub fn from_code(code: &str) -> Option<ProblemType> {
        ProblemType::ALL.iter().copied().find(|p| p.code() == code)
    }

    /// The problem type for an error answered by axum or tower itself (a
    /// rejection or the fallback), from its status. A status no problem type
    /// has becomes `bad-request` (4xx) or `internal` (5xx), so the server
    /// never answers a code the specification does not list.
    pub fn for_status(status: StatusCode) -> ProblemType {
        match status {
            StatusCode::BAD_REQUEST => ProblemType::BadRequest,
            StatusCode::NOT_FOUND => ProblemType::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemType::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemType::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemType::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ProblemType::Unprocessable,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ProblemType::HeadersTooLarge,
            s if s.is_client_error() => {
                tracing::warn!(status = s.as_u16(), "unlisted error status answered as 400");
                ProblemType::BadRequest
            }
            s => {
                if s != StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::warn!(status = s.as_u16(), "unlisted error status answered as 500");
                }
                ProblemType::Internal
            }
        }
    }
}

impl std::fmt::Display for ProblemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
