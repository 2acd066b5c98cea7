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

use rayon::slice::ParallelSliceMut;

use crate::key::KeyType;
use crate::token::MatchToken;
use crate::wire::{KeyCounts, MAX_POPULATIONS};

/// When a weak (company name) match counts.
///
/// A name key carries the account's country (or none, and then it only meets
/// other country-less names), and a client never uploads a name that several
/// of its own accounts share; these modes decide the rest.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum NameMatching {
    /// Names never match on their own.
    Never,
    /// A name match counts unless the two accounts both carry a domain, or
    /// both a DUNS, and share none: two such accounts are two companies with
    /// one name, whatever the name says. A DUNS on one side and only a
    /// website on the other do not contradict each other. Likewise a match
    /// of the country-qualified name does not count when both accounts carry
    /// a city-qualified name and those differ: same-name businesses of one
    /// country in two cities. A match of the city-, postcode- or
    /// phone-qualified name counts under the strong-key rule alone; postal
    /// codes and telephone numbers never contradict a match (two CRMs record
    /// them in too many forms, and a company has many numbers).
    /// Stored policies from version 1 (`when-domain-missing`) read as this.
    #[default]
    #[serde(alias = "when-domain-missing")]
    WhenStrongKeyMissing,
    /// Every name match counts, even between accounts whose websites differ.
    /// Only for lists whose websites are known to be unreliable.
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

impl Cell {
    /// A matrix from `(vendor_accounts, partner_accounts)` pairs, row-major
    /// (test vectors and tests write overlaps this way).
    pub fn grid(rows: Vec<Vec<(u64, u64)>>) -> Vec<Vec<Cell>> {
        rows.into_iter()
            .map(|line| {
                line.into_iter()
                    .map(|(vendor_accounts, partner_accounts)| Cell {
                        vendor_accounts,
                        partner_accounts,
                    })
                    .collect()
            })
            .collect()
    }
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
    /// One row id carries more keys of one type than a row may
    /// ([`crate::wire::max_keys_of`]), or more than
    /// [`crate::wire::MAX_KEYS_PER_ROW`] in all.
    #[error("row {row_id} has too many keys (at a {key_type} key)")]
    DuplicateKey {
        /// The offending opaque row id.
        row_id: u32,
        /// The duplicated key type.
        key_type: KeyType,
    },
    /// More records on one side than a 32-bit record index can address.
    #[error("at most 2^32 - 1 records per side")]
    TooManyRecords,
    /// More populations declared than the wire format can carry.
    #[error("at most {MAX_POPULATIONS} populations per side")]
    TooManyPopulations,
}

struct Row {
    id: u32,
    populations: u64,
    keys: KeyCounts,
}

/// [`Row::class`] bits of the strong key types.
const STRONG_CLASS: usize = 0b011;
/// [`Row::class`] bit of the city-qualified name.
const CITY_CLASS: usize = 0b100;

impl Row {
    /// Which key types that can contradict a name match the row carries:
    /// bit 0 domain, bit 1 DUNS, bit 2 city-qualified name.
    fn class(&self) -> usize {
        usize::from(self.keys.has(KeyType::Domain))
            | (usize::from(self.keys.has(KeyType::Duns)) << 1)
            | (usize::from(self.keys.has(KeyType::CityName)) << 2)
    }
}

/// Groups records into rows, checking each row is consistent. Rows come out
/// in ascending id order.
fn rows_of(records: &[TokenRecord]) -> Result<(Vec<Row>, Vec<u32>), OverlapError> {
    if records.len() > u32::MAX as usize {
        return Err(OverlapError::TooManyRecords);
    }
    // Sorting (row id, record index) pairs instead of hashing row ids: the ids
    // are peer-chosen, so a hash table would need a DoS-resistant (slow) hasher,
    // and clients send records in row order, which the sort recognizes in linear time.
    let mut order: Vec<u64> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (u64::from(r.row_id) << 32) | i as u64)
        .collect();
    order.sort_unstable();
    let mut rows: Vec<Row> = Vec::new();
    let mut row_of_record = vec![0u32; records.len()];
    for &o in &order {
        let index = (o & u64::from(u32::MAX)) as usize;
        let r = &records[index];
        match rows.last_mut() {
            Some(row) if row.id == r.row_id => {
                if row.populations != r.populations {
                    return Err(OverlapError::InconsistentPopulations { row_id: r.row_id });
                }
                if !row.keys.add(r.key_type) {
                    return Err(OverlapError::DuplicateKey {
                        row_id: r.row_id,
                        key_type: r.key_type,
                    });
                }
            }
            _ => {
                let mut keys = KeyCounts::default();
                keys.add(r.key_type);
                rows.push(Row {
                    id: r.row_id,
                    populations: r.populations,
                    keys,
                })
            }
        }
        // Fits: there are no more rows than records, checked above.
        row_of_record[index] = (rows.len() - 1) as u32;
    }
    Ok((rows, row_of_record))
}

/// One record in join order: by token, then key type.
struct JoinEntry {
    token: u128,
    key_type: KeyType,
    row: u32,
}

fn join_entries(records: &[TokenRecord], row_of: &[u32]) -> Vec<JoinEntry> {
    let mut entries: Vec<JoinEntry> = records
        .iter()
        .zip(row_of)
        .map(|(r, &row)| JoinEntry {
            token: u128::from_be_bytes(r.token.0),
            key_type: r.key_type,
            row,
        })
        .collect();
    entries.par_sort_unstable_by_key(|e| (e.token, e.key_type));
    entries
}

/// What one side of a token group offers the other: the union of its rows'
/// populations, over all rows and per [`Row::class`], and whether each set
/// is non-empty.
#[derive(Default)]
struct GroupSummary {
    any: bool,
    all: u64,
    by_class: [Option<u64>; 8],
}

impl GroupSummary {
    fn of(group: &[JoinEntry], rows: &[Row]) -> Self {
        let mut s = Self::default();
        for e in group {
            let row = &rows[e.row as usize];
            s.any = true;
            s.all |= row.populations;
            *s.by_class[row.class()].get_or_insert(0) |= row.populations;
        }
        s
    }

    /// The populations `row` matches in this group, `None` when it matches no row.
    fn matched_by(&self, policy: &MatchPolicy, key_type: KeyType, row: &Row) -> Option<u64> {
        let all = self.any.then_some(self.all);
        // A weak match counts unless both rows carry a key of one type that
        // contradicts it and, as they are in a weak group, share none: both
        // a domain, or both a DUNS (two companies with one name), or, for
        // the country-qualified name, both a city-qualified name (two
        // same-name companies in two cities: had the cities agreed, the
        // city-qualified names would match instead). A DUNS against a
        // website says nothing either way.
        let contradicting = match key_type {
            KeyType::Domain | KeyType::Duns => return all,
            KeyType::Name => STRONG_CLASS | CITY_CLASS,
            KeyType::CityName | KeyType::PostcodeName | KeyType::PhoneName => STRONG_CLASS,
        };
        match policy.name_matching {
            NameMatching::Never => None,
            NameMatching::Always => all,
            NameMatching::WhenStrongKeyMissing => {
                let mine = row.class() & contradicting;
                self.by_class
                    .iter()
                    .enumerate()
                    .filter(|&(theirs, _)| theirs & mine == 0)
                    .filter_map(|(_, pops)| *pops)
                    .reduce(|a, b| a | b)
            }
        }
    }
}

/// Marks the rows of `group` with what they match in the other side's group.
fn mark(
    group: &[JoinEntry],
    rows: &[Row],
    other: &GroupSummary,
    policy: &MatchPolicy,
    hit: &mut [Option<u64>],
) {
    for e in group {
        if let Some(mask) = other.matched_by(policy, e.key_type, &rows[e.row as usize]) {
            *hit[e.row as usize].get_or_insert(0) |= mask;
        }
    }
}

/// The end of the run of entries equal to `entries[start]` in join order.
fn group_end(entries: &[JoinEntry], start: usize) -> usize {
    let (t, k) = (entries[start].token, entries[start].key_type);
    start
        + entries[start..]
            .iter()
            .take_while(|e| e.token == t && e.key_type == k)
            .count()
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
    // `rows_of` yields rows in ascending id order, so these are sorted already.
    s
}

/// Computes the overlap of a session.
///
/// `vendor` holds the vendor's records with the tokens the partner derived
/// from them, `partner` the reverse. Runs in `O(n log n)` in the records
/// whatever their tokens (a sort-merge join that never visits pairs one by
/// one), on all cores of the current rayon pool.
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
    let (v_rows, p_rows) = rayon::join(|| rows_of(vendor), || rows_of(partner));
    let ((v_rows, v_row_of), (p_rows, p_row_of)) = (v_rows?, p_rows?);

    let (v_join, p_join) = rayon::join(
        || join_entries(vendor, &v_row_of),
        || join_entries(partner, &p_row_of),
    );

    // For each row: None when unmatched, else the union of the other side's
    // population bits over its matches (0 when it only matched unpopulated rows).
    // Merging the two sorted lists group by group keeps the work linear even
    // when a peer makes many records share one token: each group is summarized
    // once per side instead of visiting every pair.
    let mut v_hit: Vec<Option<u64>> = vec![None; v_rows.len()];
    let mut p_hit: Vec<Option<u64>> = vec![None; p_rows.len()];
    let (mut i, mut j) = (0, 0);
    while i < v_join.len() && j < p_join.len() {
        let (v, p) = (&v_join[i], &p_join[j]);
        match (v.token, v.key_type).cmp(&(p.token, p.key_type)) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let (i_end, j_end) = (group_end(&v_join, i), group_end(&p_join, j));
                let (v_group, p_group) = (&v_join[i..i_end], &p_join[j..j_end]);
                let (v_sum, p_sum) = (
                    GroupSummary::of(v_group, &v_rows),
                    GroupSummary::of(p_group, &p_rows),
                );
                mark(v_group, &v_rows, &p_sum, policy, &mut v_hit);
                mark(p_group, &p_rows, &v_sum, policy, &mut p_hit);
                (i, j) = (i_end, j_end);
            }
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
