//! Merging rows that describe the same account.
//!
//! Rows sharing a domain or DUNS key are one account (union-find, so chains
//! merge too). Company names are weak: two rows with the same name but
//! different websites are often different companies, so a name only merges
//! rows that have no domain or DUNS at all. A merged account keeps one key of
//! each type (the server rejects two keys of one type on a row): the value
//! most of its rows carry, ties going to the earliest line.

use std::collections::HashMap;

use cleanroom_core::{AccountKey, KeyType};

/// One CSV row's normalized keys and populations.
#[derive(Clone, Debug)]
pub struct RowKeys {
    /// 1-based line in the CSV.
    pub line: u64,
    /// At most one key of each type.
    pub keys: Vec<AccountKey>,
    /// Population bits.
    pub populations: u64,
}

/// One account after merging: the unit that gets a row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// At most one key of each type, in [`KeyType`] order.
    pub keys: Vec<AccountKey>,
    /// Union of the merged rows' populations.
    pub populations: u64,
    /// The CSV lines merged into this account, ascending.
    pub lines: Vec<u64>,
}

/// What merging did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupeStats {
    /// Rows folded into another row's account.
    pub rows_merged: u64,
    /// Keys left out because a merged account had another value of that type.
    pub keys_dropped: u64,
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

/// Merges rows into accounts, ordered by their first line.
pub fn dedupe(rows: Vec<RowKeys>) -> (Vec<Account>, DedupeStats) {
    let mut uf = UnionFind((0..rows.len()).collect());
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(rows.len() * 2);
    for (i, row) in rows.iter().enumerate() {
        let has_strong = row.keys.iter().any(|k| k.kind().is_strong());
        for k in &row.keys {
            if !k.kind().is_strong() && has_strong {
                continue;
            }
            match first.get(k.message()) {
                Some(&j) => uf.union(i, j),
                None => {
                    first.insert(k.message(), i);
                }
            }
        }
    }
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..rows.len() {
        let r = uf.find(i);
        let g = *group_of_root.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let mut stats = DedupeStats::default();
    let accounts = groups
        .into_iter()
        .map(|members| {
            stats.rows_merged += members.len() as u64 - 1;
            let mut populations = 0;
            let mut lines = Vec::with_capacity(members.len());
            for &m in &members {
                populations |= rows[m].populations;
                lines.push(rows[m].line);
            }
            lines.sort_unstable();
            let mut keys = Vec::new();
            for kind in KeyType::ALL {
                // Candidate values in order of first appearance, with counts.
                let mut cands: Vec<(&AccountKey, usize)> = Vec::new();
                for &m in &members {
                    for k in rows[m].keys.iter().filter(|k| k.kind() == kind) {
                        match cands.iter_mut().find(|(c, _)| *c == k) {
                            Some((_, n)) => *n += 1,
                            None => cands.push((k, 1)),
                        }
                    }
                }
                // The most common value wins; ties go to the first seen.
                if let Some((k, _)) = cands.iter().rev().max_by_key(|c| c.1) {
                    keys.push((*k).clone());
                    stats.keys_dropped += cands.len() as u64 - 1;
                }
            }
            Account {
                keys,
                populations,
                lines,
            }
        })
        .collect();
    (accounts, stats)
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
        }
    }
    use KeyType::{Domain as D, Duns as U, Name as N};

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
                keys_dropped: 1
            }
        );
        assert_eq!(acc[1].lines, vec![3]);
    }

    #[test]
    fn names_merge_only_rows_without_strong_keys() {
        let (acc, _) = dedupe(vec![
            row(2, &[(D, "acme.co.uk"), (N, "acme")], 1),
            row(3, &[(D, "acme.com.au"), (N, "acme")], 1),
            row(4, &[(N, "acme")], 2),
            row(5, &[(N, "acme")], 4),
        ]);
        assert_eq!(acc.len(), 3);
        assert_eq!(acc[2].lines, vec![4, 5]);
        assert_eq!(acc[2].populations, 6);
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
}
