//! `cleanroom profile`: server URL + token per name.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::Subcommand;
use cleanroom_client::profile::{Profile, Profiles};

use crate::{Ctx, usage};

#[derive(Subcommand)]
pub enum ProfileCmd {
    /// Add a profile (or replace one, with --replace). The token is read from
    /// stdin (not echoed on a terminal) or from the variable named by
    /// --token-env; never from argv.
    Add {
        /// Profile name.
        name: String,
        /// Server base URL.
        #[arg(long)]
        url: String,
        /// Read the token from this environment variable instead of stdin.
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Extra CA certificate (PEM) for this server.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Make it the default profile.
        #[arg(long)]
        default: bool,
        /// Replace a profile of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// List profiles (tokens are not shown).
    List,
    /// Remove a profile.
    Remove {
        /// Profile name.
        name: String,
    },
    /// Make a profile the default.
    Use {
        /// Profile name.
        name: String,
    },
}

pub fn run(cmd: ProfileCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let path = ctx.profiles_path()?;
    let mut profiles = Profiles::load(&path)?;
    match cmd {
        ProfileCmd::Add {
            name,
            url,
            token_env,
            ca_file,
            default,
            replace,
        } => {
            if let Some(old) = profiles.profiles.get(&name).filter(|_| !replace) {
                return Err(usage(format!(
                    "a profile {name:?} exists already (server {}); pass --replace to overwrite it, or choose another name",
                    old.url
                )));
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(usage(format!(
                    "--url must start with https:// or http://, got {url:?}"
                )));
            }
            let token = match token_env {
                Some(var) => std::env::var(&var)
                    .map_err(|_| usage(format!("environment variable {var} is not set")))?,
                None => read_token()?,
            };
            let token = token.trim().to_owned();
            if token.is_empty() {
                return Err(usage(
                    "the token is empty: nothing came on stdin or in the variable. If it was piped \
                     from `cleanroom-server admin create-org`, that command failed: see its error above",
                ));
            }
            let first = profiles.profiles.is_empty();
            profiles.profiles.insert(
                name.clone(),
                Profile {
                    url,
                    token,
                    ca_file,
                },
            );
            if default || first {
                profiles.default = Some(name.clone());
            }
            profiles.save(&path)?;
            eprintln!("saved profile {name:?} in {}", path.display());
        }
        ProfileCmd::List => {
            if profiles.profiles.is_empty() {
                println!("no profiles in {}", path.display());
            }
            for (name, p) in &profiles.profiles {
                let mark = if profiles.default.as_deref() == Some(name) {
                    "*"
                } else {
                    " "
                };
                println!("{mark} {name}\t{}", p.url);
            }
        }
        ProfileCmd::Remove { name } => {
            if profiles.profiles.remove(&name).is_none() {
                return Err(usage(format!("no profile named {name:?}")));
            }
            if profiles.default.as_deref() == Some(&name) {
                profiles.default = None;
            }
            profiles.save(&path)?;
        }
        ProfileCmd::Use { name } => {
            if !profiles.profiles.contains_key(&name) {
                return Err(usage(format!("no profile named {name:?}")));
            }
            profiles.default = Some(name);
            profiles.save(&path)?;
        }
    }
    Ok(())
}

/// Reads one line from stdin; on a terminal, with echo turned off.
fn read_token() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("API token (input hidden): ");
        // No raw-terminal crate for one prompt: stty is everywhere we run.
        let _ = std::process::Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let r = stdin.lock().read_line(&mut line);
    if tty {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    r?;
    Ok(line)
}
