//! The agent's own record in the state directory (`agent.json`, 0600):
//! when each partnership's schedule last fired, and which sessions opened by
//! the partner it joined (for the caps). No account data and no secret.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{create_private_dir, write_bytes_atomic};
use crate::state::StateDir;

const VERSION: u32 = 1;
/// Joins older than this no longer count against any cap.
const KEEP_SECS: i64 = 7 * 86_400;

/// One partnership's record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PartnershipRecord {
    /// Unix seconds the schedule last fired.
    #[serde(default)]
    pub last_scheduled_run: Option<i64>,
    /// Partner-opened sessions joined: `(session id, unix seconds)`.
    #[serde(default)]
    pub partner_sessions: Vec<(String, i64)>,
}

/// The file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ledger {
    version: u32,
    #[serde(default)]
    partnerships: BTreeMap<String, PartnershipRecord>,
    #[serde(skip)]
    path: PathBuf,
}

impl Ledger {
    /// Loads `agent.json` of a state directory (empty when missing).
    pub fn load(state: &StateDir) -> Result<Ledger> {
        let path = state.path().join("agent.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut l: Ledger = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::State(format!(
                        "{}: unreadable agent state ({e}); delete it to start over \
                         (schedules then fire at once, caps count from zero)",
                        path.display()
                    ))
                })?;
                l.path = path;
                Ok(l)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger {
                version: VERSION,
                partnerships: BTreeMap::new(),
                path,
            }),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// A partnership's record.
    pub fn get(&self, partnership_id: &str) -> PartnershipRecord {
        self.partnerships
            .get(partnership_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Records that the schedule fired (or un-records it: `None`), and saves.
    pub fn set_last_run(&mut self, partnership_id: &str, at: Option<i64>) -> Result<()> {
        self.partnerships
            .entry(partnership_id.to_owned())
            .or_default()
            .last_scheduled_run = at;
        self.save()
    }

    /// Partner-opened sessions joined since `since` (unix seconds).
    pub fn joined_since(&self, partnership_id: &str, since: i64) -> usize {
        self.partnerships.get(partnership_id).map_or(0, |r| {
            r.partner_sessions
                .iter()
                .filter(|(_, at)| *at >= since)
                .count()
        })
    }

    /// Whether this partner-opened session was joined (and counted) before.
    pub fn has_joined(&self, partnership_id: &str, session_id: &str) -> bool {
        self.partnerships
            .get(partnership_id)
            .is_some_and(|r| r.partner_sessions.iter().any(|(s, _)| s == session_id))
    }

    /// Counts a partner-opened session against the caps, and saves.
    pub fn record_join(&mut self, partnership_id: &str, session_id: &str, now: i64) -> Result<()> {
        let r = self
            .partnerships
            .entry(partnership_id.to_owned())
            .or_default();
        r.partner_sessions.retain(|(_, at)| *at >= now - KEEP_SECS);
        r.partner_sessions.push((session_id.to_owned(), now));
        self.save()
    }

    fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            create_private_dir(dir)?;
        }
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::State(e.to_string()))?;
        write_bytes_atomic(&self.path, true, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_joins_in_windows_and_persists() {
        let d = tempfile::tempdir().unwrap();
        let sd = StateDir::new(d.path().join("st"));
        let mut l = Ledger::load(&sd).unwrap();
        let now = 10_000_000;
        l.record_join("p", "s-old", now - 8 * 86_400).unwrap();
        l.record_join("p", "s-week", now - 3 * 86_400).unwrap();
        l.record_join("p", "s-day", now - 60).unwrap();
        l.set_last_run("p", Some(now)).unwrap();
        let l = Ledger::load(&sd).unwrap();
        assert_eq!(l.joined_since("p", now - 86_400), 1);
        assert_eq!(l.joined_since("p", now - 7 * 86_400), 2);
        assert!(l.has_joined("p", "s-day"));
        assert!(!l.has_joined("p", "s-old"), "pruned");
        assert_eq!(l.get("p").last_scheduled_run, Some(now));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("st/agent.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
