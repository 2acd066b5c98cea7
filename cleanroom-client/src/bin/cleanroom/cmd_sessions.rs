//! `cleanroom results`, `overlaps`, `sessions` and `audit`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use cleanroom_client::fsutil::write_bytes_atomic;
use cleanroom_client::output::{results_csv, results_json, results_table};
use cleanroom_client::overlaps::{fetch_local_overlaps, write_overlaps_csv};
use cleanroom_core::api::{SessionState, UploadState};
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use crate::{Ctx, cmd_partners, usage};

#[derive(Args)]
pub struct ResultsArgs {
    /// Session id [default: the partner's newest completed session].
    session: Option<String>,
    /// Partnership id or partner name (to find its newest completed session).
    #[arg(long)]
    partner: Option<String>,
    /// JSON output.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// CSV output.
    #[arg(long)]
    csv: bool,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct OverlapsArgs {
    /// Session id [default: the partner's newest completed session].
    session: Option<String>,
    /// Partnership id or partner name.
    #[arg(long)]
    partner: Option<String>,
    /// The CSV the session was run on [default: the path recorded then].
    #[arg(long)]
    input: Option<PathBuf>,
    /// Where to write your matched rows (CSV, 0600).
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
}

#[derive(Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    cmd: Option<SessionsCmd>,
    /// Partnership id or partner name (for listing).
    #[arg(long)]
    partner: Option<String>,
}

#[derive(Subcommand)]
pub enum SessionsCmd {
    /// Request a refresh now: create a session on the partnership, which
    /// both organizations' agents then run (it counts against the pair's
    /// session and privacy budgets).
    Request {
        /// Partnership id or partner name.
        #[arg(long)]
        partner: String,
        /// Print the new session as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel an open session.
    Cancel {
        /// Session id.
        session: String,
    },
    /// Show one session's progress.
    Show {
        /// Session id.
        session: String,
    },
}

#[derive(Args)]
pub struct AuditArgs {
    /// Partnership id or partner name.
    #[arg(long)]
    partner: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

async fn pick_session(
    client: &cleanroom_client::Client,
    session: Option<String>,
    partner: Option<String>,
) -> anyhow::Result<String> {
    match (session, partner) {
        (Some(s), _) => Ok(s),
        (None, Some(p)) => {
            let p = cmd_partners::resolve(client, &p).await?;
            client
                .list_sessions(&p.id)
                .await?
                .into_iter()
                .find(|s| s.state == SessionState::Completed)
                .map(|s| s.id)
                .ok_or_else(|| usage("this partnership has no completed session yet"))
        }
        (None, None) => Err(usage("name a session id or --partner")),
    }
}

pub async fn results(a: ResultsArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let sid = pick_session(&client, a.session, a.partner).await?;
    let r = client.results(&sid).await?;
    let bytes = if a.json {
        results_json(&r).into_bytes()
    } else if a.csv {
        results_csv(&r)?
    } else {
        results_table(&r).into_bytes()
    };
    match a.out {
        Some(p) => write_bytes_atomic(&p, false, &bytes)?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

pub async fn overlaps(a: OverlapsArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let sid = pick_session(&client, a.session, a.partner).await?;
    let state = ctx.state(&client).await?;
    let (rows, recorded) = fetch_local_overlaps(&client, &state, &sid).await?;
    let csv = a
        .input
        .or(recorded)
        .ok_or_else(|| usage("pass --input with the CSV the session was run on"))?;
    let n = write_overlaps_csv(&csv, &rows, "partner_populations", &a.out)?;
    if ctx.chatty() {
        eprintln!(
            "{} matched accounts ({n} CSV rows) written to {}",
            rows.len(),
            a.out.display()
        );
    }
    Ok(())
}

fn upload(u: UploadState) -> &'static str {
    match u {
        UploadState::Pending => "pending",
        UploadState::Uploading => "uploading",
        UploadState::Committed => "committed",
    }
}

pub async fn sessions(a: SessionsArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match a.cmd {
        Some(SessionsCmd::Request { partner, json }) => {
            request(&client, &partner, json).await?;
        }
        Some(SessionsCmd::Cancel { session }) => {
            let s = client.cancel_session(&session).await?;
            println!("session {} is {:?}", s.id, s.state);
        }
        Some(SessionsCmd::Show { session }) => {
            let s = client.session(&session).await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        None => {
            let p = a
                .partner
                .ok_or_else(|| usage("name the partnership with --partner"))?;
            let p = cmd_partners::resolve(&client, &p).await?;
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED);
            t.set_header(vec![
                "session",
                "state",
                "created",
                "expires",
                "vendor upload",
                "partner upload",
            ]);
            for s in client.list_sessions(&p.id).await? {
                t.add_row(vec![
                    s.id.clone(),
                    match s.cancel_reason {
                        Some(r) => format!("{:?} ({})", s.state, r.as_str().replace('_', " ")),
                        None => format!("{:?}", s.state),
                    },
                    s.created_at.clone(),
                    // Only an open session can still expire.
                    match &s.expires_at {
                        Some(t) if s.state.is_open() => t.clone(),
                        _ => "-".to_owned(),
                    },
                    format!(
                        "{} / tokens {}",
                        upload(s.vendor.blinded),
                        upload(s.vendor.tokens)
                    ),
                    format!(
                        "{} / tokens {}",
                        upload(s.partner.blinded),
                        upload(s.partner.tokens)
                    ),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(())
}

/// `cleanroom sessions request --partner NAME`: a session on the
/// partnership, which the agents of both sides pick up and run.
async fn request(
    client: &cleanroom_client::Client,
    partner: &str,
    json: bool,
) -> anyhow::Result<()> {
    let p = cmd_partners::resolve(client, partner).await?;
    let name = cmd_partners::counterpart(&p).name.clone();
    let s = match client.create_session(&p.id).await {
        Ok(s) => s,
        Err(cleanroom_client::Error::Api {
            status: 409,
            code: Some(code),
            title,
            ..
        }) if code == "session-open" => {
            // Say which session and what it waits for, rather than just "409".
            let open = client
                .list_sessions(&p.id)
                .await?
                .into_iter()
                .find(|s| s.state.is_open());
            let detail = match open {
                Some(s) => format!(
                    "session {} with {name} is already open ({}); both agents run it, so no new one was requested. \
                     Follow it with `cleanroom sessions show {}`",
                    s.id,
                    s.state.as_str().replace('_', " "),
                    s.id
                ),
                None => format!("a session with {name} is already open; no new one was requested"),
            };
            return Err(cleanroom_client::Error::Api {
                status: 409,
                code: Some(code),
                title,
                detail: Some(detail),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("Requested session {} with {name}.", s.id);
    println!(
        "The agents of both organizations will run it: each picks up an open session that awaits its upload."
    );
    println!("Follow it:");
    println!("  cleanroom sessions show {}", s.id);
    println!("  cleanroom sessions --partner {:?}", name);
    println!("  or the dashboard: /dashboard/sessions/{}", s.id);
    Ok(())
}

pub async fn audit(a: AuditArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let p = cmd_partners::resolve(&client, &a.partner).await?;
    let entries = client.audit(&p.id).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    // Wrap to the terminal (or $COLUMNS, or 120 when piped): the detail
    // column alone can be hundreds of characters.
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if !t.is_tty() {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(120);
        t.set_width(width);
    }
    t.set_header(vec!["at", "org", "action", "session", "detail"]);
    for e in entries {
        t.add_row(vec![
            e.at.replace('T', " ").trim_end_matches('Z').to_owned(),
            e.org,
            e.action,
            // The first block of a session id tells sessions apart in a log;
            // `sessions` and --json give whole ids.
            e.session_id
                .map(|s| s.chars().take(8).collect())
                .unwrap_or_default(),
            compact_detail(&e.detail),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// `{"a":1,"b":{"c":"x"}}` as `a=1 b.c=x`: the same facts, a third of the width.
fn compact_detail(v: &serde_json::Value) -> String {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push(format!("{prefix}={s}")),
            other => out.push(format!("{prefix}={other}")),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out.join(" ")
}
