//! Local session state, so an interrupted `match` can resume.
//!
//! Two kinds of file live in the state directory (0700, files 0600):
//!
//! - `active-<partnership>.json`: the running session's id, the input's
//!   fingerprint, the session's expiry and the session secret. It is the only
//!   place the secret exists outside memory (it is never sent anywhere; in
//!   memory it is zeroized when dropped), and it is deleted as soon as the
//!   session completes, is cancelled or expires, so the secret never outlives
//!   its session. It is what lets a crashed `match` resume, and what
//!   `match --resume` finishes a detached session from.
//! - `rows-<session>.json`: which CSV lines each uploaded row id stands for.
//!   It holds no secret and no account data (only line numbers), and is kept
//!   so that `overlaps` can join the server's row ids back to the CSV.

use std::path::{Path, PathBuf};

use cleanroom_core::SessionSecret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

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
    /// RFC 3339: when the server cancels the session unless it finished
    /// (absent in files from before session expiry, and with older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The session secret, hex of [`SessionSecret::expose_secret_bytes`].
    secret_hex: String,
}

impl Drop for ActiveSession {
    fn drop(&mut self) {
        self.secret_hex.zeroize();
    }
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
        expires_at: Option<&str>,
        secret: &SessionSecret,
    ) -> Self {
        let mut bytes = secret.expose_secret_bytes();
        let secret_hex = hex::encode(bytes);
        bytes.zeroize();
        ActiveSession {
            version: VERSION,
            partnership_id: partnership_id.to_owned(),
            session_id: session_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
            expires_at: expires_at.map(str::to_owned),
            secret_hex,
        }
    }

    /// The session secret.
    pub fn secret(&self) -> Result<SessionSecret> {
        let corrupt = || Error::State("local session state is corrupt (secret)".into());
        let mut decoded = hex::decode(&self.secret_hex).map_err(|_| corrupt())?;
        let bytes: Option<[u8; 32]> = decoded.as_slice().try_into().ok();
        decoded.zeroize();
        let Some(mut bytes) = bytes else {
            return Err(corrupt());
        };
        let secret = SessionSecret::from_canonical_bytes(bytes);
        bytes.zeroize();
        secret.ok_or_else(corrupt)
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

    /// Every active session in this directory (one per partnership), for
    /// `match --resume` when it is given a session id or nothing.
    pub fn list_active(&self) -> Result<Vec<ActiveSession>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&self.dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("active-") && name.ends_with(".json") {
                if let Some(a) = load::<ActiveSession>(&path)? {
                    out.push(a);
                }
            }
        }
        out.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        Ok(out)
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

// The raw bytes of a state file may hold a session secret: both functions
// zeroize their copy once done with it.
fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(mut b) => {
            let parsed = serde_json::from_slice(&b);
            b.zeroize();
            parsed.map(Some).map_err(|e| {
                Error::State(format!(
                    "{}: unreadable local state ({e}); delete it to start over",
                    path.display()
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec(value).map_err(|e| Error::State(e.to_string()))?;
    let written = write_bytes_atomic(path, true, &bytes);
    bytes.zeroize();
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_roundtrip_and_clear() {
        let d = tempfile::tempdir().unwrap();
        let sd = StateDir::new(d.path().join("st"));
        let secret = SessionSecret::generate();
        let a = ActiveSession::new("p/1", "s1", "fp", Some("2026-01-02T00:00:00Z"), &secret);
        assert!(!format!("{a:?}").contains(&hex::encode(secret.expose_secret_bytes())));
        sd.save_active(&a).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = d.path().join("st").join("active-p_1.json");
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the secret's file is private");
        }
        let listed = sd.list_active().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].session_id, "s1");
        assert_eq!(
            listed[0].expires_at.as_deref(),
            Some("2026-01-02T00:00:00Z")
        );
        let b = sd.load_active("p/1").unwrap().unwrap();
        assert_eq!(
            b.secret().unwrap().expose_secret_bytes(),
            secret.expose_secret_bytes()
        );
        sd.clear_active("p/1").unwrap();
        assert!(sd.load_active("p/1").unwrap().is_none());
        assert!(sd.list_active().unwrap().is_empty());
        sd.clear_active("p/1").unwrap();
    }
}
