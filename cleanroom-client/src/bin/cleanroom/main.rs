//! `cleanroom`: take part in privacy-preserving account mapping from the
//! command line. See `cleanroom --help` and the crate README.
#![forbid(unsafe_code)]

mod cmd_agent;
mod cmd_generate;
mod cmd_match;
mod cmd_partners;
mod cmd_profile;
mod cmd_sessions;
mod progress_ui;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cleanroom_client::profile::Profiles;
use cleanroom_client::{Client, ClientConfig, ErrorKind, StateDir};

/// Exit codes, distinct per class of failure.
mod exit {
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INPUT: u8 = 3;
    pub const SERVER: u8 = 4;
    pub const AUTH: u8 = 5;
    pub const SESSION: u8 = 6;
    pub const LOCAL: u8 = 7;
    /// `match --resume`: the session still waits for the partner; try later.
    pub const WAITING: u8 = 8;
}

#[derive(Parser)]
#[command(name = "cleanroom", version, about = "Privacy-preserving account mapping with your partners", long_about = None)]
struct Cli {
    /// Server profile to use (see `cleanroom profile`).
    #[arg(long, global = true, env = "CLEANROOM_PROFILE")]
    profile: Option<String>,
    /// The profiles file [default: ~/.config/cleanroom/profiles.toml].
    #[arg(
        long = "profiles",
        value_name = "FILE",
        global = true,
        env = "CLEANROOM_PROFILES"
    )]
    config: Option<PathBuf>,
    /// Directory for local session state (secrets of running sessions, row maps).
    #[arg(long, global = true, env = "CLEANROOM_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust, for a server with a private CA.
    #[arg(long, global = true, env = "CLEANROOM_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// No progress bars or summaries on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage server profiles (URL + token).
    #[command(subcommand)]
    Profile(cmd_profile::ProfileCmd),
    /// Show which organization and token you are using.
    Whoami,
    /// Invite, accept, inspect and end partnerships.
    #[command(subcommand)]
    Partners(cmd_partners::PartnersCmd),
    /// Run your side of a matching session from a CSV export.
    Match(cmd_match::MatchArgs),
    /// Show the results of a session.
    Results(cmd_sessions::ResultsArgs),
    /// Write your matched accounts (overlapping-records policy only).
    Overlaps(cmd_sessions::OverlapsArgs),
    /// List or cancel the sessions of a partnership.
    Sessions(cmd_sessions::SessionsArgs),
    /// Show a partnership's audit log.
    Audit(cmd_sessions::AuditArgs),
    /// Generate realistic messy CRM exports with ground truth.
    Generate(cmd_generate::GenerateArgs),
    /// Run unattended: join sessions awaiting this side, refresh on a schedule.
    Agent(cmd_agent::AgentArgs),
}

/// Global options the commands need.
pub struct Ctx {
    profile: Option<String>,
    config: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    quiet: bool,
}

impl Ctx {
    fn profiles_path(&self) -> cleanroom_client::Result<PathBuf> {
        match &self.config {
            Some(p) => Ok(p.clone()),
            None => Profiles::default_path(),
        }
    }

    /// A client for the selected profile or the environment.
    pub fn client(&self) -> anyhow::Result<Client> {
        let profiles = Profiles::load(&self.profiles_path()?)?;
        let p = profiles.resolve(
            self.profile.as_deref(),
            std::env::var("CLEANROOM_URL")
                .ok()
                .filter(|s| !s.is_empty()),
            std::env::var("CLEANROOM_TOKEN").ok(),
        )?;
        let mut cfg = ClientConfig::new(p.url, p.token);
        if let Some(ca) = self.ca_file.clone().or(p.ca_file) {
            cfg.extra_ca_pem =
                Some(std::fs::read(&ca).map_err(|e| cleanroom_client::Error::Io {
                    path: ca,
                    source: e,
                })?);
        }
        Ok(Client::new(cfg)?)
    }

    /// The state directory of the organization `client` acts for.
    ///
    /// Scoped by organization because a vendor and its partner may run their
    /// sides on one machine (as in the quick start): their session secrets and
    /// row maps must never share a file.
    pub async fn state(&self, client: &Client) -> anyhow::Result<StateDir> {
        let base = match &self.state_dir {
            Some(d) => StateDir::new(d.clone()),
            None => StateDir::default_location()?,
        };
        let org = client.me().await?.org.id;
        Ok(base.scoped(&org))
    }

    /// Whether to draw progress and summaries on stderr.
    pub fn chatty(&self) -> bool {
        !self.quiet
    }
}

fn main() -> ExitCode {
    // Installed once for the process; the library itself never needs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let ctx = Ctx {
        profile: cli.profile,
        config: cli.config,
        state_dir: cli.state_dir,
        ca_file: cli.ca_file,
        quiet: cli.quiet,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match runtime.block_on(run(cli.command, &ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(report(&e)),
    }
}

async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        Command::Profile(c) => cmd_profile::run(c, ctx),
        Command::Whoami => {
            let me = ctx.client()?.me().await?;
            println!(
                "organization: {} ({})\ntoken: {} \"{}\", scope {:?}",
                me.org.name, me.org.id, me.token.id, me.token.label, me.token.scope
            );
            Ok(())
        }
        Command::Partners(c) => cmd_partners::run(c, ctx).await,
        Command::Match(a) => cmd_match::run(a, ctx).await,
        Command::Results(a) => cmd_sessions::results(a, ctx).await,
        Command::Overlaps(a) => cmd_sessions::overlaps(a, ctx).await,
        Command::Sessions(a) => cmd_sessions::sessions(a, ctx).await,
        Command::Audit(a) => cmd_sessions::audit(a, ctx).await,
        Command::Generate(a) => cmd_generate::run(a),
        Command::Agent(a) => cmd_agent::run(a, ctx).await,
    }
}

/// Prints `error: …` with its causes and picks the exit code.
fn report(e: &anyhow::Error) -> u8 {
    if let Some(w) = e.downcast_ref::<StillWaiting>() {
        eprintln!("{w}");
        return exit::WAITING;
    }
    if let Some(
        err @ cleanroom_client::Error::Api {
            detail: Some(detail),
            ..
        },
    ) = e.downcast_ref::<cleanroom_client::Error>()
    {
        // The server's detail already says which budget and when it refreshes.
        if err.is_budget_exhausted() {
            eprintln!("error: no new session now: {detail}");
            eprintln!(
                "  (budgets belong to the two organizations together; `cleanroom partners show` shows what is left)"
            );
            return exit::SESSION;
        }
    }
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    match e
        .downcast_ref::<cleanroom_client::Error>()
        .map(|e| e.kind())
    {
        Some(ErrorKind::Input) => exit::INPUT,
        Some(ErrorKind::Usage) => exit::USAGE,
        Some(ErrorKind::Server) => exit::SERVER,
        Some(ErrorKind::Auth) => exit::AUTH,
        Some(ErrorKind::Session) => exit::SESSION,
        Some(ErrorKind::Local) => exit::LOCAL,
        Some(_) => exit::INTERNAL,
        None if e.downcast_ref::<UsageError>().is_some() => exit::USAGE,
        None => exit::INTERNAL,
    }
}

/// A usage mistake detected after parsing (conflicting options and such).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Not a failure: a resumed session still waits for the partner (exit code 8).
#[derive(Debug)]
pub struct StillWaiting(pub String);

impl std::fmt::Display for StillWaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StillWaiting {}

/// Fails with a usage error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Parses `90s`, `30m`, `2h`, `3d` or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| std::time::Duration::from_secs(n * mult))
        .map_err(|_| format!("{s:?} is not a duration like 90s, 30m, 2h or 3d"))
}
