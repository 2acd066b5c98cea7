//! What a party may see of an [`Overlap`]: exact counts with small ones
//! coarsened, or differentially private counts.
//!
//! Exact mode: a count below the minimum cell size `k` is shown as a range
//! `0..=k-1` ("< k"). A population's matched and white-space figures are
//! coarsened to a band of width `k` whenever either is below `k` or any cell on
//! that population's line was suppressed, so nobody can subtract a suppressed
//! cell back out of a marginal.
//!
//! Noisy mode ([`disclose_noisy`]): every figure that depends on an upload gets
//! discrete Laplace noise calibrated to the L1 sensitivity of the whole
//! release ([`sensitivity`]), drawn once from the session's seed, then
//! post-processed (clamped to non-negative, consistent values). "< k" stays as
//! a display rule decided on the noisy value only.

use std::fmt;

use crate::noise::{Mechanism, NoiseSeed, NoiseStream};
use crate::overlap::{Overlap, SideOverlap};

/// A disclosed count: exact, only known to lie within a range, or a noisy
/// estimate with its 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// The exact value.
    Exact(u64),
    /// The value lies in `low..=high`.
    Range {
        /// Inclusive lower bound.
        low: u64,
        /// Inclusive upper bound.
        high: u64,
    },
    /// A differentially private estimate; the true value lies in
    /// `low..=high` with probability at least 95 % (before clamping).
    Approx {
        /// The noisy, post-processed value.
        value: u64,
        /// Inclusive lower end of the 95 % interval.
        low: u64,
        /// Inclusive upper end of the 95 % interval.
        high: u64,
    },
}

impl Count {
    /// The exact value, if disclosed.
    pub fn exact(&self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(*n),
            Count::Range { .. } | Count::Approx { .. } => None,
        }
    }

    /// The exact value or the noisy estimate.
    pub fn estimate(&self) -> Option<u64> {
        match *self {
            Count::Exact(n) | Count::Approx { value: n, .. } => Some(n),
            Count::Range { .. } => None,
        }
    }

    /// Whether `n` is consistent with this disclosure (for an estimate:
    /// within its 95 % interval).
    pub fn admits(&self, n: u64) -> bool {
        match *self {
            Count::Exact(e) => e == n,
            Count::Range { low, high } | Count::Approx { low, high, .. } => {
                (low..=high).contains(&n)
            }
        }
    }
}

/// Formats a number for people: `1234567` as `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Count::Exact(n) => f.write_str(&group_thousands(n)),
            Count::Range { low: 0, high } => write!(f, "< {}", group_thousands(high + 1)),
            Count::Range { low, high } => {
                write!(f, "{}–{}", group_thousands(low), group_thousands(high))
            }
            Count::Approx { value, .. } => write!(f, "≈ {}", group_thousands(value)),
        }
    }
}

/// A disclosed cell of the population matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisclosedCell {
    /// Vendor accounts of the row population matching the column population.
    pub vendor_accounts: Count,
    /// Partner accounts of the column population matching the row population.
    pub partner_accounts: Count,
}

/// Disclosed figures of one population.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisclosedPopulation {
    /// Accounts in the population; `None` when the owner does not share its
    /// white space with the viewer (the total and the matrix would give it).
    pub total: Option<Count>,
    /// Accounts matching anything on the other side; `None` when the owner
    /// does not share white space with the viewer.
    pub matched: Option<Count>,
    /// Accounts matching nothing on the other side; `None` as for `matched`.
    pub white_space: Option<Count>,
}

impl DisclosedPopulation {
    /// Hides everything from which the owner's white space would follow.
    pub fn hide(&mut self) {
        self.total = None;
        self.matched = None;
        self.white_space = None;
    }
}

/// The view of an overlap both sides read, before white-space visibility is
/// applied per viewer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disclosed {
    /// Vendor populations, in the vendor's declared order.
    pub vendor: Vec<DisclosedPopulation>,
    /// Partner populations, in the partner's declared order.
    pub partner: Vec<DisclosedPopulation>,
    /// Row-major vendor × partner populations.
    pub cells: Vec<Vec<DisclosedCell>>,
}

/// L1 sensitivity of the whole noisy release to adding or removing one
/// account of either side, for accounts of at most `max_keys` keys and in at
/// most `max_populations` populations (the implicit "other" one counting).
///
/// For one added partner account `p` (the vendor case is symmetric):
/// - partner totals and matched counts: `p` itself, `2P`;
/// - vendor matched counts: each of `p`'s keys matches at most one vendor
///   account (a key sits on at most one row of an upload), so at most `K`
///   vendor accounts become matched, in at most `P` populations each: `KP`;
/// - cells' vendor accounts: those `K` accounts, in `P × P` cells each: `KP²`;
/// - cells' partner accounts: `p` in its `P` columns, against the at most `KP`
///   rows of the accounts it matched: `KP²`.
///
/// White space is derived (total − matched) and costs nothing more.
pub fn sensitivity(max_keys: u64, max_populations: u64) -> u64 {
    let (k, p) = (max_keys.max(1), max_populations.max(1));
    2 * p + k * p + 2 * k * p * p
}

fn cell_count(n: u64, k: u64) -> Count {
    if k > 1 && n < k {
        Count::Range {
            low: 0,
            high: k - 1,
        }
    } else {
        Count::Exact(n)
    }
}

fn marginal(total: u64, matched: u64, k: u64, line_suppressed: bool) -> DisclosedPopulation {
    let white = total - matched;
    if k <= 1 || (!line_suppressed && matched >= k && white >= k) {
        return DisclosedPopulation {
            total: Some(Count::Exact(total)),
            matched: Some(Count::Exact(matched)),
            white_space: Some(Count::Exact(white)),
        };
    }
    let low = matched / k * k;
    let high = (low + k - 1).min(total);
    DisclosedPopulation {
        total: Some(Count::Exact(total)),
        matched: Some(Count::Range { low, high }),
        white_space: Some(Count::Range {
            low: total - high,
            high: total - low,
        }),
    }
}

fn side(s: &SideOverlap, k: u64, suppressed: impl Fn(usize) -> bool) -> Vec<DisclosedPopulation> {
    (0..s.totals.len())
        .map(|i| marginal(s.totals[i], s.matched[i], k, suppressed(i)))
        .collect()
}

/// Exact mode: applies the minimum cell size `k`; `k <= 1` discloses
/// everything exactly.
pub fn disclose(o: &Overlap, k: u64) -> Disclosed {
    let cells: Vec<Vec<DisclosedCell>> = o
        .cells
        .iter()
        .map(|line| {
            line.iter()
                .map(|c| DisclosedCell {
                    vendor_accounts: cell_count(c.vendor_accounts, k),
                    partner_accounts: cell_count(c.partner_accounts, k),
                })
                .collect()
        })
        .collect();
    let vendor = side(&o.vendor, k, |vp| {
        o.cells[vp].iter().any(|c| c.vendor_accounts < k)
    });
    let partner = side(&o.partner, k, |pp| {
        o.cells.iter().any(|line| line[pp].partner_accounts < k)
    });
    Disclosed {
        vendor,
        partner,
        cells,
    }
}

/// The confidence level of the intervals shown with noisy counts.
pub const INTERVAL_LEVEL: f64 = 0.95;

/// The noisy figures before display rules: what the mechanism released,
/// post-processed. Exposed for test vectors and the attack tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoisyOverlap {
    /// Vendor `(total, matched)` per population.
    pub vendor: Vec<(u64, u64)>,
    /// Partner `(total, matched)` per population.
    pub partner: Vec<(u64, u64)>,
    /// Row-major `(vendor_accounts, partner_accounts)`.
    pub cells: Vec<Vec<(u64, u64)>>,
}

fn noisy(value: u64, noise: i64) -> u64 {
    let v = i128::from(value) + i128::from(noise);
    u64::try_from(v.max(0)).unwrap_or(u64::MAX)
}

/// Draws the noise of a release in the specified order and post-processes it:
/// 1. per vendor population, then per partner population: total, matched;
/// 2. per cell, row-major: vendor accounts, partner accounts.
///
/// Post-processing: totals `max(0, ·)`; matched clamped to `0..=total`; a
/// cell's vendor accounts to `0..=matched` of its vendor population, its
/// partner accounts to `0..=matched` of its partner population.
pub fn noisy_overlap(o: &Overlap, mechanism: &Mechanism, seed: &NoiseSeed) -> NoisyOverlap {
    let mut stream = NoiseStream::new(seed);
    let mut marginals = |s: &SideOverlap| -> Vec<(u64, u64)> {
        (0..s.totals.len())
            .map(|i| {
                let total = noisy(s.totals[i], mechanism.sample(&mut stream));
                let matched = noisy(s.matched[i], mechanism.sample(&mut stream)).min(total);
                (total, matched)
            })
            .collect()
    };
    let vendor = marginals(&o.vendor);
    let partner = marginals(&o.partner);
    let cells = o
        .cells
        .iter()
        .enumerate()
        .map(|(i, line)| {
            line.iter()
                .enumerate()
                .map(|(j, c)| {
                    let v = noisy(c.vendor_accounts, mechanism.sample(&mut stream))
                        .min(vendor.get(i).map_or(0, |m| m.1));
                    let p = noisy(c.partner_accounts, mechanism.sample(&mut stream))
                        .min(partner.get(j).map_or(0, |m| m.1));
                    (v, p)
                })
                .collect()
        })
        .collect();
    NoisyOverlap {
        vendor,
        partner,
        cells,
    }
}

fn approx(value: u64, half_width: u64) -> Count {
    Count::Approx {
        value,
        low: value.saturating_sub(half_width),
        high: value.saturating_add(half_width),
    }
}

/// Noisy mode: the release of [`noisy_overlap`] with 95 % intervals; a cell
/// whose noisy value is below `k` is shown as "< k" (a display rule on noisy
/// values only, which costs no privacy).
pub fn disclose_noisy(o: &Overlap, k: u64, mechanism: &Mechanism, seed: &NoiseSeed) -> Disclosed {
    let n = noisy_overlap(o, mechanism, seed);
    let w = mechanism.half_width(INTERVAL_LEVEL);
    let w_diff = mechanism.difference_half_width(INTERVAL_LEVEL);
    let side = |figures: &[(u64, u64)]| -> Vec<DisclosedPopulation> {
        figures
            .iter()
            .map(|&(total, matched)| DisclosedPopulation {
                total: Some(approx(total, w)),
                matched: Some(approx(matched, w)),
                white_space: Some(approx(total - matched, w_diff)),
            })
            .collect()
    };
    let cell = |v: u64| {
        if k > 1 && v < k {
            Count::Range {
                low: 0,
                high: k - 1,
            }
        } else {
            approx(v, w)
        }
    };
    Disclosed {
        vendor: side(&n.vendor),
        partner: side(&n.partner),
        cells: n
            .cells
            .iter()
            .map(|line| {
                line.iter()
                    .map(|&(v, p)| DisclosedCell {
                        vendor_accounts: cell(v),
                        partner_accounts: cell(p),
                    })
                    .collect()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlap::Cell;

    fn overlap(
        cells: Vec<Vec<(u64, u64)>>,
        v: (Vec<u64>, Vec<u64>),
        p: (Vec<u64>, Vec<u64>),
    ) -> Overlap {
        Overlap {
            vendor: SideOverlap {
                totals: v.0,
                matched: v.1,
                matched_rows: vec![],
            },
            partner: SideOverlap {
                totals: p.0,
                matched: p.1,
                matched_rows: vec![],
            },
            cells: cells
                .into_iter()
                .map(|l| {
                    l.into_iter()
                        .map(|(a, b)| Cell {
                            vendor_accounts: a,
                            partner_accounts: b,
                        })
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn large_counts_are_exact() {
        let o = overlap(
            vec![vec![(10, 12)]],
            (vec![100], vec![10]),
            (vec![50], vec![12]),
        );
        let d = disclose(&o, 5);
        assert_eq!(d.cells[0][0].vendor_accounts, Count::Exact(10));
        assert_eq!(d.vendor[0].white_space, Some(Count::Exact(90)));
        assert_eq!(d.partner[0].matched, Some(Count::Exact(12)));
    }

    #[test]
    fn small_cells_and_their_marginals_are_coarsened() {
        // Two partner populations; the second cell on the vendor line is 3 < k.
        let o = overlap(
            vec![vec![(20, 20), (3, 3)]],
            (vec![100], vec![23]),
            (vec![60, 60], vec![20, 3]),
        );
        let d = disclose(&o, 5);
        assert_eq!(
            d.cells[0][1].vendor_accounts,
            Count::Range { low: 0, high: 4 }
        );
        assert_eq!(d.cells[0][1].vendor_accounts.to_string(), "< 5");
        // 23 must not be shown exactly, else 23 - 20 = 3 leaks.
        let m = d.vendor[0].matched.unwrap();
        assert_eq!(m, Count::Range { low: 20, high: 24 });
        assert!(m.admits(23));
        let w = d.vendor[0].white_space.unwrap();
        assert_eq!(w, Count::Range { low: 76, high: 80 });
        assert!(w.admits(77));
        assert_eq!(d.partner[1].matched, Some(Count::Range { low: 0, high: 4 }));
    }

    #[test]
    fn tiny_white_space_is_coarsened() {
        let o = overlap(
            vec![vec![(98, 98)]],
            (vec![100], vec![98]),
            (vec![100], vec![98]),
        );
        let d = disclose(&o, 5);
        assert!(d.vendor[0].matched.unwrap().exact().is_none());
        assert!(d.vendor[0].white_space.unwrap().admits(2));
    }

    #[test]
    fn k_one_is_exact() {
        let o = overlap(vec![vec![(0, 0)]], (vec![10], vec![0]), (vec![10], vec![0]));
        let d = disclose(&o, 0);
        assert_eq!(d.cells[0][0].vendor_accounts, Count::Exact(0));
        assert_eq!(d.vendor[0].white_space, Some(Count::Exact(10)));
        assert_eq!(d.vendor[0].total, Some(Count::Exact(10)));
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1234), "1,234");
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(
            Count::Range {
                low: 1000,
                high: 1004
            }
            .to_string(),
            "1,000–1,004"
        );
    }
}
