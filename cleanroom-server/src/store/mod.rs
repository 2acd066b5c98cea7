//! Persistence behind the [`Store`] trait, one implementation per backend.
//!
//! Both backends run the same portable SQL (see [`sql`]) with their own
//! add-only migrations; backend specifics (connecting, pragmas, migrations)
//! live in [`sqlite`] and [`postgres`]. Every state-changing method runs in
//! one transaction that first locks the row it changes, so concurrent
//! requests on both backends see a consistent state machine.

use std::future::Future;

use cleanroom_core::api::{
    PartnershipStatus, PendingPolicy, Role, Scope, SessionState, SharingPolicy,
};

pub mod agents;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod webhooks;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::problem::ProblemType;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// An organization with that name exists (only the admin command creates
    /// organizations, so this is never an HTTP answer).
    #[error("an organization with that name exists")]
    OrgNameTaken,
    /// The request does not fit the current state (HTTP 409).
    #[error("{detail}")]
    Conflict {
        /// A 409 problem type.
        code: ProblemType,
        /// Human explanation, never account data.
        detail: String,
        /// The open session, for a session-already-open conflict.
        session_id: Option<String>,
    },
    /// The request is well-formed but invalid (HTTP 422).
    #[error("{detail}")]
    Invalid {
        /// A 422 problem type.
        code: ProblemType,
        /// Human explanation, never account data.
        detail: String,
    },
    /// The pair of organizations has used a budget up (HTTP 429).
    #[error("{detail}")]
    Budget {
        /// `session-budget-exhausted` or `privacy-budget-exhausted`.
        code: ProblemType,
        /// Which budget, in words; never account data.
        detail: String,
        /// Unix seconds at which a session at the same ε fits again, if ever.
        retry_at: Option<i64>,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded.
    #[error("corrupt stored value in column {0}")]
    Corrupt(&'static str),
    /// The database could not be reached at start.
    #[error("cannot reach the database at {target}: {reason}")]
    Unreachable {
        /// Host and port (or file), never credentials.
        target: String,
        /// What the driver said.
        reason: String,
    },
}

impl StoreError {
    /// Whether the database is down or unreachable (not a bad query): the
    /// request may succeed later, so callers answer 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unreachable { .. }
                | StoreError::Database(
                    sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Io(_)
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::WorkerCrashed
                )
        )
    }
}

impl StoreError {
    /// A 409 with a code and detail.
    pub fn conflict(code: ProblemType, detail: impl Into<String>) -> Self {
        StoreError::Conflict {
            code,
            detail: detail.into(),
            session_id: None,
        }
    }

    /// A 422 with a code and detail.
    pub fn invalid(code: ProblemType, detail: impl Into<String>) -> Self {
        StoreError::Invalid {
            code,
            detail: detail.into(),
        }
    }
}

/// Result alias of the storage layer.
pub type StoreResult<T> = Result<T, StoreError>;

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An API token; only the SHA-256 of the secret is stored. Ids are random
/// and public (audit entries show them); tokens issued before v2 have the
/// first 12 characters of their secret as id.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Public id, independent of the secret.
    pub id: String,
    /// Owning organization.
    pub org_id: String,
    /// Label.
    pub label: String,
    /// Scope.
    pub scope: Scope,
    /// SHA-256 of the full secret.
    pub secret_hash: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("id", &self.id)
            .field("scope", &self.scope)
            .field("secret_hash", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A partnership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnershipRow {
    /// Id.
    pub id: String,
    /// Vendor organization id.
    pub vendor_org_id: String,
    /// Partner organization id.
    pub partner_org_id: String,
    /// The inviting side.
    pub invited_by: Role,
    /// Status.
    pub status: PartnershipStatus,
    /// Policy in force.
    pub policy: SharingPolicy,
    /// Pending change.
    pub pending: Option<PendingPolicy>,
    /// Unix seconds.
    pub created_at: i64,
}

impl PartnershipRow {
    /// The caller's role, or `None` when the organization is not part of it.
    pub fn role_of(&self, org_id: &str) -> Option<Role> {
        if self.vendor_org_id == org_id {
            Some(Role::Vendor)
        } else if self.partner_org_id == org_id {
            Some(Role::Partner)
        } else {
            None
        }
    }
}

/// An invitation to a partnership; only the SHA-256 of its code is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationRow {
    /// Public id (`inv_…`), independent of the code.
    pub id: String,
    /// SHA-256 of the code.
    pub code_hash: Vec<u8>,
    /// The inviting organization.
    pub inviter_org_id: String,
    /// The inviter's role in the partnership it proposes.
    pub inviter_role: Role,
    /// The proposed policy (completed: `counts` filled in).
    pub policy: SharingPolicy,
    /// The token that created it (for the partnership's audit log).
    pub created_by_token: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the code is refused from then on.
    pub expires_at: i64,
    /// Unix seconds.
    pub cancelled_at: Option<i64>,
    /// Unix seconds.
    pub accepted_at: Option<i64>,
    /// The partnership its acceptance created.
    pub partnership_id: Option<String>,
}

impl InvitationRow {
    /// Its state at `now`.
    pub fn status(&self, now: i64) -> cleanroom_core::api::InvitationStatus {
        use cleanroom_core::api::InvitationStatus;
        if self.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if self.cancelled_at.is_some() {
            InvitationStatus::Cancelled
        } else if self.expires_at <= now {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Open
        }
    }
}

impl std::fmt::Debug for InvitationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationRow")
            .field("id", &self.id)
            .field("code_hash", &"<redacted>")
            .field("inviter_org_id", &self.inviter_org_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// Id.
    pub id: String,
    /// Partnership.
    pub partnership_id: String,
    /// State.
    pub state: SessionState,
    /// Protocol version.
    pub protocol_version: String,
    /// Creator.
    pub created_by: Role,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub finished_at: Option<i64>,
    /// Policy snapshot taken at creation.
    pub policy: SharingPolicy,
    /// Minimum cell size snapshot taken at creation.
    pub min_cell_size: u64,
    /// Serialized overlap, once completed.
    pub result: Option<String>,
    /// Unix seconds.
    pub computed_at: Option<i64>,
    /// ε in millionths in noisy mode; `None` for exact counts.
    pub epsilon_micro: Option<u64>,
    /// The noise seed (noisy mode), drawn at creation. A secret: never logged.
    pub noise_seed: Option<cleanroom_core::noise::NoiseSeed>,
    /// Populations one account may be in, snapshot at creation (`None`
    /// for sessions from before the limit existed).
    pub max_populations_per_row: Option<u64>,
    /// Unix seconds at which an open session is cancelled and its data
    /// deleted (`None` for sessions from before session expiry: they expire
    /// at `created_at` plus the deployment's expiry).
    pub expires_at: Option<i64>,
    /// Why a cancelled session was cancelled (`None` before reasons existed).
    pub cancel_reason: Option<cleanroom_core::api::CancelReason>,
}

impl SessionRow {
    /// When the session expires: its own expiry, or for a session from
    /// before session expiry, its creation plus `default_expiry_secs`.
    pub fn effective_expiry(&self, default_expiry_secs: i64) -> i64 {
        self.expires_at
            .unwrap_or(self.created_at.saturating_add(default_expiry_secs))
    }
}

/// One party's progress in a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyRow {
    /// Role.
    pub role: Role,
    /// Declared populations, once blinded data is committed.
    pub populations: Option<Vec<String>>,
    /// Committed record count.
    pub records: Option<u64>,
    /// Blinded upload committed.
    pub blinded_committed: bool,
    /// Token upload committed.
    pub tokens_committed: bool,
}

/// Which chunk table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkKind {
    /// 48-byte blinded records.
    Blinded,
    /// 16-byte tokens.
    Tokens,
}

/// What an upload may add to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkQuota {
    /// The uploading organization.
    pub org_id: String,
    /// Records one side of one session may hold.
    pub max_records_per_side: u64,
    /// Bytes of blinded records and tokens the organization may hold across
    /// its open sessions.
    pub max_bytes_per_org: u64,
}

/// A stored chunk's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Sequence number.
    pub seq: u32,
    /// Records in it.
    pub records: u64,
}

/// A dashboard sign-in as stored: the SHA-256 of the cookie, never the cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInRow {
    /// SHA-256 of the `cleanroom_session` cookie value.
    pub cookie_hash: Vec<u8>,
    /// The organization that signed in.
    pub org_id: String,
    /// The token used to sign in.
    pub token_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the sign-in is dead from then on.
    pub expires_at: i64,
}

impl std::fmt::Debug for SignInRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is not the cookie, but nobody needs it in a log either.
        f.debug_struct("SignInRow")
            .field("org_id", &self.org_id)
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A replica's claim on a session's computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComputeLease {
    /// The claiming replica's id (random per process start).
    pub owner: String,
    /// Unix milliseconds at which the claim runs out unless renewed.
    pub until_ms: i64,
}

/// An audit entry to append.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    /// Partnership.
    pub partnership_id: String,
    /// Unix seconds.
    pub at: i64,
    /// Acting organization's name.
    pub org_name: String,
    /// Acting token id.
    pub token_id: String,
    /// Action.
    pub action: String,
    /// Session.
    pub session_id: Option<String>,
    /// Non-identifying detail.
    pub detail: serde_json::Value,
}

/// What a commit of blinded chunks must check, fed chunk by chunk inside the
/// commit transaction (so no chunk can change between check and commit).
pub trait ChunkCheck: Send {
    /// One chunk, in sequence order.
    fn feed(&mut self, seq: u32, data: &[u8]) -> StoreResult<()>;
    /// After the last chunk.
    fn finish(&mut self) -> StoreResult<()>;
    /// The population names to store, after [`ChunkCheck::finish`]: the
    /// declared ones, plus any implicit one the check found.
    fn populations(&self, declared: &[String]) -> Vec<String> {
        declared.to_vec()
    }
}

/// A new session's parameters.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// Id.
    pub id: String,
    /// Partnership.
    pub partnership_id: String,
    /// Creator.
    pub created_by: Role,
    /// Protocol version.
    pub protocol_version: String,
    /// Unix seconds.
    pub now: i64,
    /// Minimum cell size snapshot.
    pub min_cell_size: u64,
    /// Sessions allowed per pair of organizations per rolling day.
    pub sessions_per_day: u32,
    /// The noise seed, kept only when the partnership's policy (read in the
    /// creating transaction) asks for noisy counts; its ε is then charged.
    pub noise_seed: cleanroom_core::noise::NoiseSeed,
    /// Populations one account may be in.
    pub max_populations_per_row: u64,
    /// ε in millionths a pair may spend per window.
    pub epsilon_budget_micro: u64,
    /// The ε window in seconds.
    pub epsilon_window_secs: i64,
    /// The deployment's session expiry in seconds; the partnership's policy
    /// (read in the creating transaction) may shorten it.
    pub expiry_secs: u64,
}

/// What a pair of organizations has spent of its budgets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairUsage {
    /// Sessions created in the last 24 hours, cancelled ones included.
    pub sessions_last_day: u32,
    /// Creation times (unix seconds) of those sessions, oldest first.
    pub session_times: Vec<i64>,
    /// `(created_at, epsilon_micro)` of the sessions within the ε window that
    /// were not cancelled, oldest first.
    pub epsilon_spending: Vec<(i64, u64)>,
}

impl PairUsage {
    /// ε spent in the window, in millionths.
    pub fn epsilon_spent(&self) -> u64 {
        self.epsilon_spending.iter().map(|s| s.1).sum()
    }

    /// When a new session spending `epsilon` fits into `budget` again, given
    /// that spending leaves the window `window` seconds after it was made;
    /// `None` if it never will.
    pub fn epsilon_fits_at(&self, epsilon: u64, budget: u64, window: i64) -> Option<i64> {
        let mut spent = self.epsilon_spent();
        if epsilon > budget {
            return None;
        }
        for &(at, e) in &self.epsilon_spending {
            if spent + epsilon <= budget {
                break;
            }
            spent -= e;
            if spent + epsilon <= budget {
                return Some(at + window);
            }
        }
        Some(0)
    }
}

/// Persistence operations. Every method is one transaction.
pub trait Store: Send + Sync + 'static {
    /// Checks the database answers.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Creates an organization; 409 if the name is taken.
    fn create_org(&self, org: &OrgRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// By id.
    fn org_by_id(&self, id: &str) -> impl Future<Output = StoreResult<Option<OrgRow>>> + Send;
    /// By name.
    fn org_by_name(&self, name: &str) -> impl Future<Output = StoreResult<Option<OrgRow>>> + Send;

    /// Stores a token.
    fn insert_token(&self, token: &TokenRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// By id.
    fn token_by_id(&self, id: &str) -> impl Future<Output = StoreResult<Option<TokenRow>>> + Send;
    /// By the SHA-256 of its secret (how a presented token is found).
    fn token_by_hash(
        &self,
        hash: &[u8],
    ) -> impl Future<Output = StoreResult<Option<TokenRow>>> + Send;
    /// An organization's unrevoked tokens.
    fn list_tokens(&self, org_id: &str) -> impl Future<Output = StoreResult<Vec<TokenRow>>> + Send;
    /// Revokes one of an organization's tokens; `NotFound` if it has no such live token.
    fn revoke_token(
        &self,
        org_id: &str,
        token_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores a new partnership.
    fn create_partnership(
        &self,
        p: &PartnershipRow,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// By id.
    fn partnership(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<PartnershipRow>>> + Send;
    /// An organization's partnerships, newest first.
    fn list_partnerships(
        &self,
        org_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<PartnershipRow>>> + Send;
    /// Locks, loads, lets `f` change, and writes back status and policy.
    fn update_partnership(
        &self,
        id: &str,
        f: &mut (dyn FnMut(&mut PartnershipRow) -> StoreResult<()> + Send),
    ) -> impl Future<Output = StoreResult<PartnershipRow>> + Send;
    /// Stores a new invitation.
    fn create_invitation(
        &self,
        inv: &InvitationRow,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// An organization's invitations, newest first.
    fn list_invitations(
        &self,
        org_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<InvitationRow>>> + Send;
    /// The invitation whose code hashes to `code_hash`, if it can still be
    /// accepted at `now` (not accepted, cancelled or expired); `None` for
    /// every other case alike.
    fn open_invitation(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<InvitationRow>>> + Send;
    /// Cancels one of an organization's open invitations; `NotFound` if it
    /// has no such invitation. One no longer open is returned unchanged.
    fn cancel_invitation(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<InvitationRow>> + Send;
    /// Accepts the open invitation whose code hashes to `code_hash` for
    /// `org_id`, in one transaction: creates the active partnership
    /// `partnership_id` with the invitation's policy and roles and marks the
    /// invitation accepted. `NotFound` when no open invitation has that
    /// code; `self-partnership` for the inviter's own code and
    /// `partnership-exists` when the two organizations have a partnership
    /// that is not revoked (the invitation then stays open).
    fn accept_invitation(
        &self,
        code_hash: &[u8],
        org_id: &str,
        partnership_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<(InvitationRow, PartnershipRow)>> + Send;
    /// Revokes; cancels open sessions and deletes their chunks.
    fn revoke_partnership(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<(PartnershipRow, Vec<String>)>> + Send;

    /// Creates a session: 409 if one is open, 429 over budget.
    fn create_session(
        &self,
        new: &NewSession,
    ) -> impl Future<Output = StoreResult<SessionRow>> + Send;
    /// By id.
    fn session(&self, id: &str) -> impl Future<Output = StoreResult<Option<SessionRow>>> + Send;
    /// What the pair of organizations has spent since `since_day` (sessions)
    /// and `since_window` (ε), across all partnerships between them.
    fn pair_usage(
        &self,
        org_a: &str,
        org_b: &str,
        since_day: i64,
        since_window: i64,
    ) -> impl Future<Output = StoreResult<PairUsage>> + Send;
    /// A partnership's sessions, newest first.
    fn list_sessions(
        &self,
        partnership_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<SessionRow>>> + Send;
    /// Ids of sessions in a state.
    fn sessions_in_state(
        &self,
        state: SessionState,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Both parties' progress, vendor first.
    fn parties(&self, session_id: &str) -> impl Future<Output = StoreResult<[PartyRow; 2]>> + Send;
    /// Stores (or replaces) a chunk while the upload is open, within `quota`
    /// when there is one (checked in the same transaction).
    #[allow(clippy::too_many_arguments)]
    fn put_chunk(
        &self,
        kind: ChunkKind,
        session_id: &str,
        role: Role,
        seq: u32,
        records: u64,
        data: &[u8],
        quota: Option<&ChunkQuota>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A party's chunks, by sequence number.
    fn chunks(
        &self,
        kind: ChunkKind,
        session_id: &str,
        role: Role,
    ) -> impl Future<Output = StoreResult<Vec<ChunkInfo>>> + Send;
    /// One chunk's bytes.
    fn chunk_data(
        &self,
        kind: ChunkKind,
        session_id: &str,
        role: Role,
        seq: u32,
    ) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send;
    /// Commits a party's blinded upload; moves to `awaiting_tokens` when both are in.
    fn commit_blinded(
        &self,
        session_id: &str,
        role: Role,
        populations: &[String],
        chunks: u32,
        records: u64,
        check: &mut dyn ChunkCheck,
    ) -> impl Future<Output = StoreResult<SessionState>> + Send;
    /// Commits a party's tokens; moves to `computing` when both are in, and
    /// then gives the computation to `lease`'s holder in the same
    /// transaction (so no other replica's sweep can claim it first).
    fn commit_tokens(
        &self,
        session_id: &str,
        role: Role,
        chunks: u32,
        records: u64,
        lease: Option<&ComputeLease>,
    ) -> impl Future<Output = StoreResult<SessionState>> + Send;
    /// Claims one session in `computing` whose lease is unset or ran out
    /// before `expired_before_ms` (oldest first) for `lease`'s holder.
    /// Replicas never claim the same one: PostgreSQL skips rows another
    /// claim has locked, SQLite runs one statement at a time.
    fn claim_computation(
        &self,
        lease: &ComputeLease,
        expired_before_ms: i64,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Extends `lease` on a session still computing; `false` if the holder
    /// lost it (another replica took over, or the session finished).
    fn renew_computation(
        &self,
        session_id: &str,
        lease: &ComputeLease,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Cancels an open session (not while computing) for `reason` and deletes its chunks.
    fn cancel_session(
        &self,
        session_id: &str,
        now: i64,
        reason: cleanroom_core::api::CancelReason,
    ) -> impl Future<Output = StoreResult<SessionRow>> + Send;
    /// Ids of up to 100 sessions awaiting uploads whose expiry is at or
    /// before `now` (sessions without one expire `default_expiry_secs`
    /// after creation), oldest first.
    fn expired_sessions(
        &self,
        now: i64,
        default_expiry_secs: i64,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Cancels a session awaiting uploads whose expiry passed (reason
    /// `expired`) and deletes its chunks, re-checking both under the row
    /// lock; `Some` with the cancelled session only for the call that
    /// cancelled it, so replicas sweeping at once act on it once.
    fn expire_session(
        &self,
        session_id: &str,
        now: i64,
        default_expiry_secs: i64,
    ) -> impl Future<Output = StoreResult<Option<SessionRow>>> + Send;
    /// Stores the result, deletes all chunks, marks completed; only from
    /// `computing`. Idempotent: on a completed session it changes nothing and
    /// answers `false` (a re-run after a lost lease computes the same
    /// result, and the first one stored stays); `true` when this call stored it.
    fn complete_session(
        &self,
        session_id: &str,
        result: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Marks a computing session cancelled after a failed computation and deletes its chunks.
    fn fail_session(
        &self,
        session_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends an audit entry.
    fn append_audit(&self, entry: &AuditRow) -> impl Future<Output = StoreResult<()>> + Send;
    /// A partnership's audit entries, oldest first.
    fn audit(
        &self,
        partnership_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<AuditRow>>> + Send;
    /// Rows in `(blinded_chunks, token_chunks)`, for tests and metrics.
    fn chunk_row_counts(&self) -> impl Future<Output = StoreResult<(u64, u64)>> + Send;

    /// Records a dashboard sign-in. In the same transaction, deletes every
    /// expired sign-in (of any organization) and, when the organization
    /// already holds `max_per_org` live ones, its sign-ins closest to expiry
    /// until the new one fits.
    fn create_sign_in(
        &self,
        row: &SignInRow,
        max_per_org: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The live sign-in (expiring after `now`) whose cookie hashes to `cookie_hash`.
    fn sign_in(
        &self,
        cookie_hash: &[u8],
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<SignInRow>>> + Send;
    /// Ends a sign-in (sign-out); no error if there is none.
    fn delete_sign_in(&self, cookie_hash: &[u8]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends every sign-in made with a token (revoked or expired).
    fn delete_sign_ins_of_token(
        &self,
        token_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Live sign-ins (expiring after `now`), for tests and metrics.
    fn count_sign_ins(&self, now: i64) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Tells the other server processes on this database that a session
    /// changed state, so that their long polls answer now. PostgreSQL:
    /// `NOTIFY` with the session id as the only payload (never account
    /// data); SQLite serves one process, whose waiters are woken in-process.
    fn announce_session_change(
        &self,
        session_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Which backend a database URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` URL or a plain file path.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
}

impl Backend {
    /// Classifies a database URL.
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Either backend, chosen at runtime from the database URL.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl AnyStore {
    /// Connects to and migrates the database a URL names.
    pub async fn connect(url: &str) -> StoreResult<AnyStore> {
        Ok(match Backend::of(url) {
            Backend::Sqlite => AnyStore::Sqlite(SqliteStore::connect(url).await?),
            Backend::Postgres => AnyStore::Postgres(PgStore::connect(url).await?),
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Postgres($s) => $e,
        }
    };
}

impl Store for AnyStore {
    async fn ping(&self) -> StoreResult<()> {
        dispatch!(self, s => s.ping().await)
    }
    async fn create_org(&self, org: &OrgRow) -> StoreResult<()> {
        dispatch!(self, s => s.create_org(org).await)
    }
    async fn org_by_id(&self, id: &str) -> StoreResult<Option<OrgRow>> {
        dispatch!(self, s => s.org_by_id(id).await)
    }
    async fn org_by_name(&self, name: &str) -> StoreResult<Option<OrgRow>> {
        dispatch!(self, s => s.org_by_name(name).await)
    }
    async fn insert_token(&self, token: &TokenRow) -> StoreResult<()> {
        dispatch!(self, s => s.insert_token(token).await)
    }
    async fn token_by_id(&self, id: &str) -> StoreResult<Option<TokenRow>> {
        dispatch!(self, s => s.token_by_id(id).await)
    }
    async fn token_by_hash(&self, hash: &[u8]) -> StoreResult<Option<TokenRow>> {
        dispatch!(self, s => s.token_by_hash(hash).await)
    }
    async fn list_tokens(&self, org_id: &str) -> StoreResult<Vec<TokenRow>> {
        dispatch!(self, s => s.list_tokens(org_id).await)
    }
    async fn revoke_token(&self, org_id: &str, token_id: &str, now: i64) -> StoreResult<()> {
        dispatch!(self, s => s.revoke_token(org_id, token_id, now).await)
    }
    async fn create_partnership(&self, p: &PartnershipRow) -> StoreResult<()> {
        dispatch!(self, s => s.create_partnership(p).await)
    }
    async fn partnership(&self, id: &str) -> StoreResult<Option<PartnershipRow>> {
        dispatch!(self, s => s.partnership(id).await)
    }
    async fn list_partnerships(&self, org_id: &str) -> StoreResult<Vec<PartnershipRow>> {
        dispatch!(self, s => s.list_partnerships(org_id).await)
    }
    async fn update_partnership(
        &self,
        id: &str,
        f: &mut (dyn FnMut(&mut PartnershipRow) -> StoreResult<()> + Send),
    ) -> StoreResult<PartnershipRow> {
        dispatch!(self, s => s.update_partnership(id, f).await)
    }
    async fn create_invitation(&self, inv: &InvitationRow) -> StoreResult<()> {
        dispatch!(self, s => s.create_invitation(inv).await)
    }
    async fn list_invitations(&self, org_id: &str) -> StoreResult<Vec<InvitationRow>> {
        dispatch!(self, s => s.list_invitations(org_id).await)
    }
    async fn open_invitation(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<InvitationRow>> {
        dispatch!(self, s => s.open_invitation(code_hash, now).await)
    }
    async fn cancel_invitation(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<InvitationRow> {
        dispatch!(self, s => s.cancel_invitation(org_id, id, now).await)
    }
    async fn accept_invitation(
        &self,
        code_hash: &[u8],
        org_id: &str,
        partnership_id: &str,
        now: i64,
    ) -> StoreResult<(InvitationRow, PartnershipRow)> {
        dispatch!(self, s => s.accept_invitation(code_hash, org_id, partnership_id, now).await)
    }
    async fn revoke_partnership(
        &self,
        id: &str,
        now: i64,
    ) -> StoreResult<(PartnershipRow, Vec<String>)> {
        dispatch!(self, s => s.revoke_partnership(id, now).await)
    }
    async fn create_session(&self, new: &NewSession) -> StoreResult<SessionRow> {
        dispatch!(self, s => s.create_session(new).await)
    }
    async fn session(&self, id: &str) -> StoreResult<Option<SessionRow>> {
        dispatch!(self, s => s.session(id).await)
    }
    async fn pair_usage(
        &self,
        org_a: &str,
        org_b: &str,
        since_day: i64,
        since_window: i64,
    ) -> StoreResult<PairUsage> {
        dispatch!(self, s => s.pair_usage(org_a, org_b, since_day, since_window).await)
    }
    async fn list_sessions(&self, partnership_id: &str) -> StoreResult<Vec<SessionRow>> {
        dispatch!(self, s => s.list_sessions(partnership_id).await)
    }
    async fn sessions_in_state(&self, state: SessionState) -> StoreResult<Vec<String>> {
        dispatch!(self, s => s.sessions_in_state(state).await)
    }
    async fn parties(&self, session_id: &str) -> StoreResult<[PartyRow; 2]> {
        dispatch!(self, s => s.parties(session_id).await)
    }
    async fn put_chunk(
        &self,
        kind: ChunkKind,
        session_id: &str,
        role: Role,
        seq: u32,
        records: u64,
        data: &[u8],
        quota: Option<&ChunkQuota>,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.put_chunk(kind, session_id, role, seq, records, data, quota).await)
    }
    async fn chunks(
        &self,
        kind: ChunkKind,
        session_id: &str,
        role: Role,
    ) -> StoreResult<Vec<ChunkInfo>> {
        dispatch!(self, s => s.chunks(kind, session_id, role).await)
    }
    async fn chunk_data(
        &self,
        kind: ChunkKind,
        session_id: &str,
        role: Role,
        seq: u32,
    ) -> StoreResult<Option<Vec<u8>>> {
        dispatch!(self, s => s.chunk_data(kind, session_id, role, seq).await)
    }
    async fn commit_blinded(
        &self,
        session_id: &str,
        role: Role,
        populations: &[String],
        chunks: u32,
        records: u64,
        check: &mut dyn ChunkCheck,
    ) -> StoreResult<SessionState> {
        dispatch!(self, s => s.commit_blinded(session_id, role, populations, chunks, records, check).await)
    }
    async fn commit_tokens(
        &self,
        session_id: &str,
        role: Role,
        chunks: u32,
        records: u64,
        lease: Option<&ComputeLease>,
    ) -> StoreResult<SessionState> {
        dispatch!(self, s => s.commit_tokens(session_id, role, chunks, records, lease).await)
    }
    async fn claim_computation(
        &self,
        lease: &ComputeLease,
        expired_before_ms: i64,
    ) -> StoreResult<Option<String>> {
        dispatch!(self, s => s.claim_computation(lease, expired_before_ms).await)
    }
    async fn renew_computation(&self, session_id: &str, lease: &ComputeLease) -> StoreResult<bool> {
        dispatch!(self, s => s.renew_computation(session_id, lease).await)
    }
    async fn cancel_session(
        &self,
        session_id: &str,
        now: i64,
        reason: cleanroom_core::api::CancelReason,
    ) -> StoreResult<SessionRow> {
        dispatch!(self, s => s.cancel_session(session_id, now, reason).await)
    }
    async fn expired_sessions(
        &self,
        now: i64,
        default_expiry_secs: i64,
    ) -> StoreResult<Vec<String>> {
        dispatch!(self, s => s.expired_sessions(now, default_expiry_secs).await)
    }
    async fn expire_session(
        &self,
        session_id: &str,
        now: i64,
        default_expiry_secs: i64,
    ) -> StoreResult<Option<SessionRow>> {
        dispatch!(self, s => s.expire_session(session_id, now, default_expiry_secs).await)
    }
    async fn complete_session(
        &self,
        session_id: &str,
        result: &str,
        now: i64,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.complete_session(session_id, result, now).await)
    }
    async fn fail_session(&self, session_id: &str, now: i64) -> StoreResult<()> {
        dispatch!(self, s => s.fail_session(session_id, now).await)
    }
    async fn append_audit(&self, entry: &AuditRow) -> StoreResult<()> {
        dispatch!(self, s => s.append_audit(entry).await)
    }
    async fn audit(&self, partnership_id: &str) -> StoreResult<Vec<AuditRow>> {
        dispatch!(self, s => s.audit(partnership_id).await)
    }
    async fn chunk_row_counts(&self) -> StoreResult<(u64, u64)> {
        dispatch!(self, s => s.chunk_row_counts().await)
    }
    async fn create_sign_in(&self, row: &SignInRow, max_per_org: u64) -> StoreResult<()> {
        dispatch!(self, s => s.create_sign_in(row, max_per_org).await)
    }
    async fn sign_in(&self, cookie_hash: &[u8], now: i64) -> StoreResult<Option<SignInRow>> {
        dispatch!(self, s => s.sign_in(cookie_hash, now).await)
    }
    async fn delete_sign_in(&self, cookie_hash: &[u8]) -> StoreResult<()> {
        dispatch!(self, s => s.delete_sign_in(cookie_hash).await)
    }
    async fn delete_sign_ins_of_token(&self, token_id: &str) -> StoreResult<()> {
        dispatch!(self, s => s.delete_sign_ins_of_token(token_id).await)
    }
    async fn count_sign_ins(&self, now: i64) -> StoreResult<u64> {
        dispatch!(self, s => s.count_sign_ins(now).await)
    }
    async fn announce_session_change(&self, session_id: &str) -> StoreResult<()> {
        dispatch!(self, s => s.announce_session_change(session_id).await)
    }
}

/// Text forms of the enums stored in columns.
pub(crate) mod text {
    use super::{StoreError, StoreResult};
    use cleanroom_core::api::{PartnershipStatus, Role, Scope, SessionState};

    pub fn role(r: Role) -> &'static str {
        r.as_str()
    }
    pub fn parse_role(s: &str) -> StoreResult<Role> {
        match s {
            "vendor" => Ok(Role::Vendor),
            "partner" => Ok(Role::Partner),
            _ => Err(StoreError::Corrupt("role")),
        }
    }
    pub fn scope(s: Scope) -> &'static str {
        match s {
            Scope::View => "view",
            Scope::Upload => "upload",
            Scope::Admin => "admin",
        }
    }
    pub fn parse_scope(s: &str) -> StoreResult<Scope> {
        match s {
            "view" => Ok(Scope::View),
            "upload" => Ok(Scope::Upload),
            "admin" => Ok(Scope::Admin),
            _ => Err(StoreError::Corrupt("scope")),
        }
    }
    pub fn status(s: PartnershipStatus) -> &'static str {
        match s {
            PartnershipStatus::Invited => "invited",
            PartnershipStatus::Active => "active",
            PartnershipStatus::Revoked => "revoked",
        }
    }
    pub fn parse_status(s: &str) -> StoreResult<PartnershipStatus> {
        match s {
            "invited" => Ok(PartnershipStatus::Invited),
            "active" => Ok(PartnershipStatus::Active),
            "revoked" => Ok(PartnershipStatus::Revoked),
            _ => Err(StoreError::Corrupt("status")),
        }
    }
    /// Stored as the wire name; `parse_state` is its inverse.
    pub fn state(s: SessionState) -> &'static str {
        s.as_str()
    }
    pub fn parse_state(s: &str) -> StoreResult<SessionState> {
        match s {
            "awaiting_blinded" => Ok(SessionState::AwaitingBlinded),
            "awaiting_tokens" => Ok(SessionState::AwaitingTokens),
            "computing" => Ok(SessionState::Computing),
            "completed" => Ok(SessionState::Completed),
            "cancelled" => Ok(SessionState::Cancelled),
            _ => Err(StoreError::Corrupt("state")),
        }
    }
}
