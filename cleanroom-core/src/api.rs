//! JSON bodies of the HTTP API under `/v1`, shared by server and client.
//!
//! Binary bodies (blinded records, points, tokens) are described in
//! [`crate::wire`]. PROTOCOL.md lists every endpoint; the summary:
//!
//! | method & path | scope | body → response |
//! |---|---|---|
//! | `GET /v1/me` | any | → [`Me`] |
//! | `POST /v1/tokens` | admin | [`CreateToken`] → 201 [`CreatedToken`] |
//! | `GET /v1/tokens` | admin | → `[TokenInfo]` |
//! | `DELETE /v1/tokens/{id}` | admin | → 204 |
//! | `POST /v1/invitations` | admin | [`CreateInvitation`] → 201 [`CreatedInvitation`] |
//! | `GET /v1/invitations` | admin | → `[Invitation]`, newest first |
//! | `POST /v1/invitations/{id}/cancel` | admin | → [`Invitation`] |
//! | `POST /v1/invitations/preview` | admin | [`InvitationCode`] → [`InvitationPreview`] |
//! | `POST /v1/invitations/accept` | admin | [`InvitationCode`] → 201 [`Partnership`] |
//! | `GET /v1/partnerships` | view | → `[Partnership]` |
//! | `GET /v1/partnerships/{id}` | view | → [`Partnership`] |
//! | `POST /v1/partnerships/{id}/accept` | admin | → [`Partnership`] (invited by name before codes) |
//! | `PUT /v1/partnerships/{id}/policy` | admin | [`ProposePolicy`] → [`Partnership`] |
//! | `POST /v1/partnerships/{id}/revoke` | admin | → [`Partnership`] |
//! | `GET /v1/partnerships/{id}/audit` | view | → `[AuditEntry]` |
//! | `POST /v1/partnerships/{id}/sessions` | upload | → 201 [`Session`] (409 if one is open) |
//! | `GET /v1/partnerships/{id}/sessions` | view | → `[Session]`, newest first |
//! | `GET /v1/partnerships/{id}/agents` | view | → [`PartnershipAgents`] |
//! | `POST /v1/agents/heartbeat` | upload | [`AgentHeartbeat`] → 204 |
//! | `GET /v1/sessions/{id}` | view | → [`Session`] |
//! | `POST /v1/sessions/{id}/cancel` | upload | → [`Session`] |
//! | `PUT /v1/sessions/{id}/blinded/{seq}` | upload | 48-byte records → [`ChunkReceipt`] |
//! | `POST /v1/sessions/{id}/blinded/commit` | upload | [`CommitBlinded`] → [`Session`] |
//! | `GET /v1/sessions/{id}/counterpart/points` | upload | → 32-byte points |
//! | `PUT /v1/sessions/{id}/tokens/{seq}` | upload | 16-byte tokens → [`ChunkReceipt`] |
//! | `POST /v1/sessions/{id}/tokens/commit` | upload | [`CommitTokens`] → [`Session`] |
//! | `GET /v1/sessions/{id}/results` | view | → [`SessionResults`] |
//! | `GET /v1/sessions/{id}/overlaps` | view | → [`OverlappingRecords`] |
//!
//! Errors are RFC 9457 `application/problem+json` bodies: [`Problem`].

use serde::{Deserialize, Serialize};

use crate::disclosure::{DisclosedCell, DisclosedPopulation};
use crate::overlap::NameMatching;

/// What a token may do. `admin` implies `upload` and `view`; `upload` implies `view`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read partnerships, sessions, results and audit entries.
    View,
    /// Everything `view` may do, plus take part in sessions.
    Upload,
    /// Everything, plus tokens and partnerships.
    Admin,
}

impl Scope {
    /// Whether a token with scope `self` may do what `needed` allows.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

/// An organization as others see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Org {
    /// Stable id.
    pub id: String,
    /// Unique display name, shown to partners.
    pub name: String,
}

/// `GET /v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The caller's organization.
    pub org: Org,
    /// The caller's token (without its secret).
    pub token: TokenInfo,
}

/// `POST /v1/tokens`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateToken {
    /// A human label, e.g. "crm-sync".
    pub label: String,
    /// The token's scope.
    pub scope: Scope,
    /// Lifetime in days; `None` for no expiry.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A token's metadata; the secret is never returned after creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// Public token id (`tok_…`), random and independent of the secret.
    pub id: String,
    /// Label given at creation.
    pub label: String,
    /// Scope.
    pub scope: Scope,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 expiry, if any.
    pub expires_at: Option<String>,
}

/// `201` answer to `POST /v1/tokens`: the only time the secret is shown.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// Metadata.
    pub info: TokenInfo,
    /// The bearer secret. Store it now; the server keeps only its SHA-256.
    pub token: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("info", &self.info)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Which side of a partnership an organization is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The software vendor: rows of the overlap matrix.
    Vendor,
    /// The partner (reseller, ISV, SI, MSP): columns of the matrix.
    Partner,
}

impl Role {
    /// The other side.
    pub fn other(self) -> Role {
        match self {
            Role::Vendor => Role::Partner,
            Role::Partner => Role::Vendor,
        }
    }

    /// `"vendor"` or `"partner"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Vendor => "vendor",
            Role::Partner => "partner",
        }
    }
}

/// What each side may fetch beyond the matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RecordSharing {
    /// The overlap matrix and totals only.
    #[default]
    Counts,
    /// Also, each side may fetch which of its own row ids matched, with the
    /// counterpart populations they matched.
    OverlappingRecords,
}

/// The sharing policy both sides agree to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharingPolicy {
    /// Counts only, or overlapping records too.
    #[serde(default)]
    pub records: RecordSharing,
    /// Whether the partner may see the vendor's matched and white-space counts.
    #[serde(default)]
    pub vendor_shares_white_space: bool,
    /// Whether the vendor may see the partner's matched and white-space counts.
    #[serde(default)]
    pub partner_shares_white_space: bool,
    /// When company-name matches count.
    #[serde(default)]
    pub name_matching: NameMatching,
    /// What both clients upload for an account whose country is missing or
    /// unknown. The server never sees countries (they are inside the hashed
    /// name key), so the two sides agree on this here and each applies it
    /// when it prepares its upload.
    #[serde(default)]
    pub names_without_country: NamesWithoutCountry,
    /// Exact counts, or differentially private ones with a per-session ε.
    /// Left out of a request, the server fills in noisy counts at its default ε.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<CountsMode>,
    /// Seconds a session of this partnership stays open before the server
    /// cancels it and deletes its data: shortens the deployment's
    /// `session_expiry_secs` (`GET /v1/limits`), never lengthens it. Absent:
    /// the deployment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expiry_secs: Option<u64>,
}

/// The name key of an account without a usable country.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum NamesWithoutCountry {
    /// No name key: such an account matches on its domains and DUNS only.
    #[default]
    Omit,
    /// An unqualified name key, which only matches the other side's
    /// unqualified names (never a country-qualified one).
    Unqualified,
}

impl NamesWithoutCountry {
    /// The JSON and command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NamesWithoutCountry::Omit => "omit",
            NamesWithoutCountry::Unqualified => "unqualified",
        }
    }
}

impl SharingPolicy {
    /// The counts mode in force (a policy stored before noisy counts existed is exact).
    pub fn counts_mode(&self) -> CountsMode {
        self.counts.unwrap_or(CountsMode::Exact)
    }
}

/// ε in millionths, written in JSON as a decimal number (`1.0`, `0.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = f64, example = 1.0))]
pub struct Epsilon(pub u64);

impl Epsilon {
    /// From a decimal ε, rounded to millionths; `None` unless finite and
    /// non-negative (a spent budget can be 0; a policy's ε is checked
    /// against the server's positive minimum).
    pub fn from_f64(e: f64) -> Option<Epsilon> {
        let micro = (e * crate::noise::EPSILON_SCALE as f64).round();
        (e.is_finite() && (0.0..1e15).contains(&micro)).then_some(Epsilon(micro as u64))
    }

    /// As a decimal.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / crate::noise::EPSILON_SCALE as f64
    }
}

impl std::fmt::Display for Epsilon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

impl Serialize for Epsilon {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Epsilon {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = f64::deserialize(d)?;
        Epsilon::from_f64(e)
            .ok_or_else(|| serde::de::Error::custom("epsilon must be a non-negative number"))
    }
}

/// How counts are disclosed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum CountsMode {
    /// Exact counts, with "< k" suppression and banded marginals. Both sides
    /// choose it explicitly: exact counts of chosen inputs can be differenced.
    Exact,
    /// Differentially private counts: one ε for the whole release of a session.
    Noisy {
        /// The session's privacy parameter.
        epsilon: Epsilon,
    },
}

/// The server's limits, learned before a session (`GET /v1/limits`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// The protocol version the server speaks.
    pub protocol_version: String,
    /// Accounts every declared population (and a non-empty implicit "other") must hold.
    pub min_population_size: u64,
    /// Counts below this are shown as "< k".
    pub min_cell_size: u64,
    /// Populations one account may be in (checked at commit).
    pub max_populations_per_row: u64,
    /// Keys one account may carry (one per key type).
    pub max_keys_per_row: u64,
    /// Sessions per pair of organizations per rolling 24 hours.
    pub sessions_per_day: u32,
    /// Smallest ε a policy may choose.
    pub epsilon_min: Epsilon,
    /// Largest ε a policy may choose.
    pub epsilon_max: Epsilon,
    /// ε a new partnership gets when its invitation does not say.
    pub epsilon_default: Epsilon,
    /// ε a pair of organizations may spend per window.
    pub epsilon_budget: Epsilon,
    /// The rolling window of the ε budget, in days.
    pub epsilon_window_days: u32,
    /// Records (keys) one side of a session may upload.
    pub max_records_per_side: u64,
    /// Seconds a session stays open at most before the server cancels it
    /// and deletes its data (a partnership's policy may shorten it). Absent
    /// from servers older than session expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expiry_secs: Option<u64>,
}

/// What a pair of organizations has left of its budgets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairBudget {
    /// Sessions created in the last 24 hours (cancelled ones included).
    pub sessions_used: u32,
    /// Sessions allowed per rolling 24 hours.
    pub sessions_per_day: u32,
    /// ε spent in the window by sessions that were not cancelled.
    pub epsilon_spent: Epsilon,
    /// ε allowed per window.
    pub epsilon_budget: Epsilon,
    /// The window, in days.
    pub epsilon_window_days: u32,
    /// RFC 3339: when the oldest spending in the window stops counting, if any.
    pub next_refresh_at: Option<String>,
}

/// `POST /v1/invitations`: invite a partner with a single-use code. The
/// invitation names no organization: whoever the inviter gives the code to
/// accepts it (so no answer depends on which organization names exist).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInvitation {
    /// The inviter's own role.
    pub my_role: Role,
    /// The proposed policy; the invitee agrees to it by accepting.
    #[serde(default)]
    pub policy: SharingPolicy,
    /// Days the code stays valid: 1 up to the deployment's
    /// `invitation_expiry_days` (7 by default), which is also the default.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// Lifecycle of an invitation, as its inviter sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// The code can be accepted.
    Open,
    /// Accepted: the partnership exists (`partnership_id`).
    Accepted,
    /// Not accepted before `expires_at`.
    Expired,
    /// Cancelled by the inviter.
    Cancelled,
}

/// An invitation as its inviting organization sees it; never the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    /// Stable id (`inv_…`), independent of the code.
    pub id: String,
    /// The inviter's role in the partnership it proposes.
    pub my_role: Role,
    /// The proposed policy.
    pub policy: SharingPolicy,
    /// Lifecycle state.
    pub status: InvitationStatus,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the code is refused from then on.
    pub expires_at: String,
    /// The partnership its acceptance created.
    pub partnership_id: Option<String>,
}

/// `201` answer to `POST /v1/invitations`: the only time the code is shown.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// The single-use code (`cri_` + 43 base64url characters) to give the
    /// partner's administrator. The server keeps only its SHA-256.
    pub code: String,
}

impl std::fmt::Debug for CreatedInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedInvitation")
            .field("invitation", &self.invitation)
            .field("code", &"<redacted>")
            .finish()
    }
}

/// `POST /v1/invitations/preview` and `POST /v1/invitations/accept`: the
/// code, in the body so it stays out of URLs and access logs.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationCode {
    /// The code the inviter passed on.
    pub code: String,
}

impl std::fmt::Debug for InvitationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvitationCode(<redacted>)")
    }
}

/// What a code's holder is invited to, shown before accepting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationPreview {
    /// The inviting organization.
    pub inviter: Org,
    /// The inviter's role.
    pub inviter_role: Role,
    /// The role the accepting organization gets.
    pub your_role: Role,
    /// The proposed policy, agreed to by accepting.
    pub policy: SharingPolicy,
    /// RFC 3339: the code is refused from then on.
    pub expires_at: String,
}

/// `PUT /v1/partnerships/{id}/policy`: propose, or agree to, a policy change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposePolicy {
    /// The policy. It takes effect once both sides have put the same one.
    pub policy: SharingPolicy,
}

/// Lifecycle of a partnership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PartnershipStatus {
    /// Invited by name, not yet accepted (only partnerships invited before
    /// invitation codes; an accepted code creates an active partnership).
    Invited,
    /// Both sides agreed; sessions may run.
    Active,
    /// Ended by either side; its blinded data is deleted.
    Revoked,
}

/// A policy change waiting for the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingPolicy {
    /// The proposed policy.
    pub policy: SharingPolicy,
    /// Who proposed it.
    pub proposed_by: Role,
}

/// A partnership as one of its two organizations sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Partnership {
    /// Stable id.
    pub id: String,
    /// The vendor organization.
    pub vendor: Org,
    /// The partner organization.
    pub partner: Org,
    /// The caller's role in it.
    pub my_role: Role,
    /// Lifecycle state.
    pub status: PartnershipStatus,
    /// The policy in force (agreed by both).
    pub policy: SharingPolicy,
    /// A proposed change, if any.
    pub pending_policy: Option<PendingPolicy>,
    /// RFC 3339.
    pub created_at: String,
    /// The newest session, if any.
    pub last_session: Option<SessionSummary>,
    /// What the two organizations have left of their budgets (shared by all
    /// partnerships between them).
    pub budget: Option<PairBudget>,
}

/// Session lifecycle. Transitions only move forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Waiting for both sides to commit their blinded records.
    AwaitingBlinded,
    /// Both blinded sets committed; waiting for both token sets.
    AwaitingTokens,
    /// Both token sets in; the server is computing.
    Computing,
    /// Results are available; blinded data and tokens are deleted.
    Completed,
    /// Cancelled by a participant, because the partnership was revoked,
    /// the computation failed or the session expired (see
    /// [`Session::cancel_reason`]); its data is deleted.
    Cancelled,
}

/// Why a session was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The vendor cancelled it.
    CancelledByVendor,
    /// The partner cancelled it.
    CancelledByPartner,
    /// The partnership was revoked.
    PartnershipRevoked,
    /// The server could not compute the result.
    ComputationFailed,
    /// It reached its `expires_at` before both sides committed their tokens.
    Expired,
}

impl CancelReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CancelReason::CancelledByVendor => "cancelled_by_vendor",
            CancelReason::CancelledByPartner => "cancelled_by_partner",
            CancelReason::PartnershipRevoked => "partnership_revoked",
            CancelReason::ComputationFailed => "computation_failed",
            CancelReason::Expired => "expired",
        }
    }

    /// The inverse of [`CancelReason::as_str`].
    pub fn parse(s: &str) -> Option<CancelReason> {
        [
            CancelReason::CancelledByVendor,
            CancelReason::CancelledByPartner,
            CancelReason::PartnershipRevoked,
            CancelReason::ComputationFailed,
            CancelReason::Expired,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// The reason a participant's own cancellation gets.
    pub const fn by(role: Role) -> CancelReason {
        match role {
            Role::Vendor => CancelReason::CancelledByVendor,
            Role::Partner => CancelReason::CancelledByPartner,
        }
    }
}

impl SessionState {
    /// The wire name, as serde writes it (for query strings).
    pub const fn as_str(self) -> &'static str {
        match self {
            SessionState::AwaitingBlinded => "awaiting_blinded",
            SessionState::AwaitingTokens => "awaiting_tokens",
            SessionState::Computing => "computing",
            SessionState::Completed => "completed",
            SessionState::Cancelled => "cancelled",
        }
    }

    /// Whether the session can still change.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            SessionState::AwaitingBlinded | SessionState::AwaitingTokens | SessionState::Computing
        )
    }
}

/// Progress of one upload stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Nothing received.
    Pending,
    /// Some chunks received, not committed; resumable.
    Uploading,
    /// Committed and validated.
    Committed,
}

/// One party's progress in a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartyProgress {
    /// Population names, once the blinded set is committed.
    pub populations: Option<Vec<String>>,
    /// Blinded records committed.
    pub records: Option<u64>,
    /// Blinded upload.
    pub blinded: UploadState,
    /// Chunk sequence numbers of the blinded upload received so far.
    pub blinded_chunks: Vec<u32>,
    /// Token upload (tokens for the counterpart's records).
    pub tokens: UploadState,
    /// Chunk sequence numbers of the token upload received so far.
    pub token_chunks: Vec<u32>,
}

/// A session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// Stable id.
    pub id: String,
    /// The partnership it belongs to.
    pub partnership_id: String,
    /// Lifecycle state.
    pub state: SessionState,
    /// The protocol version both sides must use.
    pub protocol_version: String,
    /// Who created it.
    pub created_by: Role,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once completed or cancelled.
    pub finished_at: Option<String>,
    /// RFC 3339: when the server cancels the session and deletes its data
    /// unless both token sets are committed by then. `null` for sessions
    /// created before session expiry existed.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Why the session was cancelled (`null` unless `state` is `cancelled`,
    /// and for sessions cancelled before reasons were recorded).
    #[serde(default)]
    pub cancel_reason: Option<CancelReason>,
    /// The vendor's progress.
    pub vendor: PartyProgress,
    /// The partner's progress.
    pub partner: PartyProgress,
    /// The caller's role.
    pub my_role: Role,
}

/// A session in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    /// Stable id.
    pub id: String,
    /// Lifecycle state.
    pub state: SessionState,
    /// RFC 3339.
    pub created_at: String,
}

/// Answer to a chunk `PUT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChunkReceipt {
    /// The chunk's sequence number.
    pub seq: u32,
    /// Records in the chunk.
    pub records: u64,
}

/// `POST /v1/sessions/{id}/blinded/commit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitBlinded {
    /// Must equal the server's `protocol_version()`.
    pub protocol_version: String,
    /// Population names; bit `i` of a record's populations is `populations[i]`.
    pub populations: Vec<String>,
    /// Number of chunks, numbered `0..chunks`.
    pub chunks: u32,
    /// Total records across the chunks.
    pub records: u64,
}

/// `POST /v1/sessions/{id}/tokens/commit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitTokens {
    /// Number of chunks, numbered `0..chunks`.
    pub chunks: u32,
    /// Total tokens; must equal the counterpart's committed record count.
    pub records: u64,
}

/// One side's populations in a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultSide {
    /// The organization.
    pub org: Org,
    /// Population names, in the order of the matrix.
    pub populations: Vec<String>,
    /// Disclosed figures per population.
    pub figures: Vec<DisclosedPopulation>,
}

/// `GET /v1/sessions/{id}/results`: the same for both sides, except that a
/// side's matched and white-space counts are `null` for the other side unless
/// the policy shares them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResults {
    /// The session.
    pub session_id: String,
    /// The partnership.
    pub partnership_id: String,
    /// RFC 3339.
    pub computed_at: String,
    /// The caller's role.
    pub my_role: Role,
    /// Minimum cell size in force: smaller counts are ranges.
    pub min_cell_size: u64,
    /// The policy the session ran under.
    pub policy: SharingPolicy,
    /// How the counts were released.
    pub disclosure: DisclosureInfo,
    /// Vendor side (matrix rows).
    pub vendor: ResultSide,
    /// Partner side (matrix columns).
    pub partner: ResultSide,
    /// Row-major vendor × partner populations.
    pub cells: Vec<Vec<DisclosedCell>>,
}

/// How a session's counts were released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisclosureInfo {
    /// Exact or noisy, with ε.
    pub counts: CountsMode,
    /// Noisy mode: the L1 sensitivity the noise was calibrated to.
    pub sensitivity: Option<u64>,
    /// Noisy mode: half-width of a single count's 95 % interval.
    pub interval_half_width: Option<u64>,
    /// Populations one account could be in (the `P` of the sensitivity).
    pub max_populations_per_row: u64,
    /// Keys one account could carry (the `K` of the sensitivity).
    pub max_keys_per_row: u64,
}

/// One of the caller's own matched rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverlappingRow {
    /// The caller's own row id, as uploaded.
    pub row_id: u32,
    /// Indices into `OverlappingRecords::counterpart_populations`.
    pub counterpart_populations: Vec<u32>,
}

/// `GET /v1/sessions/{id}/overlaps` (overlapping-records policy only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverlappingRecords {
    /// The session.
    pub session_id: String,
    /// The counterpart's population names.
    pub counterpart_populations: Vec<String>,
    /// The caller's matched rows.
    pub rows: Vec<OverlappingRow>,
}

/// One audit entry, visible to both organizations of the partnership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// RFC 3339.
    pub at: String,
    /// The acting organization's name.
    pub org: String,
    /// The acting token's id.
    pub token_id: String,
    /// What happened, e.g. `session.created`, `blinded.committed`, `results.fetched`.
    pub action: String,
    /// The session, if any.
    pub session_id: Option<String>,
    /// Non-identifying details (counts, policy), never account data.
    pub detail: serde_json::Value,
}

/// One refresh schedule an agent runs, in `POST /v1/agents/heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentSchedule {
    /// The partnership the agent refreshes (one of the organization's).
    pub partnership_id: String,
    /// The schedule in the agent's words, e.g. `daily 06:00` (at most 64 characters).
    pub refresh: String,
    /// Unix seconds of the agent's next scheduled run, if it knows one.
    #[serde(default)]
    pub next_run_at: Option<i64>,
}

/// `POST /v1/agents/heartbeat` (upload scope): the organization's agent is
/// alive, its versions and what it runs. Answered 204. Never account data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentHeartbeat {
    /// The agent's version, e.g. `0.1.0` (1 to 64 characters).
    pub agent_version: String,
    /// The protocol version the agent speaks, e.g. `2` (1 to 64 characters).
    pub protocol: String,
    /// Its refresh schedules, one per partnership at most (at most 1000).
    #[serde(default)]
    pub schedules: Vec<AgentSchedule>,
}

/// An agent's schedule for one partnership, in [`AgentStatus`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentScheduleStatus {
    /// As the agent reported it, e.g. `daily 06:00`.
    pub refresh: String,
    /// Unix seconds of the next scheduled run, if the agent reported one.
    pub next_run_at: Option<i64>,
}

/// What one organization's agent last reported, as seen from one partnership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentStatus {
    /// Whether its last heartbeat is within the deployment's offline threshold.
    pub online: bool,
    /// Unix seconds of its last heartbeat.
    pub last_seen: i64,
    /// The agent's version.
    pub agent_version: String,
    /// The protocol version it speaks.
    pub protocol: String,
    /// Its schedule for this partnership; `null` if it runs none for it.
    pub schedule: Option<AgentScheduleStatus>,
}

/// `GET /v1/partnerships/{id}/agents` (view scope): both sides' agents;
/// `null` for a side whose agent never sent a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnershipAgents {
    /// The caller's organization's agent.
    pub own: Option<AgentStatus>,
    /// The other organization's agent.
    pub partner: Option<AgentStatus>,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the problem type, `urn:cleanroom:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short, fixed summary of the type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Human explanation of this occurrence; never account data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The machine code, same as the last segment of `type`.
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::SessionState;

    #[test]
    fn session_state_names_are_the_serde_names() {
        for s in [
            SessionState::AwaitingBlinded,
            SessionState::AwaitingTokens,
            SessionState::Computing,
            SessionState::Completed,
            SessionState::Cancelled,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }
}
