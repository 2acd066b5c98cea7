//! Match quality on realistic exports, in plaintext (see
//! `cleanroom_tests::quality` and BENCHMARKS.md, "Match quality").
//!
//! Issue 12's targets for the default policy (names count when a strong key
//! is missing, names without a country left out, exact counts): precision
//! ≥ 0.99 on both sides, recall ≥ 0.95, at most 1 % of the lookalikes
//! matched, every cell within max(2 %, 1 account) of the truth. And the check
//! that the generator is hard enough: the version 1 emulation's precision
//! stays below 0.7.
//!
//! The exports are the reference size (20,000 vendor and 15,000 partner
//! accounts, 4,000 shared): how often unrelated companies share a name grows
//! with the lists, and at a fifth of the size the version 1 emulation reaches
//! 0.79–0.83, so a smaller test would not check what the benchmark measures.
//! Three seeds at that size take about 9 s in a debug build.

use cleanroom_client::generate::{
    Format, GenerateOptions, Generated, RealisticOptions, generate, generate_realistic,
};
use cleanroom_tests::quality::{
    Method, Score, markdown_diagnosis, markdown_table, measure, measure_perfect_matcher,
};

const SEEDS: [u64; 3] = [1, 2, 3];

fn exports(seed: u64) -> Generated {
    generate_realistic(&RealisticOptions::new(seed)).expect("generate")
}

fn score(g: &Generated, method: Method) -> Score {
    measure(g, method).expect("measure")
}

/// The easy profile stays inside the client's rules: under the default
/// policy every shared company matches, nothing else does, and every cell
/// equals [`Truth::expected`](cleanroom_client::generate::Truth::expected),
/// which the end-to-end tests compare real sessions with.
#[test]
fn the_easy_profile_is_exact_under_the_default_policy() {
    for (format, seed) in [(Format::Salesforce, 1), (Format::HubSpot, 2)] {
        let g = generate(&GenerateOptions {
            accounts: 3000,
            overlap: 0.3,
            seed,
            format,
        })
        .expect("generate");
        let s = score(&g, Method::DEFAULT);
        assert_eq!(
            s.recalled,
            s.shared,
            "{format:?}\n{}",
            markdown_diagnosis(&s)
        );
        assert_eq!(
            s.true_matched,
            s.matched,
            "{format:?}\n{}",
            markdown_diagnosis(&s)
        );
        assert_eq!(
            s.worst_cell.relative(),
            0.0,
            "{format:?}: {:?}",
            s.worst_cell
        );
        assert_eq!(s.matched, [900, 900], "{format:?}");
    }
}

/// The version 1 default is fooled by these exports (else they are too easy
/// to tell anything), and the version 2 default keeps the lookalikes apart
/// and meets the precision and recall targets: a false match is worse than a
/// missed one, but the default must still find the overlap.
#[test]
fn the_realistic_profile_fools_version_1_but_not_the_default_policy() {
    let mut rows = Vec::new();
    for seed in SEEDS {
        let g = exports(seed);
        let v1 = score(&g, Method::V1);
        let v2 = score(&g, Method::DEFAULT);
        rows.push((seed, v1.clone()));
        rows.push((seed, v2.clone()));
        assert!(
            v1.min_precision() < 0.7,
            "seed {seed}: the version 1 emulation reaches precision {:.4} / {:.4}: \
             the realistic profile is not hard enough\n{}",
            v1.precision(0),
            v1.precision(1),
            markdown_diagnosis(&v1)
        );
        assert!(
            v2.lookalike_rate() <= 0.01,
            "seed {seed}: {} of {} lookalikes matched\n{}",
            v2.lookalikes_matched,
            v2.lookalikes,
            markdown_diagnosis(&v2)
        );
        assert!(
            v2.recall() >= 0.95,
            "seed {seed}: default recall {:.4}\n{}",
            v2.recall(),
            markdown_diagnosis(&v2)
        );
        for side in 0..2 {
            assert!(
                v2.precision(side) >= 0.99,
                "seed {seed}: default precision {:.4} on side {side}\n{}",
                v2.precision(side),
                markdown_diagnosis(&v2)
            );
        }
        // A lookalike is another company in another country: only the
        // country keeps it apart, so version 1 matches many of them.
        assert!(v1.lookalike_rate() > 0.05, "seed {seed}: {v1:?}");
    }
    eprintln!("{}", markdown_table(&rows));
}

/// The bound the cell target is measured against: the default client's
/// accounts matched perfectly (each account to exactly the other side's
/// accounts of its company) are never wrong and find at least what the
/// default finds, yet cells still count accounts, and a company's rows the
/// client may not join (a duplicate without the website, with another of
/// its domains) count once each. The figures are printed: on every seed
/// some cells lie outside max(2 %, 1 account), which is why the full
/// target test below is ignored.
#[test]
fn a_perfect_matcher_bounds_the_default_policy() {
    let mut rows = Vec::new();
    for seed in SEEDS {
        let g = exports(seed);
        let (v2, bound) = (
            score(&g, Method::DEFAULT),
            measure_perfect_matcher(&g).expect("bound").score,
        );
        assert_eq!(bound.true_matched, bound.matched, "seed {seed}");
        assert_eq!(bound.lookalikes_matched, 0, "seed {seed}");
        assert!(
            bound.recalled >= v2.recalled && bound.recall() < 1.0,
            "seed {seed}: the bound recalls {} of {}, the default {}",
            bound.recalled,
            bound.shared,
            v2.recalled
        );
        // Every account the default matched truly is one a perfect matcher
        // matches, so the bound holds at least the default's true matches.
        for side in 0..2 {
            assert!(bound.matched[side] >= v2.true_matched[side], "seed {seed}");
        }
        rows.push((seed, v2));
        rows.push((seed, bound));
    }
    eprintln!("{}", markdown_table(&rows));
}

/// Issue 12's targets for the default policy, all four. Ignored because the
/// cell target is out of reach: on these exports (calibrated against issue
/// 12's real-export figures for version 1) the default reaches precision
/// 0.992–0.995 (target 0.99), recall 0.971–0.975 (target 0.95) and no
/// lookalike (target ≤ 1 %), all three asserted above, but 3 to 9 of the 16
/// cells are more than 2 % from the truth, and so are 3 to 8 under the
/// perfect matcher of the test above: cells count accounts, and a company's
/// rows the client may not join count once each. BENCHMARKS.md ("Match
/// quality") has the figures and the causes; `cargo test -p cleanroom-tests
/// --test match_quality -- --ignored` prints them.
#[test]
#[ignore = "issue 12: the cell target is out of reach even of a perfect matcher on the client's accounts (BENCHMARKS.md, Match quality)"]
fn the_default_policy_meets_the_targets() {
    let mut failures = Vec::new();
    for seed in SEEDS {
        let g = exports(seed);
        let s = score(&g, Method::DEFAULT);
        let mut missed = Vec::new();
        for side in 0..2 {
            if s.precision(side) < 0.99 {
                missed.push(format!(
                    "precision {} {:.4} < 0.99",
                    ["vendor", "partner"][side],
                    s.precision(side)
                ));
            }
        }
        if s.recall() < 0.95 {
            missed.push(format!("recall {:.4} < 0.95", s.recall()));
        }
        if s.lookalike_rate() > 0.01 {
            missed.push(format!(
                "{:.2} % of the lookalikes matched > 1 %",
                100.0 * s.lookalike_rate()
            ));
        }
        if !s.cells_within_tolerance {
            missed.push(format!(
                "{} cells outside max(2 %, 1 account), worst {} × {}: {} for {}",
                s.cells_outside,
                s.worst_cell.vendor_population,
                s.worst_cell.partner_population,
                s.worst_cell.computed,
                s.worst_cell.truth
            ));
        }
        if !missed.is_empty() {
            failures.push(format!(
                "seed {seed}: {}\n{}",
                missed.join("; "),
                markdown_diagnosis(&s)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
