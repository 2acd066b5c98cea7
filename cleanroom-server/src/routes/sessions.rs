//! `/v1/.../sessions`: the session state machine and its binary uploads.
//!
//! `awaiting_blinded` → (both blinded sets committed) → `awaiting_tokens` →
//! (both token sets committed) → `computing` → `completed`; `cancelled` from
//! either awaiting state, by a participant or once the session's
//! `expires_at` passes (see [`crate::expiry`]). Every out-of-order call is a
//! 409 problem.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use cleanroom_core::api::{
    CancelReason, ChunkReceipt, CommitBlinded, CommitTokens, Epsilon, Scope, Session, SessionState,
};
use cleanroom_core::noise::NoiseSeed;
use cleanroom_core::protocol::protocol_version;
use cleanroom_core::wire::{
    self, BLINDED_RECORD_LEN, BlindedRecord, MAX_POPULATIONS, POINT_RECORD_LEN,
};
use futures_util::stream;

use crate::AppState;
use crate::auth::Caller;
use crate::compute;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::problem::ProblemType;
use crate::routes::partnerships::check_epsilon;
use crate::routes::{audit, member_partnership, member_session, octet_stream, session_view};
use crate::store::{ChunkCheck, ChunkKind, ChunkQuota, NewSession, Store, StoreError, StoreResult};

/// `POST /v1/partnerships/{id}/sessions`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    caller.require(Scope::Upload)?;
    let (p, role) = member_partnership(&state, &caller, &id).await?;
    let g = &state.config.guardrails;
    check_epsilon(
        g,
        p.policy.counts_mode(),
        ": agree on a new policy for the partnership",
    )?;
    let s = state
        .store
        .create_session(&NewSession {
            // v7 ids sort by creation time, so "newest first" is exact even
            // within one second of `created_at`.
            id: uuid::Uuid::now_v7().to_string(),
            partnership_id: p.id.clone(),
            created_by: role,
            protocol_version: protocol_version(),
            now: crate::now(),
            min_cell_size: g.min_cell_size,
            sessions_per_day: g.sessions_per_day,
            noise_seed: NoiseSeed::random(),
            max_populations_per_row: g.max_populations_per_row,
            epsilon_budget_micro: g.epsilon_budget.0,
            epsilon_window_secs: i64::from(g.epsilon_window_days) * 86_400,
            expiry_secs: g.session_expiry_secs,
        })
        .await?;
    Metrics::inc(&state.metrics.sessions_created);
    audit(
        &state,
        &caller,
        &p.id,
        "session.created",
        Some(&s.id),
        serde_json::json!({
            "policy": s.policy,
            "min_cell_size": s.min_cell_size,
            "epsilon": s.epsilon_micro.map(|e| Epsilon(e).as_f64()),
            "expires_at": s.expires_at,
        }),
    )
    .await?;
    // Both sides' agents pick up an open session awaiting their upload; the
    // event lets their other tools know a session was requested.
    crate::webhooks::emit_session(
        &state,
        crate::webhooks::Event::SessionRequested,
        &s.partnership_id,
        &s.id,
        s.state,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(session_view(&state, &s, role).await?),
    ))
}

/// `GET /v1/partnerships/{id}/sessions`, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Session>>, ApiError> {
    caller.require(Scope::View)?;
    let (p, role) = member_partnership(&state, &caller, &id).await?;
    let mut out = Vec::new();
    for s in state.store.list_sessions(&p.id).await? {
        out.push(session_view(&state, &s, role).await?);
    }
    Ok(Json(out))
}

/// `GET /v1/sessions/{id}`.
///
/// With `?while_state=S&wait=N`, a long poll: while the session is in state
/// `S`, the answer waits up to `N` seconds (at most [`MAX_WAIT_SECS`]) for it
/// to change. Clients learn of a commit or a finished computation at once
/// instead of on their next poll.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> Result<Json<Session>, ApiError> {
    caller.require(Scope::View)?;
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    let mut events = state.events.subscribe();
    loop {
        // Mark the current bump as seen before reading, so that a change
        // landing between the read and the wait still wakes us.
        events.borrow_and_update();
        let (s, _, role) = member_session(&state, &caller, &id).await?;
        let waiting = q.while_state == Some(s.state)
            && tokio::time::Instant::now() < deadline
            && !state.events.is_closing();
        if !waiting {
            return Ok(Json(session_view(&state, &s, role).await?));
        }
        let recheck = (tokio::time::Instant::now() + state.events.recheck()).min(deadline);
        tokio::select! {
            _ = events.changed() => {}
            _ = tokio::time::sleep_until(recheck) => {}
        }
    }
}

/// Longest long poll, well under proxies' usual idle timeouts.
pub const MAX_WAIT_SECS: u64 = 20;

/// Query of `GET /v1/sessions/{id}`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct WaitQuery {
    /// Hold the answer while the session is in this state.
    pub while_state: Option<SessionState>,
    /// For at most this many seconds (capped at [`MAX_WAIT_SECS`]; default 0).
    pub wait: Option<u64>,
}

/// `POST /v1/sessions/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    caller.require(Scope::Upload)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    let s = state
        .store
        .cancel_session(&s.id, crate::now(), CancelReason::by(role))
        .await?;
    crate::events::session_changed(&state, &s.id).await;
    crate::webhooks::emit_session(
        &state,
        crate::webhooks::Event::SessionCancelled,
        &s.partnership_id,
        &s.id,
        s.state,
    )
    .await;
    Metrics::inc(&state.metrics.sessions_cancelled);
    audit(
        &state,
        &caller,
        &s.partnership_id,
        "session.cancelled",
        Some(&s.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(Json(session_view(&state, &s, role).await?))
}

/// Per-row consistency of blinded records: same populations on every key of a
/// row, at most one key per type, population bits within the declared ones,
/// at most the allowed populations per row and, across the whole upload, no
/// blinded point on two records. At commit: the minimum population size,
/// also for the implicit "other" population of rows in none.
struct BlindedCheck {
    declared: usize,
    min_population_size: u64,
    max_populations_per_row: u64,
    populations: Vec<String>,
    /// row id → (population bits, keys so far)
    rows: HashMap<u32, (u64, wire::KeyCounts)>,
    /// The first 16 bytes of every point (equal points have equal prefixes;
    /// an uploader who crafts distinct points with equal prefixes only gets
    /// its own upload refused).
    points: Vec<u128>,
    index: usize,
    /// Rows in no declared population, counted by `finish`.
    unpopulated: u64,
}

impl BlindedCheck {
    fn new(
        populations: Vec<String>,
        min_population_size: u64,
        max_populations_per_row: u64,
    ) -> Self {
        BlindedCheck {
            declared: populations.len(),
            min_population_size,
            max_populations_per_row,
            populations,
            rows: HashMap::new(),
            points: Vec::new(),
            index: 0,
            unpopulated: 0,
        }
    }

    fn record(&mut self, r: &BlindedRecord) -> StoreResult<()> {
        let index = self.index;
        self.index += 1;
        if r.populations & !wire::population_mask(self.declared) != 0 {
            return Err(StoreError::invalid(
                ProblemType::UndeclaredPopulation,
                format!(
                    "record {index}: population bits outside the {} declared populations",
                    self.declared
                ),
            ));
        }
        if u64::from(r.populations.count_ones()) > self.max_populations_per_row {
            return Err(StoreError::invalid(
                ProblemType::TooManyPopulationsPerRow,
                format!(
                    "record {index}: an account may be in at most {} population(s) on this server",
                    self.max_populations_per_row
                ),
            ));
        }
        let entry = self
            .rows
            .entry(r.row_id)
            .or_insert((r.populations, wire::KeyCounts::default()));
        if entry.0 != r.populations {
            return Err(StoreError::invalid(
                ProblemType::InconsistentRow,
                format!("record {index}: a row's keys carry different population bits"),
            ));
        }
        if !entry.1.add(r.key_type) {
            return Err(StoreError::invalid(
                ProblemType::DuplicateKey,
                format!(
                    "record {index}: a row has more than {} {} key(s), or more than {} keys in all (duplicate row?)",
                    wire::max_keys_of(r.key_type),
                    r.key_type,
                    wire::MAX_KEYS_PER_ROW
                ),
            ));
        }
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&r.point[..16]);
        self.points.push(u128::from_be_bytes(prefix));
        Ok(())
    }

    /// Equal keys blind to equal points within a session: a key on two rows
    /// would let the uploader weigh one counterpart account several times.
    fn check_unique_points(&mut self) -> StoreResult<()> {
        use rayon::slice::ParallelSliceMut;
        self.points.par_sort_unstable();
        if self.points.windows(2).any(|w| w[0] == w[1]) {
            return Err(StoreError::invalid(
                ProblemType::DuplicatePoint,
                "the same blinded key appears on two records; a key shared by several accounts is ambiguous and must not be uploaded",
            ));
        }
        Ok(())
    }

    /// Accounts per declared population and in none, in one pass over the rows.
    fn population_sizes(&self) -> (Vec<u64>, u64) {
        let mut sizes = vec![0u64; self.declared];
        let mut none = 0;
        for (pops, _) in self.rows.values() {
            if *pops == 0 {
                none += 1;
            }
            for (i, n) in sizes.iter_mut().enumerate() {
                *n += u64::from(pops & (1u64 << i) != 0);
            }
        }
        (sizes, none)
    }
}

impl ChunkCheck for BlindedCheck {
    fn feed(&mut self, _seq: u32, data: &[u8]) -> StoreResult<()> {
        for rec in data.chunks_exact(BLINDED_RECORD_LEN) {
            let mut buf = [0u8; BLINDED_RECORD_LEN];
            buf.copy_from_slice(rec);
            // Points were validated at upload; re-check only the cheap fields.
            let r = BlindedRecord::decode_unchecked(&buf, self.index)
                .map_err(|e| StoreError::invalid(ProblemType::MalformedRecords, e.to_string()))?;
            self.record(&r)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> StoreResult<()> {
        self.check_unique_points()?;
        let too_small = |name: &str| {
            StoreError::invalid(
                ProblemType::PopulationTooSmall,
                format!(
                    "population \"{name}\" has fewer than the minimum of {} accounts required for matching",
                    self.min_population_size
                ),
            )
        };
        let (sizes, other) = self.population_sizes();
        for (name, n) in self.populations.iter().zip(sizes) {
            if n < self.min_population_size {
                return Err(too_small(name));
            }
        }
        self.unpopulated = other;
        if other > 0 && other < self.min_population_size {
            return Err(too_small(wire::OTHER_POPULATION));
        }
        if other > 0 && self.declared >= MAX_POPULATIONS {
            return Err(StoreError::invalid(
                ProblemType::InvalidPopulations,
                format!(
                    "rows in no population form the implicit population \"{}\", which needs one of the {MAX_POPULATIONS} population slots",
                    wire::OTHER_POPULATION
                ),
            ));
        }
        Ok(())
    }

    fn populations(&self, declared: &[String]) -> Vec<String> {
        let mut all = declared.to_vec();
        if self.unpopulated > 0 {
            all.push(wire::OTHER_POPULATION.to_owned());
        }
        all
    }
}

/// What the caller's upload may add to the store.
fn quota(state: &AppState, caller: &Caller) -> ChunkQuota {
    ChunkQuota {
        org_id: caller.org.id.clone(),
        max_records_per_side: state.config.guardrails.max_records_per_side,
        max_bytes_per_org: state.config.guardrails.max_bytes_per_org,
    }
}

/// Checks a chunk upload's media type (`application/octet-stream`, else 415)
/// and parses its sequence number strictly: decimal digits without a sign or
/// leading zeros, so one chunk has exactly one name.
fn chunk_upload(headers: &HeaderMap, seq: &str, max_records: u64) -> Result<u32, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/octet-stream") {
        return Err(ApiError::UnsupportedMediaType(
            "chunks are sent as application/octet-stream".into(),
        ));
    }
    let canonical = !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit())
        && (seq == "0" || !seq.starts_with('0'));
    let seq = canonical
        .then(|| seq.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::BadRequest(
                "a chunk sequence number is a decimal number from 0 to 4294967295, without sign or leading zeros".into(),
            )
        })?;
    // Every chunk holds a record, so a side's chunk numbers stay below its record quota.
    if u64::from(seq) >= max_records {
        return Err(ApiError::invalid(
            ProblemType::QuotaExceeded,
            format!("chunk numbers stay below the quota of {max_records} records per side"),
        ));
    }
    Ok(seq)
}

/// `PUT /v1/sessions/{id}/blinded/{seq}`: N × 48-byte records; replaces the chunk until commit.
pub async fn put_blinded(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, seq)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ChunkReceipt>, ApiError> {
    caller.require(Scope::Upload)?;
    let seq = chunk_upload(&headers, &seq, state.config.guardrails.max_records_per_side)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    if s.state != SessionState::AwaitingBlinded {
        return Err(ApiError::conflict(
            ProblemType::SessionState,
            format!(
                "uploading blinded records is not allowed while the session is {}",
                s.state.as_str()
            ),
        ));
    }
    if body.is_empty() {
        return Err(ApiError::invalid(
            ProblemType::EmptyChunk,
            "a chunk holds at least one record",
        ));
    }
    // Point validation is CPU work: keep it off the async workers.
    let max_populations_per_row = s.max_populations_per_row.unwrap_or(MAX_POPULATIONS as u64);
    let validated = {
        let body = body.clone();
        tokio::task::spawn_blocking(move || -> Result<usize, ApiError> {
            let records = wire::decode_blinded_records(&body, 0, MAX_POPULATIONS)
                .map_err(|e| ApiError::invalid(ProblemType::MalformedRecords, e.to_string()))?;
            let mut check = BlindedCheck::new(Vec::new(), 0, max_populations_per_row);
            check.declared = MAX_POPULATIONS;
            for r in &records {
                check.record(r)?;
            }
            Ok(records.len())
        })
        .await
        .map_err(|e| ApiError::Internal(format!("validation task: {e}")))??
    };
    let records = validated as u64;
    state
        .store
        .put_chunk(
            ChunkKind::Blinded,
            &s.id,
            role,
            seq,
            records,
            &body,
            Some(&quota(&state, &caller)),
        )
        .await?;
    Metrics::inc(&state.metrics.chunks_uploaded);
    Ok(Json(ChunkReceipt { seq, records }))
}

/// `POST /v1/sessions/{id}/blinded/commit`.
pub async fn commit_blinded(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<CommitBlinded>,
) -> Result<Json<Session>, ApiError> {
    caller.require(Scope::Upload)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    if req.protocol_version != protocol_version() {
        return Err(ApiError::VersionMismatch {
            declared: req.protocol_version.chars().take(100).collect(),
        });
    }
    if req.populations.is_empty() || req.populations.len() > MAX_POPULATIONS {
        return Err(ApiError::invalid(
            ProblemType::InvalidPopulations,
            format!("declare between 1 and {MAX_POPULATIONS} populations"),
        ));
    }
    for (i, name) in req.populations.iter().enumerate() {
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid(
                ProblemType::InvalidPopulations,
                "population names are 1 to 100 characters",
            ));
        }
        if name == wire::OTHER_POPULATION {
            return Err(ApiError::invalid(
                ProblemType::InvalidPopulations,
                format!(
                    "\"{}\" is the implicit population of rows in none; choose another name",
                    wire::OTHER_POPULATION
                ),
            ));
        }
        if req.populations[..i].contains(name) {
            return Err(ApiError::invalid(
                ProblemType::InvalidPopulations,
                "population names must be unique",
            ));
        }
    }
    let mut check = BlindedCheck::new(
        req.populations.clone(),
        state.config.guardrails.min_population_size,
        s.max_populations_per_row.unwrap_or(MAX_POPULATIONS as u64),
    );
    let new_state = state
        .store
        .commit_blinded(
            &s.id,
            role,
            &req.populations,
            req.chunks,
            req.records,
            &mut check,
        )
        .await?;
    crate::events::session_changed(&state, &s.id).await;
    if new_state == SessionState::AwaitingTokens {
        crate::webhooks::emit_session(
            &state,
            crate::webhooks::Event::SessionAwaitingTokens,
            &s.partnership_id,
            &s.id,
            new_state,
        )
        .await;
    }
    audit(
        &state,
        &caller,
        &s.partnership_id,
        "blinded.committed",
        Some(&s.id),
        serde_json::json!({
            "records": req.records,
            "chunks": req.chunks,
            "populations": req.populations.len(),
            "session_state": new_state,
        }),
    )
    .await?;
    let s = state
        .store
        .session(&s.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(session_view(&state, &s, role).await?))
}

/// `GET /v1/sessions/{id}/counterpart/points`: the counterpart's points, 32
/// bytes each, in chunk then record order, streamed one stored chunk at a time.
pub async fn counterpart_points(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Upload)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    if s.state != SessionState::AwaitingTokens {
        return Err(ApiError::conflict(
            ProblemType::SessionState,
            format!(
                "the counterpart's points are available only while the session awaits tokens (it is {})",
                s.state.as_str()
            ),
        ));
    }
    let other = role.other();
    let parties = state.store.parties(&s.id).await?;
    let records = parties
        .iter()
        .find(|p| p.role == other)
        .and_then(|p| p.records)
        .unwrap_or(0);
    let seqs: Vec<u32> = state
        .store
        .chunks(ChunkKind::Blinded, &s.id, other)
        .await?
        .iter()
        .map(|c| c.seq)
        .collect();
    let store = state.store.clone();
    let session_id = s.id.clone();
    let body = stream::unfold(seqs.into_iter(), move |mut seqs| {
        let store = store.clone();
        let session_id = session_id.clone();
        async move {
            let seq = seqs.next()?;
            let item = match store
                .chunk_data(ChunkKind::Blinded, &session_id, other, seq)
                .await
            {
                Ok(Some(data)) => {
                    let mut out =
                        Vec::with_capacity(data.len() / BLINDED_RECORD_LEN * POINT_RECORD_LEN);
                    for rec in data.chunks_exact(BLINDED_RECORD_LEN) {
                        out.extend_from_slice(&rec[BLINDED_RECORD_LEN - POINT_RECORD_LEN..]);
                    }
                    Ok(Bytes::from(out))
                }
                // Deleted mid-stream (cancelled or revoked): end the body with an error.
                Ok(None) => Err(std::io::Error::other("session data no longer available")),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            Some((item, seqs))
        }
    });
    Ok(octet_stream(Body::from_stream(body), records))
}

/// `PUT /v1/sessions/{id}/tokens/{seq}`: N × 16-byte tokens for the counterpart's records.
pub async fn put_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, seq)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ChunkReceipt>, ApiError> {
    caller.require(Scope::Upload)?;
    let seq = chunk_upload(&headers, &seq, state.config.guardrails.max_records_per_side)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    if body.is_empty() {
        return Err(ApiError::invalid(
            ProblemType::EmptyChunk,
            "a chunk holds at least one token",
        ));
    }
    let records = wire::count_tokens(&body)
        .map_err(|e| ApiError::invalid(ProblemType::MalformedTokens, e.to_string()))?
        as u64;
    state
        .store
        .put_chunk(
            ChunkKind::Tokens,
            &s.id,
            role,
            seq,
            records,
            &body,
            Some(&quota(&state, &caller)),
        )
        .await?;
    Metrics::inc(&state.metrics.chunks_uploaded);
    Ok(Json(ChunkReceipt { seq, records }))
}

/// `POST /v1/sessions/{id}/tokens/commit`; the second commit computes the result.
pub async fn commit_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<CommitTokens>,
) -> Result<Json<Session>, ApiError> {
    caller.require(Scope::Upload)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    let new_state = state
        .store
        .commit_tokens(
            &s.id,
            role,
            req.chunks,
            req.records,
            Some(&compute::lease(&state)),
        )
        .await?;
    crate::events::session_changed(&state, &s.id).await;
    audit(
        &state,
        &caller,
        &s.partnership_id,
        "tokens.committed",
        Some(&s.id),
        serde_json::json!({ "records": req.records, "chunks": req.chunks, "session_state": new_state }),
    )
    .await?;
    if new_state == SessionState::Computing {
        // Own task: a disconnecting client does not abandon the computation.
        compute::spawn_finish(state.clone(), s.id.clone())
            .await
            .map_err(|e| ApiError::Internal(format!("compute task: {e}")))?;
    }
    let s = state
        .store
        .session(&s.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(session_view(&state, &s, role).await?))
}
