//! Progress reporting: one callback receives every phase's counters.

use std::sync::Arc;

/// The phases of one side of a session, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Reading the CSV and normalizing keys (counts rows).
    Normalize,
    /// Blinding keys (counts records).
    Blind,
    /// Uploading blinded records (counts records).
    UploadBlinded,
    /// Waiting for the counterpart's blinded upload (no counts).
    WaitCounterpart,
    /// Downloading the counterpart's points (counts points).
    DownloadPoints,
    /// Re-blinding points into match tokens (counts tokens).
    Tokens,
    /// Uploading tokens (counts tokens).
    UploadTokens,
    /// Waiting for the server to compute (no counts).
    WaitResults,
    /// Fetching the results.
    Results,
}

impl Phase {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Normalize => "normalizing",
            Phase::Blind => "blinding",
            Phase::UploadBlinded => "uploading blinded records",
            Phase::WaitCounterpart => "waiting for the partner",
            Phase::DownloadPoints => "downloading partner points",
            Phase::Tokens => "computing match tokens",
            Phase::UploadTokens => "uploading tokens",
            Phase::WaitResults => "waiting for results",
            Phase::Results => "fetching results",
        }
    }
}

/// One progress report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Units done so far in this phase.
    pub done: u64,
    /// Units in the phase, when known.
    pub total: Option<u64>,
    /// Whether this is the phase's last report.
    pub finished: bool,
}

/// The progress callback. It runs on the driver's task: keep it cheap.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// A callback that ignores everything.
pub fn no_progress() -> ProgressFn {
    Arc::new(|_| {})
}

pub(crate) fn report(f: &ProgressFn, phase: Phase, done: u64, total: Option<u64>, finished: bool) {
    f(Progress {
        phase,
        done,
        total,
        finished,
    });
}
