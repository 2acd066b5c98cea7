//! Configuration: defaults, then a TOML file (`--config`), then environment
//! (`CLEANROOM_*`, `DATABASE_URL`), then flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cleanroom_core::api::{Epsilon, Scope};
use serde::Deserialize;

use crate::error::ServerError;

/// The default database: `./cleanroom.db`, created and migrated on start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://cleanroom.db";
/// The default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// A database URL; its `Debug` hides credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL (`postgres://…`, `sqlite://…`, or a file path).
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }

    /// The URL itself, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Where the database is, for people: the SQLite file, or PostgreSQL's
    /// host, port and database without credentials.
    pub fn describe(&self) -> String {
        match self.sqlite_file() {
            Some(path) => format!("SQLite file {}", path.display()),
            None => {
                let rest = self.0.split_once("://").map_or("", |r| r.1);
                let rest = rest.split('?').next().unwrap_or("");
                let host = rest.rsplit_once('@').map_or(rest, |r| r.1);
                format!("PostgreSQL at {host}")
            }
        }
    }

    /// The SQLite file this URL names (absolute when the current directory
    /// is known); `None` for PostgreSQL and in-memory databases.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        if crate::store::Backend::of(&self.0) != crate::store::Backend::Sqlite {
            return None;
        }
        let path = self
            .0
            .strip_prefix("sqlite://")
            .or_else(|| self.0.strip_prefix("sqlite:"))
            .unwrap_or(&self.0);
        let path = path.split('?').next().unwrap_or("");
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        let path = PathBuf::from(path);
        Some(std::env::current_dir().map_or(path.clone(), |d| d.join(&path)))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.0.split(':').next().unwrap_or("");
        write!(f, "DatabaseUrl({scheme}:<redacted>)")
    }
}

/// Privacy guardrails; all on by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Guardrails {
    /// Minimum distinct accounts per declared population (422 at blinded commit).
    pub min_population_size: u64,
    /// Minimum cell size `k` for disclosure.
    pub min_cell_size: u64,
    /// Sessions a pair of organizations may create per rolling 24 hours,
    /// across all partnerships between them (429 beyond).
    pub sessions_per_day: u32,
    /// Populations one account may be in (422 at blinded commit beyond). It
    /// multiplies the noise of noisy counts: see `disclosure::sensitivity`.
    pub max_populations_per_row: u64,
    /// Smallest ε a partnership's policy may choose.
    pub epsilon_min: Epsilon,
    /// Largest ε a partnership's policy may choose.
    pub epsilon_max: Epsilon,
    /// ε of a new partnership whose invitation names none.
    pub epsilon_default: Epsilon,
    /// ε a pair of organizations may spend per rolling window.
    pub epsilon_budget: Epsilon,
    /// The rolling window of the ε budget, in days.
    pub epsilon_window_days: u32,
    /// Records (keys) one side of a session may upload; chunk sequence
    /// numbers stay below it too.
    pub max_records_per_side: u64,
    /// Bytes of blinded records and tokens one organization may keep across
    /// its open sessions.
    pub max_bytes_per_org: u64,
    /// Seconds a session may wait for its uploads: once it passes, a session
    /// not yet computing is cancelled and its blinded sets and tokens are
    /// deleted. A partnership's policy may shorten it, never lengthen it.
    pub session_expiry_secs: u64,
}

impl Default for Guardrails {
    fn default() -> Self {
        let eps = Epsilon;
        Guardrails {
            min_population_size: 50,
            min_cell_size: 5,
            sessions_per_day: 10,
            max_populations_per_row: 1,
            epsilon_min: eps(50_000),
            epsilon_max: eps(2_000_000),
            epsilon_default: eps(1_000_000),
            epsilon_budget: eps(10_000_000),
            epsilon_window_days: 30,
            max_records_per_side: 10_000_000,
            max_bytes_per_org: 2 << 30,
            session_expiry_secs: 24 * 60 * 60,
        }
    }
}

impl Guardrails {
    /// Rejects settings no session could run under.
    pub fn check(&self) -> Result<(), ServerError> {
        let bad = |why: &str| Err(ServerError::Config(why.to_owned()));
        if self.max_populations_per_row == 0 || self.max_populations_per_row > 64 {
            return bad("max_populations_per_row must be between 1 and 64");
        }
        if self.epsilon_min.0 == 0 {
            return bad("epsilon_min must be positive");
        }
        if !(self.epsilon_min <= self.epsilon_default && self.epsilon_default <= self.epsilon_max) {
            return bad("epsilon_min <= epsilon_default <= epsilon_max must hold");
        }
        if self.epsilon_budget < self.epsilon_default {
            return bad("epsilon_budget must allow at least one session at epsilon_default");
        }
        if self.epsilon_window_days == 0 {
            return bad("epsilon_window_days must be at least 1");
        }
        if self.max_records_per_side == 0 || self.max_bytes_per_org == 0 {
            return bad("max_records_per_side and max_bytes_per_org must be positive");
        }
        if self.session_expiry_secs == 0 || self.session_expiry_secs > MAX_SESSION_EXPIRY_SECS {
            return bad("session_expiry_secs must be between 1 and 31536000 (a year)");
        }
        Ok(())
    }

    /// The limits a client may learn (`GET /v1/limits`).
    pub fn limits(&self) -> cleanroom_core::api::Limits {
        cleanroom_core::api::Limits {
            protocol_version: cleanroom_core::protocol::protocol_version(),
            min_population_size: self.min_population_size,
            min_cell_size: self.min_cell_size,
            max_populations_per_row: self.max_populations_per_row,
            max_keys_per_row: cleanroom_core::wire::MAX_KEYS_PER_ROW,
            sessions_per_day: self.sessions_per_day,
            epsilon_min: self.epsilon_min,
            epsilon_max: self.epsilon_max,
            epsilon_default: self.epsilon_default,
            epsilon_budget: self.epsilon_budget,
            epsilon_window_days: self.epsilon_window_days,
            max_records_per_side: self.max_records_per_side,
            session_expiry_secs: Some(self.session_expiry_secs),
        }
    }
}

/// The longest session expiry a deployment may set: a year.
pub const MAX_SESSION_EXPIRY_SECS: u64 = 365 * 24 * 60 * 60;

/// Days an invitation code stays valid unless the deployment says otherwise.
pub const DEFAULT_INVITATION_EXPIRY_DAYS: u32 = 7;

/// PEM files for TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Everything a running server needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Database.
    pub database_url: DatabaseUrl,
    /// TLS; `None` serves plain HTTP (loopback only unless `insecure_http`).
    pub tls: Option<TlsFiles>,
    /// Allow plain HTTP on a non-loopback address.
    pub insecure_http: bool,
    /// Privacy guardrails.
    pub guardrails: Guardrails,
    /// Largest chunk body accepted (bytes).
    pub max_chunk_bytes: usize,
    /// Largest JSON body accepted (bytes).
    pub max_json_bytes: usize,
    /// Connection limits against slow and idle clients.
    pub connections: ConnectionLimits,
    /// Failed authentications (401s) per client address, and per presented
    /// token, per minute; beyond, 429 until the quota refills.
    pub auth_failures_per_minute: u32,
    /// Days an invitation code stays valid by default, and at most.
    pub invitation_expiry_days: u32,
    /// Proxies whose `X-Forwarded-For` names the client (its last entry);
    /// from anyone else the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Leases on session computations, shared by replicas on one database.
    pub compute: ComputeLeases,
    /// Webhook delivery: which targets are allowed, retries.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// An organization's agent counts as offline once its last heartbeat is
    /// older than this; `agent.offline` is sent once when it crosses it.
    pub agent_offline_after: std::time::Duration,
}

/// The default of [`Config::agent_offline_after`]: 5 minutes.
pub const DEFAULT_AGENT_OFFLINE_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

/// How replicas on one database share computations: a replica claims a
/// session in `computing` with a lease, renews it while it computes, and any
/// replica takes over a lease that expired (its holder died).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeLeases {
    /// How long a claim lasts without renewal; renewed every third of it.
    /// A dead replica's computation is taken over within about this plus
    /// `sweep_interval`.
    pub lease: std::time::Duration,
    /// How often each replica looks for unclaimed or expired computations.
    pub sweep_interval: std::time::Duration,
    /// Test hook: how long a computation waits, lease held, before it
    /// starts, so that tests can kill a replica mid-compute. Zero in service.
    pub delay_for_tests: std::time::Duration,
}

impl Default for ComputeLeases {
    fn default() -> Self {
        ComputeLeases {
            // A dead replica's computation is taken over within about 7 s;
            // a live one renews every 2 s, so it loses its lease only after
            // two renewals in a row failed (and then finishing twice stores
            // the result once).
            lease: std::time::Duration::from_secs(6),
            sweep_interval: std::time::Duration::from_secs(1),
            delay_for_tests: std::time::Duration::ZERO,
        }
    }
}

/// How long a client may take, and how many connections it may hold: a
/// client that sends half a request line must not hold a connection forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Time to receive a request's headers (also the idle time of a
    /// keep-alive connection between requests).
    pub header_read_timeout: std::time::Duration,
    /// Time to receive a request's body (a 16 MiB chunk on a slow link fits).
    pub body_read_timeout: std::time::Duration,
    /// Time for a TLS handshake.
    pub tls_handshake_timeout: std::time::Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(120),
            tls_handshake_timeout: std::time::Duration::from_secs(10),
        }
    }
}

impl Config {
    /// Defaults with the given database, bound on `127.0.0.1:0` (for tests and embedding).
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::new(database_url)
        }
    }

    /// Defaults with the given database.
    pub fn new(database_url: impl Into<String>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl::new(database_url),
            tls: None,
            insecure_http: false,
            guardrails: Guardrails::default(),
            max_chunk_bytes: 16 * 1024 * 1024,
            connections: ConnectionLimits::default(),
            auth_failures_per_minute: 20,
            invitation_expiry_days: DEFAULT_INVITATION_EXPIRY_DAYS,
            trusted_proxies: Vec::new(),
            max_json_bytes: 64 * 1024,
            compute: ComputeLeases::default(),
            webhooks: crate::webhooks::WebhookSettings::default(),
            agent_offline_after: DEFAULT_AGENT_OFFLINE_AFTER,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_DATABASE_URL)
    }
}

/// `cleanroom-server`: the broker of cleanroom matching sessions.
#[derive(Debug, Parser)]
#[command(name = "cleanroom-server", version, about)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
    /// Without a subcommand, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags and environment variables; unset ones fall back to the config file, then defaults.
#[derive(Debug, Default, Args)]
pub struct Settings {
    /// TOML config file.
    #[arg(long, env = "CLEANROOM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: `sqlite://FILE` (default `sqlite://cleanroom.db`) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Listen address (default 127.0.0.1:8080).
    #[arg(long, env = "CLEANROOM_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "CLEANROOM_TLS_CERT", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "CLEANROOM_TLS_KEY", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address.
    #[arg(long, env = "CLEANROOM_INSECURE_HTTP", global = true)]
    pub insecure_http: bool,
    /// Minimum accounts per population (default 50).
    #[arg(long, env = "CLEANROOM_MIN_POPULATION_SIZE", global = true)]
    pub min_population_size: Option<u64>,
    /// Minimum cell size k (default 5).
    #[arg(long, env = "CLEANROOM_MIN_CELL_SIZE", global = true)]
    pub min_cell_size: Option<u64>,
    /// Sessions per pair of organizations per rolling day (default 10).
    #[arg(long, env = "CLEANROOM_SESSIONS_PER_DAY", global = true)]
    pub sessions_per_day: Option<u32>,
    /// Populations one account may be in (default 1; more means more noise).
    #[arg(long, env = "CLEANROOM_MAX_POPULATIONS_PER_ROW", global = true)]
    pub max_populations_per_row: Option<u64>,
    /// Smallest ε a policy may choose (default 0.05).
    #[arg(long, env = "CLEANROOM_EPSILON_MIN", global = true, value_parser = parse_epsilon)]
    pub epsilon_min: Option<Epsilon>,
    /// Largest ε a policy may choose (default 2).
    #[arg(long, env = "CLEANROOM_EPSILON_MAX", global = true, value_parser = parse_epsilon)]
    pub epsilon_max: Option<Epsilon>,
    /// ε of new partnerships that name none (default 1).
    #[arg(long, env = "CLEANROOM_EPSILON_DEFAULT", global = true, value_parser = parse_epsilon)]
    pub epsilon_default: Option<Epsilon>,
    /// ε a pair of organizations may spend per window (default 10).
    #[arg(long, env = "CLEANROOM_EPSILON_BUDGET", global = true, value_parser = parse_epsilon)]
    pub epsilon_budget: Option<Epsilon>,
    /// The ε budget's rolling window in days (default 30).
    #[arg(long, env = "CLEANROOM_EPSILON_WINDOW_DAYS", global = true)]
    pub epsilon_window_days: Option<u32>,
    /// Records one side of a session may upload (default 10,000,000).
    #[arg(long, env = "CLEANROOM_MAX_RECORDS_PER_SIDE", global = true)]
    pub max_records_per_side: Option<u64>,
    /// Bytes one organization may keep in open sessions (default 2 GiB).
    #[arg(long, env = "CLEANROOM_MAX_BYTES_PER_ORG", global = true)]
    pub max_bytes_per_org: Option<u64>,
    /// Seconds a session may wait for both sides' uploads before it is
    /// cancelled and its data deleted; policies may shorten it (default 86400, 24 h).
    #[arg(long, env = "CLEANROOM_SESSION_EXPIRY", global = true)]
    pub session_expiry: Option<u64>,
    /// Open connections at most (default 1024).
    #[arg(long, env = "CLEANROOM_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Seconds to receive a request's headers, and a keep-alive connection's idle time (default 10).
    #[arg(long, env = "CLEANROOM_HEADER_READ_TIMEOUT", global = true)]
    pub header_read_timeout: Option<u64>,
    /// Seconds to receive a request's body (default 120).
    #[arg(long, env = "CLEANROOM_BODY_READ_TIMEOUT", global = true)]
    pub body_read_timeout: Option<u64>,
    /// Failed authentications per client address (and per token) per minute (default 20).
    #[arg(long, env = "CLEANROOM_AUTH_FAILURES_PER_MINUTE", global = true)]
    pub auth_failures_per_minute: Option<u32>,
    /// Days an invitation code stays valid, by default and at most (default 7).
    #[arg(long, env = "CLEANROOM_INVITATION_EXPIRY_DAYS", global = true)]
    pub invitation_expiry_days: Option<u32>,
    /// Seconds a replica's claim on a computation lasts unless renewed (default 6).
    #[arg(long, env = "CLEANROOM_COMPUTE_LEASE", global = true)]
    pub compute_lease: Option<u64>,
    /// Seconds between looks for unclaimed or orphaned computations (default 1).
    #[arg(long, env = "CLEANROOM_LEASE_SWEEP", global = true)]
    pub lease_sweep: Option<u64>,
    /// A proxy whose X-Forwarded-For names the client (repeatable; default none).
    #[arg(
        long = "trusted-proxy",
        env = "CLEANROOM_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds without a heartbeat after which an organization's agent is
    /// offline (default 300).
    #[arg(long, env = "CLEANROOM_AGENT_OFFLINE_AFTER", global = true)]
    pub agent_offline_after: Option<u64>,
    /// Largest chunk body in bytes (default 16 MiB).
    #[arg(long, env = "CLEANROOM_MAX_CHUNK_BYTES", global = true)]
    pub max_chunk_bytes: Option<usize>,
    /// Log as JSON lines.
    #[arg(long, env = "CLEANROOM_LOG_JSON", global = true)]
    pub log_json: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Bootstrap administration against the same database.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Creates an organization; prints its id and an admin token.
    CreateOrg {
        /// Unique organization name.
        name: String,
    },
    /// Creates a token for an existing organization; prints it.
    CreateToken {
        /// Organization name.
        #[arg(long)]
        org: String,
        /// Scope: admin, upload or view.
        #[arg(long, value_parser = parse_scope)]
        scope: Scope,
        /// Label.
        #[arg(long, default_value = "cli")]
        label: String,
        /// Lifetime in days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

fn parse_epsilon(s: &str) -> Result<Epsilon, String> {
    s.parse::<f64>()
        .ok()
        .and_then(Epsilon::from_f64)
        .ok_or_else(|| "expected a positive number such as 1 or 0.5".into())
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    match s {
        "admin" => Ok(Scope::Admin),
        "upload" => Ok(Scope::Upload),
        "view" => Ok(Scope::View),
        _ => Err("expected admin, upload or view".into()),
    }
}

/// The config file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    database_url: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    insecure_http: Option<bool>,
    max_chunk_bytes: Option<usize>,
    max_connections: Option<usize>,
    auth_failures_per_minute: Option<u32>,
    invitation_expiry_days: Option<u32>,
    compute_lease: Option<u64>,
    lease_sweep: Option<u64>,
    trusted_proxies: Option<Vec<std::net::IpAddr>>,
    header_read_timeout: Option<u64>,
    body_read_timeout: Option<u64>,
    agent_offline_after: Option<u64>,
    guardrails: Option<FileGuardrails>,
    webhooks: Option<crate::webhooks::FileWebhooks>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileGuardrails {
    min_population_size: Option<u64>,
    min_cell_size: Option<u64>,
    sessions_per_day: Option<u32>,
    max_populations_per_row: Option<u64>,
    epsilon_min: Option<Epsilon>,
    epsilon_max: Option<Epsilon>,
    epsilon_default: Option<Epsilon>,
    epsilon_budget: Option<Epsilon>,
    epsilon_window_days: Option<u32>,
    max_records_per_side: Option<u64>,
    max_bytes_per_org: Option<u64>,
    session_expiry_secs: Option<u64>,
}

impl Settings {
    /// Resolves flags/env over the config file over defaults.
    pub fn resolve(&self) -> Result<Config, ServerError> {
        let file: FileConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ServerError::Config(format!("reading config file: {e}")))?;
                toml::from_str(&text)
                    .map_err(|e| ServerError::Config(format!("parsing config file: {e}")))?
            }
            None => FileConfig::default(),
        };
        let fg = file.guardrails.unwrap_or_default();
        let defaults = Config::default();
        let bind = match self.bind.or(file.bind) {
            Some(b) => b,
            None => DEFAULT_BIND
                .parse()
                .map_err(|_| ServerError::Config("default bind".into()))?,
        };
        let tls = match (
            self.tls_cert.clone().or(file.tls_cert),
            self.tls_key.clone().or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ServerError::Config(
                    "tls_cert and tls_key must be given together".into(),
                ));
            }
        };
        let config = Config {
            bind,
            database_url: DatabaseUrl::new(
                self.database_url
                    .clone()
                    .or(file.database_url)
                    .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            ),
            tls,
            insecure_http: self.insecure_http || file.insecure_http.unwrap_or(false),
            guardrails: Guardrails {
                min_population_size: self
                    .min_population_size
                    .or(fg.min_population_size)
                    .unwrap_or(defaults.guardrails.min_population_size),
                min_cell_size: self
                    .min_cell_size
                    .or(fg.min_cell_size)
                    .unwrap_or(defaults.guardrails.min_cell_size),
                sessions_per_day: self
                    .sessions_per_day
                    .or(fg.sessions_per_day)
                    .unwrap_or(defaults.guardrails.sessions_per_day),
                max_populations_per_row: self
                    .max_populations_per_row
                    .or(fg.max_populations_per_row)
                    .unwrap_or(defaults.guardrails.max_populations_per_row),
                epsilon_min: self
                    .epsilon_min
                    .or(fg.epsilon_min)
                    .unwrap_or(defaults.guardrails.epsilon_min),
                epsilon_max: self
                    .epsilon_max
                    .or(fg.epsilon_max)
                    .unwrap_or(defaults.guardrails.epsilon_max),
                epsilon_default: self
                    .epsilon_default
                    .or(fg.epsilon_default)
                    .unwrap_or(defaults.guardrails.epsilon_default),
                epsilon_budget: self
                    .epsilon_budget
                    .or(fg.epsilon_budget)
                    .unwrap_or(defaults.guardrails.epsilon_budget),
                epsilon_window_days: self
                    .epsilon_window_days
                    .or(fg.epsilon_window_days)
                    .unwrap_or(defaults.guardrails.epsilon_window_days),
                max_records_per_side: self
                    .max_records_per_side
                    .or(fg.max_records_per_side)
                    .unwrap_or(defaults.guardrails.max_records_per_side),
                max_bytes_per_org: self
                    .max_bytes_per_org
                    .or(fg.max_bytes_per_org)
                    .unwrap_or(defaults.guardrails.max_bytes_per_org),
                session_expiry_secs: self
                    .session_expiry
                    .or(fg.session_expiry_secs)
                    .unwrap_or(defaults.guardrails.session_expiry_secs),
            },
            max_chunk_bytes: self
                .max_chunk_bytes
                .or(file.max_chunk_bytes)
                .unwrap_or(defaults.max_chunk_bytes),
            max_json_bytes: defaults.max_json_bytes,
            connections: ConnectionLimits {
                max_connections: self
                    .max_connections
                    .or(file.max_connections)
                    .unwrap_or(defaults.connections.max_connections)
                    .max(1),
                header_read_timeout: self
                    .header_read_timeout
                    .or(file.header_read_timeout)
                    .map_or(defaults.connections.header_read_timeout, |s| {
                        std::time::Duration::from_secs(s.max(1))
                    }),
                body_read_timeout: self
                    .body_read_timeout
                    .or(file.body_read_timeout)
                    .map_or(defaults.connections.body_read_timeout, |s| {
                        std::time::Duration::from_secs(s.max(1))
                    }),
                tls_handshake_timeout: defaults.connections.tls_handshake_timeout,
            },
            auth_failures_per_minute: self
                .auth_failures_per_minute
                .or(file.auth_failures_per_minute)
                .unwrap_or(defaults.auth_failures_per_minute),
            invitation_expiry_days: self
                .invitation_expiry_days
                .or(file.invitation_expiry_days)
                .unwrap_or(defaults.invitation_expiry_days),
            trusted_proxies: if self.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                self.trusted_proxies.clone()
            },
            compute: ComputeLeases {
                // At least 3 s: renewal runs every third of it.
                lease: self
                    .compute_lease
                    .or(file.compute_lease)
                    .map_or(defaults.compute.lease, |s| {
                        std::time::Duration::from_secs(s.max(3))
                    }),
                sweep_interval: self
                    .lease_sweep
                    .or(file.lease_sweep)
                    .map_or(defaults.compute.sweep_interval, |s| {
                        std::time::Duration::from_secs(s.max(1))
                    }),
                delay_for_tests: std::time::Duration::ZERO,
            },
            webhooks: crate::webhooks::WebhookSettings::from_file(file.webhooks)
                .map_err(ServerError::Config)?,
            agent_offline_after: self
                .agent_offline_after
                .or(file.agent_offline_after)
                .map_or(defaults.agent_offline_after, |s| {
                    std::time::Duration::from_secs(s.max(1))
                }),
        };
        config.guardrails.check()?;
        if !(1..=365).contains(&config.invitation_expiry_days) {
            return Err(ServerError::Config(
                "invitation_expiry_days must be between 1 and 365".into(),
            ));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cleanroom.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9999\"\nmax_chunk_bytes = 1024\n[guardrails]\nmin_cell_size = 7\nsessions_per_day = 3\n",
        )
        .unwrap();
        let s = Settings {
            config: Some(path),
            sessions_per_day: Some(4),
            ..Settings::default()
        };
        let c = s.resolve().unwrap();
        assert_eq!(c.bind.port(), 9999);
        assert_eq!(c.max_chunk_bytes, 1024);
        assert_eq!(c.guardrails.min_cell_size, 7);
        assert_eq!(c.guardrails.sessions_per_day, 4);
        assert_eq!(c.guardrails.min_population_size, 50);
        assert_eq!(c.guardrails.session_expiry_secs, 86_400);
        assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
        assert!(!format!("{:?}", DatabaseUrl::new("postgres://u:pw@h/db")).contains("pw"));
    }
}
