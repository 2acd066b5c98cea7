//! The agent's configuration file (TOML): which server, where the exports
//! come from, how to read them, when to refresh and which sessions opened by
//! partners to join. See `contrib/cleanroom-agent.example.toml` for an
//! annotated example.
//!
//! Unknown keys are errors (a misspelt `max_partner_sessions_per_day` must
//! not silently leave the default in force), and every error names the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::schedule::Schedule;
use crate::error::{Error, Result};
use crate::populations::Population;
use crate::presets::{ColumnOverrides, Preset};

/// Default cap on partner-opened sessions joined per partnership per 24 hours.
pub const DEFAULT_MAX_PER_DAY: u32 = 3;
/// Default cap on partner-opened sessions joined per partnership per 7 days.
pub const DEFAULT_MAX_PER_WEEK: u32 = 10;
/// Default time a source command may run.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// `[server]`: which server and token; absent: as the `cleanroom` CLI
    /// picks them (`--profile`, `CLEANROOM_URL`/`CLEANROOM_TOKEN`, the
    /// default profile).
    #[serde(default)]
    pub server: ServerSection,
    /// `[agent]`: the process itself.
    #[serde(default)]
    pub agent: AgentSection,
    /// `[defaults]`: settings for every active partnership; with a
    /// `source`, the agent serves all of them, not only those listed.
    #[serde(default)]
    pub defaults: Option<PartnershipSection>,
    /// `[[partnership]]`: settings of one partnership (by partner name or
    /// partnership id), over the defaults.
    #[serde(default, rename = "partnership")]
    pub partnerships: Vec<PartnershipSection>,
}

/// `[server]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// A profile of the profiles file (`cleanroom profile add`).
    pub profile: Option<String>,
    /// The profiles file [default: as the CLI's].
    pub profiles_file: Option<PathBuf>,
    /// The server URL, instead of a profile's.
    pub url: Option<String>,
    /// A file holding the API token (e.g. a systemd credential), instead of
    /// a profile's. `CLEANROOM_TOKEN` wins over both.
    pub token_file: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
}

/// `[agent]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// Local state (session secrets, row maps, the agent's own record):
    /// [default: the CLI's `--state-dir` or its default location].
    pub state_dir: Option<PathBuf>,
    /// How often to look for sessions awaiting this side [default: 30s].
    pub poll_interval: Option<Secs>,
    /// How often to send a heartbeat; `0s` turns them off [default: 60s].
    pub heartbeat_interval: Option<Secs>,
    /// Write each completed session's results here as
    /// `<partnership>-<session>.json` (0600).
    pub results_dir: Option<PathBuf>,
    /// A command (args list, no shell) run when a partner-opened session is
    /// left for a human (`auto_join = "never"` or over a cap), with
    /// `CLEANROOM_PARTNER`, `CLEANROOM_PARTNERSHIP`, `CLEANROOM_SESSION` and
    /// `CLEANROOM_REASON` in its environment.
    pub notify_command: Option<Vec<String>>,
}

/// Settings of one partnership, or the defaults of all.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnershipSection {
    /// The partner organization's name or the partnership id (only in
    /// `[[partnership]]`).
    pub partner: Option<String>,
    /// Where the CSV export comes from.
    pub source: Option<SourceSection>,
    /// `salesforce`, `hubspot` or `generic` (as `match --preset`).
    pub preset: Option<String>,
    /// As `match --domain-col`.
    pub domain_col: Option<String>,
    /// As `match --extra-domain-col` (a list).
    pub extra_domain_cols: Option<Vec<String>>,
    /// As `match --name-col`.
    pub name_col: Option<String>,
    /// As `match --duns-col`.
    pub duns_col: Option<String>,
    /// As `match --country-col`.
    pub country_col: Option<String>,
    /// As `match --city-col`.
    pub city_col: Option<String>,
    /// As `match --postcode-col`.
    pub postcode_col: Option<String>,
    /// As `match --phone-col`.
    pub phone_col: Option<String>,
    /// As `match --population` (a list of `NAME=RULE`).
    pub populations: Option<Vec<String>>,
    /// When to open a session: `every 6h`, `daily 06:00`,
    /// `weekly mon 06:00` (UTC unless `+HH:MM` follows), or `off`.
    pub refresh: Option<Refresh>,
    /// Which sessions opened by the partner to join.
    pub auto_join: Option<AutoJoin>,
    /// Partner-opened sessions joined per rolling 24 hours at most.
    pub max_partner_sessions_per_day: Option<u32>,
    /// Partner-opened sessions joined per rolling 7 days at most.
    pub max_partner_sessions_per_week: Option<u32>,
}

/// `source = { path = "…" }` or `source = { command = [...], timeout = "10m" }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// A CSV file, read afresh for each session.
    pub path: Option<PathBuf>,
    /// A program and its arguments (run without a shell) that writes the
    /// CSV to standard output; a non-zero exit fails the run.
    pub command: Option<Vec<String>>,
    /// How long the command may run [default: 10m].
    pub timeout: Option<Secs>,
}

/// A refresh setting: a schedule or `off`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Refresh(pub Option<Schedule>);

impl TryFrom<String> for Refresh {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        if s == "off" {
            return Ok(Refresh(None));
        }
        Schedule::parse(&s)
            .map(|s| Refresh(Some(s)))
            .map_err(|e| format!("refresh: {e}, or \"off\""))
    }
}

/// A duration written `90s`, `30m`, `2h` or `1d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Secs(pub Duration);

impl TryFrom<String> for Secs {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        let bad = || format!("{s:?} is not a duration like 90s, 30m, 2h or 1d");
        let (num, mult) = match s.char_indices().last() {
            Some((i, 's')) => (&s[..i], 1),
            Some((i, 'm')) => (&s[..i], 60),
            Some((i, 'h')) => (&s[..i], 3600),
            Some((i, 'd')) => (&s[..i], 86_400),
            _ => return Err(bad()),
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        n.checked_mul(mult)
            .map(|s| Secs(Duration::from_secs(s)))
            .ok_or_else(bad)
    }
}

/// Which sessions opened by the partner the agent joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoJoin {
    /// Every one.
    Always,
    /// As long as the partnership's caps allow.
    WithinCaps,
    /// None: log (and notify), and leave it for a human (`cleanroom match`).
    Never,
}

impl AutoJoin {
    /// The setting as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoJoin::Always => "always",
            AutoJoin::WithinCaps => "within-caps",
            AutoJoin::Never => "never",
        }
    }
}

/// Where the export comes from, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A CSV file.
    Path(PathBuf),
    /// A program writing the CSV to stdout.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// Longest run.
        timeout: Duration,
    },
}

/// The settings of one partnership, defaults applied and checked.
#[derive(Clone, Debug)]
pub struct PartnershipSettings {
    /// The partner's name or the partnership id, as configured (`None`:
    /// from the defaults, for any partnership).
    pub partner: Option<String>,
    /// The export.
    pub source: Source,
    /// Layout.
    pub preset: Option<Preset>,
    /// Column overrides.
    pub columns: ColumnOverrides,
    /// Populations (empty: the preset's defaults).
    pub populations: Vec<Population>,
    /// When to open sessions itself.
    pub refresh: Option<Schedule>,
    /// Which partner-opened sessions to join.
    pub auto_join: AutoJoin,
    /// Cap per 24 hours.
    pub max_per_day: u32,
    /// Cap per 7 days.
    pub max_per_week: u32,
}

/// The checked configuration.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// `[server]`, paths made absolute.
    pub server: ServerSection,
    /// State directory (before scoping by organization), if configured.
    pub state_dir: Option<PathBuf>,
    /// Poll interval.
    pub poll_interval: Duration,
    /// Heartbeat interval; `None`: off.
    pub heartbeat_interval: Option<Duration>,
    /// Where results go, if anywhere.
    pub results_dir: Option<PathBuf>,
    /// The notification command, if any.
    pub notify_command: Option<Vec<String>>,
    /// Settings for partnerships not listed, if the defaults name a source.
    pub defaults: Option<PartnershipSettings>,
    /// Listed partnerships.
    pub partnerships: Vec<PartnershipSettings>,
}

impl AgentConfig {
    /// Reads and checks a file; relative paths in it are relative to its
    /// directory.
    pub fn load(path: &Path) -> Result<AgentConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parses and checks the text of a file found in `base`.
    pub fn parse(text: &str, base: &Path) -> std::result::Result<AgentConfig, String> {
        let file: AgentFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let abs = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        let mut server = file.server.clone();
        server.profiles_file = server.profiles_file.as_deref().map(abs);
        server.token_file = server.token_file.as_deref().map(abs);
        server.ca_file = server.ca_file.as_deref().map(abs);
        if server.profile.is_some() && server.url.is_some() {
            return Err("[server]: give either profile or url, not both".into());
        }
        let a = &file.agent;
        let poll_interval = a.poll_interval.map_or(Duration::from_secs(30), |s| s.0);
        if poll_interval < Duration::from_secs(1) {
            return Err("[agent] poll_interval: at least 1s".into());
        }
        let heartbeat_interval = match a.heartbeat_interval.map(|s| s.0) {
            None => Some(Duration::from_secs(60)),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        };
        if let Some(cmd) = &a.notify_command {
            if cmd.is_empty() || cmd[0].is_empty() {
                return Err("[agent] notify_command: name a program".into());
            }
        }
        if let Some(d) = &file.defaults {
            if d.partner.is_some() {
                return Err("[defaults] partner: name partners in [[partnership]] sections".into());
            }
        }
        let empty = PartnershipSection::default();
        let defaults_section = file.defaults.as_ref().unwrap_or(&empty);
        let defaults = match defaults_section.source {
            Some(_) => Some(
                resolve(defaults_section, &empty, &abs).map_err(|e| format!("[defaults] {e}"))?,
            ),
            None => {
                // Nothing else in [defaults] can stand alone; still check it.
                check_partial(defaults_section).map_err(|e| format!("[defaults] {e}"))?;
                None
            }
        };
        let mut partnerships = Vec::new();
        for (i, p) in file.partnerships.iter().enumerate() {
            let Some(name) = p.partner.as_deref().filter(|n| !n.trim().is_empty()) else {
                return Err(format!(
                    "[[partnership]] number {}: partner: missing (the partner's name or the partnership id)",
                    i + 1
                ));
            };
            let s = resolve(p, defaults_section, &abs)
                .map_err(|e| format!("[[partnership]] partner = {name:?}: {e}"))?;
            if partnerships
                .iter()
                .any(|o: &PartnershipSettings| o.partner.as_deref() == Some(name))
            {
                return Err(format!("[[partnership]] partner = {name:?}: listed twice"));
            }
            partnerships.push(s);
        }
        if defaults.is_none() && partnerships.is_empty() {
            return Err(
                "nothing to do: give [defaults] a source, or list [[partnership]] sections".into(),
            );
        }
        Ok(AgentConfig {
            server,
            state_dir: a.state_dir.as_deref().map(abs),
            poll_interval,
            heartbeat_interval,
            results_dir: a.results_dir.as_deref().map(abs),
            notify_command: a.notify_command.clone(),
            defaults,
            partnerships,
        })
    }

    /// The settings of a partnership: the one listed by id or by the
    /// counterpart's name (case-insensitive), else the defaults.
    pub fn settings_for(&self, id: &str, partner_name: &str) -> Option<&PartnershipSettings> {
        self.partnerships
            .iter()
            .find(|p| p.partner.as_deref() == Some(id))
            .or_else(|| {
                self.partnerships.iter().find(|p| {
                    p.partner
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(partner_name))
                })
            })
            .or(self.defaults.as_ref())
    }
}

/// Checks the keys of a section that stand alone.
fn check_partial(s: &PartnershipSection) -> std::result::Result<(), String> {
    if let Some(p) = &s.preset {
        Preset::parse(p).map_err(|e| format!("preset: {e}"))?;
    }
    for p in s.populations.iter().flatten() {
        Population::parse(p).map_err(|e| format!("populations: {e}"))?;
    }
    Ok(())
}

/// One partnership's section over the defaults.
fn resolve(
    p: &PartnershipSection,
    d: &PartnershipSection,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> std::result::Result<PartnershipSettings, String> {
    let src = p
        .source
        .as_ref()
        .or(d.source.as_ref())
        .ok_or("source: missing (a CSV path or a command)")?;
    let source = match (&src.path, &src.command) {
        (Some(path), None) => {
            if src.timeout.is_some() {
                return Err("source.timeout: only for a command".into());
            }
            Source::Path(abs(path))
        }
        (None, Some(argv)) => {
            if argv.is_empty() || argv[0].is_empty() {
                return Err("source.command: name a program (a list: [\"prog\", \"arg\"])".into());
            }
            let timeout = src.timeout.map_or(DEFAULT_COMMAND_TIMEOUT, |s| s.0);
            if timeout.is_zero() {
                return Err("source.timeout: must be positive".into());
            }
            Source::Command {
                argv: argv.clone(),
                timeout,
            }
        }
        (Some(_), Some(_)) => return Err("source: give either path or command, not both".into()),
        (None, None) => return Err("source: give a path or a command".into()),
    };
    let preset = p
        .preset
        .as_ref()
        .or(d.preset.as_ref())
        .map(|s| Preset::parse(s))
        .transpose()
        .map_err(|e| format!("preset: {e}"))?;
    let populations = p
        .populations
        .as_ref()
        .or(d.populations.as_ref())
        .map(|v| v.iter().map(|s| Population::parse(s)).collect())
        .transpose()
        .map_err(|e: Error| format!("populations: {e}"))?
        .unwrap_or_default();
    let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
    let columns = ColumnOverrides {
        domain: pick(&p.domain_col, &d.domain_col),
        extra_domains: p
            .extra_domain_cols
            .clone()
            .or_else(|| d.extra_domain_cols.clone())
            .unwrap_or_default(),
        name: pick(&p.name_col, &d.name_col),
        duns: pick(&p.duns_col, &d.duns_col),
        country: pick(&p.country_col, &d.country_col),
        city: pick(&p.city_col, &d.city_col),
        postcode: pick(&p.postcode_col, &d.postcode_col),
        phone: pick(&p.phone_col, &d.phone_col),
    };
    let refresh = p
        .refresh
        .clone()
        .or_else(|| d.refresh.clone())
        .and_then(|r| r.0);
    let max_per_day = p
        .max_partner_sessions_per_day
        .or(d.max_partner_sessions_per_day)
        .unwrap_or(DEFAULT_MAX_PER_DAY);
    let max_per_week = p
        .max_partner_sessions_per_week
        .or(d.max_partner_sessions_per_week)
        .unwrap_or(DEFAULT_MAX_PER_WEEK);
    Ok(PartnershipSettings {
        partner: p.partner.clone(),
        source,
        preset,
        columns,
        populations,
        refresh,
        auto_join: p.auto_join.or(d.auto_join).unwrap_or(AutoJoin::WithinCaps),
        max_per_day,
        max_per_week,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<AgentConfig, String> {
        AgentConfig::parse(text, Path::new("/etc/cleanroom"))
    }

    #[test]
    fn defaults_and_overrides() {
        let c = parse(
            r#"
            [server]
            profile = "work"
            [agent]
            poll_interval = "5s"
            heartbeat_interval = "0s"
            [defaults]
            source = { path = "exports/accounts.csv" }
            preset = "salesforce"
            populations = ["customers=Type=Customer", "all=*"]
            refresh = "daily 06:00"
            [[partnership]]
            partner = "Partner Co"
            source = { command = ["/usr/bin/export", "--csv"], timeout = "2m" }
            refresh = "off"
            auto_join = "always"
            max_partner_sessions_per_day = 1
            "#,
        )
        .unwrap();
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.heartbeat_interval, None);
        let d = c.defaults.as_ref().unwrap();
        assert_eq!(
            d.source,
            Source::Path(PathBuf::from("/etc/cleanroom/exports/accounts.csv"))
        );
        assert_eq!(d.refresh.as_ref().unwrap().to_string(), "daily 06:00");
        assert_eq!(d.auto_join, AutoJoin::WithinCaps);
        assert_eq!((d.max_per_day, d.max_per_week), (3, 10));
        let p = c.settings_for("p-1", "partner co").unwrap();
        assert_eq!(p.refresh, None);
        assert_eq!(p.auto_join, AutoJoin::Always);
        assert_eq!((p.max_per_day, p.max_per_week), (1, 10));
        assert_eq!(p.populations.len(), 2, "inherited");
        assert_eq!(p.preset, Some(Preset::Salesforce));
        assert!(
            matches!(&p.source, Source::Command { timeout, .. } if *timeout == Duration::from_secs(120))
        );
        let other = c.settings_for("p-2", "Other Co").unwrap();
        assert_eq!(other.partner, None);
    }

    #[test]
    fn the_annotated_example_parses() {
        let text = include_str!("../../contrib/cleanroom-agent.example.toml");
        let c = parse(text).unwrap();
        assert_eq!(c.partnerships.len(), 2);
        let globex = c.settings_for("x", "Globex Partners").unwrap();
        assert_eq!(globex.max_per_day, 1);
        assert_eq!(globex.max_per_week, 10);
        assert_eq!(globex.refresh.as_ref().unwrap().to_string(), "daily 06:00");
        let initech = c.settings_for("y", "initech").unwrap();
        assert_eq!(initech.auto_join, AutoJoin::Never);
        assert_eq!(initech.refresh, None);
        assert_eq!(initech.source, c.defaults.as_ref().unwrap().source);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "[defaults]\nsource = { path = \"a.csv\" }\nrefesh = \"daily 06:00\"\n",
                "refesh",
            ),
            (
                "[defaults]\nsource = { path = \"a.csv\" }\nrefresh = \"daily 6am\"\n",
                "refresh",
            ),
            (
                "[defaults]\nsource = { path = \"a.csv\" }\nauto_join = \"sometimes\"\n",
                "auto_join",
            ),
            (
                "[[partnership]]\npartner = \"X\"\nsource = { path = \"a\", command = [\"b\"] }\n",
                "source",
            ),
            (
                "[[partnership]]\npartner = \"X\"\nsource = { command = [] }\n",
                "source.command",
            ),
            ("[[partnership]]\nsource = { path = \"a\" }\n", "partner"),
            (
                "[[partnership]]\npartner = \"X\"\nsource = { path = \"a\" }\npopulations = [\"nope\"]\n",
                "populations",
            ),
            (
                "[[partnership]]\npartner = \"X\"\nsource = { path = \"a\" }\nmax_partner_sessions_per_day = -1\n",
                "max_partner_sessions_per_day",
            ),
            (
                "[agent]\npoll_interval = \"5 s\"\n[defaults]\nsource = { path = \"a\" }\n",
                "poll_interval",
            ),
            ("[agent]\n", "nothing to do"),
        ];
        for (text, key) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
