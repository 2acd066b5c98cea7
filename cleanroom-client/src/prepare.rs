//! From a CSV export to the accounts one side uploads: column mapping,
//! normalization, populations, rejects and dedupe. Everything here is local.

use std::collections::BTreeMap;
use std::path::Path;

use cleanroom_core::KeyType;
use cleanroom_core::api::Limits;
use cleanroom_core::normalize;
use sha2::{Digest, Sha256};

use crate::csv_input::{CsvRow, CsvTable, read_csv};
use crate::dedupe::{Account, DedupeStats, RowKeys, dedupe, drop_ambiguous};
use crate::error::{Error, Result};
use crate::populations::{BoundPopulations, Population};
use crate::presets::{ColumnOverrides, Preset};
use crate::progress::{Phase, ProgressFn, no_progress, report};

/// How to read an export.
#[derive(Clone, Debug, Default)]
pub struct InputOptions {
    /// The layout; `None` detects it from the header.
    pub preset: Option<Preset>,
    /// Explicit key columns.
    pub columns: ColumnOverrides,
    /// Population rules; empty means the preset's defaults.
    pub populations: Vec<Population>,
}

/// One value that gave no key. Carries no content, only where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based CSV line.
    pub line: u64,
    /// The column's header name.
    pub column: String,
    /// The stable reason code ([`normalize::RejectReason::as_str`]), or
    /// `no-key` for a row none of whose columns gave a key.
    pub reason: &'static str,
    /// Whether the whole row was skipped.
    pub row_skipped: bool,
}

/// What reading the input did, for the user.
#[derive(Clone, Debug, Default)]
pub struct InputReport {
    /// The layout used.
    pub preset: Option<Preset>,
    /// Header names of the domain, name and DUNS columns used.
    pub key_columns: Vec<(KeyType, String)>,
    /// Data rows read.
    pub rows: u64,
    /// Rows skipped because no column gave a key.
    pub skipped_rows: u64,
    /// Skipped rows per reason (of the first non-empty rejected value, else `empty`).
    pub skipped_by_reason: BTreeMap<&'static str, u64>,
    /// Rejected non-empty values in rows that were kept, per reason.
    pub rejected_values_by_reason: BTreeMap<&'static str, u64>,
    /// Every rejected value (and every skipped row), for `--rejects`.
    pub rejects: Vec<Reject>,
    /// Merging.
    pub dedupe: DedupeStats,
    /// Accounts per population, after merging (and after
    /// [`PreparedInput::fit_limits`], when it ran).
    pub population_sizes: Vec<u64>,
    /// Accounts in none of the populations: the server counts them in the
    /// implicit population [`OTHER_POPULATION`](cleanroom_core::wire::OTHER_POPULATION).
    pub other_accounts: u64,
    /// What fitting the server's limits changed, once it ran.
    pub limits: Option<LimitsReport>,
}

/// What [`PreparedInput::fit_limits`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitsReport {
    /// The server's minimum accounts per population.
    pub min_population_size: u64,
    /// The server's maximum populations per account.
    pub max_populations_per_row: u64,
    /// Accounts that were in more populations than allowed and now are only
    /// in their first declared ones.
    pub accounts_reassigned: u64,
    /// Accounts in no population left out because there were too few of
    /// them to form the implicit [`OTHER_POPULATION`](cleanroom_core::wire::OTHER_POPULATION).
    pub other_left_out: u64,
}

/// The accounts one side uploads, before shuffling and blinding.
#[derive(Clone, Debug)]
pub struct PreparedInput {
    /// Population names; bit `i` of an account's populations is `populations[i]`.
    pub populations: Vec<String>,
    /// Accounts, in order of their first CSV line.
    pub accounts: Vec<Account>,
    /// What happened while reading.
    pub report: InputReport,
}

impl PreparedInput {
    /// A digest of the accounts, keys, populations and lines: equal digests
    /// mean a resumed session uploads exactly the same records.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for p in &self.populations {
            h.update(p.as_bytes());
            h.update([0]);
        }
        for a in &self.accounts {
            h.update(a.populations.to_be_bytes());
            for k in &a.keys {
                h.update(k.message().as_bytes());
                h.update([0]);
            }
            for l in &a.lines {
                h.update(l.to_be_bytes());
            }
            h.update([1]);
        }
        hex::encode(h.finalize())
    }

    /// Blinded records this input produces (one per key of each account).
    pub fn record_count(&self) -> u64 {
        self.accounts.iter().map(|a| a.keys.len() as u64).sum()
    }

    /// Whether the upload already meets the server's population rules, so
    /// that [`fit_limits`](Self::fit_limits) would change nothing and fail
    /// on nothing.
    pub fn fits(&self, limits: &Limits) -> bool {
        let max = populations_allowed(limits);
        let other = self.accounts.iter().filter(|a| a.populations == 0).count() as u64;
        self.accounts
            .iter()
            .all(|a| a.populations.count_ones() <= max)
            && (other == 0 || other >= limits.min_population_size)
            && self.small_population(limits).is_none()
    }

    /// Fits the upload to the server's population rules, before any session
    /// is created or joined (the server would refuse the commit otherwise):
    ///
    /// - an account in more than `max_populations_per_row` populations stays
    ///   in its first declared ones only;
    /// - accounts in no population form the server's implicit
    ///   [`OTHER_POPULATION`](cleanroom_core::wire::OTHER_POPULATION); fewer than `min_population_size` of them are
    ///   left out of the upload;
    /// - a declared population smaller than `min_population_size` is an
    ///   error: it could not be uploaded, and leaving it out silently would
    ///   show results the user did not ask for.
    pub fn fit_limits(&mut self, limits: &Limits) -> Result<LimitsReport> {
        let max = populations_allowed(limits);
        let mut rep = LimitsReport {
            min_population_size: limits.min_population_size,
            max_populations_per_row: limits.max_populations_per_row,
            ..LimitsReport::default()
        };
        for a in &mut self.accounts {
            if a.populations.count_ones() > max {
                a.populations = lowest_bits(a.populations, max);
                rep.accounts_reassigned += 1;
            }
        }
        let other = self.accounts.iter().filter(|a| a.populations == 0).count() as u64;
        if other > 0 && other < limits.min_population_size {
            self.accounts.retain(|a| a.populations != 0);
            rep.other_left_out = other;
        }
        self.recount();
        if let Some((name, n)) = self.small_population(limits) {
            return Err(Error::Input(format!(
                "population {name:?} has {n} accounts, fewer than the {} the server requires of every population; \
                 widen its rule or leave it out (--population)",
                limits.min_population_size
            )));
        }
        self.report.limits = Some(rep);
        Ok(rep)
    }

    /// The first declared population below the server's minimum, if any.
    fn small_population(&self, limits: &Limits) -> Option<(&str, u64)> {
        self.populations
            .iter()
            .zip(&self.report.population_sizes)
            .find(|&(_, &n)| n < limits.min_population_size)
            .map(|(name, &n)| (name.as_str(), n))
    }

    /// Recomputes the population sizes of the report from the accounts.
    fn recount(&mut self) {
        let (sizes, other) = population_sizes(&self.accounts, self.populations.len());
        self.report.population_sizes = sizes;
        self.report.other_accounts = other;
    }
}

/// The populations one account may be in; a server saying 0 means 1, as an
/// account is always counted somewhere (in "(other)" at worst).
fn populations_allowed(limits: &Limits) -> u32 {
    u32::try_from(limits.max_populations_per_row.max(1)).unwrap_or(u32::MAX)
}

/// The `n` lowest set bits of `mask`: the first `n` declared populations.
fn lowest_bits(mut mask: u64, n: u32) -> u64 {
    let mut kept = 0;
    for _ in 0..n {
        if mask == 0 {
            break;
        }
        let low = mask & mask.wrapping_neg();
        kept |= low;
        mask &= !low;
    }
    kept
}

/// Accounts per declared population, and accounts in none.
fn population_sizes(accounts: &[Account], n: usize) -> (Vec<u64>, u64) {
    let mut sizes = vec![0u64; n];
    let mut other = 0;
    for a in accounts {
        if a.populations == 0 {
            other += 1;
        }
        for (p, size) in sizes.iter_mut().enumerate() {
            *size += (a.populations >> p) & 1;
        }
    }
    (sizes, other)
}

/// Reads `path` and prepares its accounts.
pub fn prepare_file(
    path: &Path,
    opts: &InputOptions,
    progress: &ProgressFn,
) -> Result<PreparedInput> {
    let mut table = read_csv(path)?;
    let setup = Setup::new(&table, opts)?;
    // Rows are consumed (and freed) as they are normalized, so the parsed
    // file and the prepared accounts are never both whole in memory.
    let rows = std::mem::take(&mut table.rows);
    let n = rows.len();
    setup.run(&table, rows, n, progress)
}

/// Prepares the accounts of a parsed table.
pub fn prepare(
    table: &CsvTable,
    opts: &InputOptions,
    progress: &ProgressFn,
) -> Result<PreparedInput> {
    Setup::new(table, opts)?.run(table, &table.rows, table.rows.len(), progress)
}

/// The column mapping and bound populations of one table.
struct Setup {
    preset: Preset,
    bound: BoundPopulations,
    fallback: Option<usize>,
    cols: Vec<(KeyType, usize)>,
}

impl Setup {
    fn new(table: &CsvTable, opts: &InputOptions) -> Result<Self> {
        let preset = opts.preset.unwrap_or_else(|| Preset::detect(table));
        let mapping = preset.columns(table, &opts.columns)?;
        let populations = if opts.populations.is_empty() {
            preset.default_populations(table)
        } else {
            opts.populations.clone()
        };
        let bound = BoundPopulations::bind(&populations, table)?;
        let fallback = mapping.domain_fallback;
        let cols: Vec<(KeyType, usize)> = [
            (KeyType::Domain, mapping.domain),
            (KeyType::Name, mapping.name),
            (KeyType::Duns, mapping.duns),
        ]
        .into_iter()
        .filter_map(|(k, c)| c.map(|c| (k, c)))
        .collect();
        Ok(Setup {
            preset,
            bound,
            fallback,
            cols,
        })
    }

    /// Normalizes `rows` (the table's rows, borrowed or taken out of it).
    fn run<R: std::borrow::Borrow<CsvRow>>(
        self,
        table: &CsvTable,
        rows_in: impl IntoIterator<Item = R>,
        n_rows: usize,
        progress: &ProgressFn,
    ) -> Result<PreparedInput> {
        let Setup {
            preset,
            bound,
            fallback,
            cols,
        } = self;
        let mut rep = InputReport {
            preset: Some(preset),
            key_columns: cols
                .iter()
                .map(|&(k, c)| (k, table.headers[c].clone()))
                .collect(),
            rows: n_rows as u64,
            ..Default::default()
        };
        let total = n_rows as u64;
        let mut rows = Vec::with_capacity(n_rows);
        for (i, row) in rows_in.into_iter().enumerate() {
            let row: &CsvRow = row.borrow();
            if i % 20_000 == 0 {
                report(progress, Phase::Normalize, i as u64, Some(total), false);
            }
            let mut keys = Vec::with_capacity(cols.len());
            let mut rejected: Vec<Reject> = Vec::new();
            for &(kind, col) in &cols {
                let mut col = col;
                if let (KeyType::Domain, Some(f)) = (kind, fallback) {
                    if row.get(col).trim().is_empty() {
                        col = f;
                    }
                }
                let raw = row.get(col);
                match normalize::key(kind, raw) {
                    Ok(k) => keys.push(k),
                    Err(normalize::RejectReason::Empty) => {}
                    Err(reason) => rejected.push(Reject {
                        line: row.line,
                        column: table.headers[col].clone(),
                        reason: reason.as_str(),
                        row_skipped: false,
                    }),
                }
            }
            if keys.is_empty() {
                rep.skipped_rows += 1;
                let reason = rejected.first().map(|r| r.reason).unwrap_or("empty");
                *rep.skipped_by_reason.entry(reason).or_default() += 1;
                if rejected.is_empty() {
                    rejected.push(Reject {
                        line: row.line,
                        column: String::new(),
                        reason: "empty",
                        row_skipped: true,
                    });
                }
                for r in &mut rejected {
                    r.row_skipped = true;
                }
            } else {
                for r in &rejected {
                    *rep.rejected_values_by_reason.entry(r.reason).or_default() += 1;
                }
                rows.push(RowKeys {
                    line: row.line,
                    keys,
                    populations: bound.mask(row),
                });
            }
            rep.rejects.extend(rejected);
        }
        report(progress, Phase::Normalize, total, Some(total), true);
        let (mut accounts, mut stats) = dedupe(rows);
        drop_ambiguous(&mut accounts, &mut stats);
        rep.dedupe = stats;
        let names = bound.names().to_vec();
        let mut prepared = PreparedInput {
            populations: names,
            accounts,
            report: rep,
        };
        prepared.recount();
        Ok(prepared)
    }
}

/// [`prepare_file`] without progress reports.
pub fn prepare_file_quiet(path: &Path, opts: &InputOptions) -> Result<PreparedInput> {
    prepare_file(path, opts, &no_progress())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::csv_input::parse_csv;

    /// Server limits with the given population rules, the rest at defaults.
    pub(crate) fn limits(min_population_size: u64, max_populations_per_row: u64) -> Limits {
        let e = cleanroom_core::api::Epsilon(1_000_000);
        Limits {
            protocol_version: String::new(),
            min_population_size,
            min_cell_size: 1,
            max_populations_per_row,
            max_keys_per_row: 3,
            sessions_per_day: 10,
            epsilon_min: e,
            epsilon_max: e,
            epsilon_default: e,
            epsilon_budget: e,
            epsilon_window_days: 30,
            max_records_per_side: 10_000_000,
        }
    }

    /// Accounts `a0.com`, `a1.com`, … with the given population masks.
    fn input(populations: &[&str], masks: &[u64]) -> PreparedInput {
        let mut csv = String::from("Account Name,Website\n");
        for i in 0..masks.len() {
            csv.push_str(&format!("A{i},a{i}.com\n"));
        }
        let t = parse_csv(csv.as_bytes(), Path::new("x.csv")).unwrap();
        let opts = InputOptions {
            populations: populations
                .iter()
                .map(|p| Population::parse(&format!("{p}=*")).unwrap())
                .collect(),
            ..InputOptions::default()
        };
        let mut p = prepare(&t, &opts, &no_progress()).unwrap();
        for (a, &m) in p.accounts.iter_mut().zip(masks) {
            a.populations = m;
        }
        p.recount();
        p
    }

    #[test]
    fn accounts_in_several_populations_keep_their_first() {
        let mut p = input(&["a", "b", "c"], &[0b001, 0b110, 0b111, 0b100]);
        assert!(!p.fits(&limits(1, 1)));
        let rep = p.fit_limits(&limits(1, 1)).unwrap();
        assert_eq!(rep.accounts_reassigned, 2);
        let masks: Vec<u64> = p.accounts.iter().map(|a| a.populations).collect();
        assert_eq!(masks, vec![0b001, 0b010, 0b001, 0b100]);
        assert_eq!(p.report.population_sizes, vec![2, 1, 1]);
        assert!(p.fits(&limits(1, 1)));
        // Two populations per account allowed: the first two declared stay.
        let mut p = input(&["a", "b", "c"], &[0b111, 0b110]);
        let rep = p.fit_limits(&limits(1, 2)).unwrap();
        assert_eq!(rep.accounts_reassigned, 1);
        assert_eq!(p.accounts[0].populations, 0b011);
        assert_eq!(p.accounts[1].populations, 0b110);
    }

    #[test]
    fn too_few_accounts_in_no_population_are_left_out() {
        let mut p = input(&["a"], &[1, 1, 1, 0, 1, 0]);
        assert_eq!(p.report.other_accounts, 2);
        let fp = p.fingerprint();
        let rep = p.fit_limits(&limits(3, 1)).unwrap();
        assert_eq!(rep.other_left_out, 2);
        assert_eq!(p.accounts.len(), 4);
        assert_eq!(p.report.other_accounts, 0);
        assert_ne!(p.fingerprint(), fp);
        // Enough of them: they stay, as the server's "(other)" population.
        let mut p = input(&["a"], &[1, 1, 0, 0, 0]);
        assert!(p.fits(&limits(2, 1)));
        let rep = p.fit_limits(&limits(2, 1)).unwrap();
        assert_eq!(rep.other_left_out, 0);
        assert_eq!(p.accounts.len(), 5);
        assert_eq!(p.report.other_accounts, 3);
    }

    #[test]
    fn a_declared_population_below_the_minimum_is_an_error() {
        let mut p = input(&["big", "small"], &[1, 1, 1, 2]);
        assert!(!p.fits(&limits(2, 1)));
        let err = p.fit_limits(&limits(2, 1)).unwrap_err();
        assert!(matches!(err, Error::Input(_)));
        let msg = err.to_string();
        assert!(
            msg.contains("\"small\" has 1 accounts") && msg.contains("2"),
            "{msg}"
        );
        // Reassignment comes first: a population only reached through
        // accounts that stay in an earlier one ends up too small.
        let mut p = input(&["a", "b"], &[0b11, 0b11, 0b10, 0b10]);
        assert!(p.fit_limits(&limits(3, 1)).is_err());
        let mut p = input(&["a", "b"], &[0b11, 0b11, 0b10, 0b10]);
        assert!(p.fit_limits(&limits(2, 1)).is_ok());
    }

    #[test]
    fn ambiguous_keys_are_left_out_and_reported() {
        let csv = "Account Name,Website\n\
            Acme,acme.co.uk\n\
            Acme,acme.com.au\n\
            Beta,beta.io\n";
        let t = parse_csv(csv.as_bytes(), Path::new("x.csv")).unwrap();
        let p = prepare(&t, &InputOptions::default(), &no_progress()).unwrap();
        assert_eq!(p.accounts.len(), 3);
        assert_eq!(p.report.dedupe.ambiguous_keys, 1);
        assert_eq!(p.record_count(), 4);
        assert!(p.accounts[..2].iter().all(|a| a.keys.len() == 1));
    }

    #[test]
    fn salesforce_export_end_to_end() {
        let csv = "\u{feff}Account Name,Website,D-U-N-S Number,Type\r\n\
            \"Acme, Inc.\",https://www.acme.com/about,,Customer\r\n\
            ACME Inc,acme.com,,Prospect\r\n\
            ,,,Customer\r\n\
            Gmail User,gmail.com,,Prospect\r\n\
            Beta Ltd,beta.co.uk,12-345-6789,Partner\r\n\
            !!!,localhost,,Other\r\n";
        let t = parse_csv(csv.as_bytes(), Path::new("x.csv")).unwrap();
        let p = prepare(&t, &InputOptions::default(), &no_progress()).unwrap();
        assert_eq!(p.populations, vec!["customers", "prospects", "partners"]);
        assert_eq!(p.report.rows, 6);
        assert_eq!(p.report.skipped_rows, 2);
        assert_eq!(p.report.skipped_by_reason.get("empty"), Some(&1));
        assert_eq!(
            p.report.rejected_values_by_reason.get("free-mail"),
            Some(&1)
        );
        assert_eq!(p.accounts.len(), 3);
        assert_eq!(p.accounts[0].lines, vec![2, 3]);
        assert_eq!(p.accounts[0].populations, 0b011);
        assert_eq!(p.report.population_sizes, vec![1, 2, 1]);
        assert_eq!(p.accounts[2].keys.len(), 3);
        let skipped: Vec<_> = p.report.rejects.iter().filter(|r| r.row_skipped).collect();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert_eq!(
            p.fingerprint(),
            prepare(&t, &InputOptions::default(), &no_progress())
                .unwrap()
                .fingerprint()
        );
    }
}
