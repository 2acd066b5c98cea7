//! Drives one side of a matching session from prepared accounts to results.
//!
//! The flow: find or create the partnership's open session; blind and upload
//! the records in chunks; commit; wait for the counterpart; stream its points,
//! turn them into match tokens chunk by chunk and upload those; commit; wait
//! for the server; fetch the results. Local state written before the first
//! upload lets a re-run resume an interrupted session (see [`crate::state`]).
//!
//! The two sides need not run at the same time: with
//! [`SessionOptions::detach`], [`start_session`] returns
//! [`SessionStatus::Waiting`] as soon as this side has nothing left to do
//! until the counterpart acts (its blinded upload committed, or its tokens
//! committed while the counterpart's are not), and [`resume_session`] later
//! goes on from the local state alone, without the input. The server cancels
//! a session that is still waiting at its `expires_at`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cleanroom_core::api::{
    CommitBlinded, CommitTokens, PartyProgress, Session, SessionResults, SessionState, UploadState,
};
use cleanroom_core::protocol::protocol_version;
use cleanroom_core::wire::{
    BLINDED_RECORD_LEN, BlindedRecord, MAX_POPULATIONS, POINT_RECORD_LEN, encode_tokens,
};
use cleanroom_core::{AccountKey, SessionSecret};
use futures_util::StreamExt;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::http::{Client, is_transient};
use crate::prepare::PreparedInput;
use crate::progress::{Phase, ProgressFn, no_progress, report};
use crate::state::{ActiveSession, RowMap, StateDir, new_row_map};

/// Records (or tokens) per uploaded chunk: 100,000 blinded records are 4.8 MB.
pub const DEFAULT_CHUNK_RECORDS: usize = 100_000;

/// How to run a session.
#[derive(Clone)]
pub struct SessionOptions {
    /// The partnership to match in.
    pub partnership_id: String,
    /// Where local state lives.
    pub state_dir: StateDir,
    /// The CSV the input came from, recorded for `overlaps`.
    pub csv_path: Option<PathBuf>,
    /// Records per chunk.
    pub chunk_records: usize,
    /// How long to wait for the counterpart (and then for the results) at
    /// most; by default ([`Duration::MAX`]) until the session ends, which the
    /// server's session expiry bounds.
    pub wait_timeout: Duration,
    /// Return [`SessionStatus::Waiting`] instead of waiting for the
    /// counterpart (see [`start_session`]).
    pub detach: bool,
    /// First polling interval; it grows by half up to `poll_max`.
    pub poll_initial: Duration,
    /// Longest polling interval.
    pub poll_max: Duration,
    /// Cancel an open session this side cannot resume instead of failing.
    pub restart: bool,
    /// Progress callback.
    pub progress: ProgressFn,
}

impl std::fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOptions")
            .field("partnership_id", &self.partnership_id)
            .field("chunk_records", &self.chunk_records)
            .field("wait_timeout", &self.wait_timeout)
            .finish_non_exhaustive()
    }
}

impl SessionOptions {
    /// Defaults: 100,000-record chunks, waiting until the session ends (the
    /// server cancels it at its `expires_at`), polls from 100 ms to 1 s (a
    /// poll is one small GET; a coarser interval would idle both sides for
    /// seconds), no detaching.
    pub fn new(partnership_id: impl Into<String>, state_dir: StateDir) -> Self {
        SessionOptions {
            partnership_id: partnership_id.into(),
            state_dir,
            csv_path: None,
            chunk_records: DEFAULT_CHUNK_RECORDS,
            wait_timeout: Duration::MAX,
            detach: false,
            poll_initial: Duration::from_millis(100),
            poll_max: Duration::from_secs(1),
            restart: false,
            progress: no_progress(),
        }
    }
}

/// Where a session stands when [`start_session`] or [`resume_session`] returns.
#[derive(Clone, Debug)]
pub enum SessionStatus {
    /// It completed: the results.
    Completed(Box<SessionOutcome>),
    /// It waits for the counterpart; resume it later with [`resume_session`].
    Waiting(WaitingSession),
}

/// A session this side left waiting for the counterpart. The local state
/// (with the session secret) stays until the session ends.
#[derive(Clone, Debug)]
pub struct WaitingSession {
    /// The session.
    pub session_id: String,
    /// The partnership.
    pub partnership_id: String,
    /// Its state (`awaiting_blinded` or `awaiting_tokens`).
    pub state: SessionState,
    /// RFC 3339: when the server cancels it unless both sides are done.
    pub expires_at: Option<String>,
    /// What it waits for, in words.
    pub waiting_for: &'static str,
}

/// What a finished session produced.
#[derive(Clone, Debug)]
pub struct SessionOutcome {
    /// The session.
    pub session_id: String,
    /// Whether an interrupted run was resumed.
    pub resumed: bool,
    /// Accounts uploaded.
    pub accounts: u64,
    /// Blinded records uploaded (one per key).
    pub records: u64,
    /// The results.
    pub results: SessionResults,
}

fn mine(s: &Session) -> &PartyProgress {
    match s.my_role {
        cleanroom_core::api::Role::Vendor => &s.vendor,
        cleanroom_core::api::Role::Partner => &s.partner,
    }
}

fn theirs(s: &Session) -> &PartyProgress {
    match s.my_role {
        cleanroom_core::api::Role::Vendor => &s.partner,
        cleanroom_core::api::Role::Partner => &s.vendor,
    }
}

/// Everything needed to (re)produce this side's uploads.
struct Run {
    session: Session,
    secret: Arc<SessionSecret>,
    /// `order[row_id]` = index into `input.accounts`.
    order: Vec<usize>,
    resumed: bool,
}

/// Runs one side of a session to completion and returns the results.
///
/// The input is first fitted to the server's limits (`GET /v1/limits`, see
/// [`PreparedInput::fit_limits`]) unless it already fits; call that yourself
/// beforehand to show what it changed.
///
/// The input must have been prepared with the partnership's
/// [`names_without_country`](cleanroom_core::api::SharingPolicy::names_without_country)
/// (set [`InputOptions::names_without_country`](crate::InputOptions::names_without_country)
/// from [`Client::partnership`]'s policy): the partnership is read first and
/// an input prepared under the other rule is refused with
/// [`Error::NamesWithoutCountryMismatch`], before any session is created.
///
/// ```no_run
/// # async fn demo() -> Result<(), cleanroom_client::Error> {
/// use cleanroom_client::{Client, ClientConfig, InputOptions, SessionOptions, StateDir};
/// let client = Client::new(ClientConfig::new("https://broker.example.com", "crt_…"))?;
/// let input = cleanroom_client::prepare_file_quiet("accounts.csv".as_ref(), &InputOptions::default())?;
/// let opts = SessionOptions::new("partnership-id", StateDir::default_location()?);
/// let outcome = cleanroom_client::run_session(&client, &input, &opts).await?;
/// println!("{} accounts matched in session {}", outcome.accounts, outcome.session_id);
/// # Ok(()) }
/// ```
pub async fn run_session(
    client: &Client,
    input: &PreparedInput,
    opts: &SessionOptions,
) -> Result<SessionOutcome> {
    let mut opts = opts.clone();
    opts.detach = false;
    match start_session(client, input, &opts).await? {
        SessionStatus::Completed(outcome) => Ok(*outcome),
        // invariant: without `detach`, `drive` waits instead of returning early.
        SessionStatus::Waiting(w) => Err(Error::State(format!(
            "session {} unexpectedly left waiting",
            w.session_id
        ))),
    }
}

/// [`run_session`], except that with [`SessionOptions::detach`] it returns
/// [`SessionStatus::Waiting`] once this side's uploads are committed and the
/// rest needs the counterpart: first its blinded upload, then, after this
/// side's tokens, its tokens. The local state then keeps the session secret
/// (file mode 0600, never sent to the server) until [`resume_session`]
/// finishes the session or learns that it ended.
pub async fn start_session(
    client: &Client,
    input: &PreparedInput,
    opts: &SessionOptions,
) -> Result<SessionStatus> {
    if input.accounts.is_empty() {
        return Err(Error::Input(
            "no account in the input has a usable key".into(),
        ));
    }
    if input.populations.is_empty() || input.populations.len() > MAX_POPULATIONS {
        return Err(Error::Input(format!(
            "between 1 and {MAX_POPULATIONS} populations are needed"
        )));
    }
    if input.accounts.len() > u32::MAX as usize {
        return Err(Error::Input("too many accounts for one session".into()));
    }
    if opts.chunk_records == 0 {
        return Err(Error::Config("chunk size must be positive".into()));
    }
    // The server never sees countries (they are inside the hashed name keys),
    // so it cannot tell an upload that applied another rule than the agreed
    // one: its names would silently match nothing on the other side.
    let agreed = retry(client, || client.partnership(&opts.partnership_id))
        .await?
        .policy
        .names_without_country;
    if input.names_without_country != agreed {
        return Err(Error::NamesWithoutCountryMismatch {
            prepared: input.names_without_country,
            agreed,
        });
    }
    // Before any session is created or joined: an upload the server would
    // refuse at commit must not cost the pair a session of its budget.
    let limits = retry(client, || client.limits()).await?;
    // The server would refuse the upload at commit, after the session had
    // cost the pair its budget: say now which side to upgrade.
    if limits.protocol_version != protocol_version() {
        return Err(Error::VersionMismatch {
            client: protocol_version(),
            server: Some(limits.protocol_version.clone()),
        });
    }
    let fitted;
    let input = if input.fits(&limits) {
        input
    } else {
        let mut copy = input.clone();
        copy.fit_limits(&limits)?;
        fitted = copy;
        &fitted
    };
    if input.accounts.is_empty() {
        return Err(Error::Input(
            "no account is left to upload within the server's population rules".into(),
        ));
    }
    let records = input.record_count();
    if let Some(results) = finished_while_away(client, input, opts).await? {
        return Ok(SessionStatus::Completed(Box::new(SessionOutcome {
            session_id: results.session_id.clone(),
            resumed: true,
            accounts: input.accounts.len() as u64,
            records,
            results,
        })));
    }
    let run = attach(client, input, opts).await?;
    finish(
        client,
        Some(input),
        opts,
        run,
        input.accounts.len() as u64,
        records,
    )
    .await
}

/// Goes on with the session this side detached from (or was interrupted in
/// after its blinded upload was committed), from the local state of
/// `opts.partnership_id` alone: no input is needed. Does not wait for the
/// counterpart unless `opts.detach` is off: it finishes the token phase if
/// the counterpart's blinded upload is in, fetches the results if the
/// session completed, and otherwise answers [`SessionStatus::Waiting`].
///
/// Fails with [`Error::Cancelled`] (and deletes the local state) when the
/// session was cancelled or expired, and with [`Error::State`] when there is
/// no local state, or this side's blinded upload was never committed (run
/// [`start_session`] with the same input to finish it).
pub async fn resume_session(client: &Client, opts: &SessionOptions) -> Result<SessionStatus> {
    let pid = &opts.partnership_id;
    let Some(active) = opts.state_dir.load_active(pid)? else {
        return Err(Error::State(
            "no session of this partnership to resume on this machine (no local state for it)"
                .into(),
        ));
    };
    let session = match retry(client, || client.session(&active.session_id)).await {
        Ok(s) => s,
        Err(Error::Api { status: 404, .. }) => {
            opts.state_dir.clear_active(pid)?;
            return Err(Error::State(format!(
                "session {} no longer exists on the server; its local state is deleted",
                active.session_id
            )));
        }
        Err(e) => return Err(e),
    };
    let rows = opts.state_dir.load_rows(&session.id)?;
    let accounts = rows.as_ref().map_or(0, |r| r.rows.len() as u64);
    let records = mine(&session).records.unwrap_or(0);
    if session.state == SessionState::Completed {
        let results = retry(client, || client.results(&session.id)).await?;
        // The session is over: the secret has no further use.
        opts.state_dir.clear_active(pid)?;
        return Ok(SessionStatus::Completed(Box::new(SessionOutcome {
            session_id: session.id.clone(),
            resumed: true,
            accounts,
            records,
            results,
        })));
    }
    if session.state == SessionState::AwaitingBlinded
        && mine(&session).blinded != UploadState::Committed
    {
        return Err(Error::State(format!(
            "this side's blinded upload to session {} was not committed; run the match again \
             with the same input and options to finish it",
            session.id
        )));
    }
    let run = Run {
        session,
        secret: Arc::new(active.secret()?),
        // Only the blinded upload needs the row order, and it is committed.
        order: Vec::new(),
        resumed: true,
    };
    finish(client, None, opts, run, accounts, records).await
}

/// Drives an attached session and keeps the local state in step: deleted
/// once the session ends, kept while it waits.
async fn finish(
    client: &Client,
    input: Option<&PreparedInput>,
    opts: &SessionOptions,
    run: Run,
    accounts: u64,
    records: u64,
) -> Result<SessionStatus> {
    let sid = run.session.id.clone();
    let result = drive(client, input, opts, run).await;
    if let Err(Error::Cancelled { .. }) = &result {
        opts.state_dir.clear_active(&opts.partnership_id)?;
    }
    match result? {
        Driven::Done(results, resumed) => {
            // The session is over: the secret has no further use and must not linger.
            opts.state_dir.clear_active(&opts.partnership_id)?;
            Ok(SessionStatus::Completed(Box::new(SessionOutcome {
                session_id: sid,
                resumed,
                accounts,
                records,
                results,
            })))
        }
        Driven::Waiting(s, waiting_for) => Ok(SessionStatus::Waiting(WaitingSession {
            session_id: s.id.clone(),
            partnership_id: s.partnership_id.clone(),
            state: s.state,
            expires_at: s.expires_at.clone(),
            waiting_for,
        })),
    }
}

/// The results of this input's session when it completed after this side
/// stopped (both sides gone while the server computed): showing them beats
/// starting, and spending the pair's budget on, a second session.
async fn finished_while_away(
    client: &Client,
    input: &PreparedInput,
    opts: &SessionOptions,
) -> Result<Option<SessionResults>> {
    let Some(active) = opts.state_dir.load_active(&opts.partnership_id)? else {
        return Ok(None);
    };
    if active.fingerprint != input.fingerprint() {
        return Ok(None);
    }
    match retry(client, || client.session(&active.session_id)).await {
        Ok(s) if s.state == SessionState::Completed => {
            let results = retry(client, || client.results(&s.id)).await?;
            // The session is over: the secret has no further use.
            opts.state_dir.clear_active(&opts.partnership_id)?;
            Ok(Some(results))
        }
        Ok(_) | Err(Error::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Finds the session to work in: the interrupted one from local state, an
/// open one the counterpart created, or a new one.
async fn attach(client: &Client, input: &PreparedInput, opts: &SessionOptions) -> Result<Run> {
    let pid = &opts.partnership_id;
    let fingerprint = input.fingerprint();
    if let Some(active) = opts.state_dir.load_active(pid)? {
        match retry(client, || client.session(&active.session_id)).await {
            Ok(s) if s.state.is_open() => {
                if active.fingerprint == fingerprint {
                    if let Some(rows) = opts.state_dir.load_rows(&s.id)? {
                        let order = order_from_rows(input, &rows)?;
                        return Ok(Run {
                            session: s,
                            secret: Arc::new(active.secret()?),
                            order,
                            resumed: true,
                        });
                    }
                }
                if !opts.restart {
                    return Err(Error::State(format!(
                        "session {} of this partnership was interrupted with a different input; \
                         re-run with the same file and options to resume, or pass --restart to cancel it and start over",
                        s.id
                    )));
                }
                retry(client, || client.cancel_session(&s.id)).await?;
            }
            Ok(_) => {}
            Err(Error::Api { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        opts.state_dir.clear_active(pid)?;
    }

    let session = loop {
        let open = retry(client, || client.list_sessions(pid))
            .await?
            .into_iter()
            .find(|s| s.state.is_open());
        match open {
            Some(s)
                if mine(&s).blinded == UploadState::Pending
                    && s.state == SessionState::AwaitingBlinded =>
            {
                break s;
            }
            Some(s) => {
                if !opts.restart {
                    return Err(Error::State(format!(
                        "session {} is open and already has an upload from your organization that this machine \
                         cannot resume (no local state for it); pass --restart to cancel it and start over",
                        s.id
                    )));
                }
                retry(client, || client.cancel_session(&s.id)).await?;
            }
            None => match client.create_session(pid).await {
                Ok(s) => break s,
                // The counterpart created one in the meantime: join it.
                Err(Error::Api { status: 409, .. }) => continue,
                Err(e) if is_transient(&e) => tokio::time::sleep(opts.poll_initial).await,
                Err(e) => return Err(e),
            },
        }
    };

    let secret = SessionSecret::generate();
    // Row ids are a random permutation, so they say nothing about CSV order.
    let mut order: Vec<usize> = (0..input.accounts.len()).collect();
    order.shuffle(&mut rand::rng());
    let rows = order
        .iter()
        .map(|&i| input.accounts[i].lines.clone())
        .collect();
    let map = new_row_map(
        &session.id,
        pid,
        opts.csv_path.clone(),
        input.populations.clone(),
        rows,
    );
    // State first, uploads after: an interruption at any later point can resume.
    opts.state_dir.save_rows(&map)?;
    opts.state_dir.save_active(&ActiveSession::new(
        pid,
        &session.id,
        &fingerprint,
        session.expires_at.as_deref(),
        &secret,
    ))?;
    Ok(Run {
        session,
        secret: Arc::new(secret),
        order,
        resumed: false,
    })
}

/// Rebuilds the row order of a resumed session from its saved row map.
fn order_from_rows(input: &PreparedInput, rows: &RowMap) -> Result<Vec<usize>> {
    let by_first_line: std::collections::HashMap<u64, usize> = input
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.lines[0], i))
        .collect();
    let order: Option<Vec<usize>> = rows
        .rows
        .iter()
        .map(|lines| lines.first().and_then(|l| by_first_line.get(l).copied()))
        .collect();
    match order {
        Some(o) if o.len() == input.accounts.len() => Ok(o),
        _ => Err(Error::State(
            "local row map does not fit the input; pass --restart".into(),
        )),
    }
}

/// How [`drive`] left the session.
enum Driven {
    /// Completed: the results, and whether an interrupted run was resumed.
    Done(SessionResults, bool),
    /// Detached while waiting for the counterpart to do this.
    Waiting(Session, &'static str),
}

async fn drive(
    client: &Client,
    input: Option<&PreparedInput>,
    opts: &SessionOptions,
    run: Run,
) -> Result<Driven> {
    let sid = run.session.id.clone();
    let mut session = run.session.clone();
    let progress = &opts.progress;

    if session.state == SessionState::AwaitingBlinded
        && mine(&session).blinded != UploadState::Committed
    {
        let Some(input) = input else {
            return Err(Error::State(format!(
                "this side's blinded upload to session {sid} is not committed; run the match again with the same input"
            )));
        };
        session = upload_blinded(client, input, opts, &run, &session).await?;
    }
    check_cancelled(&session)?;
    if opts.detach && session.state == SessionState::AwaitingBlinded {
        return Ok(Driven::Waiting(session, "the other side's blinded upload"));
    }
    session = wait_until(client, &sid, opts, Phase::WaitCounterpart, &session, |s| {
        s.state != SessionState::AwaitingBlinded
    })
    .await?;
    if session.state == SessionState::AwaitingTokens
        && mine(&session).tokens != UploadState::Committed
    {
        // The second commit answers once the server computed the result.
        session = upload_tokens(client, opts, &run, &session).await?;
    }
    check_cancelled(&session)?;
    if opts.detach && session.state == SessionState::AwaitingTokens {
        return Ok(Driven::Waiting(session, "the other side's tokens"));
    }
    let start = session.clone();
    wait_until(client, &sid, opts, Phase::WaitResults, &start, |s| {
        s.state == SessionState::Completed
    })
    .await?;
    report(progress, Phase::Results, 0, None, false);
    let results = retry(client, || client.results(&sid)).await?;
    report(progress, Phase::Results, 1, Some(1), true);
    Ok(Driven::Done(results, run.resumed))
}

/// [`Error::Cancelled`] for a cancelled session.
fn check_cancelled(s: &Session) -> Result<()> {
    if s.state == SessionState::Cancelled {
        return Err(Error::Cancelled {
            session_id: s.id.clone(),
            reason: s.cancel_reason,
        });
    }
    Ok(())
}

/// Blinds and uploads the chunks the server does not have yet, then commits.
async fn upload_blinded(
    client: &Client,
    input: &PreparedInput,
    opts: &SessionOptions,
    run: &Run,
    session: &Session,
) -> Result<Session> {
    // (row id, account index, key index), in row-id order: upload order
    // follows the shuffled ids, never the CSV.
    let mut recs: Vec<(u32, u32, u8)> = Vec::with_capacity(input.record_count() as usize);
    for (row_id, &acc) in run.order.iter().enumerate() {
        for k in 0..input.accounts[acc].keys.len() {
            recs.push((row_id as u32, acc as u32, k as u8));
        }
    }
    let total = recs.len() as u64;
    let chunks: Vec<&[(u32, u32, u8)]> = recs.chunks(opts.chunk_records).collect();
    let have: HashSet<u32> = mine(session).blinded_chunks.iter().copied().collect();
    let todo: Vec<usize> = (0..chunks.len())
        .filter(|&i| !have.contains(&(i as u32)))
        .collect();
    let skipped: u64 = (0..chunks.len())
        .filter(|i| have.contains(&(*i as u32)))
        .map(|i| chunks[i].len() as u64)
        .sum();

    let blind = |i: usize| {
        let part = chunks[i];
        let keys: Vec<AccountKey> = part
            .iter()
            .map(|&(_, a, k)| input.accounts[a as usize].keys[k as usize].clone())
            .collect();
        let meta: Vec<(u32, u64, cleanroom_core::KeyType)> = part
            .iter()
            .map(|&(r, a, k)| {
                let acc = &input.accounts[a as usize];
                (r, acc.populations, acc.keys[k as usize].kind())
            })
            .collect();
        let secret = Arc::clone(&run.secret);
        tokio::task::spawn_blocking(move || {
            let points = secret.blind_batch(&keys);
            let mut body = Vec::with_capacity(points.len() * BLINDED_RECORD_LEN);
            for ((row_id, populations, key_type), point) in meta.into_iter().zip(points) {
                BlindedRecord {
                    row_id,
                    populations,
                    key_type,
                    point,
                }
                .encode_into(&mut body);
            }
            body
        })
    };

    let progress = &opts.progress;
    let (mut blinded, mut uploaded) = (skipped, skipped);
    report(progress, Phase::Blind, blinded, Some(total), false);
    report(progress, Phase::UploadBlinded, uploaded, Some(total), false);
    // Blind the next chunk on the blocking pool while this one uploads.
    let mut next = todo.first().map(|&i| blind(i));
    for (n, &i) in todo.iter().enumerate() {
        // invariant: `next` holds a task for `todo[n]`: set before the loop for
        // todo[0], and at the end of each turn for the following chunk.
        let body = next
            .take()
            .expect("a chunk is pending")
            .await
            .map_err(|e| Error::State(format!("blinding task failed: {e}")))?;
        blinded += chunks[i].len() as u64;
        report(
            progress,
            Phase::Blind,
            blinded,
            Some(total),
            blinded == total,
        );
        if let Some(&j) = todo.get(n + 1) {
            next = Some(blind(j));
        }
        let seq = i as u32;
        let body = bytes::Bytes::from(body);
        retry(client, || {
            client.put_blinded_chunk(&session.id, seq, body.clone())
        })
        .await?;
        uploaded += chunks[i].len() as u64;
        report(
            progress,
            Phase::UploadBlinded,
            uploaded,
            Some(total),
            uploaded == total,
        );
    }
    let commit = CommitBlinded {
        protocol_version: protocol_version(),
        populations: input.populations.clone(),
        chunks: chunks.len() as u32,
        records: total,
    };
    match client.commit_blinded(&session.id, &commit).await {
        Ok(s) => Ok(s),
        // A commit whose answer was lost: the server already has it.
        Err(e) if is_transient(&e) => {
            let s = retry(client, || client.session(&session.id)).await?;
            if mine(&s).blinded == UploadState::Committed {
                Ok(s)
            } else {
                retry(client, || client.commit_blinded(&session.id, &commit)).await
            }
        }
        Err(e) => Err(e),
    }
}

/// Chunks of tokens computed and uploading at once while the download goes on.
const TOKEN_PIPELINE: usize = 2;

/// Streams the counterpart's points, turns each chunk into tokens and uploads
/// the chunks the server does not have. Downloading, re-blinding and
/// uploading overlap: up to [`TOKEN_PIPELINE`] chunks are being tokenized or
/// uploaded while the next one downloads, so memory stays at a few chunks.
/// Returns the session as the token commit left it.
async fn upload_tokens(
    client: &Client,
    opts: &SessionOptions,
    run: &Run,
    session: &Session,
) -> Result<Session> {
    let sid = &session.id;
    let total = theirs(session)
        .records
        .ok_or_else(|| Error::Protocol("the counterpart's record count is missing".into()))?;
    let chunk = opts.chunk_records;
    let chunk_bytes = chunk * POINT_RECORD_LEN;
    let n_chunks = total.div_ceil(chunk as u64) as u32;
    let have: HashSet<u32> = mine(session).token_chunks.iter().copied().collect();
    let progress = &opts.progress;

    let mut stream = retry(client, || client.counterpart_points(sid)).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(chunk_bytes);
    let (mut downloaded, mut done_records) = (0u64, 0u64);
    let mut seq = 0u32;
    let mut inflight: std::collections::VecDeque<tokio::task::JoinHandle<Result<u64>>> =
        std::collections::VecDeque::new();
    report(progress, Phase::DownloadPoints, 0, Some(total), false);

    // Waits for the oldest chunk in flight and reports it.
    let finish_one =
        |inflight: &mut std::collections::VecDeque<tokio::task::JoinHandle<Result<u64>>>| {
            let oldest = inflight.pop_front();
            async move {
                match oldest {
                    Some(h) => h
                        .await
                        .map_err(|e| Error::State(format!("token task failed: {e}")))?,
                    None => Ok(0),
                }
            }
        };
    let dispatch = |seq: u32, points: Vec<u8>| {
        if seq == 0 {
            report(progress, Phase::Tokens, 0, Some(total), false);
            report(progress, Phase::UploadTokens, 0, Some(total), false);
        }
        let n = (points.len() / POINT_RECORD_LEN) as u64;
        let upload = !have.contains(&seq);
        let (client, secret, sid) = (client.clone(), Arc::clone(&run.secret), sid.clone());
        tokio::spawn(async move {
            if upload {
                token_chunk(&client, secret, &sid, seq, points).await?;
            }
            Ok(n)
        })
    };

    while let Some(bytes) = stream.next().await.transpose()? {
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            let take = (chunk_bytes - buf.len()).min(rest.len());
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buf.len() == chunk_bytes {
                downloaded += chunk as u64;
                report(
                    progress,
                    Phase::DownloadPoints,
                    downloaded,
                    Some(total),
                    false,
                );
                while inflight.len() >= TOKEN_PIPELINE {
                    done_records += finish_one(&mut inflight).await?;
                    report(progress, Phase::Tokens, done_records, Some(total), false);
                    report(
                        progress,
                        Phase::UploadTokens,
                        done_records,
                        Some(total),
                        false,
                    );
                }
                let full = std::mem::replace(&mut buf, Vec::with_capacity(chunk_bytes));
                inflight.push_back(dispatch(seq, full));
                seq += 1;
            }
        }
    }
    if buf.len() % POINT_RECORD_LEN != 0 {
        return Err(Error::Protocol(
            "the points download ended inside a point".into(),
        ));
    }
    if !buf.is_empty() {
        downloaded += (buf.len() / POINT_RECORD_LEN) as u64;
        inflight.push_back(dispatch(seq, std::mem::take(&mut buf)));
        seq += 1;
    }
    report(
        progress,
        Phase::DownloadPoints,
        downloaded,
        Some(total),
        true,
    );
    while !inflight.is_empty() {
        done_records += finish_one(&mut inflight).await?;
        report(progress, Phase::Tokens, done_records, Some(total), false);
        report(
            progress,
            Phase::UploadTokens,
            done_records,
            Some(total),
            false,
        );
    }
    if downloaded != total || seq != n_chunks {
        return Err(Error::Protocol(format!(
            "expected {total} counterpart points, received {downloaded}"
        )));
    }
    report(progress, Phase::Tokens, done_records, Some(total), true);
    report(
        progress,
        Phase::UploadTokens,
        done_records,
        Some(total),
        true,
    );
    let commit = CommitTokens {
        chunks: n_chunks,
        records: total,
    };
    match client.commit_tokens(sid, &commit).await {
        Ok(s) => Ok(s),
        Err(e) if is_transient(&e) => {
            let s = retry(client, || client.session(sid)).await?;
            if mine(&s).tokens == UploadState::Committed {
                Ok(s)
            } else {
                retry(client, || client.commit_tokens(sid, &commit)).await
            }
        }
        Err(e) => Err(e),
    }
}

/// Re-blinds one chunk of the counterpart's points into tokens and uploads them.
async fn token_chunk(
    client: &Client,
    secret: Arc<SessionSecret>,
    sid: &str,
    seq: u32,
    points: Vec<u8>,
) -> Result<()> {
    let body = tokio::task::spawn_blocking(move || {
        secret
            .token_batch(&points)
            .map(|tokens| encode_tokens(&tokens))
    })
    .await
    .map_err(|e| Error::State(format!("token task failed: {e}")))?
    .map_err(|(i, e)| {
        Error::Protocol(format!(
            "counterpart point {i} of chunk {seq} is invalid: {e}"
        ))
    })?;
    let body = bytes::Bytes::from(body);
    retry(client, || client.put_token_chunk(sid, seq, body.clone())).await?;
    Ok(())
}

/// How long one long poll may be held by the server.
const LONG_POLL: Duration = Duration::from_secs(20);

/// Polls the session until `done` holds: long polls, with growing intervals
/// between answers that brought no change.
async fn wait_until(
    client: &Client,
    sid: &str,
    opts: &SessionOptions,
    phase: Phase,
    current: &Session,
    done: impl Fn(&Session) -> bool,
) -> Result<Session> {
    let start = Instant::now();
    let mut delay = opts.poll_initial;
    let mut s = current.clone();
    report(&opts.progress, phase, 0, None, false);
    loop {
        check_cancelled(&s)?;
        if done(&s) {
            report(&opts.progress, phase, 1, Some(1), true);
            return Ok(s);
        }
        if start.elapsed() >= opts.wait_timeout {
            return Err(Error::Timeout {
                what: match phase {
                    Phase::WaitCounterpart => "the partner's upload",
                    _ => "the results",
                },
                waited_secs: start.elapsed().as_secs(),
            });
        }
        // A long poll answers as soon as the state changes; a server that
        // does not hold the request answers at once, and then the growing
        // delay keeps this from spinning.
        let asked = Instant::now();
        let wait = LONG_POLL.min(opts.wait_timeout.saturating_sub(start.elapsed()));
        let state = s.state;
        s = retry(client, || client.session_wait(sid, state, wait)).await?;
        if s.state == state {
            if let Some(rest) = delay.checked_sub(asked.elapsed()) {
                tokio::time::sleep(rest).await;
            }
            delay = (delay * 3 / 2).min(opts.poll_max);
        }
        // A heartbeat, so a spinner can show that we are still waiting.
        report(&opts.progress, phase, 0, None, false);
    }
}

/// The longest one `Retry-After` is waited out inside a session step: a
/// server that asks for longer is treated as down for that step.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Retries transient failures (network, 5xx, 429) with exponential backoff,
/// waiting at least as long as the server's `Retry-After` asked (a rate
/// limit, a database outage), so a client never hammers a server that said
/// when to come back.
async fn retry<T, F, Fut>(client: &Client, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 0;
    loop {
        match f().await {
            Err(e) if is_transient(&e) && attempt < 5 => {
                attempt += 1;
                let asked = client.retry_after().map(|d| d.min(MAX_RETRY_AFTER));
                tokio::time::sleep(asked.map_or(delay, |a| a.max(delay))).await;
                delay *= 2;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ClientConfig;

    /// A 429 with `Retry-After: 2` is waited out before the next try, not
    /// retried after the 200 ms backoff.
    #[tokio::test]
    async fn a_retry_after_is_waited_out() {
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().route(
            "/v1/limits",
            axum::routing::get(move || {
                let h = h.clone();
                async move {
                    if h.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        (
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "2")],
                            "{}",
                        )
                    } else {
                        (
                            axum::http::StatusCode::IM_A_TEAPOT,
                            [("retry-after", "0")],
                            "{}",
                        )
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = Client::new(ClientConfig::new(format!("http://{addr}"), "t")).unwrap();
        let started = Instant::now();
        // The second answer (418) is not transient: the loop ends there.
        let r = retry(&client, || client.limits()).await;
        assert!(r.is_err());
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
        // At least a second (Retry-After has whole seconds), not the 200 ms
        // backoff.
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
    }
}
