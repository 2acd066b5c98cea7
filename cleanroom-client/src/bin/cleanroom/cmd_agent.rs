//! `cleanroom agent`: the long-running process next to the CRM exports (see
//! [`cleanroom_client::agent`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use cleanroom_client::agent::config::{AgentConfig, Source};
use cleanroom_client::agent::{Agent, Summary};
use cleanroom_client::profile::Profiles;
use cleanroom_client::{Client, ClientConfig, StateDir};

use crate::Ctx;

#[derive(Args)]
pub struct AgentArgs {
    /// The agent's configuration file (TOML; see
    /// contrib/cleanroom-agent.example.toml).
    // Its own id: the global `--profiles` flag's id is `config`, and clap
    // would hand this file to it as well (then read as the profiles file).
    #[arg(
        id = "agent_config",
        long = "config",
        short,
        value_name = "FILE",
        env = "CLEANROOM_AGENT_CONFIG"
    )]
    config: PathBuf,
    /// Do everything due now, then exit (for cron): sessions the partner
    /// has not reached yet are left waiting and go on at the next run.
    #[arg(long)]
    once: bool,
    /// Only read the configuration and show what the agent would serve.
    #[arg(long, conflicts_with = "once")]
    check: bool,
    /// Log lines as text or as JSON objects (on stderr; `RUST_LOG` filters).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub async fn run(a: AgentArgs, ctx: &Ctx) -> anyhow::Result<()> {
    init_logging(a.log_format);
    let config = AgentConfig::load(&a.config)?;
    let client = client(&config, ctx)?;
    let me = client.me().await?;
    let base = match config.state_dir.clone().or_else(|| ctx.state_dir.clone()) {
        Some(d) => StateDir::new(d),
        None => StateDir::default_location()?,
    };
    // Scoped by organization, as `cleanroom match` does: a human's
    // `match --resume` finds the agent's sessions, and the reverse.
    let state = base.scoped(&me.org.id);
    if a.check {
        return check(&client, &config, &state).await;
    }
    tracing::info!(
        org = %me.org.name,
        server = %client.base_url(),
        state_dir = %state.path().display(),
        once = a.once,
        version = env!("CARGO_PKG_VERSION"),
        "agent starting"
    );
    let agent = Agent::new(client, config, state, a.once)?;
    let summary = agent.run(shutdown_signal()).await?;
    tracing::info!(
        completed = summary.completed.len(),
        waiting = summary.waiting.len(),
        refused = summary.refused.len(),
        failed = summary.failed.len(),
        "agent stopped"
    );
    match a.once {
        true => first_failure(summary),
        // Failed runs were logged and retried; stopping on a signal is no failure.
        false => Ok(()),
    }
}

/// `--once` fails with its first failed run (exit code by its kind).
fn first_failure(summary: Summary) -> anyhow::Result<()> {
    match summary.failed.into_iter().next() {
        Some((_, e)) => Err(e.into()),
        None => Ok(()),
    }
}

/// `--check`: the partnerships served and their settings, on stdout.
async fn check(client: &Client, config: &AgentConfig, state: &StateDir) -> anyhow::Result<()> {
    println!("state directory: {}", state.path().display());
    for p in client.list_partnerships().await? {
        let partner = match p.my_role {
            cleanroom_core::api::Role::Vendor => &p.partner.name,
            cleanroom_core::api::Role::Partner => &p.vendor.name,
        };
        let Some(s) = config.settings_for(&p.id, partner) else {
            println!("{partner} ({}): not served", p.id);
            continue;
        };
        let source = match &s.source {
            Source::Path(path) => format!("file {}", path.display()),
            Source::Command { argv, timeout } => {
                format!("command {:?} (timeout {}s)", argv, timeout.as_secs())
            }
        };
        println!(
            "{partner} ({}, {:?}): {source}; refresh {}; auto_join {} (caps {}/day, {}/week)",
            p.id,
            p.status,
            s.refresh
                .as_ref()
                .map_or("off".to_owned(), ToString::to_string),
            s.auto_join.as_str(),
            s.max_per_day,
            s.max_per_week
        );
    }
    Ok(())
}

/// The client of `[server]`, or, without one, the CLI's own choice.
fn client(config: &AgentConfig, ctx: &Ctx) -> anyhow::Result<Client> {
    let s = &config.server;
    if s.profile.is_none() && s.url.is_none() && s.token_file.is_none() && s.ca_file.is_none() {
        return ctx.client();
    }
    let path = match &s.profiles_file {
        Some(p) => p.clone(),
        None => ctx.profiles_path()?,
    };
    let profiles = Profiles::load(&path)?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let token = match (env("CLEANROOM_TOKEN"), &s.token_file) {
        (Some(t), _) => Some(t),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| cleanroom_client::Error::Io {
                    path: f.clone(),
                    source: e,
                })?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let url = s.url.clone().or_else(|| env("CLEANROOM_URL"));
    let profile = s.profile.clone().or_else(|| ctx.profile.clone());
    let p = profiles.resolve(profile.as_deref(), url, token)?;
    let mut cfg = ClientConfig::new(p.url, p.token);
    if let Some(ca) = s.ca_file.clone().or(ctx.ca_file.clone()).or(p.ca_file) {
        cfg.extra_ca_pem = Some(std::fs::read(&ca).map_err(|e| cleanroom_client::Error::Io {
            path: ca,
            source: e,
        })?);
    }
    Ok(Client::new(cfg)?)
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("interrupted (Ctrl-C)"),
        _ = term => tracing::info!("terminated (SIGTERM)"),
    }
}
