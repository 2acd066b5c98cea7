//! From a CSV export to the accounts one side uploads: column mapping,
//! normalization, populations, rejects and dedupe. Everything here is local.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use cleanroom_core::api::{Limits, NamesWithoutCountry};
use cleanroom_core::normalize::{self, RejectReason};
use cleanroom_core::wire::MAX_DOMAIN_KEYS_PER_ROW;
use cleanroom_core::{AccountKey, KeyType};
use sha2::{Digest, Sha256};

use crate::csv_input::{CsvRow, CsvTable, read_csv};
use crate::dedupe::{
    Account, DedupeStats, RowKeys, SharedMailboxes, dedupe, drop_ambiguous, drop_shared_mailboxes,
};
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
    /// What an account without a usable country uploads for its name: the
    /// partnership's [`SharingPolicy::names_without_country`](cleanroom_core::api::SharingPolicy::names_without_country),
    /// which [`run_session`](crate::run_session) checks the input against.
    pub names_without_country: NamesWithoutCountry,
}

/// Reason code of a company name that gave no key because its row has no
/// usable country (under [`NamesWithoutCountry::Omit`]).
pub const NO_COUNTRY: &str = "no-country";

/// Reason code of a row skipped because its only keys were domains that
/// rows of several unrelated names carry (a mailbox provider's, left out:
/// [`drop_shared_mailboxes`]).
pub const SHARED_MAILBOX: &str = "shared-mailbox";

/// Characters that separate several domains in one cell (HubSpot's
/// `Additional Domains` uses `;`; hand-kept lists use the others).
const DOMAIN_SEPARATORS: [char; 3] = [';', ',', '|'];

/// One value that gave no key. Carries no content, only where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based CSV line.
    pub line: u64,
    /// The column's header name.
    pub column: String,
    /// The stable reason code ([`normalize::RejectReason::as_str`]),
    /// [`NO_COUNTRY`] for a name left out for want of a country,
    /// [`SHARED_MAILBOX`] for a row whose only keys were shared mailbox
    /// domains (its column is empty: the domain may come from any website
    /// column), or `empty` for a skipped row none of whose columns had a
    /// value.
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
    /// Header names of the further website columns read on every row.
    pub extra_domain_columns: Vec<String>,
    /// Header name of the country column, if one was found.
    pub country_column: Option<String>,
    /// Header name of the city column, if one was found.
    pub city_column: Option<String>,
    /// Header name of the postal-code column, if one was found.
    pub postcode_column: Option<String>,
    /// Header name of the telephone column, if one was found.
    pub phone_column: Option<String>,
    /// Domain keys rows had beyond their first (from the extra columns and
    /// multi-valued cells), after removing repeats.
    pub extra_domains: u64,
    /// Distinct domains left out of rows with more than
    /// [`MAX_DOMAIN_KEYS_PER_ROW`] (merged accounts: [`DedupeStats::domains_cut`]).
    pub domains_cut: u64,
    /// Domains left out of every row because rows of several distinct names
    /// carry them: a mailbox provider's, not a company's website
    /// ([`drop_shared_mailboxes`]).
    pub shared_mailbox_domains: u64,
    /// Rows that carried one of those domains (those left without a key are
    /// also among [`skipped_rows`](Self::skipped_rows)).
    pub shared_mailbox_rows: u64,
    /// Accounts by their number of domain keys: index 0 for none, up to
    /// [`MAX_DOMAIN_KEYS_PER_ROW`].
    pub accounts_by_domains: Vec<u64>,
    /// Rows with a valid company name and a usable country.
    pub names_with_country: u64,
    /// Rows with a valid company name but no usable country (none, or one
    /// not recognized).
    pub names_without_country: u64,
    /// What those rows uploaded for their name.
    pub names_without_country_rule: NamesWithoutCountry,
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

impl InputReport {
    /// Records what [`drop_shared_mailboxes`] did. The rows it left without a
    /// key were counted as kept while normalizing: they become skipped rows,
    /// their rejected values move from the kept rows' tally to the skipped
    /// ones, and each gets a [`SHARED_MAILBOX`] line among the rejects (a
    /// skipped row always has one), in line order.
    fn record_shared_mailboxes(&mut self, shared: SharedMailboxes) {
        self.shared_mailbox_domains += shared.domains;
        self.shared_mailbox_rows += shared.rows;
        if shared.lines_without_keys.is_empty() {
            return;
        }
        let n = shared.lines_without_keys.len() as u64;
        self.skipped_rows += n;
        *self.skipped_by_reason.entry(SHARED_MAILBOX).or_default() += n;
        let skipped: HashSet<u64> = shared.lines_without_keys.iter().copied().collect();
        let line_reject = |line| Reject {
            line,
            column: String::new(),
            reason: SHARED_MAILBOX,
            row_skipped: true,
        };
        let mut pending = shared.lines_without_keys.into_iter().peekable();
        let mut rejects = Vec::with_capacity(self.rejects.len() + skipped.len());
        for mut r in std::mem::take(&mut self.rejects) {
            // A skipped row's own line goes after its rejected values.
            while let Some(line) = pending.next_if(|&l| l < r.line) {
                rejects.push(line_reject(line));
            }
            if skipped.contains(&r.line) {
                r.row_skipped = true;
                // `no-country` lines were never in the tally (see `run`).
                if let Some(count) = self.rejected_values_by_reason.get_mut(r.reason) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.rejected_values_by_reason.remove(r.reason);
                    }
                }
            }
            rejects.push(r);
        }
        rejects.extend(pending.map(line_reject));
        self.rejects = rejects;
    }
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
    /// What accounts without a usable country carry for their name; a
    /// session refuses an input prepared under another rule than its
    /// partnership's policy.
    pub names_without_country: NamesWithoutCountry,
    /// What happened while reading.
    pub report: InputReport,
}

impl PreparedInput {
    /// A digest of the accounts, keys, populations and lines, and of the
    /// rule for names without a country: equal digests mean a resumed
    /// session uploads exactly the same records under the same rule.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        // The rule is hashed even though the keys already show its effect:
        // an input with no country-less name has equal keys under both rules,
        // but was prepared for a different policy.
        h.update(self.names_without_country.as_str().as_bytes());
        h.update([0]);
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

    /// Recomputes the population sizes and the domains per account of the
    /// report from the accounts.
    fn recount(&mut self) {
        let (sizes, other) = population_sizes(&self.accounts, self.populations.len());
        self.report.population_sizes = sizes;
        self.report.other_accounts = other;
        let mut by_domains = vec![0u64; usize::from(MAX_DOMAIN_KEYS_PER_ROW) + 1];
        for a in &self.accounts {
            let n = a.domain_count().min(by_domains.len() - 1);
            by_domains[n] += 1;
        }
        self.report.accounts_by_domains = by_domains;
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
    /// The domain column first, then the extra ones.
    domain_cols: Vec<usize>,
    name: Option<usize>,
    duns: Option<usize>,
    country: Option<usize>,
    city: Option<usize>,
    postcode: Option<usize>,
    phone: Option<usize>,
    names_without_country: NamesWithoutCountry,
}

/// [`normalize::city_name`] or [`normalize::postcode_name`].
type QualifiedName =
    fn(&str, normalize::Country, &str) -> std::result::Result<AccountKey, RejectReason>;

/// One row's keys and rejected values, as [`Setup::row_keys`] found them.
struct RowOutcome {
    keys: Vec<AccountKey>,
    rejected: Vec<Reject>,
    /// Distinct domains beyond the first.
    extra_domains: u64,
    /// Distinct domains beyond [`MAX_DOMAIN_KEYS_PER_ROW`].
    domains_cut: u64,
    /// A valid name with a usable country.
    name_with_country: bool,
    /// A valid name without a usable country.
    name_without_country: bool,
    /// The valid name's tokens, with or without a country, uploaded or not.
    name_tokens: Option<Box<str>>,
}

impl RowOutcome {
    /// The value of a normalized `column` cell, or `None`: an empty cell
    /// gives nothing and a rejected one is reported (without the value).
    fn accept<T>(
        &mut self,
        result: std::result::Result<T, RejectReason>,
        table: &CsvTable,
        row: &CsvRow,
        column: usize,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(RejectReason::Empty) => None,
            Err(reason) => {
                self.rejected
                    .push(Setup::reject(table, row, column, reason.as_str()));
                None
            }
        }
    }
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
        let domain_cols = mapping
            .domain
            .into_iter()
            .chain(mapping.extra_domains.iter().copied())
            .collect();
        Ok(Setup {
            preset,
            bound,
            domain_cols,
            name: mapping.name,
            duns: mapping.duns,
            country: mapping.country,
            city: mapping.city,
            postcode: mapping.postcode,
            phone: mapping.phone,
            names_without_country: opts.names_without_country,
        })
    }

    fn reject(table: &CsvTable, row: &CsvRow, col: usize, reason: &'static str) -> Reject {
        Reject {
            line: row.line,
            column: table.headers[col].clone(),
            reason,
            row_skipped: false,
        }
    }

    /// Normalizes one row's key columns.
    fn row_keys(&self, table: &CsvTable, row: &CsvRow) -> RowOutcome {
        let mut out = RowOutcome {
            keys: Vec::new(),
            rejected: Vec::new(),
            extra_domains: 0,
            domains_cut: 0,
            name_with_country: false,
            name_without_country: false,
            name_tokens: None,
        };
        let mut domains: Vec<AccountKey> = Vec::new();
        // Values beyond the limit, so that one repeated is counted once (a
        // set: a cell may list thousands).
        let mut cut: HashSet<AccountKey> = HashSet::new();
        for &col in &self.domain_cols {
            let cell = row.get(col);
            for value in cell.split(|c: char| DOMAIN_SEPARATORS.contains(&c) || c.is_whitespace()) {
                match normalize::domain(value) {
                    Ok(k) if domains.contains(&k) => {}
                    Ok(k) if domains.len() < usize::from(MAX_DOMAIN_KEYS_PER_ROW) => {
                        domains.push(k)
                    }
                    Ok(k) => {
                        cut.insert(k);
                    }
                    Err(RejectReason::Empty) => {}
                    Err(reason) => {
                        out.rejected
                            .push(Self::reject(table, row, col, reason.as_str()))
                    }
                }
            }
        }
        out.domains_cut = cut.len() as u64;
        out.extra_domains = domains.len().saturating_sub(1) as u64;
        out.keys.extend(domains);

        // The country only qualifies a name: a row without one is not
        // checked for a country either.
        if let Some(col) = self.name.filter(|&c| !row.get(c).trim().is_empty()) {
            // An unusable country is reported; the row is then one without
            // a usable country.
            let country = self
                .country
                .and_then(|c| out.accept(normalize::country(row.get(c)), table, row, c));
            // Normalized even when it is to be left out, so that an unusable
            // name is reported as such rather than as a missing country.
            let name = normalize::company_name(row.get(col), country);
            // The shared-mailbox rule counts names with or without a country:
            // the value is `<country>:<tokens>`.
            out.name_tokens = name
                .as_ref()
                .ok()
                .and_then(|k| k.value().split_once(':'))
                .map(|(_, tokens)| Box::from(tokens));
            // The number carries its own country, so a row without a usable
            // country still has this key when the number is international.
            let phone_key = self.phone.filter(|_| name.is_ok()).and_then(|column| {
                let key = normalize::phone_name(row.get(col), country, row.get(column));
                out.accept(key, table, row, column)
            });
            match name {
                Ok(k) if country.is_some() => {
                    out.name_with_country = true;
                    out.keys.push(k);
                    if let Some(cc) = country {
                        let raw_name = row.get(col);
                        let qualified = [
                            (self.city, normalize::city_name as QualifiedName),
                            (self.postcode, normalize::postcode_name),
                        ];
                        for (column, key) in qualified {
                            let Some(column) = column else { continue };
                            let k =
                                out.accept(key(raw_name, cc, row.get(column)), table, row, column);
                            out.keys.extend(k);
                        }
                    }
                }
                Ok(k) => {
                    out.name_without_country = true;
                    match self.names_without_country {
                        NamesWithoutCountry::Unqualified => out.keys.push(k),
                        // Only a file with a country column gets a reject
                        // line for every such name: without the column every
                        // row would have one, and the warning about the
                        // missing column says it once.
                        NamesWithoutCountry::Omit if self.country.is_some() => {
                            out.rejected.push(Self::reject(table, row, col, NO_COUNTRY))
                        }
                        NamesWithoutCountry::Omit => {}
                    }
                }
                Err(RejectReason::Empty) => {}
                Err(reason) => out
                    .rejected
                    .push(Self::reject(table, row, col, reason.as_str())),
            }
            out.keys.extend(phone_key);
        }

        if let Some(col) = self.duns {
            let k = out.accept(normalize::duns(row.get(col)), table, row, col);
            out.keys.extend(k);
        }
        out
    }

    /// Normalizes `rows` (the table's rows, borrowed or taken out of it).
    fn run<R: std::borrow::Borrow<CsvRow>>(
        self,
        table: &CsvTable,
        rows_in: impl IntoIterator<Item = R>,
        n_rows: usize,
        progress: &ProgressFn,
    ) -> Result<PreparedInput> {
        let header = |c: usize| table.headers[c].clone();
        let mut key_columns = Vec::new();
        if let Some(&c) = self.domain_cols.first() {
            key_columns.push((KeyType::Domain, header(c)));
        }
        key_columns.extend(self.name.map(|c| (KeyType::Name, header(c))));
        key_columns.extend(self.duns.map(|c| (KeyType::Duns, header(c))));
        let mut rep = InputReport {
            preset: Some(self.preset),
            key_columns,
            extra_domain_columns: self
                .domain_cols
                .iter()
                .skip(1)
                .map(|&c| header(c))
                .collect(),
            country_column: self.country.map(header),
            city_column: self.city.map(header),
            postcode_column: self.postcode.map(header),
            phone_column: self.phone.map(header),
            names_without_country_rule: self.names_without_country,
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
            let RowOutcome {
                keys,
                mut rejected,
                extra_domains,
                domains_cut,
                name_with_country,
                name_without_country,
                name_tokens,
            } = self.row_keys(table, row);
            if keys.is_empty() {
                rep.skipped_rows += 1;
                if name_without_country && self.country.is_none() {
                    // A skipped row always gets a reject line: here the one
                    // `row_keys` left out for its name.
                    if let Some(col) = self.name {
                        rejected.push(Self::reject(table, row, col, NO_COUNTRY));
                    }
                }
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
                for r in rejected.iter().filter(|r| r.reason != NO_COUNTRY) {
                    *rep.rejected_values_by_reason.entry(r.reason).or_default() += 1;
                }
                rep.extra_domains += extra_domains;
                rep.domains_cut += domains_cut;
                rows.push(RowKeys {
                    line: row.line,
                    keys,
                    populations: self.bound.mask(row),
                    name_tokens,
                });
            }
            rep.names_with_country += u64::from(name_with_country);
            rep.names_without_country += u64::from(name_without_country);
            rep.rejects.extend(rejected);
        }
        report(progress, Phase::Normalize, total, Some(total), true);
        let shared = drop_shared_mailboxes(&mut rows);
        rep.record_shared_mailboxes(shared);
        let (mut accounts, mut stats) = dedupe(rows);
        drop_ambiguous(&mut accounts, &mut stats);
        rep.dedupe = stats;
        let names = self.bound.names().to_vec();
        let mut prepared = PreparedInput {
            populations: names,
            accounts,
            names_without_country: self.names_without_country,
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
            session_expiry_secs: Some(86_400),
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

    fn prep(csv: &str, opts: &InputOptions) -> PreparedInput {
        let t = parse_csv(csv.as_bytes(), Path::new("x.csv")).unwrap();
        prepare(&t, opts, &no_progress()).unwrap()
    }

    fn messages(a: &Account) -> Vec<&str> {
        a.keys.iter().map(|k| k.message()).collect()
    }

    #[test]
    fn ambiguous_keys_are_left_out_and_reported() {
        let csv = "Account Name,Website,Billing Country\n\
            Acme,acme.co.uk,UK\n\
            Acme,acme.com.au,United Kingdom\n\
            Beta,beta.io,UK\n";
        let p = prep(csv, &InputOptions::default());
        assert_eq!(p.accounts.len(), 3);
        assert_eq!(p.report.dedupe.ambiguous_keys, 1);
        assert_eq!(p.report.dedupe.ambiguous_names, 1);
        assert_eq!(p.record_count(), 4);
        assert!(p.accounts[..2].iter().all(|a| a.keys.len() == 1));
    }

    #[test]
    fn the_country_reaches_the_name_key() {
        let csv = "Account Name,Website,Billing Country\n\
            Acme Holdings Ltd,acme.co.uk,United Kingdom\n\
            Beta GmbH,beta.de,Deutschland\n\
            Gamma Inc,,U.S.A.\n\
            Delta SA,delta.fr,Atlantis\n";
        let p = prep(csv, &InputOptions::default());
        assert_eq!(p.report.country_column.as_deref(), Some("Billing Country"));
        assert_eq!(
            messages(&p.accounts[0]),
            vec!["domain:acme.co.uk", "name:gb:acme holdings"]
        );
        assert_eq!(
            messages(&p.accounts[1]),
            vec!["domain:beta.de", "name:de:beta"]
        );
        assert_eq!(messages(&p.accounts[2]), vec!["name:us:gamma"]);
        // An unknown country is a reject of the country column, without its
        // value, and leaves the name without a country.
        assert_eq!(messages(&p.accounts[3]), vec!["domain:delta.fr"]);
        assert_eq!(p.report.names_without_country, 1);
        assert_eq!(p.report.names_with_country, 3);
        assert_eq!(
            p.report.rejected_values_by_reason.get("unknown-country"),
            Some(&1)
        );
        let rejects: Vec<(u64, &str, &str)> = p
            .report
            .rejects
            .iter()
            .map(|r| (r.line, r.column.as_str(), r.reason))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (5, "Billing Country", "unknown-country"),
                (5, "Account Name", NO_COUNTRY)
            ]
        );
        // `no-country` is reported on its own line of the summary, not
        // among the rejected values.
        assert_eq!(p.report.rejected_values_by_reason.get(NO_COUNTRY), None);
    }

    #[test]
    fn names_without_a_country_are_omitted_or_unqualified_as_agreed() {
        let csv = "Account Name,Website\n\
            Acme Inc,acme.com\n\
            Beta Inc,\n";
        let omit = prep(csv, &InputOptions::default());
        assert_eq!(omit.names_without_country, NamesWithoutCountry::Omit);
        assert_eq!(omit.report.country_column, None);
        assert_eq!(omit.report.names_without_country, 2);
        assert_eq!(omit.accounts.len(), 1);
        assert_eq!(messages(&omit.accounts[0]), vec!["domain:acme.com"]);
        // The row whose only key was its name is skipped, with one reject
        // line saying why.
        assert_eq!(omit.report.skipped_by_reason.get(NO_COUNTRY), Some(&1));
        assert_eq!(omit.report.rejects.len(), 1);
        assert_eq!(omit.report.rejects[0].line, 3);
        assert!(omit.report.rejects[0].row_skipped);

        let opts = InputOptions {
            names_without_country: NamesWithoutCountry::Unqualified,
            ..InputOptions::default()
        };
        let unq = prep(csv, &opts);
        assert_eq!(unq.names_without_country, NamesWithoutCountry::Unqualified);
        assert_eq!(unq.report.names_without_country, 2);
        assert_eq!(unq.accounts.len(), 2);
        assert_eq!(
            messages(&unq.accounts[0]),
            vec!["domain:acme.com", "name::acme"]
        );
        assert_eq!(messages(&unq.accounts[1]), vec!["name::beta"]);
        assert!(unq.report.rejects.is_empty());

        // Equal keys, other rule: another fingerprint.
        let csv = "Account Name,Website,Country\nAcme Inc,acme.com,FR\n";
        let a = prep(csv, &InputOptions::default());
        let b = prep(csv, &opts);
        assert_eq!(a.accounts, b.accounts);
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn rows_of_one_name_without_a_website_are_not_merged() {
        // Version 1 merged these two rows on their name into one account;
        // they may be two companies. Now they stay two accounts, and their
        // shared name, which would not say which one matched, is left out.
        let csv = "Account Name,Website,Country,Type\n\
            Acme Ltd,,UK,Customer\n\
            ACME Limited,,United Kingdom,Prospect\n\
            Beta Ltd,,UK,Customer\n";
        let p = prep(csv, &InputOptions::default());
        assert_eq!(p.report.dedupe.rows_merged, 0);
        assert_eq!(p.report.dedupe.ambiguous_names, 1);
        assert_eq!(p.report.dedupe.accounts_without_keys, 2);
        assert_eq!(p.accounts.len(), 1);
        assert_eq!(messages(&p.accounts[0]), vec!["name:gb:beta"]);
    }

    #[test]
    fn a_domain_of_three_names_is_a_shared_mailbox() {
        // Three small businesses with an internet provider's mailbox, which
        // would otherwise merge into one account; a company under two names,
        // which still merges; a placeholder row.
        let csv = "Account Name,Website,Billing Country,Type\n\
            Smith Plumbing,info@sky.com,UK,Customer\n\
            Jones Bakery,jones@sky.com,UK,Customer\n\
            Patel & Co,sky.com,UK,Customer\n\
            Jones Bakery Ltd,https://www.jones-bakery.co.uk; sky.com,UK,Prospect\n\
            ,www.sky.com,,Customer\n\
            IBM,ibm.com,US,Customer\n\
            International Business Machines,www.ibm.com,US,Prospect\n\
            Test Account,,US,Customer\n";
        let p = prep(csv, &InputOptions::default());
        let keys: Vec<Vec<&str>> = p.accounts.iter().map(messages).collect();
        assert_eq!(
            keys,
            vec![
                vec!["name:gb:smith plumbing"],
                vec!["name:gb:patel"],
                vec!["domain:jones-bakery.co.uk"],
                vec!["domain:ibm.com", "name:us:ibm"],
            ]
        );
        // The two Jones Bakery rows keep their name out as ambiguous: the
        // provider's domain no longer merges them, and each is one account.
        let lines: Vec<Vec<u64>> = p.accounts.iter().map(|a| a.lines.clone()).collect();
        assert_eq!(lines, vec![vec![2], vec![4], vec![5], vec![7, 8]]);
        assert_eq!(p.report.shared_mailbox_domains, 1);
        assert_eq!(p.report.shared_mailbox_rows, 5);
        // The nameless row had only the provider's domain: skipped, with a
        // reject line in line order; so is the placeholder, for its name.
        assert_eq!(p.report.skipped_rows, 2);
        assert_eq!(p.report.skipped_by_reason.get(SHARED_MAILBOX), Some(&1));
        assert_eq!(p.report.skipped_by_reason.get("placeholder-name"), Some(&1));
        let rejects: Vec<(u64, &str, &str, bool)> = p
            .report
            .rejects
            .iter()
            .map(|r| (r.line, r.column.as_str(), r.reason, r.row_skipped))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (6, "", SHARED_MAILBOX, true),
                (9, "Account Name", "placeholder-name", true),
            ]
        );
        let summary = crate::output::input_summary(&p.report, &p.populations, p.accounts.len());
        assert!(
            summary.contains("Shared mailbox domains left out: 1 (on 5 rows)"),
            "{summary}"
        );
        assert!(!summary.contains("sky"), "{summary}");
    }

    #[test]
    fn a_row_left_without_keys_moves_its_rejects_to_the_skipped() {
        // Line 5 had a rejected value while it counted as kept, until its
        // only key went.
        let csv = "Account Name,Website,Billing Country\n\
            A,a@isp.net,UK\n\
            B,b@isp.net,UK\n\
            C,c@isp.net,UK\n\
            ,x@isp.net;localhost,UK\n\
            D,d.com;localhost,Atlantis\n";
        let p = prep(csv, &InputOptions::default());
        assert_eq!(p.report.shared_mailbox_domains, 1);
        assert_eq!(p.report.shared_mailbox_rows, 4);
        // Lines 2 to 4 keep their names; line 5 is skipped.
        assert_eq!(p.accounts.len(), 4);
        assert_eq!(p.report.skipped_rows, 1);
        assert_eq!(p.report.skipped_by_reason.get(SHARED_MAILBOX), Some(&1));
        // Line 6's invalid domain stays a kept row's; line 5's moved.
        assert_eq!(
            p.report.rejected_values_by_reason.get("invalid-domain"),
            Some(&1)
        );
        let rejects: Vec<(u64, &str, bool)> = p
            .report
            .rejects
            .iter()
            .map(|r| (r.line, r.reason, r.row_skipped))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (5, "invalid-domain", true),
                (5, SHARED_MAILBOX, true),
                (6, "invalid-domain", false),
                (6, "unknown-country", false),
                (6, NO_COUNTRY, false),
            ]
        );
        // Once the last of a reason moves, the reason leaves the tally.
        let csv = "Account Name,Website\nA,a@isp.net\nB,b@isp.net\nC,c@isp.net;localhost\n";
        let p = prep(csv, &InputOptions::default());
        assert_eq!(p.accounts.len(), 0);
        assert!(p.report.rejected_values_by_reason.is_empty());
        assert_eq!(p.report.skipped_by_reason.get(SHARED_MAILBOX), Some(&3));
    }

    #[test]
    fn hubspot_additional_domains_are_read() {
        let csv = "Company name,Company Domain Name,Website URL,Additional Domains,Country/Region,Lifecycle Stage\n\
            Acme,acme.com,https://www.acme.io/en,\"acme.de; acme.fr;https://shop.acme.co.uk/x, acme.com\",Germany,customer\n\
            Beta,,https://beta.io,,,customer\n\
            Acme Europe,,,acme.fr,Germany,lead\n";
        let p = prep(csv, &InputOptions::default());
        assert_eq!(p.report.preset, Some(Preset::HubSpot));
        assert_eq!(
            p.report.extra_domain_columns,
            vec!["Website URL".to_owned(), "Additional Domains".to_owned()]
        );
        assert_eq!(p.report.country_column.as_deref(), Some("Country/Region"));
        // Line 4 shares acme.fr with line 2: one account.
        assert_eq!(p.accounts.len(), 2);
        assert_eq!(p.accounts[0].lines, vec![2, 4]);
        assert_eq!(
            messages(&p.accounts[0]),
            vec![
                "domain:acme.fr",
                "domain:acme.com",
                "domain:acme.io",
                "domain:acme.de",
                "domain:acme.co.uk",
                "name:de:acme",
            ]
        );
        assert_eq!(messages(&p.accounts[1]), vec!["domain:beta.io"]);
        // acme.io, acme.de, acme.fr and acme.co.uk beyond line 2's first.
        assert_eq!(p.report.extra_domains, 4);
        assert_eq!(p.report.accounts_by_domains[1], 1);
        assert_eq!(p.report.accounts_by_domains[5], 1);
        // The two names of the merged account: the first one stays.
        assert_eq!(p.report.dedupe.keys_dropped, 1);
    }

    #[test]
    fn more_than_eight_domains_are_cut() {
        let many: Vec<String> = (0..11).map(|i| format!("d{i}.com")).collect();
        let csv = format!(
            "Company,Website,Other Websites\nAcme,d0.com,\"{} | d1.com localhost\"\n",
            many.join(",")
        );
        let p = prep(&csv, &InputOptions::default());
        assert_eq!(p.accounts.len(), 1);
        let domains: Vec<&str> = p.accounts[0].keys.iter().map(|k| k.value()).collect();
        assert_eq!(
            domains,
            many[..8].iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(p.report.domains_cut, 3);
        assert_eq!(p.report.extra_domains, 7);
        assert_eq!(p.report.accounts_by_domains[8], 1);
        // Each value of a multi-valued cell is checked on its own.
        let rejected: u64 = p.report.rejected_values_by_reason.values().sum();
        assert_eq!(rejected, 1, "{:?}", p.report.rejected_values_by_reason);
    }

    #[test]
    fn salesforce_export_end_to_end() {
        let csv = "\u{feff}Account Name,Website,D-U-N-S Number,Type,Billing Country\r\n\
            \"Acme, Inc.\",https://www.acme.com/about,,Customer,United States\r\n\
            ACME Inc,acme.com,,Prospect,USA\r\n\
            ,,,Customer,\r\n\
            Gmail User,gmail.com,,Prospect,US\r\n\
            Beta Ltd,beta.co.uk,12-345-6789,Partner,UK\r\n\
            !!!,localhost,,Other,\r\n";
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
