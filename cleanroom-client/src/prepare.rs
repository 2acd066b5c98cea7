//! From a CSV export to the accounts one side uploads: column mapping,
//! normalization, populations, rejects and dedupe. Everything here is local.

use std::collections::BTreeMap;
use std::path::Path;

use cleanroom_core::KeyType;
use cleanroom_core::normalize;
use sha2::{Digest, Sha256};

use crate::csv_input::{CsvRow, CsvTable, read_csv};
use crate::dedupe::{Account, DedupeStats, RowKeys, dedupe};
use crate::error::Result;
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
    /// Accounts per population, after merging.
    pub population_sizes: Vec<u64>,
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
        let (accounts, stats) = dedupe(rows);
        rep.dedupe = stats;
        let names = bound.names().to_vec();
        rep.population_sizes = (0..names.len())
            .map(|p| {
                accounts
                    .iter()
                    .filter(|a| a.populations & (1 << p) != 0)
                    .count() as u64
            })
            .collect();
        Ok(PreparedInput {
            populations: names,
            accounts,
            report: rep,
        })
    }
}

/// [`prepare_file`] without progress reports.
pub fn prepare_file_quiet(path: &Path, opts: &InputOptions) -> Result<PreparedInput> {
    prepare_file(path, opts, &no_progress())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_input::parse_csv;

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
