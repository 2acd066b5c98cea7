//! `cleanroom generate`: messy CRM exports with ground truth.

use std::path::PathBuf;

use clap::Args;
use cleanroom_client::fsutil::write_bytes_atomic;
use cleanroom_client::generate::{Format, GenerateOptions, generate};

#[derive(Args)]
pub struct GenerateArgs {
    /// Where to write the vendor's export.
    #[arg(long)]
    vendor_out: PathBuf,
    /// Where to write the partner's export.
    #[arg(long)]
    partner_out: PathBuf,
    /// Accounts per side.
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Fraction of each side's accounts the other side also has.
    #[arg(long, default_value_t = 0.3)]
    overlap: f64,
    /// Seed; the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Export layout: salesforce or hubspot.
    #[arg(long, default_value = "salesforce")]
    format: String,
    /// Where to write the ground truth (JSON).
    #[arg(long)]
    truth: Option<PathBuf>,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<()> {
    let g = generate(&GenerateOptions {
        accounts: a.accounts,
        overlap: a.overlap,
        seed: a.seed,
        format: Format::parse(&a.format)?,
    })?;
    write_bytes_atomic(&a.vendor_out, false, &g.vendor_csv)?;
    write_bytes_atomic(&a.partner_out, false, &g.partner_csv)?;
    if let Some(t) = &a.truth {
        let mut json = serde_json::to_vec_pretty(&g.truth)?;
        json.push(b'\n');
        write_bytes_atomic(t, false, &json)?;
    }
    eprintln!(
        "wrote {} vendor rows and {} partner rows; {} accounts shared",
        g.truth.vendor_rows,
        g.truth.partner_rows,
        g.truth.shared()
    );
    Ok(())
}
