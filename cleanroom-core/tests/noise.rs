//! The noisy-counts mechanism: its distribution, determinism and post-processing.

use cleanroom_core::disclosure::{Count, disclose_noisy, noisy_overlap, sensitivity};
use cleanroom_core::noise::{EPSILON_SCALE, Mechanism, NoiseSeed, NoiseStream};
use cleanroom_core::overlap::{Cell, Overlap, SideOverlap};
use proptest::prelude::*;

fn mechanism(epsilon_micro: u64, delta: u64) -> Mechanism {
    Mechanism {
        epsilon_micro,
        sensitivity: delta,
    }
}

/// The empirical distribution of many draws matches the two-sided geometric
/// pmf: a chi-square test over the central values plus two tails, at a
/// threshold that a correct sampler exceeds with probability about 1e-6.
#[test]
fn draws_follow_the_discrete_laplace_pmf() {
    for (eps, delta, seed) in [
        (EPSILON_SCALE, 11, 1u8),
        (EPSILON_SCALE / 2, 3, 2),
        (3 * EPSILON_SCALE, 1, 3),
    ] {
        let m = mechanism(eps, delta);
        let mut st = NoiseStream::new(&NoiseSeed::from_bytes([seed; 32]));
        let n = 60_000usize;
        let draws: Vec<i64> = (0..n).map(|_| m.sample(&mut st)).collect();
        let w = m.half_width(0.95) as i64;
        // Bins: each z in -w..=w, plus z < -w and z > w.
        let mut observed = vec![0f64; (2 * w + 3) as usize];
        for &z in &draws {
            let bin = if z < -w {
                0
            } else if z > w {
                2 * w + 2
            } else {
                z + w + 1
            };
            observed[bin as usize] += 1.0;
        }
        let tail: f64 = 1.0 - (-w..=w).map(|z| m.pmf(z)).sum::<f64>();
        let mut chi2 = 0.0f64;
        let mut dof = 0.0f64;
        for (bin, o) in observed.iter().enumerate() {
            let p = match bin as i64 {
                0 => tail / 2.0,
                b if b == 2 * w + 2 => tail / 2.0,
                b => m.pmf(b - w - 1),
            };
            let e = p * n as f64;
            if e >= 5.0 {
                chi2 += (o - e) * (o - e) / e;
                dof += 1.0;
            }
        }
        // Wilson–Hilferty: the chi-square quantile at 1 - 1e-6 is below dof + 7.5·sqrt(2·dof) for these dof.
        let limit = dof + 7.5 * (2.0 * dof).sqrt();
        assert!(
            chi2 < limit,
            "eps {eps} delta {delta}: chi2 {chi2:.1} over {dof} bins, limit {limit:.1}"
        );
        // Symmetric and centred.
        let mean = draws.iter().sum::<i64>() as f64 / n as f64;
        let sd = (2.0 * m.q() / (1.0 - m.q()).powi(2)).sqrt();
        assert!(mean.abs() < 6.0 * sd / (n as f64).sqrt(), "mean {mean}");
        // The 95 % interval covers at least 95 % of the draws, as the pmf says
        // (more where the distribution is so narrow that a step overshoots).
        let inside = draws.iter().filter(|z| z.abs() <= w).count() as f64 / n as f64;
        let want: f64 = (-w..=w).map(|z| m.pmf(z)).sum();
        assert!(want >= 0.95, "pmf coverage {want}");
        assert!((inside - want).abs() < 0.006, "coverage {inside} vs {want}");
    }
}

#[test]
fn sensitivity_formula() {
    // K = 3 keys, one population: 2 + 3 + 6.
    assert_eq!(sensitivity(3, 1), 11);
    assert_eq!(sensitivity(10, 1), 32);
    assert_eq!(sensitivity(3, 2), 4 + 6 + 24);
}

fn arb_overlap() -> impl Strategy<Value = Overlap> {
    (1usize..4, 1usize..4).prop_flat_map(|(nv, np)| {
        let side = |n: usize| {
            proptest::collection::vec((0u64..500, 0u64..500), n).prop_map(|v| SideOverlap {
                totals: v.iter().map(|(t, m)| t.max(m)).copied().collect(),
                matched: v.iter().map(|(t, m)| *t.min(m)).collect(),
                matched_rows: vec![],
            })
        };
        (
            side(nv),
            side(np),
            proptest::collection::vec(proptest::collection::vec((0u64..300, 0u64..300), np), nv),
        )
            .prop_map(|(vendor, partner, cells)| Overlap {
                vendor,
                partner,
                cells: Cell::grid(cells),
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Fetching again or recomputing after a crash uses the stored seed:
    /// the same overlap and seed always give the same release, and the
    /// release is consistent (non-negative, matched within total, cells
    /// within their populations' matched).
    #[test]
    fn releases_are_deterministic_and_consistent(o in arb_overlap(), seed in any::<[u8; 32]>(), eps in 50_000u64..3_000_000) {
        let m = mechanism(eps, sensitivity(3, 1));
        let s = NoiseSeed::from_bytes(seed);
        let a = noisy_overlap(&o, &m, &s);
        prop_assert_eq!(&a, &noisy_overlap(&o, &m, &s));
        prop_assert_eq!(disclose_noisy(&o, 5, &m, &s), disclose_noisy(&o, 5, &m, &s));
        for &(t, mt) in a.vendor.iter().chain(&a.partner) {
            prop_assert!(mt <= t);
        }
        for (i, line) in a.cells.iter().enumerate() {
            for (j, &(v, p)) in line.iter().enumerate() {
                prop_assert!(v <= a.vendor[i].1);
                prop_assert!(p <= a.partner[j].1);
            }
        }
        let d = disclose_noisy(&o, 5, &m, &s);
        for f in d.vendor.iter().chain(&d.partner) {
            let (Some(Count::Approx { value: t, .. }), Some(Count::Approx { value: mt, .. }), Some(Count::Approx { value: w, .. })) = (f.total, f.matched, f.white_space) else {
                panic!("noisy marginals are approximate: {f:?}");
            };
            prop_assert_eq!(t, mt + w);
        }
        for line in &d.cells {
            for c in line {
                for v in [c.vendor_accounts, c.partner_accounts] {
                    match v {
                        Count::Range { low: 0, high: 4 } => {}
                        Count::Approx { value, low, high } => prop_assert!(value >= 5 && low <= value && value <= high),
                        other => prop_assert!(false, "unexpected {other:?}"),
                    }
                }
            }
        }
    }
}
