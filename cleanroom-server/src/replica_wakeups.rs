//! Long-poll wake-ups across replicas on one PostgreSQL database.
//!
//! Every session change is announced with `NOTIFY` (payload: the session id
//! only; see [`crate::events::session_changed`]). Each replica listens on one
//! connection of its own and wakes its waiters on every announcement, so a
//! long poll on one replica answers as soon as another replica changes the
//! session. While the listening connection is down, waiters fall back to
//! re-reading once a second, and the listener reconnects with backoff. On
//! SQLite (one process) there is nothing to listen to.

use std::time::Duration;

use crate::{AnyStore, AppState};

/// First wait before listening again after the connection was lost.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between tries while the database cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Listens for session changes announced by any replica and wakes this
/// replica's long polls; runs until aborted.
pub async fn run(state: AppState) {
    let AnyStore::Postgres(store) = &state.store else {
        return;
    };
    let events = &state.events;
    let mut backoff = MIN_BACKOFF;
    loop {
        match store.session_change_listener().await {
            Ok(mut listener) => {
                backoff = MIN_BACKOFF;
                events.set_listening(true);
                // Changes announced while nobody here listened: re-read now.
                events.changed();
                let lost = loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => events.changed(),
                        Ok(None) => break "the connection was closed".to_owned(),
                        Err(e) => break e.to_string(),
                    }
                };
                events.set_listening(false);
                // A change may have been announced unheard: re-read now, and
                // poll until listening again.
                events.changed();
                tracing::warn!(
                    error = %lost,
                    "stopped hearing other replicas' session changes; long polls re-read every second until listening again"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "cannot listen for other replicas' session changes");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
