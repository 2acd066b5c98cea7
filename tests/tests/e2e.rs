//! End to end: a real server on SQLite and on PostgreSQL, two real clients
//! running concurrently on generated CRM exports, every figure checked
//! against the ground truth computed in plaintext.

use std::sync::{Arc, Mutex};

use cleanroom_client::generate::{
    Format, GenerateOptions, Generated, RealisticOptions, generate, generate_realistic,
};
use cleanroom_client::overlaps::fetch_local_overlaps;
use cleanroom_client::progress::{Phase, Progress};
use cleanroom_client::{
    InputOptions, SessionOptions, SessionOutcome, StateDir, prepare, run_session,
};
use cleanroom_core::KeyType;
use cleanroom_core::disclosure::Count;
use cleanroom_tests::quality::plaintext_overlap;
use cleanroom_tests::{
    Coverage, Guards, PgDb, World, check_results, has_ranges, noisy_policy, open_policy, world,
};

struct Sides {
    vendor: SessionOutcome,
    partner: SessionOutcome,
    vendor_state: StateDir,
    phases: Vec<Phase>,
}

fn input(csv: &[u8]) -> cleanroom_client::PreparedInput {
    let table = cleanroom_client::csv_input::parse_csv(csv, "gen.csv".as_ref()).expect("parse");
    prepare(
        &table,
        &InputOptions::default(),
        &cleanroom_client::progress::no_progress(),
    )
    .expect("prepare")
}

/// Runs both sides concurrently with small chunks (several per upload).
async fn run_both(w: &World, g: &Generated, dir: &std::path::Path) -> Sides {
    let (vi, pi) = (input(&g.vendor_csv), input(&g.partner_csv));
    let phases: Arc<Mutex<Vec<Phase>>> = Arc::default();
    let mut vo = SessionOptions::new(
        w.partnership_id.clone(),
        StateDir::new(dir.join("vendor-state")),
    );
    vo.chunk_records = 700;
    vo.poll_initial = std::time::Duration::from_millis(20);
    vo.poll_max = std::time::Duration::from_millis(200);
    vo.wait_timeout = std::time::Duration::from_secs(120);
    let seen = Arc::clone(&phases);
    vo.progress = Arc::new(move |p: Progress| {
        let mut s = seen.lock().unwrap();
        if s.last() != Some(&p.phase) {
            s.push(p.phase);
        }
    });
    let mut po = vo.clone();
    po.state_dir = StateDir::new(dir.join("partner-state"));
    po.chunk_records = 500;
    po.progress = cleanroom_client::progress::no_progress();
    let (v, p) = tokio::join!(
        run_session(&w.vendor, &vi, &vo),
        run_session(&w.partner, &pi, &po)
    );
    let (vendor, partner) = (v.expect("vendor side"), p.expect("partner side"));
    assert_eq!(vendor.session_id, partner.session_id);
    let phases = phases.lock().unwrap().clone();
    Sides {
        vendor,
        partner,
        vendor_state: vo.state_dir,
        phases,
    }
}

async fn exact_scenario(db_url: &str, format: Format, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(&GenerateOptions {
        accounts: 1500,
        overlap: 0.3,
        seed,
        format,
    })
    .unwrap();
    let w = world(db_url, Some(Guards::EXACT), open_policy()).await;
    let s = run_both(&w, &g, dir.path()).await;
    let e = g.truth.expected();
    let t = &g.truth;
    for r in [&s.vendor.results, &s.partner.results] {
        assert_eq!(r.min_cell_size, 1);
        check_results(r, &e.vendor_populations, &e.partner_populations, &e);
    }
    // Blinding and uploading interleave chunk by chunk; the phases still
    // start in protocol order.
    let mut first_seen: Vec<Phase> = Vec::new();
    for p in &s.phases {
        if !first_seen.contains(p) {
            first_seen.push(*p);
        }
    }
    assert_eq!(
        first_seen,
        vec![
            Phase::Blind,
            Phase::UploadBlinded,
            Phase::WaitCounterpart,
            Phase::DownloadPoints,
            Phase::Tokens,
            Phase::UploadTokens,
            Phase::WaitResults,
            Phase::Results
        ]
    );
    // Overlapping records: the vendor's matched rows are exactly the shared entities.
    let (rows, _) = fetch_local_overlaps(&w.vendor, &s.vendor_state, &s.vendor.session_id)
        .await
        .expect("overlaps");
    assert_eq!(rows.len(), t.shared());
    // The secret is gone once the session completed; the row map stays.
    assert!(
        s.vendor_state
            .load_active(&w.partnership_id)
            .unwrap()
            .is_none()
    );
    assert!(
        s.vendor_state
            .load_rows(&s.vendor.session_id)
            .unwrap()
            .is_some()
    );
    w.server.shutdown().await;
}

/// Realistic exports (websites, DUNS, countries, cities, postal codes and
/// telephone numbers: every key type) through the real server: the
/// session's cells equal those of the same prepared accounts matched in
/// plaintext. The generator's truth is not the reference here: the default
/// policy misses some shared companies by design (BENCHMARKS.md, "Match
/// quality"); what must hold is that blinding, the wire and the server
/// change nothing.
async fn realistic_scenario(db_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let g = generate_realistic(&RealisticOptions {
        vendor_accounts: 2_000,
        partner_accounts: 1_500,
        shared_accounts: 400,
        ..RealisticOptions::new(5)
    })
    .unwrap();
    let (vnames, pnames, want) = plaintext_overlap(&g).unwrap();
    let (vi, pi) = (input(&g.vendor_csv), input(&g.partner_csv));
    for kind in KeyType::ALL {
        assert!(
            vi.accounts
                .iter()
                .any(|a| a.keys.iter().any(|k| k.kind() == kind)),
            "no vendor account carries a {kind} key"
        );
    }
    assert!(
        pi.accounts
            .iter()
            .any(|a| a.keys.iter().any(|k| k.kind() == KeyType::PhoneName))
    );
    let w = world(db_url, Some(Guards::EXACT), open_policy()).await;
    let s = run_both(&w, &g, dir.path()).await;
    let mut matched = 0;
    for r in [&s.vendor.results, &s.partner.results] {
        for (i, vn) in r.vendor.populations.iter().enumerate() {
            for (j, pn) in r.partner.populations.iter().enumerate() {
                let (v, p) = match (
                    vnames.iter().position(|n| n == vn),
                    pnames.iter().position(|n| n == pn),
                ) {
                    (Some(a), Some(b)) => want[a][b],
                    _ => (0, 0),
                };
                let cell = &r.cells[i][j];
                assert_eq!(cell.vendor_accounts, Count::Exact(v), "{vn} × {pn}");
                assert_eq!(cell.partner_accounts, Count::Exact(p), "{vn} × {pn}");
                matched += v;
            }
        }
    }
    // Both viewers saw the same cells, which hold most of the 400 shared
    // companies.
    assert!(matched > 2 * 300, "{matched}");
    w.server.shutdown().await;
}

async fn default_k_scenario(db_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Small and lopsided, so that some cells fall under k = 5.
    let g = generate(&GenerateOptions {
        accounts: 400,
        overlap: 0.05,
        seed: 5,
        format: Format::Salesforce,
    })
    .unwrap();
    let w = world(db_url, None, open_policy()).await;
    let s = run_both(&w, &g, dir.path()).await;
    let e = g.truth.expected_with(1, 50);
    for r in [&s.vendor.results, &s.partner.results] {
        assert_eq!(r.min_cell_size, 5);
        assert!(has_ranges(r), "the scenario should suppress some cells");
        check_results(r, &e.vendor_populations, &e.partner_populations, &e);
    }
    w.server.shutdown().await;
}

/// Noisy counts at the default ε: both sides read the same numbers, and over
/// several sessions about 95 % of the figures lie within their stated 95 %
/// interval around the plaintext truth.
async fn noisy_scenario(db_url: &str, sessions: u64) {
    let w = world(db_url, Some(Guards::EXACT), noisy_policy(1.0)).await;
    let mut coverage = Coverage::default();
    for seed in 0..sessions {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&GenerateOptions {
            accounts: 1200,
            overlap: 0.3,
            seed: 40 + seed,
            format: Format::Salesforce,
        })
        .unwrap();
        let s = run_both(&w, &g, dir.path()).await;
        let (v, p) = (&s.vendor.results, &s.partner.results);
        assert_eq!(v.cells, p.cells, "both sides read one release");
        assert_eq!(v.vendor.figures, p.vendor.figures);
        assert_eq!(v.partner.figures, p.partner.figures);
        assert_eq!(v.disclosure.sensitivity, Some(32));
        assert_eq!(v.disclosure.interval_half_width, Some(96));
        let e = g.truth.expected();
        let c = check_results(v, &e.vendor_populations, &e.partner_populations, &e);
        coverage.inside += c.inside;
        coverage.total += c.total;
    }
    // Each session releases a few dozen figures; the share inside their
    // intervals is binomial around ≥ 0.95 (clamping at zero only helps).
    assert!(coverage.total >= 60, "{coverage:?}");
    assert!(
        coverage.rate() >= 0.88,
        "only {coverage:?} of the noisy figures lie within their 95 % interval"
    );
    eprintln!("noisy coverage: {coverage:?} = {:.3}", coverage.rate());
    w.server.shutdown().await;
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("cleanroom.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_salesforce_exact() {
    let db = tempfile::tempdir().unwrap();
    exact_scenario(&sqlite_url(&db), Format::Salesforce, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hubspot_exact() {
    let db = tempfile::tempdir().unwrap();
    exact_scenario(&sqlite_url(&db), Format::HubSpot, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_realistic_equals_plaintext() {
    let db = tempfile::tempdir().unwrap();
    realistic_scenario(&sqlite_url(&db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_realistic_equals_plaintext() {
    let db = PgDb::create().await;
    realistic_scenario(&db.url).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_default_k_ranges_admit_truth() {
    let db = tempfile::tempdir().unwrap();
    default_k_scenario(&sqlite_url(&db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_salesforce_exact() {
    let db = PgDb::create().await;
    exact_scenario(&db.url, Format::Salesforce, 3).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_default_k_ranges_admit_truth() {
    let db = PgDb::create().await;
    default_k_scenario(&db.url).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_noisy_counts_cover_truth() {
    let db = tempfile::tempdir().unwrap();
    noisy_scenario(&sqlite_url(&db), 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_noisy_counts_cover_truth() {
    let db = PgDb::create().await;
    noisy_scenario(&db.url, 2).await;
    db.drop_db().await;
}
