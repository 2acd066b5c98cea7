//! What a party may see of an [`Overlap`]: small counts are coarsened.
//!
//! A count below the minimum cell size `k` is shown as a range `0..=k-1`
//! ("< k"). A population's matched and white-space figures are coarsened to a
//! band of width `k` whenever either is below `k` or any cell on that
//! population's line was suppressed, so nobody can subtract a suppressed cell
//! back out of a marginal.

use std::fmt;

use crate::overlap::{Overlap, SideOverlap};

/// A disclosed count: exact, or only known to lie within a range.
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
}

impl Count {
    /// The exact value, if disclosed.
    pub fn exact(&self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(*n),
            Count::Range { .. } => None,
        }
    }

    /// Whether `n` is consistent with this disclosure.
    pub fn admits(&self, n: u64) -> bool {
        match *self {
            Count::Exact(e) => e == n,
            Count::Range { low, high } => (low..=high).contains(&n),
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
    /// Accounts in the population (the owner's own upload size).
    pub total: u64,
    /// Accounts matching anything on the other side; `None` when the owner
    /// does not share white space with the viewer.
    pub matched: Option<Count>,
    /// Accounts matching nothing on the other side; `None` as for `matched`.
    pub white_space: Option<Count>,
}

/// The coarsened view of an overlap, before white-space visibility is applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disclosed {
    /// Vendor populations, in the vendor's declared order.
    pub vendor: Vec<DisclosedPopulation>,
    /// Partner populations, in the partner's declared order.
    pub partner: Vec<DisclosedPopulation>,
    /// Row-major vendor × partner populations.
    pub cells: Vec<Vec<DisclosedCell>>,
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
            total,
            matched: Some(Count::Exact(matched)),
            white_space: Some(Count::Exact(white)),
        };
    }
    let low = matched / k * k;
    let high = (low + k - 1).min(total);
    DisclosedPopulation {
        total,
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

/// Applies the minimum cell size `k`; `k <= 1` discloses everything exactly.
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
