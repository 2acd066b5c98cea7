//! Finishing a session: load both sides' records and tokens chunk by chunk,
//! run [`overlap::compute`] off the async runtime, store the result and delete
//! every blinded point and token in one transaction.

use cleanroom_core::api::{CountsMode, DisclosureInfo, Epsilon, Role, SessionState};
use cleanroom_core::disclosure::{
    Disclosed, INTERVAL_LEVEL, disclose, disclose_noisy, sensitivity,
};
use cleanroom_core::noise::Mechanism;
use cleanroom_core::overlap::{self, Cell, MatchPolicy, Overlap, SideOverlap, TokenRecord};
use cleanroom_core::wire::{
    BLINDED_RECORD_LEN, BlindedRecord, MAX_KEYS_PER_ROW, MAX_POPULATIONS, OTHER_POPULATION,
    decode_tokens,
};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::store::{AuditRow, ChunkKind, ComputeLease, SessionRow, Store, StoreError, StoreResult};
use crate::{AppState, now};

/// One side of a stored result.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredSide {
    totals: Vec<u64>,
    matched: Vec<u64>,
    matched_rows: Vec<(u32, u64)>,
}

/// What both sides read: the release, drawn once when the session completed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Release {
    /// The disclosed figures, before per-viewer white-space visibility.
    pub disclosed: Disclosed,
    /// How they were released.
    pub info: DisclosureInfo,
}

/// The stored form of a result (JSON in `sessions.result`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredOverlap {
    vendor: StoredSide,
    partner: StoredSide,
    cells: Vec<Vec<Cell>>,
    /// Absent in results stored before releases were (exact mode then).
    #[serde(default)]
    release: Option<Release>,
}

/// Serializes a result and its release for storage.
pub fn encode_result(o: &Overlap, release: &Release) -> String {
    let side = |s: &SideOverlap| StoredSide {
        totals: s.totals.clone(),
        matched: s.matched.clone(),
        matched_rows: s.matched_rows.clone(),
    };
    let stored = StoredOverlap {
        vendor: side(&o.vendor),
        partner: side(&o.partner),
        cells: o.cells.clone(),
        release: Some(release.clone()),
    };
    // invariant: plain numbers and vectors always serialize.
    serde_json::to_string(&stored).unwrap_or_default()
}

/// Parses a stored result; a result from before releases were stored gets
/// the exact release it was always shown with.
pub fn decode_result(s: &str, session: &SessionRow) -> StoreResult<(Overlap, Release)> {
    let stored: StoredOverlap =
        serde_json::from_str(s).map_err(|_| StoreError::Corrupt("result"))?;
    let side = |s: StoredSide| SideOverlap {
        totals: s.totals,
        matched: s.matched,
        matched_rows: s.matched_rows,
    };
    let overlap = Overlap {
        vendor: side(stored.vendor),
        partner: side(stored.partner),
        cells: stored.cells,
    };
    let release = match stored.release {
        Some(r) => r,
        None => release(&overlap, session)?,
    };
    Ok((overlap, release))
}

/// Draws the release of a session's overlap: exact with k-suppression, or
/// noisy from the seed stored at creation (so a re-run gives the same numbers).
pub fn release(o: &Overlap, session: &SessionRow) -> StoreResult<Release> {
    let k = session.min_cell_size;
    let max_keys = MAX_KEYS_PER_ROW;
    let max_pops = session
        .max_populations_per_row
        .unwrap_or(MAX_POPULATIONS as u64);
    match (
        session.policy.counts_mode(),
        session.epsilon_micro,
        &session.noise_seed,
    ) {
        (CountsMode::Noisy { .. }, Some(e), Some(seed)) => {
            let mechanism = Mechanism {
                epsilon_micro: e,
                sensitivity: sensitivity(max_keys, max_pops),
            };
            Ok(Release {
                disclosed: disclose_noisy(o, k, &mechanism, seed),
                info: DisclosureInfo {
                    counts: CountsMode::Noisy {
                        epsilon: Epsilon(e),
                    },
                    sensitivity: Some(mechanism.sensitivity),
                    interval_half_width: Some(mechanism.half_width(INTERVAL_LEVEL)),
                    max_populations_per_row: max_pops,
                    max_keys_per_row: max_keys,
                },
            })
        }
        (CountsMode::Noisy { .. }, _, _) => Err(StoreError::Corrupt("noise_seed")),
        (CountsMode::Exact, _, _) => Ok(Release {
            disclosed: disclose(o, k),
            info: DisclosureInfo {
                counts: CountsMode::Exact,
                sensitivity: None,
                interval_half_width: None,
                max_populations_per_row: max_pops,
                max_keys_per_row: max_keys,
            },
        }),
    }
}

/// `owner`'s records, each with the token the counterpart derived for it.
///
/// `other_bit` is the population bit of the implicit "other" population, which
/// rows uploaded in no population are counted in.
async fn token_records<S: Store>(
    store: &S,
    session_id: &str,
    owner: Role,
    other_bit: u64,
) -> StoreResult<Vec<TokenRecord>> {
    let mut records = Vec::new();
    for c in store.chunks(ChunkKind::Blinded, session_id, owner).await? {
        let data = store
            .chunk_data(ChunkKind::Blinded, session_id, owner, c.seq)
            .await?
            .ok_or(StoreError::Corrupt("blinded_chunks"))?;
        for (i, rec) in data.chunks_exact(BLINDED_RECORD_LEN).enumerate() {
            let mut buf = [0u8; BLINDED_RECORD_LEN];
            buf.copy_from_slice(rec);
            let r = BlindedRecord::decode_unchecked(&buf, i)
                .map_err(|_| StoreError::Corrupt("blinded_chunks"))?;
            records.push(TokenRecord {
                row_id: r.row_id,
                populations: if r.populations == 0 {
                    other_bit
                } else {
                    r.populations
                },
                key_type: r.key_type,
                token: cleanroom_core::MatchToken([0; 16]),
            });
        }
    }
    let mut i = 0usize;
    for c in store
        .chunks(ChunkKind::Tokens, session_id, owner.other())
        .await?
    {
        let data = store
            .chunk_data(ChunkKind::Tokens, session_id, owner.other(), c.seq)
            .await?
            .ok_or(StoreError::Corrupt("token_chunks"))?;
        let tokens = decode_tokens(&data).map_err(|_| StoreError::Corrupt("token_chunks"))?;
        for t in tokens {
            let r = records
                .get_mut(i)
                .ok_or(StoreError::Corrupt("token count"))?;
            r.token = t;
            i += 1;
        }
    }
    if i != records.len() {
        return Err(StoreError::Corrupt("token count"));
    }
    Ok(records)
}

/// Computes and stores the result of a session in `computing`; a no-op otherwise.
pub async fn finish_session(state: &AppState, session_id: &str) -> StoreResult<()> {
    let store = &state.store;
    let delay = state.config.compute.delay_for_tests;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some(session) = store.session(session_id).await? else {
        return Ok(());
    };
    if session.state != SessionState::Computing {
        return Ok(());
    }
    let [vendor_party, partner_party] = store.parties(session_id).await?;
    let v_pops = vendor_party.populations.as_ref().map_or(0, |p| p.len());
    let p_pops = partner_party.populations.as_ref().map_or(0, |p| p.len());
    let other_bit = |pops: &Option<Vec<String>>| match pops {
        Some(names) if names.last().map(String::as_str) == Some(OTHER_POPULATION) => {
            1u64 << (names.len() - 1)
        }
        _ => 0,
    };
    let (v_other, p_other) = (
        other_bit(&vendor_party.populations),
        other_bit(&partner_party.populations),
    );
    let started = std::time::Instant::now();
    // Both sides at once: on PostgreSQL they come over two connections.
    let loaded = tokio::try_join!(
        token_records(store, session_id, Role::Vendor, v_other),
        token_records(store, session_id, Role::Partner, p_other),
    );
    let (vendor, partner) = match loaded {
        Ok(v) => v,
        Err(StoreError::Corrupt(what)) => {
            tracing::error!(what, "session data inconsistent; cancelling the session");
            return fail(state, &session.partnership_id, session_id).await;
        }
        Err(e) => return Err(e),
    };
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let policy = MatchPolicy {
        name_matching: session.policy.name_matching,
    };
    let computed = tokio::task::spawn_blocking(move || {
        overlap::compute(&vendor, v_pops, &partner, p_pops, &policy)
    })
    .await;
    let overlap = match computed {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "overlap computation rejected the data; cancelling the session");
            return fail(state, &session.partnership_id, session_id).await;
        }
        Err(join) => {
            tracing::error!(error = %join, "overlap computation panicked; cancelling the session");
            return fail(state, &session.partnership_id, session_id).await;
        }
    };
    let match_ms = started.elapsed().as_secs_f64() * 1000.0 - load_ms;
    let released = match release(&overlap, &session) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the session cannot be released; cancelling it");
            return fail(state, &session.partnership_id, session_id).await;
        }
    };
    match store
        .complete_session(session_id, &encode_result(&overlap, &released), now())
        .await
    {
        Ok(true) => {}
        // Another replica finished it first (after this one's lease ran out):
        // the same result is stored, and it did the audit entry.
        Ok(false) => return Ok(()),
        // It was revoked meanwhile.
        Err(StoreError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e),
    }
    crate::events::session_changed(state, session_id).await;
    crate::webhooks::emit_session(
        state,
        crate::webhooks::Event::SessionCompleted,
        &session.partnership_id,
        session_id,
        cleanroom_core::api::SessionState::Completed,
    )
    .await;
    Metrics::inc(&state.metrics.sessions_completed);
    store
        .append_audit(&AuditRow {
            partnership_id: session.partnership_id.clone(),
            at: now(),
            org_name: "cleanroom-server".into(),
            token_id: "-".into(),
            action: "session.completed".into(),
            session_id: Some(session_id.to_owned()),
            detail: serde_json::json!({
                "vendor_records": vendor_party.records,
                "partner_records": partner_party.records,
                "blinded_data_deleted": true,
            }),
        })
        .await?;
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        load_ms = format_args!("{load_ms:.1}"),
        match_ms = format_args!("{match_ms:.1}"),
        store_ms = format_args!("{:.1}", total_ms - load_ms - match_ms),
        total_ms = format_args!("{total_ms:.1}"),
        "session completed; blinded data and tokens deleted"
    );
    Ok(())
}

async fn fail(state: &AppState, partnership_id: &str, session_id: &str) -> StoreResult<()> {
    state.store.fail_session(session_id, now()).await?;
    crate::events::session_changed(state, session_id).await;
    crate::webhooks::emit_session(
        state,
        crate::webhooks::Event::SessionCancelled,
        partnership_id,
        session_id,
        cleanroom_core::api::SessionState::Cancelled,
    )
    .await;
    Metrics::inc(&state.metrics.sessions_cancelled);
    state
        .store
        .append_audit(&AuditRow {
            partnership_id: partnership_id.to_owned(),
            at: now(),
            org_name: "cleanroom-server".into(),
            token_id: "-".into(),
            action: "session.failed".into(),
            session_id: Some(session_id.to_owned()),
            detail: serde_json::json!({}),
        })
        .await
}

/// Unix milliseconds, the unit of computation leases.
fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// This replica's lease on a computation, running out one lease from now.
pub fn lease(state: &AppState) -> ComputeLease {
    let ms = i64::try_from(state.config.compute.lease.as_millis()).unwrap_or(i64::MAX);
    ComputeLease {
        owner: state.replica_id.to_string(),
        until_ms: now_ms().saturating_add(ms),
    }
}

/// Renews this replica's lease on a session every third of the lease, for
/// as long as the future is polled (it is dropped with the computation, so
/// a replica that dies stops renewing and another takes over).
async fn keep_lease(state: &AppState, session_id: &str) -> std::convert::Infallible {
    let mut lost = false;
    loop {
        tokio::time::sleep(state.config.compute.lease / 3).await;
        match state
            .store
            .renew_computation(session_id, &lease(state))
            .await
        {
            Ok(true) => {}
            // Keep computing anyway: the result is deterministic and its
            // write idempotent, so finishing twice stores it once.
            Ok(false) if !lost => {
                lost = true;
                tracing::warn!(
                    "lost the lease on a computation; another replica may finish it too"
                );
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "renewing a computation lease failed"),
        }
    }
}

/// Runs [`finish_session`] on a session whose lease this replica holds,
/// renewing the lease meanwhile.
async fn finish_leased(state: &AppState, session_id: &str) {
    let result = tokio::select! {
        r = finish_session(state, session_id) => r,
        never = keep_lease(state, session_id) => match never {},
    };
    if let Err(e) = result {
        // The lease runs out and a replica (maybe this one) tries again.
        tracing::error!(error = %e, "finishing a session failed; it is retried once its lease runs out");
    }
}

/// Runs [`finish_session`] on its own task for a session whose lease this
/// replica holds, so a client disconnecting does not abandon the
/// computation; the handle may be awaited. The task dies with the replica
/// ([`crate::RunningServer::kill`]).
pub fn spawn_finish(state: AppState, session_id: String) -> tokio::task::JoinHandle<()> {
    let tasks = state.tasks.clone();
    let handle = tokio::spawn(async move { finish_leased(&state, &session_id).await });
    tasks.track(handle.abort_handle());
    handle
}

/// Claims and finishes every session that needs it now: unclaimed ones and
/// those whose lease ran out (their replica died). With `any_lease`, leases
/// are ignored: SQLite serves one process, so at start every lease in it is
/// this process's previous life's. Returns how many it finished.
pub async fn resume_computing(state: &AppState, any_lease: bool) -> StoreResult<usize> {
    let mut n = 0;
    loop {
        let expired_before = if any_lease { i64::MAX } else { now_ms() };
        let Some(id) = state
            .store
            .claim_computation(&lease(state), expired_before)
            .await?
        else {
            return Ok(n);
        };
        finish_leased(state, &id).await;
        n += 1;
    }
}

/// Every `sweep_interval`, claims sessions in `computing` that no live
/// replica holds and finishes each on its own task. Runs until aborted.
pub async fn sweep(state: AppState) {
    let mut tick = tokio::time::interval(state.config.compute.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match state
                .store
                .claim_computation(&lease(&state), now_ms())
                .await
            {
                Ok(Some(id)) => {
                    tracing::info!("took over a computation whose lease ran out");
                    drop(spawn_finish(state.clone(), id));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "looking for orphaned computations failed");
                    break;
                }
            }
        }
    }
}
