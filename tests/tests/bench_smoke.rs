//! A small run of the end-to-end benchmark (`e2e-bench`), so that it cannot
//! rot: real server and client processes, results checked against the
//! generator's truth inside `bench::run`. No timing assertions.

use cleanroom_tests::bench::{BenchOptions, build_binaries, run};

fn options(postgres: bool) -> BenchOptions {
    BenchOptions {
        accounts: 300,
        overlap: 0.3,
        seed: 7,
        postgres,
        chunk_records: Some(200),
        // The binaries of the profile under test (debug for `cargo test`).
        bin_dir: build_binaries(!cfg!(debug_assertions)).expect("build the binaries"),
        work_dir: None,
    }
}

fn check(r: &cleanroom_tests::bench::BenchReport) {
    for c in [&r.vendor, &r.partner] {
        assert!(c.records >= c.accounts && c.accounts > 0, "{c:?}");
        assert!(c.bytes_sent >= c.records * 48, "{c:?}");
        assert!(c.bytes_received > 0 && c.vm_hwm_kib > 0, "{c:?}");
        for phase in ["normalize", "blind", "upload_blinded", "tokens", "results"] {
            assert!(c.phases.contains_key(phase), "{phase} missing: {c:?}");
        }
    }
    assert!(r.server.compute_ms.is_some(), "{:?}", r.server);
    assert!(r.server.vm_hwm_kib > 0);
    assert!(r.markdown().contains("Total wall time"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_small_sqlite() {
    let r = run(&options(false)).await.expect("bench run");
    check(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_small_postgres() {
    let r = run(&options(true)).await.expect("bench run");
    check(&r);
}
