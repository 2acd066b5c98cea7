//! Blinding throughput: raw curve25519-dalek against the core, on one core and on all.
//!
//! `cargo bench -p cleanroom-core --bench blinding`

use std::hint::black_box;

use cleanroom_core::{AccountKey, KeyType, SessionSecret};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

const N: usize = 4096;

fn keys() -> Vec<AccountKey> {
    (0..N)
        .map(|i| AccountKey::from_normalized(KeyType::Domain, &format!("company-{i}.example")))
        .collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn bench(c: &mut Criterion) {
    let ks = keys();
    let secret = SessionSecret::generate();
    let k = Scalar::from_bytes_mod_order_wide(&Sha512::digest(b"bench").into());
    let points: Vec<u8> = secret.blind_batch(&ks).concat();
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut g = c.benchmark_group("hash_blind");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("raw_dalek_1core", |b| {
        b.iter(|| {
            for key in &ks {
                let h: [u8; 64] = Sha512::digest(key.message().as_bytes()).into();
                black_box((RistrettoPoint::from_uniform_bytes(&h) * k).compress());
            }
        })
    });
    for threads in [1, all] {
        let p = pool(threads);
        g.bench_function(format!("core_batch_{threads}core"), |b| {
            b.iter(|| p.install(|| black_box(secret.blind_batch(&ks))))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("reblind_token");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("raw_dalek_1core", |b| {
        b.iter(|| {
            for raw in points.chunks_exact(32) {
                let p = CompressedRistretto::from_slice(raw)
                    .expect("32 bytes")
                    .decompress()
                    .expect("valid");
                black_box((p * k).compress());
            }
        })
    });
    for threads in [1, all] {
        let p = pool(threads);
        g.bench_function(format!("core_batch_{threads}core"), |b| {
            b.iter(|| p.install(|| black_box(secret.token_batch(&points))))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
