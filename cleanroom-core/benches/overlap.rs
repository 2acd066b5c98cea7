//! The server's final match at session scale: 220k and 2.2M token records per
//! side (100k and 1M accounts with ~2.2 keys each), 30% of accounts shared.
//!
//! `cargo bench -p cleanroom-core --bench overlap`

use std::hint::black_box;

use cleanroom_core::overlap::{MatchPolicy, TokenRecord, compute};
use cleanroom_core::{KeyType, MatchToken};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};

/// Account `a`'s key `k` as a token; shared accounts use the same number on both sides.
fn token(a: u64, k: u8) -> MatchToken {
    let d = Sha256::digest([&a.to_le_bytes()[..], &[k]].concat());
    let mut t = [0; 16];
    t.copy_from_slice(&d[..16]);
    MatchToken(t)
}

/// `accounts` rows in row order as a client uploads them, with domain, name and
/// (every fifth row) DUNS keys; accounts `offset..` are this side's own.
fn side(accounts: u64, shared: u64, offset: u64) -> Vec<TokenRecord> {
    let mut out = Vec::new();
    for row in 0..accounts {
        let account = if row < shared { row } else { row + offset };
        let kinds: &[KeyType] = if row % 5 == 0 {
            &KeyType::ALL
        } else {
            &[KeyType::Domain, KeyType::Name]
        };
        for &kind in kinds {
            out.push(TokenRecord {
                row_id: row as u32,
                populations: 1 << (row % 3),
                key_type: kind,
                token: token(account, kind.to_byte()),
            });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("overlap");
    g.sample_size(10);
    for accounts in [100_000u64, 1_000_000] {
        let shared = accounts * 3 / 10;
        let vendor = side(accounts, shared, 1 << 40);
        let partner = side(accounts, shared, 2 << 40);
        g.throughput(Throughput::Elements((vendor.len() + partner.len()) as u64));
        g.bench_function(format!("compute_{accounts}"), |b| {
            b.iter(|| black_box(compute(&vendor, 3, &partner, 3, &MatchPolicy::default())))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
