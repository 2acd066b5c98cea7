//! `cleanroom match`: run this side of a session from a CSV export.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use cleanroom_client::output::{
    input_summary, results_csv, results_json, results_table, write_rejects,
};
use cleanroom_client::populations::Population;
use cleanroom_client::presets::{ColumnOverrides, Preset};
use cleanroom_client::{
    InputOptions, InputReport, SessionOptions, SessionOutcome, SessionStatus, WaitingSession,
    prepare_file,
};
use cleanroom_core::KeyType;
use cleanroom_core::api::{NamesWithoutCountry, SharingPolicy};
use cleanroom_core::overlap::NameMatching;

use crate::{Ctx, StillWaiting, cmd_partners, parse_duration, progress_ui, stats, usage};

#[derive(Args)]
pub struct MatchArgs {
    /// Partnership id or the partner organization's name.
    #[arg(long, required_unless_present = "resume")]
    partner: Option<String>,
    /// The CSV export (UTF-8).
    #[arg(long, short, required_unless_present = "resume")]
    input: Option<PathBuf>,
    /// Export layout: salesforce, hubspot or generic [default: detected from the header].
    #[arg(long)]
    preset: Option<String>,
    /// Column holding the website or domain.
    #[arg(long)]
    domain_col: Option<String>,
    /// A further column of websites or domains read on every row (several
    /// per cell separated by ';', ',', '|' or spaces). Repeatable; replaces
    /// the preset's extra website columns.
    #[arg(long = "extra-domain-col", value_name = "NAME")]
    extra_domain_cols: Vec<String>,
    /// Column holding the company name.
    #[arg(long)]
    name_col: Option<String>,
    /// Column holding the DUNS number.
    #[arg(long)]
    duns_col: Option<String>,
    /// Column holding the account's country, which qualifies its company
    /// name (names only match names of the same country).
    #[arg(long, value_name = "NAME")]
    country_col: Option<String>,
    /// Column holding the account's city, which tells apart same-name
    /// companies of one country.
    #[arg(long, value_name = "NAME")]
    city_col: Option<String>,
    /// Column holding the account's postal code, which tells apart
    /// same-name companies of one city.
    #[arg(long, value_name = "NAME")]
    postcode_col: Option<String>,
    /// Column holding the account's telephone number, which tells apart
    /// same-name companies anywhere (national numbers need the country).
    #[arg(long, value_name = "NAME")]
    phone_col: Option<String>,
    /// A population: NAME=RULE, e.g. customers='Type=Customer',
    /// pipeline='Stage in (Qualification,Proposal)', all='*'. Repeatable;
    /// replaces the preset's defaults.
    #[arg(long = "population", value_name = "NAME=RULE")]
    populations: Vec<String>,
    /// Write rejected values (line, column, reason; never the value) to this CSV.
    #[arg(long, value_name = "FILE.csv")]
    rejects: Option<PathBuf>,
    /// How long to wait for the partner at most, e.g. 30m, 2h [default:
    /// until the session expires; with --resume: no waiting].
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Commit your blinded upload, save the session's local state and exit
    /// (code 0) instead of waiting for the partner; finish later with
    /// --resume, at the latest before the session expires.
    #[arg(long, conflicts_with_all = ["dry_run", "stats_json"])]
    detach: bool,
    /// Go on with a session this machine detached from (or was interrupted
    /// in after its upload): its id, or none for the only one (or the one
    /// with --partner). Needs no input file. Finishes the token phase and
    /// shows the results if the partner's upload is in; otherwise exits
    /// with code 8 (still waiting).
    #[arg(
        long,
        value_name = "SESSION",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["input", "detach", "dry_run", "restart", "stats_json"]
    )]
    resume: Option<String>,
    /// Cancel an interrupted session this machine cannot resume and start over.
    #[arg(long)]
    restart: bool,
    /// Records per upload chunk.
    #[arg(long, default_value_t = cleanroom_client::session::DEFAULT_CHUNK_RECORDS)]
    chunk_size: usize,
    /// Only read and normalize the file, print the summary, upload nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the results as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the results as CSV.
    #[arg(long)]
    csv: bool,
    /// Write timings of every phase, HTTP body bytes, peak RSS and CPU time
    /// to this JSON file when the session completes (for benchmarks).
    #[arg(long, value_name = "FILE.json")]
    stats_json: Option<PathBuf>,
}

pub async fn run(a: MatchArgs, ctx: &Ctx) -> anyhow::Result<()> {
    if let Some(target) = &a.resume {
        return resume(&a, target, ctx).await;
    }
    let (Some(partner), Some(input_path)) = (a.partner.clone(), a.input.clone()) else {
        return Err(usage("--partner and --input are needed, unless --resume"));
    };
    let recorder = stats::Recorder::new(std::time::Instant::now());
    // Bad options fail before any request.
    let preset = a.preset.as_deref().map(Preset::parse).transpose()?;
    let populations = a
        .populations
        .iter()
        .map(|s| Population::parse(s))
        .collect::<Result<_, _>>()?;
    let mut progress = progress_ui::callback(ctx.chatty());
    if a.stats_json.is_some() {
        progress = recorder.wrap(progress);
    }
    // Check the connection before spending minutes on a large file.
    let client = if a.dry_run { None } else { Some(ctx.client()?) };
    let partnership = match &client {
        Some(c) => Some(cmd_partners::resolve(c, &partner).await?),
        None => None,
    };
    let policy = partnership.as_ref().map(|p| &p.policy);
    let opts = InputOptions {
        preset,
        columns: ColumnOverrides {
            domain: a.domain_col.clone(),
            extra_domains: a.extra_domain_cols.clone(),
            name: a.name_col.clone(),
            duns: a.duns_col.clone(),
            country: a.country_col.clone(),
            city: a.city_col.clone(),
            postcode: a.postcode_col.clone(),
            phone: a.phone_col.clone(),
        },
        populations,
        // Both sides apply the agreed rule, or their names cannot meet (a
        // dry run, with no partnership, shows the default).
        names_without_country: policy.map(|p| p.names_without_country).unwrap_or_default(),
    };
    let path = input_path.clone();
    let p2 = progress.clone();
    let mut input = tokio::task::spawn_blocking(move || prepare_file(&path, &opts, &p2)).await??;
    // Even with --quiet: names that cannot match must never go unsaid.
    if let Some(w) = missing_country_warning(&input.report, policy) {
        eprintln!("{w}");
    }
    // Fitted here rather than inside the session run so that the summary can
    // say what changed; a population too small fails before any session,
    // after the summary that shows the sizes.
    let fitted = match &client {
        Some(c) => input.fit_limits(&c.limits().await?).map(drop),
        None => Ok(()),
    };
    if let Some(r) = &a.rejects {
        write_rejects(r, &input.report.rejects)?;
    }
    if ctx.chatty() || a.dry_run {
        eprint!(
            "{}",
            input_summary(&input.report, &input.populations, input.accounts.len())
        );
        if let Some(r) = &a.rejects {
            eprintln!("Rejected values written to {}.", r.display());
        }
    }
    fitted?;
    let (Some(client), Some(partnership)) = (client, partnership) else {
        return Ok(());
    };
    let mut sopts = SessionOptions::new(partnership.id.clone(), ctx.state(&client).await?);
    sopts.csv_path = Some(std::fs::canonicalize(&input_path).unwrap_or(input_path.clone()));
    if let Some(t) = a.timeout {
        sopts.wait_timeout = t;
    }
    sopts.detach = a.detach;
    sopts.restart = a.restart;
    sopts.chunk_records = a.chunk_size;
    sopts.progress = progress;
    if ctx.chatty() {
        let wait = match (a.detach, a.timeout) {
            (true, _) => "detaching once your upload is committed".to_owned(),
            (false, Some(t)) => format!("waiting up to {}s for them", t.as_secs()),
            (false, None) => "waiting for them until the session expires".to_owned(),
        };
        eprintln!(
            "Matching with {} as the {} ({wait})…",
            cmd_partners::counterpart(&partnership).name,
            partnership.my_role.as_str(),
        );
    }
    let outcome = match cleanroom_client::start_session(&client, &input, &sopts).await? {
        SessionStatus::Completed(outcome) => *outcome,
        SessionStatus::Waiting(w) => {
            // Said even with --quiet: without it the user cannot finish.
            eprintln!(
                "Your upload to session {} is committed; it waits for {}{}.\n\
                 Finish it with: cleanroom match --resume {}\n\
                 (the session secret stays in this machine's local state until then)",
                w.session_id,
                w.waiting_for,
                until(&w),
                w.session_id
            );
            return Ok(());
        }
    };
    if let Some(path) = &a.stats_json {
        recorder
            .write(path, client.traffic(), outcome.accounts, outcome.records)
            .map_err(|e| cleanroom_client::Error::Io {
                path: path.clone(),
                source: e,
            })?;
    }
    print_outcome(&a, ctx, &outcome)
}

/// `match --resume [SESSION]`: finds the session's local state and goes on.
async fn resume(a: &MatchArgs, target: &str, ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let state = ctx.state(&client).await?;
    let partnership_id = if !target.is_empty() {
        state
            .list_active()?
            .into_iter()
            .find(|s| s.session_id == target)
            .map(|s| s.partnership_id.clone())
            .ok_or_else(|| {
                cleanroom_client::Error::State(format!(
                    "no local state for session {target} on this machine (in {}); \
                     use the same --state-dir and profile as the run that detached",
                    state.path().display()
                ))
            })?
    } else if let Some(partner) = &a.partner {
        cmd_partners::resolve(&client, partner).await?.id
    } else {
        let mut all = state.list_active()?;
        match all.len() {
            0 => {
                return Err(cleanroom_client::Error::State(format!(
                    "no session to resume on this machine (in {})",
                    state.path().display()
                ))
                .into());
            }
            1 => all.remove(0).partnership_id.clone(),
            _ => {
                let ids: Vec<String> = all.iter().map(|s| s.session_id.clone()).collect();
                return Err(usage(format!(
                    "several sessions could be resumed ({}); name one: --resume SESSION",
                    ids.join(", ")
                )));
            }
        }
    };
    let mut sopts = SessionOptions::new(partnership_id, state);
    sopts.progress = progress_ui::callback(ctx.chatty());
    match a.timeout {
        Some(t) => sopts.wait_timeout = t,
        None => sopts.detach = true,
    }
    match cleanroom_client::resume_session(&client, &sopts).await? {
        SessionStatus::Completed(outcome) => print_outcome(a, ctx, &outcome),
        SessionStatus::Waiting(w) => Err(anyhow::Error::new(StillWaiting(format!(
            "session {} still waits for {}{}; run `cleanroom match --resume {}` again later",
            w.session_id,
            w.waiting_for,
            until(&w),
            w.session_id
        )))),
    }
}

/// `" (until <expiry>, when the server cancels it)"`, if the server said.
fn until(w: &WaitingSession) -> String {
    match &w.expires_at {
        Some(t) => format!(" until {t}, when the server cancels it unless both sides are done"),
        None => String::new(),
    }
}

/// Prints a completed session's summary and results.
fn print_outcome(a: &MatchArgs, ctx: &Ctx, outcome: &SessionOutcome) -> anyhow::Result<()> {
    if ctx.chatty() {
        eprintln!(
            "Session {} completed{}: {} accounts, {} blinded keys uploaded.",
            outcome.session_id,
            if outcome.resumed { " (resumed)" } else { "" },
            outcome.accounts,
            outcome.records
        );
    }
    if a.json {
        print!("{}", results_json(&outcome.results));
    } else if a.csv {
        use std::io::Write;
        std::io::stdout().write_all(&results_csv(&outcome.results)?)?;
    } else {
        print!("{}", results_table(&outcome.results));
    }
    Ok(())
}

/// One line when the file has a name column but no country column, or one
/// in which no value is a known country: every name is then without a
/// country, so under the partnership's rule it is left out (or only meets
/// the partner's country-less names).
fn missing_country_warning(rep: &InputReport, policy: Option<&SharingPolicy>) -> Option<String> {
    let (_, name_col) = rep.key_columns.iter().find(|(k, _)| *k == KeyType::Name)?;
    // Names play no part under this policy: nothing is lost.
    if policy.is_some_and(|p| p.name_matching == NameMatching::Never) {
        return None;
    }
    let missing = match &rep.country_column {
        None => "no country column found".to_owned(),
        // A column of values that are no country (regions, codes of the
        // CRM's own) loses every name as surely as no column.
        Some(col) if rep.names_with_country == 0 && rep.names_without_country > 0 => {
            format!("no usable country in the column {col:?}")
        }
        Some(_) => return None,
    };
    let rule = rep.names_without_country_rule.as_str();
    let whose = if policy.is_some() {
        format!("the partnership's rule ({rule})")
    } else {
        format!("the default rule ({rule}; a dry run does not read the partnership's)")
    };
    let effect = match rep.names_without_country_rule {
        NamesWithoutCountry::Omit => {
            "they are left out and accounts match on websites and DUNS only"
        }
        NamesWithoutCountry::Unqualified => {
            "they are uploaded without a country and only match the partner's names that have none"
        }
    };
    Some(format!(
        "warning: {missing} for the company names in {name_col:?}: under {whose} \
         {effect}; name the country column with --country-col NAME"
    ))
}
