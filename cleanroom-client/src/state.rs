//! Local session state, so an interrupted `match` can resume.
//!
//! Two kinds of file live in the state directory (0700, files 0600):
//!
//! - `active-<partnership>.json`: the running session's id, the input's
//!   fingerprint and the session secret. It is deleted as soon as the session
//!   completes or is cancelled, so the secret never outlives its session.
//! - `rows-<session>.json`: which CSV lines each uploaded row id stands for.
//!   It holds no secret and no account data (only line numbers), and is kept
//!   so that `overlaps` can join the server's row ids back to the CSV.

use std::path::{Path, PathBuf};

use cleanroom_core::SessionSecret;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{create_private_dir, write_bytes_atomic};

const VERSION: u32 = 1;

/// The state of the session in progress for one partnership.
#[derive(Clone, Serialize, Deserialize)]
pub struct ActiveSession {
    /// File format version.
    pub version: u32,
    /// The partnership.
    pub partnership_id: String,
    /// The session.
    pub session_id: String,
    /// [`crate::prepare::PreparedInput::fingerprint`] of the uploaded input.
    pub fingerprint: String,
    /// The session secret, hex of [`SessionSecret::expose_secret_bytes`].
    secret_hex: String,
}

impl std::fmt::Debug for ActiveSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveSession")
            .field("partnership_id", &self.partnership_id)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl ActiveSession {
    /// New state for a session.
    pub fn new(
        partnership_id: &str,
        session_id: &str,
        fingerprint: &str,
        secret: &SessionSecret,
    ) -> Self {
        ActiveSession {
            version: VERSION,
            partnership_id: partnership_id.to_owned(),
            session_id: session_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
            secret_hex: hex::encode(secret.expose_secret_bytes()),
        }
    }

    /// The session secret.
    pub fn secret(&self) -> Result<SessionSecret> {
        let bytes: [u8; 32] = hex::decode(&self.secret_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::State("local session state is corrupt (secret)".into()))?;
        SessionSecret::from_canonical_bytes(bytes)
            .ok_or_else(|| Error::State("local session state is corrupt (secret)".into()))
    }
}

/// Which CSV lines each row id of a session stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RowMap {
    /// File format version.
    pub version: u32,
    /// The session.
    pub session_id: String,
    /// The partnership.
    pub partnership_id: String,
    /// The CSV the rows came from, if known.
    pub csv_path: Option<PathBuf>,
    /// Population names uploaded.
    pub populations: Vec<String>,
    /// `rows[row_id]` = the CSV lines merged into that account.
    pub rows: Vec<Vec<u64>>,
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// A state directory at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateDir { dir: dir.into() }
    }

    /// The platform default: `$XDG_STATE_HOME/cleanroom` or the local data dir.
    pub fn default_location() -> Result<Self> {
        let base = dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .ok_or_else(|| {
                Error::Config("cannot find a directory for local state; pass --state-dir".into())
            })?;
        Ok(StateDir::new(base.join("cleanroom")))
    }

    /// A sub-directory for one organization (or any other owner).
    ///
    /// State files are named by partnership and session, which both sides
    /// share: two organizations must never use the same directory.
    pub fn scoped(&self, owner: &str) -> StateDir {
        StateDir::new(self.dir.join(format!("org-{}", file_safe(owner))))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn active_path(&self, partnership_id: &str) -> PathBuf {
        self.dir
            .join(format!("active-{}.json", file_safe(partnership_id)))
    }

    fn rows_path(&self, session_id: &str) -> PathBuf {
        self.dir
            .join(format!("rows-{}.json", file_safe(session_id)))
    }

    /// Loads the active session of a partnership, if any.
    pub fn load_active(&self, partnership_id: &str) -> Result<Option<ActiveSession>> {
        load(&self.active_path(partnership_id))
    }

    /// Saves the active session (atomically, 0600).
    pub fn save_active(&self, s: &ActiveSession) -> Result<()> {
        create_private_dir(&self.dir)?;
        save(&self.active_path(&s.partnership_id), s)
    }

    /// Deletes the active session, and with it the secret.
    pub fn clear_active(&self, partnership_id: &str) -> Result<()> {
        let p = self.active_path(partnership_id);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(p, e)),
        }
    }

    /// Loads a session's row map, if any.
    pub fn load_rows(&self, session_id: &str) -> Result<Option<RowMap>> {
        load(&self.rows_path(session_id))
    }

    /// Saves a session's row map (atomically, 0600).
    pub fn save_rows(&self, m: &RowMap) -> Result<()> {
        create_private_dir(&self.dir)?;
        save(&self.rows_path(&m.session_id), m)
    }

    /// Deletes a session's row map.
    pub fn clear_rows(&self, session_id: &str) -> Result<()> {
        let p = self.rows_path(session_id);
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(p, e)),
        }
    }
}

pub(crate) fn new_row_map(
    session_id: &str,
    partnership_id: &str,
    csv_path: Option<PathBuf>,
    populations: Vec<String>,
    rows: Vec<Vec<u64>>,
) -> RowMap {
    RowMap {
        version: VERSION,
        session_id: session_id.to_owned(),
        partnership_id: partnership_id.to_owned(),
        csv_path,
        populations,
        rows,
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

fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            Error::State(format!(
                "{}: unreadable local state ({e}); delete it to start over",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::State(e.to_string()))?;
    write_bytes_atomic(path, true, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_roundtrip_and_clear() {
        let d = tempfile::tempdir().unwrap();
        let sd = StateDir::new(d.path().join("st"));
        let secret = SessionSecret::generate();
        let a = ActiveSession::new("p/1", "s1", "fp", &secret);
        assert!(!format!("{a:?}").contains(&hex::encode(secret.expose_secret_bytes())));
        sd.save_active(&a).unwrap();
        let b = sd.load_active("p/1").unwrap().unwrap();
        assert_eq!(
            b.secret().unwrap().expose_secret_bytes(),
            secret.expose_secret_bytes()
        );
        sd.clear_active("p/1").unwrap();
        assert!(sd.load_active("p/1").unwrap().is_none());
        sd.clear_active("p/1").unwrap();
    }
}
