//! Runs one side of a matching session from a CSV export.
//!
//! ```text
//! CLEANROOM_URL=https://broker.example.com CLEANROOM_TOKEN=… \
//!   cargo run -p cleanroom-client --example match_csv -- PARTNERSHIP_ID accounts.csv
//! ```
//!
//! Set `CLEANROOM_CA_FILE` to trust a self-signed server certificate.

use std::sync::Arc;

use cleanroom_client::output::{input_summary, results_table};
use cleanroom_client::{
    Client, ClientConfig, InputOptions, SessionOptions, StateDir, prepare_file_quiet, run_session,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(partnership), Some(csv)) = (args.next(), args.next()) else {
        eprintln!("usage: match_csv PARTNERSHIP_ID accounts.csv");
        std::process::exit(2);
    };
    let mut config = ClientConfig::new(
        std::env::var("CLEANROOM_URL")?,
        std::env::var("CLEANROOM_TOKEN")?,
    );
    if let Ok(ca) = std::env::var("CLEANROOM_CA_FILE") {
        config.extra_ca_pem = Some(std::fs::read(ca)?);
    }
    let client = Client::new(config)?;

    // Everything up to here is local: the CSV is read, normalized and merged.
    let input = prepare_file_quiet(csv.as_ref(), &InputOptions::default())?;
    eprint!(
        "{}",
        input_summary(&input.report, &input.populations, input.accounts.len())
    );

    let state = StateDir::new(std::env::temp_dir().join("cleanroom-example-state"));
    let mut opts = SessionOptions::new(partnership, state);
    opts.progress = Arc::new(|p| {
        if p.finished {
            eprintln!("{:>28}: done ({} units)", p.phase.label(), p.done);
        }
    });
    let outcome = run_session(&client, &input, &opts).await?;
    print!("{}", results_table(&outcome.results));
    Ok(())
}
