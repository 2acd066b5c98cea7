//! Match quality, measured in plaintext against the generator's truth.
//!
//! Both exports are prepared with the real client ([`prepare()`]) under the
//! partnership's rule for names without a country; every key of every
//! account becomes a [`TokenRecord`] whose token is the first 16 bytes of the
//! SHA-256 of the key's message. Equal keys give equal tokens and different
//! keys different ones, exactly as the blinded protocol's tokens do, so
//! [`overlap::compute`] sees the same matches a real session would. The
//! figures are then scored against the truth ([`Truth`]):
//!
//! - **precision**, per side: of the accounts that matched, the share whose
//!   company is really on the other side (an account merged from several
//!   rows counts as right when any of its companies is);
//! - **recall**: of the companies on both sides, the share matched on both;
//! - **lookalikes matched**: lookalike companies (another company's name,
//!   another country, on the other side) whose account matched;
//! - **worst cell error**: the largest `|computed − truth| / truth` over the
//!   cells of the population matrix (vendor and partner counts of each cell;
//!   a cell whose truth is 0 is divided by 1), and whether every cell lies
//!   within `max(2 %, 1 account)` of the truth.
//!
//! [`Method::V1`] emulates the version 1 client and server from the CSV with
//! the core normalizers, for comparison: one website column (with the
//! HubSpot fallback), names without the country, rows without a website
//! merged on a shared name, names uploaded however many accounts share them,
//! and a name match counted when at least one of the two accounts has no
//! *domain* (a DUNS number did not count). [`Method::V1Never`] and
//! [`Method::V1Always`] are the same client with version 1's other two name
//! rules (names never count; names always count): issue 12 reports all three
//! on real exports, and the generator's realistic profile is calibrated
//! against them.

use std::collections::{BTreeMap, HashMap, HashSet};

use cleanroom_client::csv_input::{CsvTable, parse_csv};
use cleanroom_client::generate::{EntityKind, Generated, Truth};
use cleanroom_client::populations::BoundPopulations;
use cleanroom_client::presets::Preset;
use cleanroom_client::progress::no_progress;
use cleanroom_client::{InputOptions, PreparedInput, prepare};
use cleanroom_core::api::NamesWithoutCountry;
use cleanroom_core::overlap::{self, MatchPolicy, NameMatching, TokenRecord};
use cleanroom_core::token::MatchToken;
use cleanroom_core::wire::OTHER_POPULATION;
use cleanroom_core::{KeyType, normalize};
use sha2::{Digest, Sha256};

/// How the accounts are prepared and matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The version 2 client and server under a partnership policy.
    V2 {
        /// When a name match counts.
        name_matching: NameMatching,
        /// What accounts without a usable country upload for their name.
        names_without_country: NamesWithoutCountry,
    },
    /// The version 1 default, emulated (see the module documentation).
    V1,
    /// Version 1 with name matching `never` (domain and DUNS keys only).
    V1Never,
    /// Version 1 with name matching `always`.
    V1Always,
}

impl Method {
    /// The version 2 default: names count when a strong key is missing,
    /// names without a country are left out.
    pub const DEFAULT: Method = Method::V2 {
        name_matching: NameMatching::WhenStrongKeyMissing,
        names_without_country: NamesWithoutCountry::Omit,
    };

    /// The methods a report compares: every version 2 name rule, and version 1.
    pub fn all() -> Vec<Method> {
        let v2 = |name_matching, names_without_country| Method::V2 {
            name_matching,
            names_without_country,
        };
        vec![
            Method::DEFAULT,
            v2(
                NameMatching::WhenStrongKeyMissing,
                NamesWithoutCountry::Unqualified,
            ),
            v2(NameMatching::Never, NamesWithoutCountry::Omit),
            v2(NameMatching::Always, NamesWithoutCountry::Omit),
            v2(NameMatching::Always, NamesWithoutCountry::Unqualified),
            Method::V1,
            Method::V1Never,
            Method::V1Always,
        ]
    }

    /// A short label: `when-strong-key-missing, omit`, `v1 emulation`.
    pub fn label(&self) -> String {
        match self {
            Method::V2 {
                name_matching,
                names_without_country,
            } => {
                let m = match name_matching {
                    NameMatching::Never => "never",
                    NameMatching::WhenStrongKeyMissing => "when-strong-key-missing",
                    NameMatching::Always => "always",
                };
                let default = if *self == Method::DEFAULT {
                    " (default)"
                } else {
                    ""
                };
                format!(
                    "v2 {m}, names without country: {}{default}",
                    names_without_country.as_str()
                )
            }
            Method::V1 => "v1 emulation (when-domain-missing)".to_owned(),
            Method::V1Never => "v1 emulation (never)".to_owned(),
            Method::V1Always => "v1 emulation (always)".to_owned(),
        }
    }
}

/// A change to version 2 whose effect the report measures. Emulated here in
/// plaintext from the prepared accounts; neither the client nor the server
/// implements it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proposal {
    /// `overlap.rs`: strong keys contradict a name match only when both
    /// accounts carry a strong key of the same type (both a domain, or both
    /// a DUNS number) and share none. A DUNS number on one side and a
    /// website on the other say nothing against each other (HubSpot exports
    /// have no DUNS column).
    SameTypeConflict,
    /// Client (`dedupe::drop_ambiguous`): a name several of one's own
    /// accounts share stays on the one of them without a website or DUNS,
    /// when there is exactly one; the others match on their strong keys.
    /// The name is still on one account only.
    NameOnLoneWebsitelessHolder,
    /// Both.
    Both,
}

impl Proposal {
    /// Every proposal, in report order.
    pub const ALL: [Proposal; 3] = [
        Proposal::SameTypeConflict,
        Proposal::NameOnLoneWebsitelessHolder,
        Proposal::Both,
    ];

    /// A short label.
    pub fn label(&self) -> &'static str {
        match self {
            Proposal::SameTypeConflict => {
                "proposal P1: default + strong keys conflict only within a type (overlap.rs)"
            }
            Proposal::NameOnLoneWebsitelessHolder => {
                "proposal P2: default + an ambiguous name stays on its one website-less holder (client)"
            }
            Proposal::Both => "proposals P1 + P2",
        }
    }

    fn flags(self) -> (bool, bool) {
        match self {
            Proposal::SameTypeConflict => (true, false),
            Proposal::NameOnLoneWebsitelessHolder => (false, true),
            Proposal::Both => (true, true),
        }
    }
}

/// One cell's largest deviation from the truth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellError {
    /// Vendor population.
    pub vendor_population: String,
    /// Partner population.
    pub partner_population: String,
    /// True matches in the cell.
    pub truth: u64,
    /// The computed count (vendor or partner accounts) furthest from it.
    pub computed: u64,
}

impl CellError {
    /// `|computed − truth| / truth` (divided by 1 when the truth is 0).
    pub fn relative(&self) -> f64 {
        self.computed.abs_diff(self.truth) as f64 / self.truth.max(1) as f64
    }

    /// Whether the count lies within `max(2 %, 1 account)` of the truth.
    pub fn within_tolerance(&self) -> bool {
        self.computed.abs_diff(self.truth) as f64 <= (0.02 * self.truth as f64).max(1.0)
    }

    /// The cell from the vendor's and the partner's `(computed, truth)`
    /// counts: the side whose count is further from its truth (the
    /// vendor's on a tie).
    fn further(
        vendor_population: &str,
        partner_population: &str,
        vendor: (u64, u64),
        partner: (u64, u64),
    ) -> CellError {
        let (computed, truth) = if vendor.0.abs_diff(vendor.1) >= partner.0.abs_diff(partner.1) {
            vendor
        } else {
            partner
        };
        CellError {
            vendor_population: vendor_population.to_owned(),
            partner_population: partner_population.to_owned(),
            truth,
            computed,
        }
    }
}

/// Why matches went wrong, counted per cause (see [`Score::diagnosis`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// Vendor accounts matched although none of their companies is on the
    /// partner side, per cause.
    pub false_vendor: BTreeMap<String, u64>,
    /// Partner accounts likewise.
    pub false_partner: BTreeMap<String, u64>,
    /// Companies on both sides that were not matched on both, per cause.
    pub missed: BTreeMap<String, u64>,
}

/// The quality of one method on one pair of exports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Score {
    /// [`Method::label`].
    pub method: String,
    /// Accounts uploaded, vendor and partner.
    pub accounts: [u64; 2],
    /// Accounts that matched, vendor and partner.
    pub matched: [u64; 2],
    /// Of those, the accounts whose company is on the other side.
    pub true_matched: [u64; 2],
    /// Companies on both sides.
    pub shared: u64,
    /// Of those, the companies matched on both sides.
    pub recalled: u64,
    /// Lookalike companies.
    pub lookalikes: u64,
    /// Of those, the ones whose account matched.
    pub lookalikes_matched: u64,
    /// The cell furthest from the truth, relatively.
    pub worst_cell: CellError,
    /// Whether every cell lies within `max(2 %, 1 account)` of the truth.
    pub cells_within_tolerance: bool,
    /// Cells outside that tolerance.
    pub cells_outside: u64,
    /// Every cell, vendor population by partner population.
    pub cells: Vec<CellError>,
    /// What went wrong, per cause.
    pub diagnosis: Diagnosis,
}

impl Score {
    /// Precision of the vendor's (0) or the partner's (1) matched accounts.
    pub fn precision(&self, side: usize) -> f64 {
        ratio(self.true_matched[side], self.matched[side])
    }

    /// The lower of the two sides' precision.
    pub fn min_precision(&self) -> f64 {
        self.precision(0).min(self.precision(1))
    }

    /// Share of the shared companies matched on both sides.
    pub fn recall(&self) -> f64 {
        ratio(self.recalled, self.shared)
    }

    /// Share of the lookalikes that matched.
    pub fn lookalike_rate(&self) -> f64 {
        ratio(self.lookalikes_matched, self.lookalikes)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// One uploaded account as the scorer sees it.
#[derive(Clone, Debug)]
struct Acc {
    /// Keys as (type, message).
    keys: Vec<(KeyType, String)>,
    /// Population bits after fitting: one population, `(other)` at bit `n`.
    populations: u64,
    /// The companies of its rows.
    entities: Vec<u32>,
    /// A name of one of its rows was left out for want of a country.
    name_without_country: bool,
}

impl Acc {
    fn has(&self, kind: KeyType) -> bool {
        self.keys.iter().any(|k| k.0 == kind)
    }

    fn has_strong(&self) -> bool {
        self.keys.iter().any(|k| k.0.is_strong())
    }
}

/// `when-strong-key-missing`: a name match counts unless both accounts
/// carry a domain, or both a DUNS (and, matching on a name only, share none).
fn strong_types_agree(kind: KeyType, a: &Acc, b: &Acc) -> bool {
    let both = |k| a.has(k) && b.has(k);
    let strong = both(KeyType::Domain) || both(KeyType::Duns);
    // Two city-qualified names that did not match contradict a match of
    // the country-qualified names (overlap.rs).
    !(strong || kind == KeyType::Name && both(KeyType::CityName))
}

/// One side's uploaded accounts.
struct Side {
    /// Population names, `(other)` last.
    populations: Vec<String>,
    accounts: Vec<Acc>,
    /// Per entity, why its rows are in no account: `true` when some row
    /// gave keys that were all left out as ambiguous, `false` when its rows
    /// gave no key at all (v2 only; empty for v1).
    lost: HashMap<u32, LostRows>,
}

/// Why an entity's rows on one side are in no uploaded account.
#[derive(Clone, Copy, Debug, Default)]
struct LostRows {
    /// Rows whose every value was empty or rejected.
    no_key: u64,
    /// Rows whose only keys (names) several accounts shared, left out.
    ambiguous: u64,
}

/// Per account: `None` when unmatched, else the union of the counterpart
/// populations it matched.
type Hits = Vec<Option<u64>>;

/// `(vendor accounts, partner accounts)` per cell of the population
/// matrix, row-major.
pub type Cells = Vec<Vec<(u64, u64)>>;

/// Both sides' accounts, what each matched, and the cells.
type Matched = ([Side; 2], [Hits; 2], Cells);

/// Scores `method` on a generated pair of exports.
pub fn measure(g: &Generated, method: Method) -> Result<Score, String> {
    let t = &g.truth;
    let tables = [
        parse_csv(&g.vendor_csv, "vendor.csv".as_ref()).map_err(|e| e.to_string())?,
        parse_csv(&g.partner_csv, "partner.csv".as_ref()).map_err(|e| e.to_string())?,
    ];
    let rows = [&t.vendor_row_entities, &t.partner_row_entities];
    for s in 0..2 {
        if rows[s].len() != tables[s].rows.len() {
            return Err(format!(
                "the truth names {} rows' entities, the export has {} rows",
                rows[s].len(),
                tables[s].rows.len()
            ));
        }
    }
    let (sides, hits, cells) = match method {
        Method::V2 {
            name_matching,
            names_without_country,
        } => v2_matched(&tables, rows, name_matching, names_without_country)?,
        Method::V1 | Method::V1Never | Method::V1Always => {
            let sides = [v1_side(&tables[0], rows[0])?, v1_side(&tables[1], rows[1])?];
            let (hits, cells) = plain_match(&sides[0], &sides[1], |_, a, b| match method {
                Method::V1Never => false,
                Method::V1Always => true,
                // The default: a name counts unless both accounts have a
                // domain.
                _ => !(a.has(KeyType::Domain) && b.has(KeyType::Domain)),
            });
            (sides, hits, cells)
        }
    };
    Ok(score(t, method, &sides, &hits, &cells))
}

/// Version 2 on the two exports: each prepared by the real client under
/// `names_without_country`, given plaintext tokens, and matched by
/// `overlap::compute` under `name_matching`, as the server would.
fn v2_matched(
    tables: &[CsvTable; 2],
    rows: [&Vec<Option<u32>>; 2],
    name_matching: NameMatching,
    names_without_country: NamesWithoutCountry,
) -> Result<Matched, String> {
    let opts = InputOptions {
        names_without_country,
        ..InputOptions::default()
    };
    let mut sides = Vec::new();
    for s in 0..2 {
        let p = prepare(&tables[s], &opts, &no_progress()).map_err(|e| e.to_string())?;
        sides.push(v2_side(&tables[s], &p, rows[s]));
    }
    let policy = MatchPolicy { name_matching };
    let (v, p) = (&sides[0], &sides[1]);

    let o = overlap::compute(
        &records(v),
        v.populations.len(),
        &records(p),
        p.populations.len(),
        &policy,
    )
    .map_err(|e| e.to_string())?;
    let hits_of = |rows: &[(u32, u64)], n: usize| {
        let mut h: Hits = vec![None; n];
        for &(id, mask) in rows {
            h[id as usize] = Some(mask);
        }
        h
    };
    let hits = [
        hits_of(&o.vendor.matched_rows, v.accounts.len()),
        hits_of(&o.partner.matched_rows, p.accounts.len()),
    ];
    let cells = o
        .cells
        .iter()
        .map(|line| {
            line.iter()
                .map(|c| (c.vendor_accounts, c.partner_accounts))
                .collect()
        })
        .collect();
    let [v, p]: [Side; 2] = sides.try_into().map_err(|_| "two sides")?;
    Ok(([v, p], hits, cells))
}

/// The population names of each side (`(other)` last) and the cells (vendor
/// accounts, partner accounts) that version 2's default policy gives a
/// generated pair of exports, computed in plaintext: what a real session on
/// the same exports must report exactly.
pub fn plaintext_overlap(g: &Generated) -> Result<(Vec<String>, Vec<String>, Cells), String> {
    let tables = [
        parse_csv(&g.vendor_csv, "vendor.csv".as_ref()).map_err(|e| e.to_string())?,
        parse_csv(&g.partner_csv, "partner.csv".as_ref()).map_err(|e| e.to_string())?,
    ];
    let rows = [&g.truth.vendor_row_entities, &g.truth.partner_row_entities];
    let ([v, p], _, cells) = v2_matched(
        &tables,
        rows,
        NameMatching::default(),
        NamesWithoutCountry::default(),
    )?;
    Ok((v.populations, p.populations, cells))
}

/// Scores a [`Proposal`] on a generated pair of exports: the default policy
/// with the proposed change.
pub fn measure_proposal(g: &Generated, proposal: Proposal) -> Result<Score, String> {
    let (same_type, lone_holder) = proposal.flags();
    let (sides, hits, cells) = emulate(g, same_type, lone_holder)?;
    let mut s = score(&g.truth, Method::DEFAULT, &sides, &hits, &cells);
    s.method = proposal.label().to_owned();
    Ok(s)
}

/// A bound, not a method: the default client's accounts (its merges, its
/// left-out rows) matched as a perfect matcher would, each account exactly
/// to the other side's accounts that hold one of its companies.
pub struct PerfectMatcher {
    /// Its score against the truth. What it misses no key could find; where
    /// its cells are off, counting accounts instead of companies is (a
    /// company's unmerged rows count once each).
    pub score: Score,
    /// The default policy's cells with the perfect matcher's as the truth
    /// (the truth counted in the client's accounts rather than in
    /// companies), per side; each cell gives the side further from it.
    pub default_cells: Vec<CellError>,
}

/// Computes the [`PerfectMatcher`] bound on a generated pair of exports,
/// from the same prepared accounts as the default policy.
pub fn measure_perfect_matcher(g: &Generated) -> Result<PerfectMatcher, String> {
    let (mut sides, _, default) = emulate(g, false, false)?;
    for side in &mut sides {
        // One strong key per company an account holds: matching then finds
        // exactly the accounts of the same company.
        for a in &mut side.accounts {
            a.keys = a
                .entities
                .iter()
                .map(|e| (KeyType::Domain, format!("company:{e}")))
                .collect();
        }
    }
    let (hits, cells) = plain_match(&sides[0], &sides[1], |_, _, _| false);
    let mut default_cells = Vec::new();
    for (i, vn) in sides[0].populations.iter().enumerate() {
        for (j, pn) in sides[1].populations.iter().enumerate() {
            let ((dv, dp), (tv, tp)) = (default[i][j], cells[i][j]);
            default_cells.push(CellError::further(vn, pn, (dv, tv), (dp, tp)));
        }
    }
    let mut s = score(&g.truth, Method::DEFAULT, &sides, &hits, &cells);
    s.method = "bound: the default client's accounts, matched perfectly".to_owned();
    Ok(PerfectMatcher {
        score: s,
        default_cells,
    })
}

/// The default policy's accounts, with the names [`drop_ambiguous`]
/// removed put back per `lone_holder`, matched in plaintext with the
/// default's name rule or, with `same_type`, the [`Proposal::SameTypeConflict`]
/// one. With both `false` it reproduces [`Method::DEFAULT`].
///
/// [`drop_ambiguous`]: cleanroom_client::dedupe::drop_ambiguous
fn emulate(g: &Generated, same_type: bool, lone_holder: bool) -> Result<Matched, String> {
    let t = &g.truth;
    let mut sides = Vec::new();
    for (csv, rows) in [
        (&g.vendor_csv, &t.vendor_row_entities),
        (&g.partner_csv, &t.partner_row_entities),
    ] {
        let table = parse_csv(csv, "x.csv".as_ref()).map_err(|e| e.to_string())?;
        let p =
            prepare(&table, &InputOptions::default(), &no_progress()).map_err(|e| e.to_string())?;
        let mut side = v2_side(&table, &p, rows);
        if lone_holder {
            restore_lone_names(&table, &p, rows, &mut side)?;
        }
        sides.push(side);
    }
    let [v, p]: [Side; 2] = sides.try_into().map_err(|_| "two sides")?;
    // `overlap::compute`'s rule since the same-type proposal was adopted;
    // the flag is kept so the proposal's report still runs.
    let _ = same_type;
    let (hits, cells) = plain_match(&v, &p, strong_types_agree);
    Ok(([v, p], hits, cells))
}

/// [`Proposal::NameOnLoneWebsitelessHolder`] on one side's accounts: the
/// name key each account's first named row gives (country-qualified; none
/// without a usable country), back on the single holder without a strong
/// key; rows whose only key was such a name become accounts again.
fn restore_lone_names(
    table: &CsvTable,
    p: &PreparedInput,
    rows: &[Option<u32>],
    side: &mut Side,
) -> Result<(), String> {
    let preset = p.report.preset.unwrap_or(Preset::Generic);
    let mapping = preset
        .columns(table, &Default::default())
        .map_err(|e| e.to_string())?;
    let Some(name_col) = mapping.name else {
        return Ok(());
    };
    let name_key = |r: &cleanroom_client::csv_input::CsvRow| -> Option<String> {
        let country = normalize::country(r.get(mapping.country?)).ok()?;
        normalize::company_name(r.get(name_col), Some(country))
            .ok()
            .map(|k| k.message().to_owned())
    };
    let row_of: HashMap<u64, &cleanroom_client::csv_input::CsvRow> =
        table.rows.iter().map(|r| (r.line, r)).collect();
    let of_line = entity_of_line(table, rows);
    // Each kept account's own name, or the one it lost.
    let mut candidate: Vec<Option<String>> = p
        .accounts
        .iter()
        .zip(&side.accounts)
        .map(|(a, acc)| {
            acc.keys
                .iter()
                .find(|k| k.0 == KeyType::Name)
                .map(|k| k.1.clone())
                .or_else(|| {
                    a.lines
                        .iter()
                        .find_map(|l| row_of.get(l).and_then(|r| name_key(r)))
                })
        })
        .collect();
    // Rows left out with all their keys: name-only accounts again.
    let (in_account, skipped) = placed_and_skipped_lines(p);
    let populations = preset.default_populations(table);
    let bound = BoundPopulations::bind(&populations, table).map_err(|e| e.to_string())?;
    let n = bound.names().len();
    for r in &table.rows {
        if in_account.contains(&r.line) || skipped.contains(&r.line) {
            continue;
        }
        let Some(key) = name_key(r) else { continue };
        side.accounts.push(Acc {
            keys: Vec::new(),
            populations: fit(bound.mask(r), n),
            entities: entities_of(&[r.line], &of_line),
            name_without_country: false,
        });
        candidate.push(Some(key));
    }
    let mut holders: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in candidate.iter().enumerate() {
        if let Some(c) = c {
            holders.entry(c.as_str()).or_default().push(i);
        }
    }
    for (key, hs) in &holders {
        let keep = match hs.as_slice() {
            [only] => Some(*only),
            several => {
                let weak: Vec<usize> = several
                    .iter()
                    .copied()
                    .filter(|&i| !side.accounts[i].has_strong())
                    .collect();
                (weak.len() == 1).then(|| weak[0])
            }
        };
        for &i in hs {
            let acc = &mut side.accounts[i];
            acc.keys.retain(|k| k.0 != KeyType::Name);
            if Some(i) == keep {
                acc.keys.push((KeyType::Name, (*key).to_owned()));
            }
        }
    }
    side.accounts.retain(|a| !a.keys.is_empty());
    Ok(())
}

/// The lines `p` put in an account, and the lines it skipped.
fn placed_and_skipped_lines(p: &PreparedInput) -> (HashSet<u64>, HashSet<u64>) {
    let placed = p
        .accounts
        .iter()
        .flat_map(|a| a.lines.iter().copied())
        .collect();
    let skipped = p
        .report
        .rejects
        .iter()
        .filter(|r| r.row_skipped)
        .map(|r| r.line)
        .collect();
    (placed, skipped)
}

/// Whether entity `e` of the truth is on `side` (0: vendor, 1: partner).
fn on_side(t: &Truth, e: u32, side: usize) -> bool {
    let e = &t.entities[e as usize];
    if side == 0 {
        e.vendor.is_some()
    } else {
        e.partner.is_some()
    }
}

/// SHA-256 of the key message, first 16 bytes: equal exactly when the keys are.
fn token(message: &str) -> MatchToken {
    let d = Sha256::digest(message.as_bytes());
    let mut t = [0u8; 16];
    t.copy_from_slice(&d[..16]);
    MatchToken(t)
}

fn records(side: &Side) -> Vec<TokenRecord> {
    side.accounts
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            a.keys.iter().map(move |(kind, message)| TokenRecord {
                row_id: i as u32,
                populations: a.populations,
                key_type: *kind,
                token: token(message),
            })
        })
        .collect()
}

/// Line of each data row → its entity.
fn entity_of_line(table: &CsvTable, rows: &[Option<u32>]) -> HashMap<u64, Option<u32>> {
    table
        .rows
        .iter()
        .zip(rows)
        .map(|(r, e)| (r.line, *e))
        .collect()
}

/// The server's default fitting: an account stays in its first declared
/// population, and accounts in none go to `(other)` (bit `n`).
fn fit(populations: u64, n: usize) -> u64 {
    if populations == 0 {
        1 << n
    } else {
        populations & populations.wrapping_neg()
    }
}

fn entities_of(lines: &[u64], of_line: &HashMap<u64, Option<u32>>) -> Vec<u32> {
    let mut e: Vec<u32> = lines
        .iter()
        .filter_map(|l| of_line.get(l).copied().flatten())
        .collect();
    e.sort_unstable();
    e.dedup();
    e
}

fn v2_side(table: &CsvTable, p: &PreparedInput, rows: &[Option<u32>]) -> Side {
    let of_line = entity_of_line(table, rows);
    let (in_account, skipped) = placed_and_skipped_lines(p);
    let mut lost: HashMap<u32, LostRows> = HashMap::new();
    for r in &table.rows {
        let Some(Some(e)) = of_line.get(&r.line) else {
            continue;
        };
        if in_account.contains(&r.line) {
            continue;
        }
        let l = lost.entry(*e).or_default();
        if skipped.contains(&r.line) {
            l.no_key += 1;
        } else {
            l.ambiguous += 1;
        }
    }
    let no_country: HashSet<u64> = p
        .report
        .rejects
        .iter()
        .filter(|r| r.reason == cleanroom_client::prepare::NO_COUNTRY)
        .map(|r| r.line)
        .collect();
    let n = p.populations.len();
    let mut populations = p.populations.clone();
    populations.push(OTHER_POPULATION.to_owned());
    Side {
        populations,
        accounts: p
            .accounts
            .iter()
            .map(|a| Acc {
                keys: a
                    .keys
                    .iter()
                    .map(|k| (k.kind(), k.message().to_owned()))
                    .collect(),
                populations: fit(a.populations, n),
                entities: entities_of(&a.lines, &of_line),
                name_without_country: a.lines.iter().any(|l| no_country.contains(l)),
            })
            .collect(),
        lost,
    }
}

/// The version 1 client's column names (its presets), in order of preference.
/// The version 1 client on one export: one website column (the next one
/// when it is empty), unqualified names, rows merged on a shared domain or
/// DUNS and website-less rows on a shared name, one key per type per
/// account (the most common), and no ambiguous key left out.
fn v1_side(table: &CsvTable, rows: &[Option<u32>]) -> Result<Side, String> {
    let preset = Preset::detect(table);
    let [dom, name, duns] = preset.key_candidates();
    let found = |c: &[&str]| c.iter().find_map(|n| table.column(n));
    let domain_col = found(dom);
    let fallback = domain_col.and_then(|first| {
        dom.iter()
            .filter_map(|n| table.column(n))
            .find(|&c| c != first)
    });
    let (name_col, duns_col) = (found(name), found(duns));
    let bound = BoundPopulations::bind(&preset.default_populations(table), table)
        .map_err(|e| e.to_string())?;
    let n = bound.names().len();

    // Each row's keys, then union-find merging as version 1 did.
    struct Row {
        line: u64,
        keys: Vec<(KeyType, String)>,
        populations: u64,
    }
    let mut kept: Vec<Row> = Vec::new();
    for r in &table.rows {
        let mut keys = Vec::new();
        if let Some(mut c) = domain_col {
            if let Some(f) = fallback.filter(|_| r.get(c).trim().is_empty()) {
                c = f;
            }
            if let Ok(k) = normalize::domain(r.get(c)) {
                keys.push((KeyType::Domain, k.message().to_owned()));
            }
        }
        if let Some(Ok(t)) = name_col.map(|c| normalize::name_tokens(r.get(c))) {
            keys.push((KeyType::Name, format!("name:{t}")));
        }
        if let Some(Ok(k)) = duns_col.map(|c| normalize::duns(r.get(c))) {
            keys.push((KeyType::Duns, k.message().to_owned()));
        }
        if !keys.is_empty() {
            kept.push(Row {
                line: r.line,
                keys,
                populations: bound.mask(r),
            });
        }
    }
    let mut parent: Vec<usize> = (0..kept.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, row) in kept.iter().enumerate() {
        let strong = row.keys.iter().any(|k| k.0.is_strong());
        for (kind, message) in &row.keys {
            if !kind.is_strong() && strong {
                continue;
            }
            match first.get(message.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    let (lo, hi) = (a.min(b), a.max(b));
                    parent[hi] = lo;
                }
                None => {
                    first.insert(message, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..kept.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let of_line = entity_of_line(table, rows);
    let mut populations = bound.names().to_vec();
    populations.push(OTHER_POPULATION.to_owned());
    let accounts = groups
        .values()
        .map(|members| {
            let mut keys = Vec::new();
            for kind in KeyType::ALL {
                let mut cands: Vec<(&String, usize)> = Vec::new();
                for &m in members {
                    for (k, message) in &kept[m].keys {
                        if *k != kind {
                            continue;
                        }
                        match cands.iter_mut().find(|(c, _)| *c == message) {
                            Some((_, count)) => *count += 1,
                            None => cands.push((message, 1)),
                        }
                    }
                }
                if let Some((message, _)) = cands.iter().rev().max_by_key(|c| c.1) {
                    keys.push((kind, (*message).clone()));
                }
            }
            let lines: Vec<u64> = members.iter().map(|&m| kept[m].line).collect();
            Acc {
                keys,
                populations: fit(members.iter().fold(0, |p, &m| p | kept[m].populations), n),
                entities: entities_of(&lines, &of_line),
                name_without_country: false,
            }
        })
        .collect();
    Ok(Side {
        populations,
        accounts,
        lost: HashMap::new(),
    })
}

/// Key message → the accounts carrying it.
fn key_index(s: &Side) -> HashMap<&str, Vec<usize>> {
    let mut m: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, a) in s.accounts.iter().enumerate() {
        for (_, message) in &a.keys {
            m.entry(message.as_str()).or_default().push(i);
        }
    }
    m
}

/// Matches two sides' plaintext keys: domain and DUNS always, a name (of
/// any weak key type) when `name_counts` holds for the type and the pair. Returns each side's hits and the cells
/// as `(vendor accounts, partner accounts)`, like [`overlap::compute`].
fn plain_match(
    v: &Side,
    p: &Side,
    name_counts: impl Fn(KeyType, &Acc, &Acc) -> bool,
) -> ([Hits; 2], Cells) {
    let (vi, pi) = (key_index(v), key_index(p));
    let mut hits: [Hits; 2] = [vec![None; v.accounts.len()], vec![None; p.accounts.len()]];
    for (message, vs) in &vi {
        let Some(ps) = pi.get(message) else { continue };
        let kind = KeyType::ALL
            .into_iter()
            .find(|k| message.starts_with(k.prefix()))
            .unwrap_or(KeyType::Domain);
        for (mine, theirs, me, them, h) in [(vs, ps, v, p, 0usize), (ps, vs, p, v, 1usize)] {
            for &a in mine {
                let mut mask = None;
                for &b in theirs {
                    let counts =
                        kind.is_strong() || name_counts(kind, &me.accounts[a], &them.accounts[b]);
                    if counts {
                        *mask.get_or_insert(0) |= them.accounts[b].populations;
                    }
                }
                if let Some(m) = mask {
                    *hits[h][a].get_or_insert(0) |= m;
                }
            }
        }
    }
    let mut cells = vec![vec![(0u64, 0u64); p.populations.len()]; v.populations.len()];
    for (a, h) in v.accounts.iter().zip(&hits[0]) {
        let Some(mask) = h else { continue };
        for (i, line) in cells.iter_mut().enumerate() {
            if a.populations & (1 << i) == 0 {
                continue;
            }
            for (j, cell) in line.iter_mut().enumerate() {
                if mask & (1 << j) != 0 {
                    cell.0 += 1;
                }
            }
        }
    }
    for (a, h) in p.accounts.iter().zip(&hits[1]) {
        let Some(mask) = h else { continue };
        for (i, line) in cells.iter_mut().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            for (j, cell) in line.iter_mut().enumerate() {
                if a.populations & (1 << j) != 0 {
                    cell.1 += 1;
                }
            }
        }
    }
    (hits, cells)
}

fn score(
    t: &Truth,
    method: Method,
    sides: &[Side; 2],
    hits: &[Hits; 2],
    cells: &[Vec<(u64, u64)>],
) -> Score {
    let on = |e: u32, side: usize| on_side(t, e, side);
    let mut s = Score {
        method: method.label(),
        ..Score::default()
    };
    // Companies matched on each side.
    let mut matched_entities: [HashSet<u32>; 2] = Default::default();
    for side in 0..2 {
        for (a, h) in sides[side].accounts.iter().zip(&hits[side]) {
            s.accounts[side] += 1;
            if h.is_none() {
                continue;
            }
            s.matched[side] += 1;
            if a.entities.iter().any(|&e| on(e, 1 - side)) {
                s.true_matched[side] += 1;
            }
            matched_entities[side].extend(a.entities.iter().copied());
        }
    }
    for e in &t.entities {
        if e.vendor.is_some() && e.partner.is_some() {
            s.shared += 1;
            if matched_entities[0].contains(&e.id) && matched_entities[1].contains(&e.id) {
                s.recalled += 1;
            }
        }
        if e.kind == EntityKind::Lookalike {
            s.lookalikes += 1;
            let side = if e.vendor.is_some() { 0 } else { 1 };
            if matched_entities[side].contains(&e.id) {
                s.lookalikes_matched += 1;
            }
        }
    }
    // Cells, by population name.
    let e = t.expected();
    let index = |names: &[String], n: &str| names.iter().position(|x| x == n);
    let mut vnames: Vec<String> = sides[0].populations.clone();
    for n in &e.vendor_populations {
        if !vnames.contains(n) {
            vnames.push(n.clone());
        }
    }
    let mut pnames: Vec<String> = sides[1].populations.clone();
    for n in &e.partner_populations {
        if !pnames.contains(n) {
            pnames.push(n.clone());
        }
    }
    s.cells_within_tolerance = true;
    let mut worst: Option<CellError> = None;
    for vn in &vnames {
        for pn in &pnames {
            let truth = match (
                index(&e.vendor_populations, vn),
                index(&e.partner_populations, pn),
            ) {
                (Some(i), Some(j)) => e.cells[i][j],
                _ => 0,
            };
            let (cv, cp) = match (
                index(&sides[0].populations, vn),
                index(&sides[1].populations, pn),
            ) {
                (Some(i), Some(j)) => cells[i][j],
                _ => (0, 0),
            };
            let cell = CellError::further(vn, pn, (cv, truth), (cp, truth));
            if !cell.within_tolerance() {
                s.cells_within_tolerance = false;
                s.cells_outside += 1;
            }
            if worst
                .as_ref()
                .is_none_or(|w| cell.relative() > w.relative())
            {
                worst = Some(cell.clone());
            }
            s.cells.push(cell);
        }
    }
    s.worst_cell = worst.unwrap_or_default();
    s.diagnosis = diagnose(t, sides, hits, &matched_entities);
    s
}

/// Classifies the wrong matches and the misses.
fn diagnose(
    t: &Truth,
    sides: &[Side; 2],
    hits: &[Hits; 2],
    matched: &[HashSet<u32>; 2],
) -> Diagnosis {
    let mut d = Diagnosis::default();
    let on = |e: u32, side: usize| on_side(t, e, side);
    let idx = [key_index(&sides[0]), key_index(&sides[1])];
    let kind_name = |k: EntityKind| match k {
        EntityKind::Brand => "brand",
        EntityKind::Surname => "surname",
        EntityKind::Sibling => "sibling",
        EntityKind::Lookalike => "lookalike",
    };
    let describe = |a: &Acc| -> String {
        match a.entities.as_slice() {
            [] => "placeholder row".to_owned(),
            [e] => kind_name(t.entities[*e as usize].kind).to_owned(),
            _ => "account merged from several companies".to_owned(),
        }
    };
    for side in 0..2 {
        for (a, h) in sides[side].accounts.iter().zip(&hits[side]) {
            if h.is_none() || a.entities.iter().any(|&e| on(e, 1 - side)) {
                continue;
            }
            // Which keys it shares with the other side, and with what.
            let mut via: Vec<String> = Vec::new();
            for (kind, message) in &a.keys {
                let Some(others) = idx[1 - side].get(message.as_str()) else {
                    continue;
                };
                let other = &sides[1 - side].accounts[others[0]];
                via.push(format!("{kind} shared with a {}", describe(other)));
            }
            via.sort();
            via.dedup();
            let cause = format!("{} account, {}", describe(a), via.join(" + "));
            let map = if side == 0 {
                &mut d.false_vendor
            } else {
                &mut d.false_partner
            };
            *map.entry(cause).or_default() += 1;
        }
    }
    // Misses. Companies per (name, country) on each side, from the truth.
    let name_country = |e: &cleanroom_client::generate::TruthEntity, side: usize| {
        let country = match (&e.partner_country, side) {
            (Some(c), 1) => c.clone(),
            _ => e.country.clone(),
        };
        (e.name.clone(), country)
    };
    let mut namesakes: [HashMap<(String, String), u64>; 2] = Default::default();
    for e in &t.entities {
        for (side, present) in [(0, e.vendor.is_some()), (1, e.partner.is_some())] {
            if present {
                *namesakes[side].entry(name_country(e, side)).or_default() += 1;
            }
        }
    }
    let accounts_of = |side: usize, e: u32| -> Vec<&Acc> {
        sides[side]
            .accounts
            .iter()
            .filter(|a| a.entities.contains(&e))
            .collect()
    };
    for e in &t.entities {
        if e.vendor.is_none() || e.partner.is_none() {
            continue;
        }
        if matched[0].contains(&e.id) && matched[1].contains(&e.id) {
            continue;
        }
        let (av, ap) = (accounts_of(0, e.id), accounts_of(1, e.id));
        let cause = if av.is_empty() || ap.is_empty() {
            let (side, s) = if av.is_empty() {
                ("vendor", &sides[0])
            } else {
                ("partner", &sides[1])
            };
            let s_index = if av.is_empty() { 0 } else { 1 };
            match s.lost.get(&e.id) {
                Some(l)
                    if l.ambiguous > 0
                        && namesakes[s_index]
                            .get(&name_country(e, s_index))
                            .copied()
                            .unwrap_or(0)
                            > 1 =>
                {
                    format!(
                        "no {side} account: website-less, its name (and country) shared with another {side} company, left out"
                    )
                }
                Some(l) if l.ambiguous > 0 => format!(
                    "no {side} account: website-less rows of one company (a duplicate), its name on each, left out as ambiguous"
                ),
                Some(l) if l.no_key > 0 => {
                    format!(
                        "no {side} account: website-less, its rows gave no key (no usable country, no DUNS)"
                    )
                }
                _ => format!("no {side} account"),
            }
        } else {
            let strong = |accs: &[&Acc]| accs.iter().any(|a| a.has_strong());
            let names = |accs: &[&Acc]| -> HashSet<String> {
                accs.iter()
                    .flat_map(|a| a.keys.iter())
                    .filter(|k| k.0 == KeyType::Name)
                    .map(|k| k.1.clone())
                    .collect()
            };
            let (nv, np) = (names(&av), names(&ap));
            if strong(&av) && strong(&ap) {
                let domains = |accs: &[&Acc]| accs.iter().any(|a| a.has(KeyType::Domain));
                if domains(&av) && domains(&ap) {
                    "both have websites, none shared".to_owned()
                } else {
                    "both have a website or DUNS, none shared".to_owned()
                }
            } else if nv.is_empty() || np.is_empty() {
                let (side, accs) = if nv.is_empty() {
                    ("vendor", &av)
                } else {
                    ("partner", &ap)
                };
                if accs.iter().any(|a| a.name_without_country) {
                    format!("a website-less side's name left out: {side} row without a country")
                } else if accs.len() > 1 {
                    format!(
                        "a website-less side's name left out: {side} name shared by several of its accounts, the company's unmerged rows among them"
                    )
                } else {
                    format!(
                        "a website-less side's name left out: {side} name shared by several of its accounts"
                    )
                }
            } else if nv.intersection(&np).next().is_some() {
                "equal names, but the policy does not count them".to_owned()
            } else {
                // Version 2 names are `name:<country>:<name>`.
                let country = |n: &HashSet<String>| -> HashSet<String> {
                    n.iter()
                        .filter_map(|m| m.strip_prefix("name:"))
                        .filter_map(|v| v.split_once(':').map(|(c, _)| c.to_owned()))
                        .collect()
                };
                let (cv, cp) = (country(&nv), country(&np));
                if !cv.is_empty() && !cp.is_empty() && cv.is_disjoint(&cp) {
                    "a website-less side's name: the two sides record different countries"
                        .to_owned()
                } else {
                    "a website-less side's name: spelled differently on the two sides".to_owned()
                }
            }
        };
        *d.missed.entry(cause).or_default() += 1;
    }
    d
}

/// The Markdown table of scores, one row per (method, seed).
pub fn markdown_table(rows: &[(u64, Score)]) -> String {
    let mut out = String::from(
        "| policy | seed | recall | precision vendor / partner | lookalikes matched | worst cell error | every cell within max(2 %, 1) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (seed, s) in rows {
        out.push_str(&format!(
            "| {} | {seed} | {:.4} | {:.4} / {:.4} | {} of {} ({:.1} %) | {:.1} % ({} × {}: {} for {}) | {} |\n",
            s.method,
            s.recall(),
            s.precision(0),
            s.precision(1),
            s.lookalikes_matched,
            s.lookalikes,
            100.0 * s.lookalike_rate(),
            100.0 * s.worst_cell.relative(),
            s.worst_cell.vendor_population,
            s.worst_cell.partner_population,
            s.worst_cell.computed,
            s.worst_cell.truth,
            if s.cells_within_tolerance {
                "yes".to_owned()
            } else {
                format!("no ({} cells outside)", s.cells_outside)
            },
        ));
    }
    out
}

/// The causes of one score's wrong matches and misses, as Markdown lists.
pub fn markdown_diagnosis(s: &Score) -> String {
    let mut out = format!(
        "{}: {} / {} accounts matched (vendor / partner), {} of {} shared companies recalled\n",
        s.method, s.matched[0], s.matched[1], s.recalled, s.shared
    );
    for (title, map) in [
        ("wrongly matched vendor accounts", &s.diagnosis.false_vendor),
        (
            "wrongly matched partner accounts",
            &s.diagnosis.false_partner,
        ),
        ("shared companies missed", &s.diagnosis.missed),
    ] {
        let total: u64 = map.values().sum();
        out.push_str(&format!("- {title}: {total}\n"));
        let mut items: Vec<(&String, &u64)> = map.iter().collect();
        items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (cause, n) in items {
            out.push_str(&format!("  - {n}: {cause}\n"));
        }
    }
    out.push_str(&markdown_cells(
        "- cells (computed for truth, the count further from it)",
        &s.cells,
    ));
    out
}

/// A title line and one line per cell, `(outside)` where a cell lies
/// outside `max(2 %, 1 account)`.
pub fn markdown_cells(title: &str, cells: &[CellError]) -> String {
    let outside = cells.iter().filter(|c| !c.within_tolerance()).count();
    let mut out = format!("{title}: {outside} of {} outside", cells.len());
    for c in cells {
        out.push_str(&format!(
            "\n  - {} × {}: {} for {}{}",
            c.vendor_population,
            c.partner_population,
            c.computed,
            c.truth,
            if c.within_tolerance() {
                ""
            } else {
                " (outside)"
            }
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cleanroom_client::generate::{RealisticOptions, generate_realistic};

    /// The plaintext matcher agrees with `overlap::compute` on the same
    /// accounts, so the version 1 figures come from the same counting.
    #[test]
    fn plain_match_agrees_with_overlap_compute() {
        let g = generate_realistic(&RealisticOptions {
            vendor_accounts: 1_500,
            partner_accounts: 1_000,
            shared_accounts: 300,
            ..RealisticOptions::new(21)
        })
        .unwrap();
        let t = &g.truth;
        let opts = InputOptions::default();
        let sides: Vec<Side> = [
            (&g.vendor_csv, &t.vendor_row_entities),
            (&g.partner_csv, &t.partner_row_entities),
        ]
        .into_iter()
        .map(|(csv, rows)| {
            let table = parse_csv(csv, "x.csv".as_ref()).unwrap();
            let p = prepare(&table, &opts, &no_progress()).unwrap();
            v2_side(&table, &p, rows)
        })
        .collect();
        for (policy, counts) in [
            (
                NameMatching::WhenStrongKeyMissing,
                Box::new(strong_types_agree) as Box<dyn Fn(KeyType, &Acc, &Acc) -> bool>,
            ),
            (
                NameMatching::Always,
                Box::new(|_: KeyType, _: &Acc, _: &Acc| true),
            ),
        ] {
            let o = overlap::compute(
                &records(&sides[0]),
                sides[0].populations.len(),
                &records(&sides[1]),
                sides[1].populations.len(),
                &MatchPolicy {
                    name_matching: policy,
                },
            )
            .unwrap();
            let (hits, cells) = plain_match(&sides[0], &sides[1], counts);
            let rows = |h: &Hits| -> Vec<(u32, u64)> {
                h.iter()
                    .enumerate()
                    .filter_map(|(i, m)| m.map(|m| (i as u32, m)))
                    .collect()
            };
            assert_eq!(rows(&hits[0]), o.vendor.matched_rows, "{policy:?}");
            assert_eq!(rows(&hits[1]), o.partner.matched_rows, "{policy:?}");
            let computed: Vec<Vec<(u64, u64)>> = o
                .cells
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|c| (c.vendor_accounts, c.partner_accounts))
                        .collect()
                })
                .collect();
            assert_eq!(cells, computed, "{policy:?}");
        }
        // The proposals' emulation, with neither change, is the default.
        let (_, hits, cells) = emulate(&g, false, false).unwrap();
        let s = score(
            &g.truth,
            Method::DEFAULT,
            &emulate(&g, false, false).unwrap().0,
            &hits,
            &cells,
        );
        assert_eq!(s, measure(&g, Method::DEFAULT).unwrap());
    }
}
