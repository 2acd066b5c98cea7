//! Overlap semantics: which accounts match, and the counts both sides see.
//!
//! Definitions (PROTOCOL.md section "Overlap semantics" is normative):
//! - an *account* is a distinct row id on one side;
//! - two accounts *match* when they share a token of the same key type and the
//!   [`MatchPolicy`] accepts that key type for the pair;
//! - cell `(v, p)` counts `vendor_accounts`: vendor accounts in population `v`
//!   matching at least one partner account in population `p`, and
//!   `partner_accounts`: partner accounts in `p` matching at least one vendor
//!   account in `v`. They differ when one account matches several;
//! - `matched[i]` counts accounts of population `i` matching any account of the
//!   other side's upload, in a population or not; white space is `total - matched`.

use std::collections::HashMap;

use crate::key::KeyType;
use crate::token::MatchToken;
use crate::wire::MAX_POPULATIONS;

/// When a weak (company name) match counts.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum NameMatching {
    /// Names never match on their own.
    Never,
    /// A name match counts only when at least one of the two accounts has no domain key.
    #[default]
    WhenDomainMissing,
    /// Every name match counts.
    Always,
}

/// Which matches count. Domain and DUNS matches always do.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct MatchPolicy {
    /// When a company-name match counts.
    #[serde(default)]
    pub name_matching: NameMatching,
}

/// One key of one account with its match token, as the server holds it after
/// the counterpart re-blinded and hashed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// The owner's opaque row id.
    pub row_id: u32,
    /// The owner's population bits for the row.
    pub populations: u64,
    /// Which kind of key.
    pub key_type: KeyType,
    /// The token of the doubly-blinded key.
    pub token: MatchToken,
}

/// Overlap figures of one cell of the population matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    /// Distinct vendor accounts of the row's population that match the column's population.
    pub vendor_accounts: u64,
    /// Distinct partner accounts of the column's population that match the row's population.
    pub partner_accounts: u64,
}

/// One side's figures: per population, and per matched row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SideOverlap {
    /// Distinct accounts per population.
    pub totals: Vec<u64>,
    /// Distinct accounts per population that match anything on the other side.
    pub matched: Vec<u64>,
    /// Every matched row: its id and the union of the counterpart populations it matched.
    pub matched_rows: Vec<(u32, u64)>,
}

impl SideOverlap {
    /// White space of population `i`: accounts with no match anywhere.
    pub fn white_space(&self, i: usize) -> u64 {
        self.totals[i] - self.matched[i]
    }
}

/// The full, undisclosed result of a session. Only the server holds it; what
/// each side sees goes through [`crate::disclosure`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overlap {
    /// The vendor's figures.
    pub vendor: SideOverlap,
    /// The partner's figures.
    pub partner: SideOverlap,
    /// Row-major `vendor populations × partner populations`.
    pub cells: Vec<Vec<Cell>>,
}

/// Why the records of a session cannot be matched.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlapError {
    /// One row id carries different population bits on different records.
    #[error("row {row_id} has inconsistent populations across its keys")]
    InconsistentPopulations {
        /// The offending opaque row id.
        row_id: u32,
    },
    /// One row id carries two keys of the same type.
    #[error("row {row_id} has two {key_type} keys")]
    DuplicateKey {
        /// The offending opaque row id.
        row_id: u32,
        /// The duplicated key type.
        key_type: KeyType,
    },
    /// More populations declared than the wire format can carry.
    #[error("at most {MAX_POPULATIONS} populations per side")]
    TooManyPopulations,
}

struct Row {
    id: u32,
    populations: u64,
    key_types: u8,
}

impl Row {
    fn has(&self, k: KeyType) -> bool {
        self.key_types & (1 << k.to_byte()) != 0
    }
}

/// Groups records into rows, checking each row is consistent.
fn rows_of(records: &[TokenRecord]) -> Result<(Vec<Row>, Vec<usize>), OverlapError> {
    let mut index: HashMap<u32, usize> = HashMap::with_capacity(records.len());
    let mut rows: Vec<Row> = Vec::new();
    let mut row_of_record = Vec::with_capacity(records.len());
    for r in records {
        let i = *index.entry(r.row_id).or_insert_with(|| {
            rows.push(Row {
                id: r.row_id,
                populations: r.populations,
                key_types: 0,
            });
            rows.len() - 1
        });
        let row = &mut rows[i];
        if row.populations != r.populations {
            return Err(OverlapError::InconsistentPopulations { row_id: r.row_id });
        }
        let bit = 1 << r.key_type.to_byte();
        if row.key_types & bit != 0 {
            return Err(OverlapError::DuplicateKey {
                row_id: r.row_id,
                key_type: r.key_type,
            });
        }
        row.key_types |= bit;
        row_of_record.push(i);
    }
    Ok((rows, row_of_record))
}

fn counts(policy: &MatchPolicy, key_type: KeyType, a: &Row, b: &Row) -> bool {
    match key_type {
        KeyType::Domain | KeyType::Duns => true,
        KeyType::Name => match policy.name_matching {
            NameMatching::Never => false,
            NameMatching::Always => true,
            NameMatching::WhenDomainMissing => !(a.has(KeyType::Domain) && b.has(KeyType::Domain)),
        },
    }
}

fn side(rows: &[Row], pops: usize, hit: &[Option<u64>]) -> SideOverlap {
    let mut s = SideOverlap {
        totals: vec![0; pops],
        matched: vec![0; pops],
        matched_rows: Vec::new(),
    };
    for (row, h) in rows.iter().zip(hit) {
        for (p, (total, matched)) in s.totals.iter_mut().zip(s.matched.iter_mut()).enumerate() {
            if row.populations & (1 << p) != 0 {
                *total += 1;
                if h.is_some() {
                    *matched += 1;
                }
            }
        }
        if let Some(mask) = h {
            s.matched_rows.push((row.id, *mask));
        }
    }
    s.matched_rows.sort_unstable();
    s
}

/// Computes the overlap of a session.
///
/// `vendor` holds the vendor's records with the tokens the partner derived
/// from them, `partner` the reverse. Runs in time linear in the records plus
/// the number of matching pairs.
pub fn compute(
    vendor: &[TokenRecord],
    vendor_populations: usize,
    partner: &[TokenRecord],
    partner_populations: usize,
    policy: &MatchPolicy,
) -> Result<Overlap, OverlapError> {
    if vendor_populations > MAX_POPULATIONS || partner_populations > MAX_POPULATIONS {
        return Err(OverlapError::TooManyPopulations);
    }
    let (v_rows, v_row_of) = rows_of(vendor)?;
    let (p_rows, p_row_of) = rows_of(partner)?;

    let mut by_token: HashMap<MatchToken, Vec<usize>> = HashMap::with_capacity(partner.len());
    for (rec, &row) in partner.iter().zip(&p_row_of) {
        by_token.entry(rec.token).or_default().push(row);
    }

    // For each row: None when unmatched, else the union of the other side's
    // population bits over its matches (0 when it only matched unpopulated rows).
    let mut v_hit: Vec<Option<u64>> = vec![None; v_rows.len()];
    let mut p_hit: Vec<Option<u64>> = vec![None; p_rows.len()];
    for (rec, &vi) in vendor.iter().zip(&v_row_of) {
        let Some(others) = by_token.get(&rec.token) else {
            continue;
        };
        for &pi in others {
            let (v, p) = (&v_rows[vi], &p_rows[pi]);
            if !counts(policy, rec.key_type, v, p) {
                continue;
            }
            *v_hit[vi].get_or_insert(0) |= p.populations;
            *p_hit[pi].get_or_insert(0) |= v.populations;
        }
    }

    let mut cells = vec![vec![Cell::default(); partner_populations]; vendor_populations];
    for (row, hit) in v_rows.iter().zip(&v_hit) {
        let Some(mask) = hit else { continue };
        for (vp, line) in cells.iter_mut().enumerate() {
            if row.populations & (1 << vp) == 0 {
                continue;
            }
            for (pp, cell) in line.iter_mut().enumerate() {
                if mask & (1 << pp) != 0 {
                    cell.vendor_accounts += 1;
                }
            }
        }
    }
    for (row, hit) in p_rows.iter().zip(&p_hit) {
        let Some(mask) = hit else { continue };
        for (vp, line) in cells.iter_mut().enumerate() {
            if mask & (1 << vp) == 0 {
                continue;
            }
            for (pp, cell) in line.iter_mut().enumerate() {
                if row.populations & (1 << pp) != 0 {
                    cell.partner_accounts += 1;
                }
            }
        }
    }

    Ok(Overlap {
        vendor: side(&v_rows, vendor_populations, &v_hit),
        partner: side(&p_rows, partner_populations, &p_hit),
        cells,
    })
}
