//! `cleanroom generate`: messy CRM exports with ground truth.

use std::path::PathBuf;

use clap::Args;
use cleanroom_client::fsutil::write_bytes_atomic;
use cleanroom_client::generate::{
    Format, GenerateOptions, Profile, RealisticOptions, generate, generate_realistic,
};

#[derive(Args)]
pub struct GenerateArgs {
    /// Where to write the vendor's export.
    #[arg(long)]
    vendor_out: PathBuf,
    /// Where to write the partner's export.
    #[arg(long)]
    partner_out: PathBuf,
    /// easy: every entity is recovered exactly by the client's rules (for
    /// tests and demos); realistic: modelled on real Salesforce and HubSpot
    /// exports, with the cases that make matching hard (ambiguous and
    /// lookalike names, second websites, countries in many spellings).
    /// (Not `--profile`: that global option names the server profile.)
    #[arg(long, value_name = "easy|realistic", default_value = "easy")]
    dataset: String,
    /// Accounts per side (easy dataset) [default: 1000].
    #[arg(long)]
    accounts: Option<usize>,
    /// Fraction of each side's accounts the other side also has (easy
    /// dataset) [default: 0.3].
    #[arg(long)]
    overlap: Option<f64>,
    /// Vendor accounts (realistic dataset) [default: 20000].
    #[arg(long)]
    vendor_accounts: Option<usize>,
    /// Partner accounts (realistic dataset) [default: 15000].
    #[arg(long)]
    partner_accounts: Option<usize>,
    /// Accounts both sides hold (realistic dataset) [default: 4000].
    #[arg(long)]
    shared_accounts: Option<usize>,
    /// Seed; the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Export layout of both sides: salesforce, hubspot, or mixed (vendor
    /// Salesforce, partner HubSpot). Default: salesforce (easy), mixed
    /// (realistic); the easy dataset takes one layout for both sides.
    #[arg(long)]
    format: Option<String>,
    /// The vendor's layout (realistic dataset), overriding --format.
    #[arg(long)]
    vendor_format: Option<String>,
    /// The partner's layout (realistic dataset), overriding --format.
    #[arg(long)]
    partner_format: Option<String>,
    /// Where to write the ground truth (JSON).
    #[arg(long)]
    truth: Option<PathBuf>,
}

/// The two sides' layouts of `--format`.
fn formats(spec: &str) -> anyhow::Result<(Format, Format)> {
    if spec.eq_ignore_ascii_case("mixed") {
        return Ok((Format::Salesforce, Format::HubSpot));
    }
    let f = Format::parse(spec)?;
    Ok((f, f))
}

pub fn run(a: GenerateArgs) -> anyhow::Result<()> {
    let g = match Profile::parse(&a.dataset)? {
        Profile::Easy => {
            if a.vendor_format.is_some()
                || a.partner_format.is_some()
                || a.vendor_accounts.is_some()
                || a.partner_accounts.is_some()
                || a.shared_accounts.is_some()
            {
                anyhow::bail!(
                    "--vendor-format, --partner-format, --vendor-accounts, --partner-accounts and \
                     --shared-accounts need --dataset realistic; the easy dataset takes --accounts, \
                     --overlap and one --format for both sides"
                );
            }
            let (format, partner) = formats(a.format.as_deref().unwrap_or("salesforce"))?;
            if format != partner {
                anyhow::bail!("--format mixed needs --dataset realistic");
            }
            generate(&GenerateOptions {
                accounts: a.accounts.unwrap_or(1000),
                overlap: a.overlap.unwrap_or(0.3),
                seed: a.seed,
                format,
            })?
        }
        Profile::Realistic => {
            if a.accounts.is_some() || a.overlap.is_some() {
                anyhow::bail!(
                    "--dataset realistic takes --vendor-accounts, --partner-accounts and \
                     --shared-accounts instead of --accounts and --overlap"
                );
            }
            let sizes = RealisticOptions::new(a.seed);
            let (mut vendor_format, mut partner_format) =
                formats(a.format.as_deref().unwrap_or("mixed"))?;
            if let Some(f) = &a.vendor_format {
                vendor_format = Format::parse(f)?;
            }
            if let Some(f) = &a.partner_format {
                partner_format = Format::parse(f)?;
            }
            generate_realistic(&RealisticOptions {
                vendor_accounts: a.vendor_accounts.unwrap_or(sizes.vendor_accounts),
                partner_accounts: a.partner_accounts.unwrap_or(sizes.partner_accounts),
                shared_accounts: a.shared_accounts.unwrap_or(sizes.shared_accounts),
                seed: a.seed,
                vendor_format,
                partner_format,
                ..sizes
            })?
        }
    };
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
