//! Merging rows that describe the same account.
//!
//! Rows sharing a domain or DUNS key are one account (union-find, so chains
//! merge too). First, though, a domain that rows of several unrelated
//! names carry is taken for a mailbox provider's and left out of every row
//! ([`drop_shared_mailboxes`]): merging on it would make one account of
//! unrelated small businesses. A company name never merges rows, not even rows without a
//! website: two rows with one name are as often two companies (a
//! subsidiary abroad, a namesake) as one, and version 1, which merged
//! website-less rows on their name, joined different companies into one
//! account. A name several accounts share is instead left out of all of them
//! ([`drop_ambiguous`]).
//!
//! A merged account keeps what the server accepts on one row
//! ([`max_keys_of`]): up to
//! [`MAX_DOMAIN_KEYS_PER_ROW`](cleanroom_core::wire::MAX_DOMAIN_KEYS_PER_ROW)
//! distinct domains, one name, one city-qualified name and one DUNS, the
//! values most of its rows carry first, ties going to the earliest line, and
//! no more than [`MAX_KEYS_PER_ROW`] in all (the least common domains go).

use std::collections::{HashMap, HashSet};

use cleanroom_core::wire::{MAX_KEYS_PER_ROW, max_keys_of};
use cleanroom_core::{AccountKey, KeyType};

/// One CSV row's normalized keys and populations.
#[derive(Clone, Debug)]
pub struct RowKeys {
    /// 1-based line in the CSV.
    pub line: u64,
    /// Up to [`max_keys_of`] distinct keys of each type (more are cut when
    /// the row becomes an account).
    pub keys: Vec<AccountKey>,
    /// Population bits.
    pub populations: u64,
    /// The row's company name as tokens (section 3.2, without the country),
    /// whether or not its name key is uploaded; `None` for a row without a
    /// valid name. Only [`drop_shared_mailboxes`] reads it, and clears it.
    pub name_tokens: Option<Box<str>>,
}

/// One account after merging: the unit that gets a row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Distinct keys, at most [`max_keys_of`] of each type, grouped in
    /// [`KeyType`] order (domains first, most common first).
    pub keys: Vec<AccountKey>,
    /// Union of the merged rows' populations.
    pub populations: u64,
    /// The CSV lines merged into this account, ascending.
    pub lines: Vec<u64>,
}

impl Account {
    /// How many domain keys the account carries.
    pub fn domain_count(&self) -> usize {
        self.keys
            .iter()
            .filter(|k| k.kind() == KeyType::Domain)
            .count()
    }
}

/// What merging did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupeStats {
    /// Rows folded into another row's account.
    pub rows_merged: u64,
    /// Names and DUNS numbers left out because a merged account had another
    /// value of that type (an account carries one of each).
    pub keys_dropped: u64,
    /// Domains left out because a merged account had more than
    /// [`MAX_DOMAIN_KEYS_PER_ROW`](cleanroom_core::wire::MAX_DOMAIN_KEYS_PER_ROW).
    pub domains_cut: u64,
    /// Distinct key values left out because several accounts carry them
    /// ([`drop_ambiguous`]).
    pub ambiguous_keys: u64,
    /// Of [`ambiguous_keys`](Self::ambiguous_keys), the company names
    /// (qualified by country, city or postal code).
    pub ambiguous_names: u64,
    /// City-qualified names left out because more than
    /// [`MAX_CITY_NAMESAKES`] accounts share their country-qualified name.
    pub common_city_names: u64,
    /// Accounts left out because all their keys were ambiguous.
    pub accounts_without_keys: u64,
}

/// Rows of this many distinct company names, told apart by their first word,
/// on one domain make it a mailbox provider's (PROTOCOL.md section 3.6, step
/// 3). Two is still one company under two names (`IBM`, `International
/// Business Machines`); the first word keeps a company's own variants and
/// divisions together (`Siemens Energy`, `Siemens Mobility`, `Siemens AG
/// (old)` on `siemens.com`).
pub const SHARED_MAILBOX_NAMES: usize = 3;

/// What [`drop_shared_mailboxes`] left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedMailboxes {
    /// Distinct domains left out.
    pub domains: u64,
    /// Rows that carried one of them (including those left with no key).
    pub rows: u64,
    /// Lines of the rows left with no key, ascending: removed from the rows.
    pub lines_without_keys: Vec<u64>,
}

/// Leaves out of every row each domain that rows of
/// [`SHARED_MAILBOX_NAMES`] or more distinct first name words carry, and then the rows
/// left without a key; clears every row's `name_tokens`.
///
/// Such a domain is a mailbox provider's that the free-mail list does not
/// name (`info@sky.com`, `ziggo.nl`: providers whose mail domain is also
/// their own website): unrelated small businesses share it, and merging on it
/// would make one account of them, which then matches the other side's
/// account of that domain. Rows without a name are not counted, so a
/// company's own rows, which rarely spell its name three ways, keep their
/// domain. The names are cleared because nothing after this step reads them,
/// and at a million rows they weigh tens of megabytes.
pub fn drop_shared_mailboxes(rows: &mut Vec<RowKeys>) -> SharedMailboxes {
    let shared: HashSet<AccountKey> = {
        /// The distinct names seen on a domain, up to the third. (Spelled out
        /// for 3, [`SHARED_MAILBOX_NAMES`]: no allocation per domain.)
        #[derive(Clone, Copy)]
        enum Names<'a> {
            One(&'a str),
            Two(&'a str, &'a str),
            Three,
        }
        const _: () = assert!(SHARED_MAILBOX_NAMES == 3);
        let mut names: HashMap<&AccountKey, Names<'_>> = HashMap::new();
        for row in rows.iter() {
            let Some(name) = row.name_tokens.as_deref() else {
                continue;
            };
            let name = name.split(' ').next().unwrap_or(name);
            for k in row.keys.iter().filter(|k| k.kind() == KeyType::Domain) {
                let seen = names.entry(k).or_insert(Names::One(name));
                *seen = match *seen {
                    Names::One(a) if a != name => Names::Two(a, name),
                    Names::Two(a, b) if a != name && b != name => Names::Three,
                    same => same,
                };
            }
        }
        names
            .into_iter()
            .filter(|(_, n)| matches!(n, Names::Three))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let mut out = SharedMailboxes {
        domains: shared.len() as u64,
        ..SharedMailboxes::default()
    };
    rows.retain_mut(|row| {
        row.name_tokens = None;
        if shared.is_empty() {
            return true;
        }
        let before = row.keys.len();
        row.keys.retain(|k| !shared.contains(k));
        if row.keys.len() == before {
            return true;
        }
        out.rows += 1;
        if row.keys.is_empty() {
            out.lines_without_keys.push(row.line);
            return false;
        }
        true
    });
    out
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // Keep the smaller index as root so groups are ordered by first line.
        if a < b {
            self.0[b] = a;
        } else if b < a {
            self.0[a] = b;
        }
    }
}

/// Whether rows sharing a key of this type are one account: a domain, a
/// DUNS, or a name with one telephone number (two CRM records of one
/// company; two companies do not share both their name and their number).
fn merges(kind: KeyType) -> bool {
    kind.is_strong() || kind == KeyType::PhoneName
}

/// Merges rows into accounts, ordered by their first line.
pub fn dedupe(mut rows: Vec<RowKeys>) -> (Vec<Account>, DedupeStats) {
    let n = rows.len();
    let mut uf = UnionFind((0..n).collect());
    {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(n * 2);
        for (i, row) in rows.iter().enumerate() {
            for k in row.keys.iter().filter(|k| merges(k.kind())) {
                match first.get(k.message()) {
                    Some(&j) => uf.union(i, j),
                    None => {
                        first.insert(k.message(), i);
                    }
                }
            }
        }
    }
    // Roots are the smallest index of their group, so numbering groups as
    // their roots come up orders them by first line without a map. Members
    // are laid out group by group in one array (not a Vec per group): at a
    // million rows the per-group allocations cost more than the merging.
    let mut group_of = vec![0usize; n];
    let mut sizes: Vec<usize> = Vec::new();
    for i in 0..n {
        let root = uf.find(i);
        let g = if root == i {
            sizes.push(0);
            sizes.len() - 1
        } else {
            group_of[root]
        };
        group_of[i] = g;
        sizes[g] += 1;
    }
    let mut starts = Vec::with_capacity(sizes.len() + 1);
    let mut at = 0;
    for &size in &sizes {
        starts.push(at);
        at += size;
    }
    starts.push(at);
    let mut fill = starts.clone();
    let mut members = vec![0usize; n];
    for (i, &g) in group_of.iter().enumerate() {
        members[fill[g]] = i;
        fill[g] += 1;
    }

    let mut stats = DedupeStats::default();
    let accounts = starts
        .windows(2)
        .map(|w| match &members[w[0]..w[1]] {
            // Most rows are accounts of their own: take their keys as they are
            // (unless a caller broke the per-type limits; `merge` fixes that).
            &[only] if within_limits(&rows[only].keys) => {
                let row = &mut rows[only];
                let mut keys = std::mem::take(&mut row.keys);
                // Stable: the domains keep their order.
                keys.sort_by_key(|k| k.kind());
                Account {
                    keys,
                    populations: row.populations,
                    lines: vec![row.line],
                }
            }
            group => merge(&rows, group, &mut stats),
        })
        .collect();
    (accounts, stats)
}

/// Accounts of one country-qualified name beyond which their city-qualified
/// names are left out ([`drop_common_city_names`]).
pub const MAX_CITY_NAMESAKES: usize = 3;

/// Leaves out the city-qualified name of every account whose
/// country-qualified name more than [`MAX_CITY_NAMESAKES`] of one's own
/// accounts carry.
///
/// A name that common in one country (`Smith Consulting`, US) is as common
/// on the other side, where several of those companies share a city with
/// one of ours: a city-qualified name then matches another company about
/// as often as the right one. A name a few accounts share is one the city
/// tells apart. Measured on the realistic generator (BENCHMARKS.md, "Match
/// quality"): without the limit the city keys raised recall from 0.91 to
/// 0.94 but cut precision to 0.976-0.981; at 3 precision is 0.993-0.995,
/// at 5 it is 0.990.
fn drop_common_city_names(accounts: &mut [Account], stats: &mut DedupeStats) {
    let mut namesakes: HashMap<&AccountKey, usize> = HashMap::new();
    for a in accounts.iter() {
        for k in a.keys.iter().filter(|k| k.kind() == KeyType::Name) {
            *namesakes.entry(k).or_default() += 1;
        }
    }
    let common: std::collections::HashSet<AccountKey> = namesakes
        .into_iter()
        .filter(|&(_, n)| n > MAX_CITY_NAMESAKES)
        .map(|(k, _)| k.clone())
        .collect();
    if common.is_empty() {
        return;
    }
    for a in accounts.iter_mut() {
        if a.keys.iter().any(|k| common.contains(k)) {
            let before = a.keys.len();
            a.keys.retain(|k| k.kind() != KeyType::CityName);
            stats.common_city_names += (before - a.keys.len()) as u64;
        }
    }
}

/// Leaves out every key value (type and normalized value) that more than one
/// account carries, from all of those accounts, and then the accounts left
/// without a key.
///
/// Such a key cannot say which of the accounts matched, and the server
/// refuses an upload in which one blinded point sits on two rows: a
/// duplicated point would let an uploader probe the other side's list. After
/// [`dedupe`] only names can be shared, since a shared domain, DUNS or
/// phone-qualified name merges the rows into one account: a name (with its
/// country) on two of one's own accounts names two companies, or one company
/// twice without a shared website, and neither may be matched on the name.
pub fn drop_ambiguous(accounts: &mut Vec<Account>, stats: &mut DedupeStats) {
    drop_common_city_names(accounts, stats);
    let ambiguous: std::collections::HashSet<AccountKey> = {
        // `true` once a second account carries the key.
        let mut seen: HashMap<&AccountKey, bool> = HashMap::with_capacity(accounts.len() * 2);
        for a in accounts.iter() {
            for k in &a.keys {
                seen.entry(k)
                    .and_modify(|twice| *twice = true)
                    .or_insert(false);
            }
        }
        seen.into_iter()
            .filter(|&(_, twice)| twice)
            .map(|(k, _)| k.clone())
            .collect()
    };
    if ambiguous.is_empty() {
        return;
    }
    stats.ambiguous_keys += ambiguous.len() as u64;
    stats.ambiguous_names += ambiguous.iter().filter(|k| !k.kind().is_strong()).count() as u64;
    let before = accounts.len();
    accounts.retain_mut(|a| {
        a.keys.retain(|k| !ambiguous.contains(k));
        !a.keys.is_empty()
    });
    stats.accounts_without_keys += (before - accounts.len()) as u64;
}

/// Whether a row's keys can be uploaded as they are: distinct, and no more of
/// a type than one row may carry.
fn within_limits(keys: &[AccountKey]) -> bool {
    keys.len() as u64 <= MAX_KEYS_PER_ROW
        && keys.iter().enumerate().all(|(i, k)| {
            let earlier = &keys[..i];
            !earlier.contains(k)
                && earlier.iter().filter(|e| e.kind() == k.kind()).count()
                    < usize::from(max_keys_of(k.kind()))
        })
}

/// One account from several rows (or from one row over the limits): the
/// union of their populations and, per key type, the values most of them
/// carry, up to what one account may carry.
fn merge(rows: &[RowKeys], members: &[usize], stats: &mut DedupeStats) -> Account {
    stats.rows_merged += members.len() as u64 - 1;
    let mut populations = 0;
    let mut lines = Vec::with_capacity(members.len());
    for &m in members {
        populations |= rows[m].populations;
        lines.push(rows[m].line);
    }
    lines.sort_unstable();
    let mut keys = Vec::new();
    for kind in KeyType::ALL {
        // Candidate values in order of first appearance (members ascend by
        // line), with the number of rows carrying each.
        let mut cands: Vec<(&AccountKey, usize)> = Vec::new();
        for &m in members {
            let row_keys = &rows[m].keys;
            for (i, k) in row_keys.iter().enumerate() {
                // A row listing a value twice counts once.
                if k.kind() != kind || row_keys[..i].contains(k) {
                    continue;
                }
                match cands.iter_mut().find(|(c, _)| *c == k) {
                    Some((_, n)) => *n += 1,
                    None => cands.push((k, 1)),
                }
            }
        }
        // Most common first; stable, so ties keep the earliest line first.
        cands.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let limit = usize::from(max_keys_of(kind));
        let left_out = cands.len().saturating_sub(limit) as u64;
        if kind == KeyType::Domain {
            stats.domains_cut += left_out;
        } else {
            stats.keys_dropped += left_out;
        }
        keys.extend(cands.into_iter().take(limit).map(|(k, _)| k.clone()));
    }
    // Past the limit in all, the least common domains go: the weak keys and
    // the DUNS are one each and carry what the domains may not.
    while keys.len() as u64 > MAX_KEYS_PER_ROW {
        let last_domain = keys.iter().rposition(|k| k.kind() == KeyType::Domain);
        let Some(i) = last_domain else { break };
        keys.remove(i);
        stats.domains_cut += 1;
    }
    Account {
        keys,
        populations,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, keys: &[(KeyType, &str)], populations: u64) -> RowKeys {
        RowKeys {
            line,
            keys: keys
                .iter()
                .map(|(t, v)| AccountKey::from_normalized(*t, v))
                .collect(),
            populations,
            name_tokens: None,
        }
    }
    use KeyType::{Domain as D, Duns as U, Name as N};

    /// A row with a name (as tokens) and domains.
    fn named(line: u64, name: Option<&str>, keys: &[(KeyType, &str)]) -> RowKeys {
        RowKeys {
            name_tokens: name.map(Box::from),
            ..row(line, keys, 1)
        }
    }

    fn values(rows: &[RowKeys]) -> Vec<Vec<&str>> {
        rows.iter()
            .map(|r| r.keys.iter().map(|k| k.value()).collect())
            .collect()
    }

    #[test]
    fn a_domain_of_three_names_is_left_out_of_every_row() {
        let mut rows = vec![
            named(
                2,
                Some("smith plumbing"),
                &[(D, "sky.com"), (N, "gb:smith plumbing")],
            ),
            named(3, Some("jones bakery"), &[(D, "sky.com")]),
            // The same name again counts once.
            named(
                4,
                Some("jones bakery"),
                &[(D, "sky.com"), (D, "jones.co.uk")],
            ),
            // A row without a name does not count.
            named(5, None, &[(D, "acme.com"), (D, "sky.com")]),
            named(6, Some("patel and co"), &[(D, "sky.com"), (U, "123456789")]),
            // Two names on one domain: one company under two names.
            named(7, Some("ibm"), &[(D, "ibm.com")]),
            named(
                8,
                Some("international business machines"),
                &[(D, "ibm.com")],
            ),
        ];
        let out = drop_shared_mailboxes(&mut rows);
        assert_eq!(
            out,
            SharedMailboxes {
                domains: 1,
                rows: 5,
                lines_without_keys: vec![3],
            }
        );
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 6, 7, 8]);
        assert_eq!(
            values(&rows),
            vec![
                vec!["gb:smith plumbing"],
                vec!["jones.co.uk"],
                vec!["acme.com"],
                vec!["123456789"],
                vec!["ibm.com"],
                vec!["ibm.com"],
            ]
        );
        assert!(rows.iter().all(|r| r.name_tokens.is_none()));
        // No shared domain: nothing changes but the names.
        let mut rows = vec![
            named(2, Some("a"), &[(D, "x.com")]),
            named(3, Some("b"), &[(D, "x.com")]),
            named(4, None, &[(D, "x.com")]),
            named(5, Some("a"), &[(D, "x.com")]),
        ];
        assert_eq!(drop_shared_mailboxes(&mut rows), SharedMailboxes::default());
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r.keys.len() == 1 && r.name_tokens.is_none())
        );
    }

    #[test]
    fn only_domains_are_counted_and_left_out() {
        // Three names on one DUNS number or one name key: never a mailbox.
        let mut rows = vec![
            named(2, Some("a"), &[(U, "123456789"), (N, "gb:x")]),
            named(3, Some("b"), &[(U, "123456789"), (N, "gb:x")]),
            named(4, Some("c"), &[(U, "123456789"), (N, "gb:x")]),
        ];
        assert_eq!(drop_shared_mailboxes(&mut rows), SharedMailboxes::default());
        assert!(rows.iter().all(|r| r.keys.len() == 2));
    }

    #[test]
    fn identical_and_chained_keys_merge_with_population_union() {
        let (acc, stats) = dedupe(vec![
            row(2, &[(D, "acme.com"), (N, "acme")], 0b01),
            row(3, &[(D, "beta.io")], 0b01),
            row(4, &[(D, "acme.com"), (U, "123456789")], 0b10),
            row(5, &[(U, "123456789"), (N, "acme corp")], 0b100),
        ]);
        assert_eq!(acc.len(), 2);
        assert_eq!(acc[0].lines, vec![2, 4, 5]);
        assert_eq!(acc[0].populations, 0b111);
        // Names "acme" and "acme corp" conflict: one kept, one dropped.
        assert_eq!(acc[0].keys.len(), 3);
        assert_eq!(acc[0].keys[1].value(), "acme");
        assert_eq!(
            stats,
            DedupeStats {
                rows_merged: 2,
                keys_dropped: 1,
                ..DedupeStats::default()
            }
        );
        assert_eq!(acc[1].lines, vec![3]);
    }

    #[test]
    fn a_shared_name_never_merges_rows() {
        let (acc, stats) = dedupe(vec![
            row(2, &[(D, "acme.co.uk"), (N, "gb:acme")], 1),
            row(3, &[(D, "acme.com.au"), (N, "gb:acme")], 1),
            // Two rows known by the same name only: in version 1 one account,
            // now two, whose shared name `drop_ambiguous` leaves out.
            row(4, &[(N, ":acme")], 2),
            row(5, &[(N, ":acme")], 4),
        ]);
        assert_eq!(acc.len(), 4);
        assert_eq!(stats.rows_merged, 0);
        let lines: Vec<Vec<u64>> = acc.iter().map(|a| a.lines.clone()).collect();
        assert_eq!(lines, vec![vec![2], vec![3], vec![4], vec![5]]);
    }

    #[test]
    fn a_name_with_one_telephone_number_merges_rows() {
        const P: KeyType = KeyType::PhoneName;
        let (acc, stats) = dedupe(vec![
            row(2, &[(N, "gb:smith"), (P, "+442079460123:smith")], 1),
            // The same company entered twice without a website, in another
            // population: one account in both.
            row(3, &[(N, "gb:smith"), (P, "+442079460123:smith")], 2),
            // Same name, another number: another company.
            row(4, &[(N, "gb:smith"), (P, "+441619460123:smith")], 4),
            // Same number, another name: not merged either.
            row(5, &[(N, "gb:jones"), (P, "+442079460123:jones")], 8),
        ]);
        assert_eq!(stats.rows_merged, 1);
        let lines: Vec<Vec<u64>> = acc.iter().map(|a| a.lines.clone()).collect();
        assert_eq!(lines, vec![vec![2, 3], vec![4], vec![5]]);
        assert_eq!(acc[0].populations, 3);
        assert_eq!(acc[0].keys.len(), 2);
    }

    #[test]
    fn a_lone_row_keeps_eight_domains_and_one_name() {
        let (acc, stats) = dedupe(vec![row(2, &[(N, "b"), (D, "a.com"), (D, "c.com")], 1)]);
        assert_eq!(acc.len(), 1);
        let kinds: Vec<KeyType> = acc[0].keys.iter().map(|k| k.kind()).collect();
        assert_eq!(kinds, vec![D, D, N]);
        assert_eq!(acc[0].keys[0].value(), "a.com");
        assert_eq!(acc[0].domain_count(), 2);
        assert_eq!(stats, DedupeStats::default());

        // Over the limits (a caller that did not cut): the first eight
        // domains and the first name stay.
        let domains: Vec<String> = (0..10).map(|i| format!("d{i}.com")).collect();
        let mut keys: Vec<(KeyType, &str)> = domains.iter().map(|d| (D, d.as_str())).collect();
        keys.extend([(N, "x"), (N, "y"), (D, "d0.com")]);
        let (acc, stats) = dedupe(vec![row(2, &keys, 1)]);
        let values: Vec<&str> = acc[0].keys.iter().map(|k| k.value()).collect();
        assert_eq!(
            values,
            vec![
                "d0.com", "d1.com", "d2.com", "d3.com", "d4.com", "d5.com", "d6.com", "d7.com", "x"
            ]
        );
        assert_eq!((stats.domains_cut, stats.keys_dropped), (2, 1));
    }

    #[test]
    fn a_merged_account_keeps_its_most_common_domains() {
        // Eleven rows chained through a.com, each with a second domain:
        // b.com on three rows, c.com on two, six others on one each.
        let seconds = [
            "x1.com", "b.com", "c.com", "b.com", "x2.com", "c.com", "b.com", "x3.com", "x4.com",
            "x5.com", "x6.com",
        ];
        let rows: Vec<RowKeys> = seconds
            .iter()
            .enumerate()
            .map(|(i, d)| row(i as u64 + 2, &[(D, "a.com"), (D, d)], 1))
            .collect();
        let (acc, stats) = dedupe(rows);
        assert_eq!(acc.len(), 1);
        let values: Vec<&str> = acc[0].keys.iter().map(|k| k.value()).collect();
        // By count, then by first line: x6.com, the ninth, goes.
        assert_eq!(
            values,
            vec![
                "a.com", "b.com", "c.com", "x1.com", "x2.com", "x3.com", "x4.com", "x5.com"
            ]
        );
        assert_eq!(stats.domains_cut, 1);
        let rows: Vec<RowKeys> = (0..10)
            .map(|i| row(i + 2, &[(D, "a.com"), (D, &format!("y{i}.com"))], 1))
            .collect();
        let (acc, stats) = dedupe(rows);
        assert_eq!(acc[0].domain_count(), 8);
        assert_eq!(acc[0].keys[0].value(), "a.com");
        assert_eq!(acc[0].keys[7].value(), "y6.com");
        assert_eq!(stats.domains_cut, 3);
    }

    #[test]
    fn keys_of_several_accounts_are_left_out_of_all_of_them() {
        let (mut acc, mut stats) = dedupe(vec![
            // Two companies of one name with different websites, and a third
            // known by that name only: three accounts sharing the name key.
            row(2, &[(D, "acme.co.uk"), (N, "acme")], 1),
            row(3, &[(D, "acme.com.au"), (N, "acme")], 1),
            row(4, &[(N, "acme")], 2),
            row(5, &[(D, "beta.io"), (N, "beta")], 1),
        ]);
        assert_eq!(acc.len(), 4);
        drop_ambiguous(&mut acc, &mut stats);
        assert_eq!(stats.ambiguous_keys, 1);
        assert_eq!(stats.ambiguous_names, 1);
        assert_eq!(stats.accounts_without_keys, 1);
        let lines: Vec<u64> = acc.iter().map(|a| a.lines[0]).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        assert_eq!(
            acc[0].keys,
            vec![AccountKey::from_normalized(D, "acme.co.uk")]
        );
        assert_eq!(acc[2].keys.len(), 2);
        // The same value under another key type is another key.
        let (mut acc, mut stats) = dedupe(vec![
            row(2, &[(D, "x.com"), (N, "x.com")], 1),
            row(3, &[(D, "y.com"), (N, "x.com")], 1),
        ]);
        drop_ambiguous(&mut acc, &mut stats);
        assert_eq!(stats.ambiguous_keys, 1);
        assert_eq!(acc.len(), 2);
        assert!(acc.iter().all(|a| a.keys.len() == 1));
    }

    #[test]
    fn majority_value_wins() {
        let (acc, stats) = dedupe(vec![
            row(2, &[(U, "111111111"), (N, "x")], 1),
            row(3, &[(U, "111111111"), (N, "y")], 1),
            row(4, &[(U, "111111111"), (N, "y")], 1),
        ]);
        assert_eq!(acc[0].keys[0].value(), "y");
        assert_eq!(stats.keys_dropped, 1);
    }

    proptest::proptest! {
        /// Whatever the rows: every line lands in exactly one account, accounts
        /// come in order of first line with their keys grouped in type order
        /// and within the per-type limits, rows sharing a strong key share an
        /// account, and rows sharing only a name do not.
        #[test]
        fn accounts_partition_the_rows(
            specs in proptest::collection::vec(
                (proptest::collection::vec(0u8..12, 0..11), proptest::option::of(0u8..6), proptest::option::of(0u8..6), 1u64..8),
                0..60,
            )
        ) {
            let rows: Vec<RowKeys> = specs
                .iter()
                .enumerate()
                .map(|(i, (ds, n, u, populations))| {
                    let (n, u, populations) = (*n, *u, *populations);
                    let mut keys = Vec::new();
                    // Deliberately not in type order, and up to ten domains
                    // with repeats.
                    if let Some(u) = u { keys.push(AccountKey::from_normalized(U, &format!("{u:09}"))); }
                    if let Some(n) = n { keys.push(AccountKey::from_normalized(N, &format!("n{n}"))); }
                    for d in ds { keys.push(AccountKey::from_normalized(D, &format!("d{d}.com"))); }
                    RowKeys { line: i as u64 + 2, keys, populations, name_tokens: None }
                })
                .collect();
            let (acc, stats) = dedupe(rows.clone());
            let mut account_of = std::collections::HashMap::new();
            for (a, account) in acc.iter().enumerate() {
                for &l in &account.lines {
                    proptest::prop_assert!(account_of.insert(l, a).is_none());
                }
                proptest::prop_assert!(account.keys.windows(2).all(|w| w[0].kind() <= w[1].kind()));
                for kind in KeyType::ALL {
                    let n = account.keys.iter().filter(|k| k.kind() == kind).count();
                    proptest::prop_assert!(n <= usize::from(max_keys_of(kind)));
                }
                // A name alone never merges: a row without a strong key stays alone.
                let weak_only = |l: &u64| rows.iter().any(|r| r.line == *l && !r.keys.iter().any(|k| k.kind().is_strong()));
                if account.lines.len() > 1 {
                    proptest::prop_assert!(!account.lines.iter().any(weak_only));
                }
                let pops = rows.iter().filter(|r| account.lines.contains(&r.line)).fold(0, |p, r| p | r.populations);
                proptest::prop_assert_eq!(account.populations, pops);
            }
            proptest::prop_assert_eq!(account_of.len(), rows.len());
            proptest::prop_assert!(acc.windows(2).all(|w| w[0].lines[0] < w[1].lines[0]));
            proptest::prop_assert_eq!(stats.rows_merged as usize, rows.len() - acc.len());
            // After leaving ambiguous keys out, no key is on two accounts.
            // (Rows without keys never reach dedupe from `prepare`.)
            let keyed: Vec<Account> = acc.iter().filter(|a| !a.keys.is_empty()).cloned().collect();
            let (mut unique, mut stats2) = (keyed.clone(), stats);
            drop_ambiguous(&mut unique, &mut stats2);
            let mut owner = std::collections::HashMap::new();
            for (a, account) in unique.iter().enumerate() {
                proptest::prop_assert!(!account.keys.is_empty());
                for k in &account.keys {
                    proptest::prop_assert!(owner.insert(k.clone(), a).is_none());
                }
            }
            proptest::prop_assert_eq!(unique.len() as u64 + stats2.accounts_without_keys, keyed.len() as u64);
            for a in &rows {
                for b in &rows {
                    let shared_strong = a.keys.iter().any(|k| k.kind().is_strong() && b.keys.contains(k));
                    if shared_strong {
                        proptest::prop_assert_eq!(account_of[&a.line], account_of[&b.line]);
                    }
                }
            }
        }
    }
}
