//! Prometheus text metrics from in-process counters (no label carries an identifier).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// Sessions created.
    pub sessions_created: AtomicU64,
    /// Sessions completed.
    pub sessions_completed: AtomicU64,
    /// Sessions cancelled (by a party, a revocation or a failed computation).
    pub sessions_cancelled: AtomicU64,
    /// Chunks uploaded.
    pub chunks_uploaded: AtomicU64,
}

impl Metrics {
    /// Counts one request by method, route template (never the raw path) and status.
    pub fn request(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
    }

    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP cleanroom_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE cleanroom_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "cleanroom_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        for (name, help, c) in [
            (
                "cleanroom_sessions_created_total",
                "Sessions created.",
                &self.sessions_created,
            ),
            (
                "cleanroom_sessions_completed_total",
                "Sessions completed.",
                &self.sessions_completed,
            ),
            (
                "cleanroom_sessions_cancelled_total",
                "Sessions cancelled.",
                &self.sessions_cancelled,
            ),
            (
                "cleanroom_chunks_uploaded_total",
                "Chunks uploaded.",
                &self.chunks_uploaded,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        out
    }
}
