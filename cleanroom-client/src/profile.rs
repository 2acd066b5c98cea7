//! Server profiles: URL and token per name, in a 0600 TOML file such as
//! `~/.config/cleanroom/profiles.toml`, or from `CLEANROOM_URL` /
//! `CLEANROOM_TOKEN`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{create_private_dir, write_bytes_atomic};

/// One server profile.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Server base URL.
    pub url: String,
    /// Bearer token.
    pub token: String,
    /// Extra CA certificate (PEM) for a self-signed server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The profiles file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profiles {
    /// The profile used without `--profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl Profiles {
    /// `$CLEANROOM_PROFILES`, else `<config dir>/cleanroom/profiles.toml`.
    pub fn default_path() -> Result<PathBuf> {
        if let Some(p) = std::env::var_os("CLEANROOM_PROFILES") {
            return Ok(PathBuf::from(p));
        }
        dirs::config_dir()
            .map(|d| d.join("cleanroom").join("profiles.toml"))
            .ok_or_else(|| {
                Error::Config(
                    "cannot find the user's config directory; set CLEANROOM_PROFILES".into(),
                )
            })
    }

    /// Loads the file; a missing file is an empty set.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(s) => toml::from_str(&s)
                .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Saves the file atomically with mode 0600 (it holds tokens).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        write_bytes_atomic(path, true, text.as_bytes())
    }

    /// Picks the connection settings: `--profile NAME` if given; else
    /// `CLEANROOM_URL` + `CLEANROOM_TOKEN` when both are set; else the default
    /// profile, or the only one. `CLEANROOM_TOKEN` alone overrides a
    /// profile's token.
    pub fn resolve(
        &self,
        name: Option<&str>,
        env_url: Option<String>,
        env_token: Option<String>,
    ) -> Result<Profile> {
        let chosen = match name {
            Some(n) => Some(self.profiles.get(n).cloned().ok_or_else(|| {
                Error::Config(format!(
                    "no profile named {n:?}; add one with `cleanroom profile add {n} --url URL`"
                ))
            })?),
            None => None,
        };
        let mut p = match (chosen, &env_url) {
            (Some(p), _) => p,
            (None, Some(url)) => Profile {
                url: url.clone(),
                token: String::new(),
                ca_file: None,
            },
            (None, None) => {
                let name = self.default.clone().or_else(|| {
                    (self.profiles.len() == 1)
                        .then(|| self.profiles.keys().next().cloned())
                        .flatten()
                });
                match name.and_then(|n| self.profiles.get(&n).cloned()) {
                    Some(p) => p,
                    None => {
                        return Err(Error::Config(
                            "no server configured: run `cleanroom profile add NAME --url URL` or set CLEANROOM_URL and CLEANROOM_TOKEN".into(),
                        ));
                    }
                }
            }
        };
        if let Some(t) = env_token.filter(|t| !t.is_empty()) {
            p.token = t;
        }
        if p.token.is_empty() {
            return Err(Error::Config(
                "no API token: set CLEANROOM_TOKEN or add a profile".into(),
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_resolve() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("cfg/profiles.toml");
        let mut ps = Profiles::default();
        ps.profiles.insert(
            "work".into(),
            Profile {
                url: "https://a".into(),
                token: "t1".into(),
                ca_file: None,
            },
        );
        ps.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let ps = Profiles::load(&path).unwrap();
        assert_eq!(ps.resolve(None, None, None).unwrap().token, "t1");
        assert_eq!(
            ps.resolve(Some("work"), None, Some("t2".into()))
                .unwrap()
                .token,
            "t2"
        );
        assert_eq!(
            ps.resolve(None, Some("http://e".into()), Some("t3".into()))
                .unwrap()
                .url,
            "http://e"
        );
        assert!(ps.resolve(Some("nope"), None, None).is_err());
        assert!(Profiles::default().resolve(None, None, None).is_err());
        assert!(!format!("{:?}", ps.profiles["work"]).contains("t1"));
    }
}
