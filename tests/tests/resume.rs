//! An interrupted `match` resumes (or restarts) cleanly.

use std::sync::Arc;
use std::time::Duration;

use cleanroom_client::generate::{Format, GenerateOptions, generate};
use cleanroom_client::progress::{Phase, Progress};
use cleanroom_client::{Error, InputOptions, SessionOptions, StateDir, prepare, run_session};
use cleanroom_core::api::UploadState;
use cleanroom_tests::{Guards, check_results, open_policy, world};

fn input(csv: &[u8]) -> cleanroom_client::PreparedInput {
    let table = cleanroom_client::csv_input::parse_csv(csv, "gen.csv".as_ref()).expect("parse");
    prepare(
        &table,
        &InputOptions::default(),
        &cleanroom_client::progress::no_progress(),
    )
    .expect("prepare")
}

fn fast(opts: &mut SessionOptions) {
    opts.chunk_records = 300;
    opts.poll_initial = Duration::from_millis(20);
    opts.poll_max = Duration::from_millis(200);
    opts.wait_timeout = Duration::from_secs(120);
}

/// Two organizations on a fresh SQLite server with generated exports, and
/// the vendor's fast session options (state in `dir/v`).
struct Scenario {
    _db: tempfile::TempDir,
    dir: tempfile::TempDir,
    g: cleanroom_client::generate::Generated,
    vi: cleanroom_client::PreparedInput,
    pi: cleanroom_client::PreparedInput,
    w: cleanroom_tests::World,
    vo: SessionOptions,
}

async fn scenario(accounts: usize, seed: u64) -> Scenario {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("c.db").display());
    let dir = tempfile::tempdir().unwrap();
    let g = generate(&GenerateOptions {
        accounts,
        overlap: 0.4,
        seed,
        format: Format::Salesforce,
    })
    .unwrap();
    let (vi, pi) = (input(&g.vendor_csv), input(&g.partner_csv));
    let w = world(&url, Some(Guards::EXACT), open_policy()).await;
    let mut vo = SessionOptions::new(
        w.partnership_id.clone(),
        StateDir::new(dir.path().join("v")),
    );
    fast(&mut vo);
    Scenario {
        _db: db,
        dir,
        g,
        vi,
        pi,
        w,
        vo,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_upload_resumes_and_changed_input_needs_restart() {
    let Scenario {
        _db,
        dir,
        g,
        vi,
        pi,
        w,
        vo,
    } = scenario(1200, 77).await;

    // 1. The vendor is killed after a few chunks of its blinded upload.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut first = vo.clone();
    first.progress = Arc::new(move |p: Progress| {
        if p.phase == Phase::UploadBlinded && p.done >= 900 && !p.finished {
            let _ = tx.send(());
        }
    });
    let (client, vi2) = (w.vendor.clone(), vi.clone());
    let task = tokio::spawn(async move { run_session(&client, &vi2, &first).await });
    rx.recv().await.expect("upload progressed");
    task.abort();
    let _ = task.await;
    let active = vo
        .state_dir
        .load_active(&w.partnership_id)
        .unwrap()
        .expect("state kept");
    let s = w.vendor.session(&active.session_id).await.unwrap();
    assert_eq!(s.vendor.blinded, UploadState::Uploading);
    assert!(!s.vendor.blinded_chunks.is_empty());

    // 2. A re-run with a different input refuses to mix the two uploads.
    let mut other = vi.clone();
    other.accounts.pop();
    match run_session(&w.vendor, &other, &vo).await {
        Err(e @ Error::State(_)) => assert!(e.to_string().contains("--restart"), "{e}"),
        r => panic!("expected a state error, got {:?}", r.map(|o| o.session_id)),
    }

    // 3. The same input resumes, concurrently with the partner, and completes.
    let mut po = SessionOptions::new(
        w.partnership_id.clone(),
        StateDir::new(dir.path().join("p")),
    );
    fast(&mut po);
    let (v, p) = tokio::join!(
        run_session(&w.vendor, &vi, &vo),
        run_session(&w.partner, &pi, &po)
    );
    let (v, p) = (v.expect("vendor resumes"), p.expect("partner"));
    assert!(v.resumed);
    assert!(!p.resumed);
    assert_eq!(v.session_id, active.session_id);
    let e = g.truth.expected();
    check_results(
        &v.results,
        &e.vendor_populations,
        &e.partner_populations,
        &e,
    );
    check_results(
        &p.results,
        &e.vendor_populations,
        &e.partner_populations,
        &e,
    );
    assert!(
        vo.state_dir
            .load_active(&w.partnership_id)
            .unwrap()
            .is_none(),
        "secret deleted"
    );

    // 4. After a completed session, a new run starts a fresh session.
    let mut vo2 = vo.clone();
    vo2.wait_timeout = Duration::from_millis(300);
    match run_session(&w.vendor, &vi, &vo2).await {
        Err(Error::Timeout { .. }) => {}
        r => panic!(
            "expected a timeout waiting for the partner, got {:?}",
            r.map(|o| o.session_id)
        ),
    }
    let again = vo
        .state_dir
        .load_active(&w.partnership_id)
        .unwrap()
        .expect("new state");
    assert_ne!(again.session_id, v.session_id);
    // 5. --restart cancels it and starts over when the input changed.
    let mut vo3 = vo2.clone();
    vo3.restart = true;
    let _ = run_session(&w.vendor, &other, &vo3).await;
    let cancelled = w.vendor.session(&again.session_id).await.unwrap();
    assert_eq!(
        cancelled.state,
        cleanroom_core::api::SessionState::Cancelled
    );
    w.server.shutdown().await;
}

/// Both sides stop while the server computes; the server finishes after. A
/// re-run shows the finished session instead of starting (and spending the
/// budget on) a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_finished_while_away_is_shown_not_repeated() {
    let Scenario {
        _db,
        dir,
        vi,
        pi,
        w,
        vo,
        ..
    } = scenario(600, 78).await;
    let mut po = vo.clone();
    po.state_dir = StateDir::new(dir.path().join("p"));
    // The vendor's local state as it was while the server computed: what a
    // CLI killed at that moment leaves behind.
    let snapshot = Arc::new(std::sync::Mutex::new(None));
    let (seen, state_dir, pid) = (
        snapshot.clone(),
        vo.state_dir.clone(),
        w.partnership_id.clone(),
    );
    let mut first = vo.clone();
    first.progress = Arc::new(move |p: Progress| {
        if p.phase == Phase::WaitResults {
            if let Ok(Some(a)) = state_dir.load_active(&pid) {
                seen.lock().unwrap().replace(a);
            }
        }
    });
    let (v, p) = tokio::join!(
        run_session(&w.vendor, &vi, &first),
        run_session(&w.partner, &pi, &po)
    );
    let (v, _) = (v.expect("vendor"), p.expect("partner"));
    let left_behind = snapshot
        .lock()
        .unwrap()
        .take()
        .expect("state while computing");
    vo.state_dir.save_active(&left_behind).unwrap();

    let again = run_session(&w.vendor, &vi, &vo).await.expect("shown");
    assert_eq!(again.session_id, v.session_id);
    assert!(again.resumed);
    assert_eq!(again.results.cells, v.results.cells);
    let sessions = w.vendor.list_sessions(&w.partnership_id).await.unwrap();
    assert_eq!(sessions.len(), 1, "no second session was created");
    assert!(
        vo.state_dir
            .load_active(&w.partnership_id)
            .unwrap()
            .is_none(),
        "the secret is deleted once the results are shown"
    );
    w.server.shutdown().await;
}
