//! Overlap semantics against a plaintext computation of the same accounts.

use std::collections::{BTreeMap, BTreeSet};

use cleanroom_core::blind::BlindedPoint;
use cleanroom_core::overlap::{MatchPolicy, NameMatching, TokenRecord, compute};
use cleanroom_core::{AccountKey, KeyType, SessionSecret};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Account {
    populations: u64,
    keys: BTreeMap<KeyType, String>,
}

fn account() -> impl Strategy<Value = Account> {
    (
        0u64..8,
        prop::option::of(0u8..12),
        prop::option::of(0u8..12),
        prop::option::of(0u8..12),
    )
        .prop_map(|(populations, d, n, u)| {
            let mut keys = BTreeMap::new();
            if let Some(d) = d {
                keys.insert(KeyType::Domain, format!("d{d}.com"));
            }
            if let Some(n) = n {
                keys.insert(KeyType::Name, format!("n{n}"));
            }
            if let Some(u) = u {
                keys.insert(KeyType::Duns, format!("{u:09}"));
            }
            Account { populations, keys }
        })
}

/// Blinds both sides end to end, as the two parties and the server would.
fn tokenize(mine: &[Account], me: &SessionSecret, them: &SessionSecret) -> Vec<TokenRecord> {
    let mut out = Vec::new();
    for (row, a) in mine.iter().enumerate() {
        for (kind, v) in &a.keys {
            let key = AccountKey::from_normalized(*kind, v);
            let blinded = BlindedPoint::decode(me.blind(&key).as_bytes()).expect("valid point");
            out.push(TokenRecord {
                row_id: row as u32 * 7 + 3,
                populations: a.populations,
                key_type: *kind,
                token: them.token(&blinded),
            });
        }
    }
    out
}

fn plain_match(policy: NameMatching, a: &Account, b: &Account) -> bool {
    let shared =
        |k: KeyType| matches!((a.keys.get(&k), b.keys.get(&k)), (Some(x), Some(y)) if x == y);
    if shared(KeyType::Domain) || shared(KeyType::Duns) {
        return true;
    }
    shared(KeyType::Name)
        && match policy {
            NameMatching::Never => false,
            NameMatching::Always => true,
            NameMatching::WhenStrongKeyMissing => {
                let both = |k: KeyType| a.keys.contains_key(&k) && b.keys.contains_key(&k);
                !(both(KeyType::Domain) || both(KeyType::Duns))
            }
        }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn matrix_equals_plaintext(
        vendor in prop::collection::vec(account(), 0..25),
        partner in prop::collection::vec(account(), 0..25),
        policy in prop::sample::select(vec![NameMatching::Never, NameMatching::WhenStrongKeyMissing, NameMatching::Always]),
    ) {
        let vs = SessionSecret::generate();
        let ps = SessionSecret::generate();
        let v_tok = tokenize(&vendor, &vs, &ps);
        let p_tok = tokenize(&partner, &ps, &vs);
        let o = compute(&v_tok, 3, &p_tok, 3, &MatchPolicy { name_matching: policy }).unwrap();

        for vp in 0..3 {
            for pp in 0..3 {
                let mut va = BTreeSet::new();
                let mut pa = BTreeSet::new();
                for (i, a) in vendor.iter().enumerate() {
                    for (j, b) in partner.iter().enumerate() {
                        if a.keys.is_empty() || b.keys.is_empty() { continue; }
                        if a.populations & (1 << vp) != 0 && b.populations & (1 << pp) != 0 && plain_match(policy, a, b) {
                            va.insert(i);
                            pa.insert(j);
                        }
                    }
                }
                prop_assert_eq!(o.cells[vp][pp].vendor_accounts, va.len() as u64, "vendor cell {} {}", vp, pp);
                prop_assert_eq!(o.cells[vp][pp].partner_accounts, pa.len() as u64, "partner cell {} {}", vp, pp);
            }
        }
        for (side, mine, theirs, fig) in [("vendor", &vendor, &partner, &o.vendor), ("partner", &partner, &vendor, &o.partner)] {
            for p in 0..3 {
                let members: Vec<&Account> = mine.iter().filter(|a| a.populations & (1 << p) != 0 && !a.keys.is_empty()).collect();
                let matched = members.iter().filter(|a| theirs.iter().any(|b| plain_match(policy, a, b))).count();
                prop_assert_eq!(fig.totals[p], members.len() as u64, "{} total {}", side, p);
                prop_assert_eq!(fig.matched[p], matched as u64, "{} matched {}", side, p);
                prop_assert_eq!(fig.white_space(p), (members.len() - matched) as u64);
            }
        }
    }
}

#[test]
fn several_accounts_matching_one_counts_both_ways() {
    // Two vendor accounts share one partner domain: the vendor count is 2, the partner count 1.
    let vendor = vec![
        Account {
            populations: 1,
            keys: BTreeMap::from([(KeyType::Domain, "acme.com".to_string())]),
        },
        Account {
            populations: 1,
            keys: BTreeMap::from([
                (KeyType::Domain, "acme.com".to_string()),
                (KeyType::Name, "acme eu".to_string()),
            ]),
        },
    ];
    let partner = vec![Account {
        populations: 1,
        keys: BTreeMap::from([(KeyType::Domain, "acme.com".to_string())]),
    }];
    let vs = SessionSecret::generate();
    let ps = SessionSecret::generate();
    let o = compute(
        &tokenize(&vendor, &vs, &ps),
        1,
        &tokenize(&partner, &ps, &vs),
        1,
        &MatchPolicy::default(),
    )
    .unwrap();
    assert_eq!(o.cells[0][0].vendor_accounts, 2);
    assert_eq!(o.cells[0][0].partner_accounts, 1);
    assert_eq!(o.vendor.matched_rows.len(), 2);
    assert_eq!(o.partner.matched_rows, vec![(3, 1)]);
}

#[test]
fn inconsistent_rows_are_rejected() {
    let t = cleanroom_core::MatchToken([1; 16]);
    let recs = [
        TokenRecord {
            row_id: 1,
            populations: 1,
            key_type: KeyType::Domain,
            token: t,
        },
        TokenRecord {
            row_id: 1,
            populations: 2,
            key_type: KeyType::Name,
            token: t,
        },
    ];
    assert!(compute(&recs, 2, &[], 1, &MatchPolicy::default()).is_err());
    let dup = [
        TokenRecord {
            row_id: 1,
            populations: 1,
            key_type: KeyType::Name,
            token: t,
        },
        TokenRecord {
            row_id: 1,
            populations: 1,
            key_type: KeyType::Name,
            token: t,
        },
    ];
    assert!(compute(&dup, 2, &[], 1, &MatchPolicy::default()).is_err());
}

#[test]
fn a_row_carries_up_to_eight_domains() {
    let domains = |n: u8| -> Vec<TokenRecord> {
        (0..n)
            .map(|i| TokenRecord {
                row_id: 1,
                populations: 1,
                key_type: KeyType::Domain,
                token: cleanroom_core::MatchToken([i; 16]),
            })
            .collect()
    };
    let eight = domains(8);
    let partner = [TokenRecord {
        row_id: 9,
        populations: 1,
        key_type: KeyType::Domain,
        token: cleanroom_core::MatchToken([7; 16]),
    }];
    let o = compute(&eight, 1, &partner, 1, &MatchPolicy::default()).expect("8 domains");
    assert_eq!(o.vendor.matched, vec![1], "the eighth domain matches");
    assert_eq!(o.vendor.totals, vec![1], "one account, not eight");
    assert!(compute(&domains(9), 1, &[], 1, &MatchPolicy::default()).is_err());
}

/// One side's rows as raw token records: each row has random populations and
/// a random subset of key types, with tokens drawn from a tiny space so that
/// groups of equal tokens, on both sides, are common.
fn raw_side() -> impl Strategy<Value = Vec<TokenRecord>> {
    prop::collection::vec(
        (0u64..8, prop::collection::btree_map(0u8..5, 0u8..4, 0..=5)),
        0..40,
    )
    .prop_map(|rows| {
        let mut out = Vec::new();
        for (row, (populations, keys)) in rows.into_iter().enumerate() {
            for (kind, t) in keys {
                out.push(TokenRecord {
                    row_id: (row as u32).wrapping_mul(2_654_435_761),
                    populations,
                    key_type: KeyType::ALL[kind as usize],
                    token: cleanroom_core::MatchToken([t; 16]),
                });
            }
        }
        out
    })
    .prop_shuffle()
}

/// Matched row ids with the populations they matched, as in `SideOverlap::matched_rows`.
type MatchedRows = Vec<(u32, u64)>;

/// The definition, pair by pair: every matched row with the union of the
/// populations of the rows it matched.
fn pairwise(
    policy: NameMatching,
    vendor: &[TokenRecord],
    partner: &[TokenRecord],
) -> (MatchedRows, MatchedRows) {
    let has = |recs: &[TokenRecord], row: u32, k: KeyType| {
        recs.iter().any(|r| r.row_id == row && r.key_type == k)
    };
    let mut v_hit = BTreeMap::<u32, u64>::new();
    let mut p_hit = BTreeMap::<u32, u64>::new();
    for v in vendor {
        for p in partner {
            if v.token != p.token || v.key_type != p.key_type {
                continue;
            }
            let both = |k| has(vendor, v.row_id, k) && has(partner, p.row_id, k);
            let counts = match (v.key_type, policy) {
                (KeyType::Domain | KeyType::Duns, _)
                | (
                    KeyType::Name | KeyType::CityName | KeyType::PostcodeName | KeyType::PhoneName,
                    NameMatching::Always,
                ) => true,
                (
                    KeyType::Name | KeyType::CityName | KeyType::PostcodeName | KeyType::PhoneName,
                    NameMatching::Never,
                ) => false,
                // Both with a domain, or both with a DUNS, and (here, in a
                // weak match) sharing none: two companies with one name.
                (
                    KeyType::CityName | KeyType::PostcodeName | KeyType::PhoneName,
                    NameMatching::WhenStrongKeyMissing,
                ) => !(both(KeyType::Domain) || both(KeyType::Duns)),
                // The same, or both with a city-qualified name: two
                // same-name companies in two cities.
                (KeyType::Name, NameMatching::WhenStrongKeyMissing) => {
                    !(both(KeyType::Domain) || both(KeyType::Duns) || both(KeyType::CityName))
                }
            };
            if counts {
                *v_hit.entry(v.row_id).or_default() |= p.populations;
                *p_hit.entry(p.row_id).or_default() |= v.populations;
            }
        }
    }
    (v_hit.into_iter().collect(), p_hit.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The sort-merge join agrees with visiting every pair, including groups
    /// of many equal tokens on both sides and records in any order.
    #[test]
    fn join_equals_pairwise(
        vendor in raw_side(),
        partner in raw_side(),
        name_matching in prop_oneof![
            Just(NameMatching::Never),
            Just(NameMatching::WhenStrongKeyMissing),
            Just(NameMatching::Always),
        ],
    ) {
        let o = compute(&vendor, 3, &partner, 3, &MatchPolicy { name_matching }).unwrap();
        let (v_rows, p_rows) = pairwise(name_matching, &vendor, &partner);
        prop_assert_eq!(&o.vendor.matched_rows, &v_rows);
        prop_assert_eq!(&o.partner.matched_rows, &p_rows);
        for vp in 0..3 {
            for pp in 0..3 {
                let in_cell = |rows: &[(u32, u64)], recs: &[TokenRecord], own: usize, other: usize| {
                    rows.iter()
                        .filter(|(id, mask)| {
                            mask & (1 << other) != 0
                                && recs.iter().any(|r| r.row_id == *id && r.populations & (1 << own) != 0)
                        })
                        .count() as u64
                };
                prop_assert_eq!(o.cells[vp][pp].vendor_accounts, in_cell(&v_rows, &vendor, vp, pp));
                prop_assert_eq!(o.cells[vp][pp].partner_accounts, in_cell(&p_rows, &partner, pp, vp));
            }
        }
    }
}

#[test]
fn one_token_shared_by_every_record_stays_linear() {
    // A peer that gives 200k records on each side one token would make a
    // pair-by-pair join visit 4e10 pairs; the group join visits each record once.
    let side = |n: u32| -> Vec<TokenRecord> {
        (0..n)
            .map(|row_id| TokenRecord {
                row_id,
                populations: 1,
                key_type: KeyType::Domain,
                token: cleanroom_core::MatchToken([7; 16]),
            })
            .collect()
    };
    let o = compute(
        &side(200_000),
        1,
        &side(200_000),
        1,
        &MatchPolicy::default(),
    )
    .unwrap();
    assert_eq!(o.cells[0][0].vendor_accounts, 200_000);
    assert_eq!(o.cells[0][0].partner_accounts, 200_000);
    assert_eq!(o.vendor.white_space(0), 0);
}
