//! `cleanroom agent`: a long-running process next to the CRM exports that
//! takes part in sessions without a human at the keyboard.
//!
//! Every poll it looks at each partnership it serves (see [`config`]):
//!
//! 1. local state of an interrupted or detached session of the partnership
//!    (after a crash, a restart or `--once`): it goes on with it;
//! 2. an open session that awaits this side: opened by this organization
//!    (a refresh requested on the dashboard or with `cleanroom sessions
//!    request`), it joins; opened by the partner, it joins as
//!    `auto_join` and the caps say, or leaves it for a human and says so;
//! 3. the refresh schedule is due: it opens a session (or joins the one
//!    that is open).
//!
//! Each session runs the library's own pipeline ([`start_session`],
//! [`resume_session`]), one at a time per partnership. Nothing here
//! touches account data beyond reading the export into [`prepare`].

pub mod config;
pub mod ledger;
pub mod schedule;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cleanroom_core::api::{
    AgentHeartbeat, AgentSchedule, NamesWithoutCountry, Partnership, PartnershipStatus,
    PartyProgress, Role, Session, SessionState, UploadState,
};
use cleanroom_core::protocol::protocol_version;
use tokio::task::JoinSet;

use self::config::{AgentConfig, AutoJoin, PartnershipSettings, Source};
use self::ledger::Ledger;
use self::schedule::now_secs;
use crate::error::{Error, Result};
use crate::http::Client;
use crate::prepare::{InputOptions, PreparedInput, prepare, prepare_file_quiet};
use crate::progress::{Progress, ProgressFn, no_progress};
use crate::session::{SessionOptions, SessionStatus, resume_session, start_session};
use crate::state::StateDir;

/// What a run of the agent did (for `--once`'s exit code and the tests).
#[derive(Debug, Default)]
pub struct Summary {
    /// Sessions that completed.
    pub completed: Vec<String>,
    /// Sessions left waiting for the partner (`--once`).
    pub waiting: Vec<String>,
    /// Partner-opened sessions left for a human.
    pub refused: Vec<String>,
    /// Runs that failed (`--once` only; a long-running agent logs and
    /// retries them): the partnership and the error.
    pub failed: Vec<(String, Error)>,
}

/// Why a session run was started.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Job {
    /// Local state of a session of the partnership exists.
    Resume,
    /// An open session awaits this side.
    Join {
        session_id: String,
        partner_opened: bool,
    },
    /// The schedule fired; `previous` is the last run before it.
    Scheduled { previous: Option<i64> },
}

impl Job {
    fn as_str(&self) -> &'static str {
        match self {
            Job::Resume => "resume",
            Job::Join {
                partner_opened: true,
                ..
            } => "partner-opened",
            Job::Join { .. } => "requested",
            Job::Scheduled { .. } => "scheduled",
        }
    }
}

/// A partnership the agent serves.
#[derive(Clone)]
struct Served {
    partnership: Partnership,
    partner: String,
    settings: PartnershipSettings,
}

/// The agent.
pub struct Agent {
    client: Client,
    config: AgentConfig,
    state: StateDir,
    once: bool,
    ledger: Ledger,
    /// Partnerships with a session run in progress, and their partners' names.
    busy: HashMap<String, String>,
    /// The partnership of each session task.
    task_ids: HashMap<tokio::task::Id, String>,
    /// Partnership → (unix seconds before which nothing is started, the
    /// current failure backoff).
    hold: HashMap<String, (i64, u64)>,
    /// Sessions already reported as left alone (said once, not every poll).
    told: HashSet<String>,
    /// Partnership ids listed in the file that matched nothing (said once).
    unmatched_told: bool,
    schedules: Arc<Mutex<Vec<AgentSchedule>>>,
    /// Running `notify_command`s (awaited before `run` returns).
    notifications: JoinSet<()>,
    summary: Summary,
}

/// Longest wait after a failed run before the partnership is tried again.
const MAX_BACKOFF_SECS: u64 = 3600;
/// First wait after a failed run.
const FIRST_BACKOFF_SECS: u64 = 30;

impl Agent {
    /// An agent acting through `client` (whose organization owns `state`,
    /// a directory scoped to it as the CLI's, see [`StateDir::scoped`]).
    /// With `once`, [`Agent::run`] does what is due now and returns; its
    /// sessions detach instead of waiting for the partner.
    pub fn new(client: Client, config: AgentConfig, state: StateDir, once: bool) -> Result<Agent> {
        let ledger = Ledger::load(&state)?;
        Ok(Agent {
            client,
            config,
            state,
            once,
            ledger,
            busy: HashMap::new(),
            task_ids: HashMap::new(),
            hold: HashMap::new(),
            told: HashSet::new(),
            unmatched_told: false,
            schedules: Arc::default(),
            notifications: JoinSet::new(),
            summary: Summary::default(),
        })
    }

    /// Runs until `shutdown` resolves (or, with `once`, until what was due
    /// is done). Sessions in progress at shutdown are dropped at their next
    /// step: their local state (written before each upload) lets the next
    /// start resume them. Fails only when the server refuses the token.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) -> Result<Summary> {
        tokio::pin!(shutdown);
        // Started after the first look, so that even the first heartbeat
        // carries the schedules.
        let mut heartbeat = None;
        let mut tasks: JoinSet<(String, Job, Result<SessionStatus>)> = JoinSet::new();
        let result = loop {
            // A signal is heard during a look too (a slow server must not
            // hold up a shutdown for a request timeout).
            let scanned = tokio::select! {
                _ = &mut shutdown => None,
                r = self.scan(&mut tasks) => Some(r),
            };
            let Some(scanned) = scanned else {
                self.stop(&mut tasks).await;
                break Ok(());
            };
            if let Err(e) = scanned {
                if matches!(e, Error::Auth { .. }) {
                    break Err(e);
                }
                tracing::warn!(error = %e, "could not look for sessions; trying again at the next poll");
                if self.once {
                    self.summary.failed.push((String::new(), e));
                }
            }
            if let (None, false, Some(every)) =
                (&heartbeat, self.once, self.config.heartbeat_interval)
            {
                heartbeat = Some(tokio::spawn(heartbeat_loop(
                    self.client.clone(),
                    Arc::clone(&self.schedules),
                    every,
                )));
            }
            if self.once {
                if self.config.heartbeat_interval.is_some() {
                    send_heartbeat(&self.client, &self.schedules, &mut false).await;
                }
                let stopped = loop {
                    tokio::select! {
                        _ = &mut shutdown => break true,
                        next = tasks.join_next() => match next {
                            Some(done) => self.finished(done),
                            None => break false,
                        },
                    }
                };
                if stopped {
                    self.stop(&mut tasks).await;
                }
                break Ok(());
            }
            tokio::select! {
                _ = &mut shutdown => {
                    self.stop(&mut tasks).await;
                    break Ok(());
                }
                Some(done) = tasks.join_next() => self.finished(done),
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        };
        if let Some(h) = heartbeat {
            h.abort();
        }
        // Each is bounded by its own timeout.
        while self.notifications.join_next().await.is_some() {}
        result.map(|()| self.summary)
    }

    /// Drops the running sessions, leaving their local state to resume from.
    async fn stop(&mut self, tasks: &mut JoinSet<(String, Job, Result<SessionStatus>)>) {
        let running: Vec<&String> = self.busy.keys().collect();
        tracing::info!(
            sessions_in_progress = running.len(),
            "shutting down; sessions in progress resume from local state at the next start"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    /// The partnerships this agent serves, with their settings.
    async fn served(&mut self) -> Result<Vec<Served>> {
        let all = self.client.list_partnerships().await?;
        if !self.unmatched_told {
            self.unmatched_told = true;
            for p in &self.config.partnerships {
                let key = p.partner.as_deref().unwrap_or_default();
                let found = all
                    .iter()
                    .any(|q| q.id == key || counterpart(q).name.eq_ignore_ascii_case(key));
                if !found {
                    tracing::warn!(
                        partner = key,
                        "no partnership with this partner or id; its section is unused"
                    );
                }
            }
        }
        Ok(all
            .into_iter()
            .filter(|p| p.status == PartnershipStatus::Active)
            .filter_map(|p| {
                let partner = counterpart(&p).name.clone();
                let settings = self.config.settings_for(&p.id, &partner)?.clone();
                Some(Served {
                    partnership: p,
                    partner,
                    settings,
                })
            })
            .collect())
    }

    /// One look at every served partnership: starts what is due.
    async fn scan(
        &mut self,
        tasks: &mut JoinSet<(String, Job, Result<SessionStatus>)>,
    ) -> Result<()> {
        if self
            .hold
            .get("")
            .is_some_and(|(until, _)| *until > now_secs())
        {
            return Ok(());
        }
        let served = match self.served().await {
            Ok(s) => s,
            Err(e) => {
                self.hold_on_429(None, &e);
                return Err(e);
            }
        };
        let now = now_secs();
        let mut schedules = Vec::new();
        for s in &served {
            let pid = s.partnership.id.clone();
            if let Some(sch) = &s.settings.refresh {
                let last = self.ledger.get(&pid).last_scheduled_run;
                schedules.push(AgentSchedule {
                    partnership_id: pid.clone(),
                    refresh: sch.to_string(),
                    next_run_at: Some(sch.next_run(last, now)),
                });
            }
            if self.busy.contains_key(&pid) {
                continue;
            }
            if self.hold.get(&pid).is_some_and(|(until, _)| *until > now) {
                continue;
            }
            match self.decide(s, now).await {
                Ok(Some(job)) => self.spawn(tasks, s, job)?,
                Ok(None) => {}
                Err(e) if matches!(e, Error::Auth { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(partner = %s.partner, partnership = %pid, error = %e, "could not check the partnership's sessions");
                    self.hold_on_429(Some(&pid), &e);
                    if self.once {
                        self.summary.failed.push((pid.clone(), e));
                    }
                }
            }
        }
        *self.schedules.lock().unwrap_or_else(|e| e.into_inner()) = schedules;
        Ok(())
    }

    /// What to do for one partnership now, if anything.
    async fn decide(&mut self, s: &Served, now: i64) -> Result<Option<Job>> {
        let pid = &s.partnership.id;
        if self.state.load_active(pid)?.is_some() {
            return Ok(Some(Job::Resume));
        }
        let open = self
            .client
            .list_sessions(pid)
            .await?
            .into_iter()
            .find(|x| x.state.is_open());
        let schedule_due = s
            .settings
            .refresh
            .as_ref()
            .map(|sch| (sch, self.ledger.get(pid).last_scheduled_run))
            .filter(|(sch, last)| sch.is_due(*last, now));
        if let Some(open) = &open {
            if !awaits_me(open) {
                // Either this side's upload is in without local state here
                // (another machine runs it), or the state moved on.
                if self.told.insert(open.id.clone()) {
                    tracing::info!(partner = %s.partner, session = %open.id, state = open.state.as_str(),
                        "an open session has an upload from this organization that this agent has no local state for; leaving it");
                }
                return Ok(None);
            }
            let partner_opened = open.created_by != open.my_role;
            if let Some((_, previous)) = schedule_due {
                // Joining it is this refresh: no second session after it.
                self.ledger.set_last_run(pid, Some(now))?;
                tracing::debug!(previous, "refresh due: joining the open session");
            } else if partner_opened {
                if let Some(reason) = self.refusal(s, open, now) {
                    if self.told.insert(open.id.clone()) {
                        tracing::warn!(partner = %s.partner, partnership = %pid, session = %open.id, reason,
                            "session opened by the partner left for a human: run `cleanroom match --partner ...` to join it");
                        self.summary.refused.push(open.id.clone());
                        self.notify(s, &open.id, reason);
                    }
                    return Ok(None);
                }
                if !self.ledger.has_joined(pid, &open.id) {
                    self.ledger.record_join(pid, &open.id, now)?;
                }
            }
            return Ok(Some(Job::Join {
                session_id: open.id.clone(),
                partner_opened,
            }));
        }
        match schedule_due {
            Some((_, previous)) => {
                self.ledger.set_last_run(pid, Some(now))?;
                Ok(Some(Job::Scheduled { previous }))
            }
            None => Ok(None),
        }
    }

    /// Why a partner-opened session is not joined, if it is not.
    fn refusal(&self, s: &Served, open: &Session, now: i64) -> Option<&'static str> {
        let pid = &s.partnership.id;
        match s.settings.auto_join {
            AutoJoin::Always => None,
            AutoJoin::Never => Some("auto_join is never"),
            AutoJoin::WithinCaps if self.ledger.has_joined(pid, &open.id) => None,
            AutoJoin::WithinCaps => {
                if self.ledger.joined_since(pid, now - 86_400) >= s.settings.max_per_day as usize {
                    Some("over max_partner_sessions_per_day")
                } else if self.ledger.joined_since(pid, now - 7 * 86_400)
                    >= s.settings.max_per_week as usize
                {
                    Some("over max_partner_sessions_per_week")
                } else {
                    None
                }
            }
        }
    }

    /// Runs the notification command for a session left alone, if any.
    fn notify(&mut self, s: &Served, session_id: &str, reason: &str) {
        let Some(argv) = self.config.notify_command.clone() else {
            return;
        };
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("CLEANROOM_PARTNER", &s.partner)
            .env("CLEANROOM_PARTNERSHIP", &s.partnership.id)
            .env("CLEANROOM_SESSION", session_id)
            .env("CLEANROOM_REASON", reason)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        while self.notifications.try_join_next().is_some() {}
        self.notifications.spawn(async move {
            let status = match cmd.spawn() {
                Ok(mut child) => tokio::time::timeout(Duration::from_secs(60), child.wait()).await,
                Err(e) => {
                    tracing::warn!(program = %argv[0], error = %e, "notify_command could not start");
                    return;
                }
            };
            match status {
                Ok(Ok(st)) if st.success() => {}
                Ok(Ok(st)) => {
                    tracing::warn!(program = %argv[0], status = %st, "notify_command failed")
                }
                Ok(Err(e)) => {
                    tracing::warn!(program = %argv[0], error = %e, "notify_command failed")
                }
                Err(_) => {
                    tracing::warn!(program = %argv[0], "notify_command ran over 60s and was killed")
                }
            }
        });
    }

    /// Holds a partnership (or, with `None`, all) while the server asks
    /// for patience: a `429`'s `Retry-After`.
    fn hold_on_429(&mut self, pid: Option<&str>, e: &Error) {
        if e.status() != Some(429) {
            return;
        }
        let wait = self.client.retry_after().map_or(60, |d| d.as_secs().max(1)) as i64;
        let until = now_secs() + wait;
        tracing::info!(
            wait_secs = wait,
            "the server asked to wait (429); waiting it out"
        );
        match pid {
            Some(p) => {
                let entry = self.hold.entry(p.to_owned()).or_insert((0, 0));
                entry.0 = entry.0.max(until);
            }
            // Every partnership: the key of none.
            None => {
                self.hold.insert(String::new(), (until, 0));
            }
        }
    }

    fn spawn(
        &mut self,
        tasks: &mut JoinSet<(String, Job, Result<SessionStatus>)>,
        s: &Served,
        job: Job,
    ) -> Result<()> {
        let pid = s.partnership.id.clone();
        let span = tracing::info_span!("session_run", partner = %s.partner, partnership = %pid, why = job.as_str());
        match &job {
            Job::Join { session_id, .. } => {
                tracing::info!(parent: &span, session = %session_id, "joining an open session")
            }
            Job::Resume => {
                tracing::info!(parent: &span, "going on with the session in local state")
            }
            Job::Scheduled { .. } => {
                tracing::info!(parent: &span, "refresh due: opening a session")
            }
        }
        self.busy.insert(pid.clone(), s.partner.clone());
        let ctx = RunCtx {
            client: self.client.clone(),
            state: self.state.clone(),
            detach: self.once,
            served: s.clone(),
            results_dir: self.config.results_dir.clone(),
        };
        use tracing::Instrument;
        let handle = tasks.spawn(
            async move {
                let r = run_one(&ctx, &job).await;
                (pid, job, r)
            }
            .instrument(span),
        );
        self.task_ids.insert(handle.id(), s.partnership.id.clone());
        Ok(())
    }

    /// Books a finished session run.
    fn finished(
        &mut self,
        done: std::result::Result<(String, Job, Result<SessionStatus>), tokio::task::JoinError>,
    ) {
        let (pid, job, result) = match done {
            Ok(d) => d,
            Err(e) => {
                // A panic: the partnership is free again, after a pause.
                if let Some(pid) = self.task_ids.remove(&e.id()) {
                    self.busy.remove(&pid);
                    self.hold.insert(
                        pid,
                        (now_secs() + MAX_BACKOFF_SECS as i64, MAX_BACKOFF_SECS),
                    );
                }
                tracing::error!(error = %e, "a session task failed");
                return;
            }
        };
        self.task_ids.retain(|_, p| *p != pid);
        let partner = self.busy.remove(&pid).unwrap_or_default();
        match result {
            Ok(SessionStatus::Completed(o)) => {
                self.hold.remove(&pid);
                tracing::info!(partner = %partner, partnership = %pid, session = %o.session_id, why = job.as_str(), resumed = o.resumed,
                    accounts = o.accounts, records = o.records, "session completed");
                self.summary.completed.push(o.session_id.clone());
            }
            Ok(SessionStatus::Waiting(w)) => {
                self.hold.remove(&pid);
                tracing::info!(partner = %partner, partnership = %pid, session = %w.session_id, waiting_for = w.waiting_for,
                    expires_at = w.expires_at.as_deref().unwrap_or(""), "session waits for the partner; the next run goes on with it");
                self.summary.waiting.push(w.session_id.clone());
            }
            Err(e @ Error::Cancelled { .. }) => {
                tracing::warn!(partner = %partner, partnership = %pid, why = job.as_str(), error = %e, "session ended without results");
            }
            Err(e) => {
                let (until, delay) = self.hold.get(&pid).copied().unwrap_or((0, 0));
                let delay = if delay == 0 {
                    FIRST_BACKOFF_SECS
                } else {
                    (delay * 2).min(MAX_BACKOFF_SECS)
                };
                let mut until = until.max(now_secs() + delay as i64);
                if e.status() == Some(429) {
                    if let Some(d) = self.client.retry_after() {
                        until = until.max(now_secs() + d.as_secs().max(1) as i64);
                    }
                }
                self.hold.insert(pid.clone(), (until, delay));
                // A schedule that fired but started nothing fires again
                // after the backoff, not only at its next occurrence.
                if let Job::Scheduled { previous } = job {
                    if !matches!(self.state.load_active(&pid), Ok(Some(_))) {
                        if let Err(e) = self.ledger.set_last_run(&pid, previous) {
                            tracing::error!(error = %e, "cannot write the agent's state");
                        }
                    }
                }
                tracing::error!(partner = %partner, partnership = %pid, why = job.as_str(), error = %e, kind = ?e.kind(),
                    retry_in_secs = until - now_secs(), "session run failed");
                if self.once {
                    self.summary.failed.push((pid, e));
                }
            }
        }
    }
}

/// What one session run needs.
struct RunCtx {
    client: Client,
    state: StateDir,
    detach: bool,
    served: Served,
    results_dir: Option<std::path::PathBuf>,
}

/// One session run: the library's pipeline, as `cleanroom match` runs it.
async fn run_one(ctx: &RunCtx, job: &Job) -> Result<SessionStatus> {
    let p = &ctx.served.partnership;
    let mut opts = SessionOptions::new(p.id.clone(), ctx.state.clone());
    opts.detach = ctx.detach;
    opts.progress = log_progress();
    let status = match resumable_without_input(ctx, job).await? {
        true => resume_session(&ctx.client, &opts).await?,
        false => {
            let settings = &ctx.served.settings;
            let input = load_input(settings, p.policy.names_without_country).await?;
            if let Source::Path(path) = &settings.source {
                opts.csv_path = Some(std::fs::canonicalize(path).unwrap_or(path.clone()));
            }
            tracing::info!(
                accounts = input.accounts.len(),
                records = input.record_count(),
                populations = ?input.populations,
                "export read"
            );
            start_session(&ctx.client, &input, &opts).await?
        }
    };
    if let (SessionStatus::Completed(o), Some(dir)) = (&status, &ctx.results_dir) {
        let path = dir.join(format!(
            "{}-{}.json",
            file_safe(&p.id),
            file_safe(&o.session_id)
        ));
        crate::fsutil::create_private_dir(dir)?;
        crate::fsutil::write_bytes_atomic(
            &path,
            true,
            crate::output::results_json(&o.results).as_bytes(),
        )?;
        tracing::info!(path = %path.display(), "results written");
    }
    Ok(status)
}

/// Whether the session in local state can go on without the export: its
/// blinded upload is committed, or it ended (the library then cleans up).
async fn resumable_without_input(ctx: &RunCtx, job: &Job) -> Result<bool> {
    if *job != Job::Resume {
        return Ok(false);
    }
    let Some(active) = ctx.state.load_active(&ctx.served.partnership.id)? else {
        return Ok(false);
    };
    match ctx.client.session(&active.session_id).await {
        Ok(s) => Ok(!s.state.is_open() || mine(&s).blinded == UploadState::Committed),
        Err(Error::Api { status: 404, .. }) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Reads the export (file or command output) and prepares it as `match` does.
async fn load_input(
    s: &PartnershipSettings,
    names_without_country: NamesWithoutCountry,
) -> Result<PreparedInput> {
    let opts = InputOptions {
        preset: s.preset,
        columns: s.columns.clone(),
        populations: s.populations.clone(),
        names_without_country,
    };
    let joined = match &s.source {
        Source::Path(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || prepare_file_quiet(&path, &opts)).await
        }
        Source::Command { argv, timeout } => {
            let bytes = run_source_command(argv, *timeout).await?;
            let label = format!("output of {}", argv[0]);
            tokio::task::spawn_blocking(move || {
                let table = crate::csv_input::parse_csv(&bytes, Path::new(&label))?;
                drop(bytes);
                prepare(&table, &opts, &no_progress())
            })
            .await
        }
    };
    joined.map_err(|e| Error::State(format!("reading the export failed: {e}")))?
}

/// Runs a source command without a shell; its standard output is the CSV.
/// A non-zero exit, a signal or the timeout fail the run: nothing is
/// uploaded. Its standard error is logged (at most 2,000 bytes): it is the
/// program's own message, not the export.
pub async fn run_source_command(argv: &[String], timeout: Duration) -> Result<Vec<u8>> {
    let program = &argv[0];
    let child = tokio::process::Command::new(program)
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Input(format!("source command {program:?} could not start: {e}")))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| Error::Input(format!("source command {program:?} failed: {e}")))?,
        Err(_) => {
            return Err(Error::Input(format!(
                "source command {program:?} did not finish within {}s and was killed; nothing was uploaded",
                timeout.as_secs()
            )));
        }
    };
    if !out.stderr.is_empty() {
        let text = String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(2000)]);
        tracing::info!(program = %program, stderr = %text.trim_end(), "source command said");
    }
    if !out.status.success() {
        return Err(Error::Input(format!(
            "source command {program:?} failed ({}); nothing was uploaded",
            out.status
        )));
    }
    Ok(out.stdout)
}

/// Logs each phase of a session as it finishes.
fn log_progress() -> ProgressFn {
    Arc::new(|p: Progress| {
        if p.finished {
            tracing::info!(phase = p.phase.label(), done = p.done, "phase done");
        }
    })
}

/// Sends heartbeats every `every` until aborted.
async fn heartbeat_loop(
    client: Client,
    schedules: Arc<Mutex<Vec<AgentSchedule>>>,
    every: Duration,
) {
    let mut missing_told = false;
    loop {
        let wait = send_heartbeat(&client, &schedules, &mut missing_told).await;
        tokio::time::sleep(wait.unwrap_or(every).max(every)).await;
    }
}

/// One heartbeat: versions and schedules, no account data. Returns how long
/// the server asked to wait, after a `429`.
async fn send_heartbeat(
    client: &Client,
    schedules: &Arc<Mutex<Vec<AgentSchedule>>>,
    missing_told: &mut bool,
) -> Option<Duration> {
    let body = AgentHeartbeat {
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: protocol_version(),
        schedules: schedules.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    };
    match client.heartbeat(&body).await {
        Ok(()) => {
            tracing::debug!(schedules = body.schedules.len(), "heartbeat sent");
            None
        }
        Err(e) if e.status() == Some(404) => {
            if !std::mem::replace(missing_told, true) {
                tracing::warn!(
                    "the server does not take agent heartbeats (404); the agent works without them"
                );
            }
            None
        }
        Err(e) if e.status() == Some(429) => {
            let wait = client.retry_after().unwrap_or(Duration::from_secs(60));
            tracing::info!(
                wait_secs = wait.as_secs(),
                "heartbeat: the server asked to wait (429)"
            );
            Some(wait)
        }
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat failed");
            None
        }
    }
}

fn mine(s: &Session) -> &PartyProgress {
    match s.my_role {
        Role::Vendor => &s.vendor,
        Role::Partner => &s.partner,
    }
}

/// Whether an open session waits for this side's blinded upload.
fn awaits_me(s: &Session) -> bool {
    s.state == SessionState::AwaitingBlinded && mine(s).blinded == UploadState::Pending
}

fn counterpart(p: &Partnership) -> &cleanroom_core::api::Org {
    match p.my_role {
        Role::Vendor => &p.partner,
        Role::Partner => &p.vendor,
    }
}

fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
