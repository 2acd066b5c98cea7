//! `match-quality`: how well each name-matching policy finds the shared
//! accounts of realistic exports (see BENCHMARKS.md, "Match quality").
//!
//! ```text
//! cargo run --release -p cleanroom-tests --bin match-quality -- [--seeds 1,2,3] \
//!     [--vendor-accounts 20000] [--partner-accounts 15000] [--shared-accounts 4000] \
//!     [--surname-share 0.22] [--explain] [--proposals]
//! ```
//!
//! For each seed it generates a realistic pair of exports (vendor Salesforce,
//! partner HubSpot), prepares both with the real client, matches them in
//! plaintext with every policy and with an emulation of version 1, and
//! prints a Markdown table of recall, precision, lookalikes matched and the
//! worst cell of the population matrix; `--explain` adds the causes of every
//! wrong match and miss, `--proposals` the same figures for changes the
//! project could make (emulated in plaintext, see `quality::Proposal`).

use std::process::ExitCode;

use cleanroom_client::generate::{RealisticOptions, generate_realistic};
use cleanroom_tests::quality::{
    Method, Proposal, markdown_cells, markdown_diagnosis, markdown_table, measure,
    measure_perfect_matcher, measure_proposal,
};

const USAGE: &str = "usage: match-quality [--seeds 1,2,3] [--vendor-accounts N] \
[--partner-accounts N] [--shared-accounts N] [--surname-share F] [--without-phone] [--explain] [--proposals]";

fn main() -> ExitCode {
    let mut seeds: Vec<u64> = vec![1, 2, 3];
    let mut sizes = RealisticOptions::new(0);
    let mut explain = false;
    let mut proposals = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value\n{USAGE}");
                std::process::exit(2)
            })
        };
        let bad = |name: &str| -> ! {
            eprintln!("bad value for {name}\n{USAGE}");
            std::process::exit(2)
        };
        match a.as_str() {
            "--seeds" => {
                seeds = val(&a)
                    .split(',')
                    .map(|s| s.trim().parse().unwrap_or_else(|_| bad("--seeds")))
                    .collect()
            }
            "--vendor-accounts" => {
                sizes.vendor_accounts = val(&a).parse().unwrap_or_else(|_| bad(&a))
            }
            "--partner-accounts" => {
                sizes.partner_accounts = val(&a).parse().unwrap_or_else(|_| bad(&a))
            }
            "--shared-accounts" => {
                sizes.shared_accounts = val(&a).parse().unwrap_or_else(|_| bad(&a))
            }
            "--surname-share" => sizes.surname_share = val(&a).parse().unwrap_or_else(|_| bad(&a)),
            "--without-phone" => sizes.phone_column = false,
            "--explain" => explain = true,
            "--proposals" => proposals = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument {a}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "{} vendor accounts (Salesforce), {} partner accounts (HubSpot), {} shared, \
         {:.0} % surname companies, {}; seeds {seeds:?}\n",
        sizes.vendor_accounts,
        sizes.partner_accounts,
        sizes.shared_accounts,
        100.0 * sizes.surname_share,
        if sizes.phone_column {
            "with a telephone column"
        } else {
            "without a telephone column"
        }
    );
    let mut rows = Vec::new();
    let mut proposal_rows = Vec::new();
    let mut explanations = String::new();
    for &seed in &seeds {
        let opts = RealisticOptions { seed, ..sizes };
        let g = match generate_realistic(&opts) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("generate: {e}");
                return ExitCode::FAILURE;
            }
        };
        for method in Method::all() {
            match measure(&g, method) {
                Ok(s) => {
                    if explain && matches!(method, Method::DEFAULT | Method::V1) {
                        explanations.push_str(&format!("seed {seed}, {}", markdown_diagnosis(&s)));
                        explanations.push('\n');
                    }
                    rows.push((seed, s));
                }
                Err(e) => {
                    eprintln!("{}: {e}", method.label());
                    return ExitCode::FAILURE;
                }
            }
        }
        match measure_perfect_matcher(&g) {
            Ok(bound) => {
                if explain {
                    explanations.push_str(&format!(
                        "seed {seed}, {}\n",
                        markdown_diagnosis(&bound.score)
                    ));
                    explanations.push_str(&markdown_cells(
                        &format!(
                            "seed {seed}, the default policy's cells against the perfect \
                             matcher's (the truth counted in the client's accounts)"
                        ),
                        &bound.default_cells,
                    ));
                    explanations.push('\n');
                }
                rows.push((seed, bound.score));
            }
            Err(e) => {
                eprintln!("perfect matcher: {e}");
                return ExitCode::FAILURE;
            }
        }
        if proposals {
            for p in Proposal::ALL {
                match measure_proposal(&g, p) {
                    Ok(s) => {
                        if explain {
                            explanations
                                .push_str(&format!("seed {seed}, {}", markdown_diagnosis(&s)));
                            explanations.push('\n');
                        }
                        proposal_rows.push((seed, s));
                    }
                    Err(e) => {
                        eprintln!("{}: {e}", p.label());
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }
    // One block per method, seeds together.
    rows.sort_by_key(|(seed, s)| {
        let m = Method::all()
            .iter()
            .position(|m| m.label() == s.method)
            .unwrap_or(usize::MAX);
        (m, *seed)
    });
    print!("{}", markdown_table(&rows));
    if proposals {
        proposal_rows.sort_by_key(|(seed, s)| {
            let m = Proposal::ALL
                .iter()
                .position(|p| p.label() == s.method)
                .unwrap_or(usize::MAX);
            (m, *seed)
        });
        println!(
            "\nProposed changes, emulated in plaintext (not implemented):\n\n{}",
            markdown_table(&proposal_rows)
        );
    }
    if explain {
        println!("\n{explanations}");
    }
    ExitCode::SUCCESS
}
