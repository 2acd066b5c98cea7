//! Wake-ups for clients long-polling a session (`GET /v1/sessions/{id}?while_state=…`).
//!
//! One process-wide counter is bumped whenever any session changes state;
//! waiters re-read their session on every bump. A bump carries no data, so a
//! waiter can never learn anything about another organization's session from
//! it. Waiters also re-read once a second, which covers changes made by
//! another server process on the same PostgreSQL database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The change signal shared by all handlers.
#[derive(Clone, Debug)]
pub struct SessionEvents {
    tx: Arc<watch::Sender<u64>>,
    closing: Arc<AtomicBool>,
}

impl Default for SessionEvents {
    fn default() -> Self {
        SessionEvents {
            tx: Arc::new(watch::Sender::new(0)),
            closing: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl SessionEvents {
    /// Some session changed state: wake every waiter.
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
}
