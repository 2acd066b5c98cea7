//! `cleanroom match --stats-json FILE`: phase timings from the progress
//! callback, HTTP body bytes, peak RSS and CPU time, for benchmarks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cleanroom_client::{Phase, Progress, ProgressFn, Traffic};

/// When a phase was first and last reported, in ms since the recorder started.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Span {
    start_ms: f64,
    end_ms: f64,
    done: u64,
}

/// Records the first and last report of every phase.
pub struct Recorder {
    start: Instant,
    spans: Arc<Mutex<BTreeMap<&'static str, Span>>>,
}

fn key(p: Phase) -> &'static str {
    match p {
        Phase::Normalize => "normalize",
        Phase::Blind => "blind",
        Phase::UploadBlinded => "upload_blinded",
        Phase::WaitCounterpart => "wait_counterpart",
        Phase::DownloadPoints => "download_points",
        Phase::Tokens => "tokens",
        Phase::UploadTokens => "upload_tokens",
        Phase::WaitResults => "wait_results",
        Phase::Results => "results",
    }
}

impl Recorder {
    pub fn new(start: Instant) -> Self {
        Recorder {
            start,
            spans: Arc::default(),
        }
    }

    /// Wraps `inner` so that every report is also recorded.
    pub fn wrap(&self, inner: ProgressFn) -> ProgressFn {
        let spans = Arc::clone(&self.spans);
        let start = self.start;
        Arc::new(move |p: Progress| {
            let now = start.elapsed().as_secs_f64() * 1000.0;
            if let Ok(mut s) = spans.lock() {
                let e = s.entry(key(p.phase)).or_insert(Span {
                    start_ms: now,
                    end_ms: now,
                    done: 0,
                });
                e.end_ms = now;
                e.done = e.done.max(p.done);
            }
            inner(p)
        })
    }

    /// Writes the JSON report.
    pub fn write(
        &self,
        path: &Path,
        traffic: Traffic,
        accounts: u64,
        records: u64,
    ) -> std::io::Result<()> {
        let spans = self.spans.lock().map(|s| s.clone()).unwrap_or_default();
        let (user_ms, sys_ms) = cpu_ms();
        let json = serde_json::json!({
            "total_ms": self.start.elapsed().as_secs_f64() * 1000.0,
            "phases": spans,
            "accounts": accounts,
            "records": records,
            "requests": traffic.requests,
            "bytes_sent": traffic.bytes_sent,
            "bytes_received": traffic.bytes_received,
            "vm_hwm_kib": proc_status_kib("VmHWM:"),
            "cpu_user_ms": user_ms,
            "cpu_sys_ms": sys_ms,
            "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        });
        let mut text = serde_json::to_vec_pretty(&json).map_err(std::io::Error::other)?;
        text.push(b'\n');
        std::fs::write(path, text)
    }
}

/// A `kB` field of `/proc/self/status` (Linux), or 0 elsewhere.
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// User and system CPU time of this process from `/proc/self/stat`, in ms
/// (assuming the usual 100 clock ticks per second), or zeros elsewhere.
fn cpu_ms() -> (u64, u64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0, 0);
    };
    // Fields after the parenthesized command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 10;
    (tick(11), tick(12))
}
