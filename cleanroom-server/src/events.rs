//! Wake-ups for clients long-polling a session (`GET /v1/sessions/{id}?while_state=…`).
//!
//! One process-wide counter is bumped whenever any session changes state;
//! waiters re-read their session on every bump. A bump carries no data, so a
//! waiter can never learn anything about another organization's session from
//! it. Every state change goes through [`session_changed`], which also tells
//! the other replicas on the same PostgreSQL database (see
//! [`crate::replica_wakeups`]). While that cross-replica feed is down (and
//! always on SQLite, which serves one process), waiters also re-read once a
//! second; while it is up, every [`RECHECK_LISTENING`] as a safety net.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;
use crate::store::Store as _;

/// How often a waiter re-reads its session without a wake-up while changes
/// made by other replicas may not wake it (no cross-replica feed).
pub const RECHECK_POLLING: Duration = Duration::from_secs(1);

/// How often a waiter re-reads its session without a wake-up while the
/// cross-replica feed is up: only a change whose announcement was lost (its
/// replica died between commit and `NOTIFY`) waits this long.
pub const RECHECK_LISTENING: Duration = Duration::from_secs(5);

/// The change signal shared by all handlers.
#[derive(Clone, Debug)]
pub struct SessionEvents {
    tx: Arc<watch::Sender<u64>>,
    closing: Arc<AtomicBool>,
    listening: Arc<AtomicBool>,
}

impl Default for SessionEvents {
    fn default() -> Self {
        SessionEvents {
            tx: Arc::new(watch::Sender::new(0)),
            closing: Arc::new(AtomicBool::new(false)),
            listening: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl SessionEvents {
    /// Some session changed state: wake every waiter of this process. A
    /// change made here goes through [`session_changed`] instead, so that the
    /// other replicas hear of it too.
    pub fn changed(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees the bumps after this call.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    /// The server is shutting down: waiters answer at once, so that graceful
    /// shutdown does not sit out their timeouts.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.changed();
    }

    /// Whether [`SessionEvents::close`] was called.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Whether other replicas' changes wake this process's waiters (the
    /// PostgreSQL listener is connected), or they must poll.
    pub fn set_listening(&self, up: bool) {
        self.listening.store(up, Ordering::SeqCst);
    }

    /// How long a waiter may wait for a wake-up before it re-reads anyway.
    pub fn recheck(&self) -> Duration {
        if self.listening.load(Ordering::SeqCst) {
            RECHECK_LISTENING
        } else {
            RECHECK_POLLING
        }
    }
}

/// A session changed state: wakes this replica's waiters and announces the
/// change (the session id, nothing else) to the other replicas on the same
/// database. An announcement that fails is only logged: the others' waiters
/// then find the change on their next re-read.
pub async fn session_changed(state: &AppState, session_id: &str) {
    state.events.changed();
    if let Err(e) = state.store.announce_session_change(session_id).await {
        tracing::warn!(error = %e, "announcing a session change to the other replicas failed");
    }
}
