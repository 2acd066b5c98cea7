//! Sessions that wait for the other side, with the real `cleanroom` binary
//! against the real server, on SQLite and on PostgreSQL (issue 14):
//!
//! - the vendor commits its blinded set with `match --detach` and goes away;
//!   `match --resume` says it still waits (exit 8); the partner commits
//!   later, the vendor's `--resume` finishes the token phase, and both sides'
//!   results equal the plaintext truth;
//! - a session nobody finishes is cancelled at its expiry (a policy
//!   shortened the deployment's to seconds, standing in for hours): the API
//!   shows it cancelled with reason `expired`, its rows in `blinded_chunks`
//!   and `token_chunks` are gone, and `--resume` says so and deletes the
//!   local state with its secret.

mod common;

use common::{Db, active_files, api, check_truth, partnership};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cleanroom_client::generate::Truth;
use cleanroom_core::api::{CancelReason, SessionResults, SessionState, UploadState};

/// Seconds the deployment keeps a session open in these tests.
const DEPLOYMENT_EXPIRY: u64 = 300;
/// Seconds the short-lived partnership's policy allows ("hours later").
const SHORT_EXPIRY: u64 = 4;

struct Side {
    url: String,
    token: String,
    state: PathBuf,
}

fn cmd(side: &Side, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cleanroom"));
    c.args(args)
        .current_dir(dir)
        .env("CLEANROOM_URL", &side.url)
        .env("CLEANROOM_TOKEN", &side.token)
        .env("CLEANROOM_STATE_DIR", &side.state)
        .env("CLEANROOM_PROFILES", dir.join("no-profiles.toml"))
        .stdin(Stdio::null());
    c
}

async fn run(side: &Side, dir: &Path, args: &[&str]) -> Output {
    let mut c = cmd(side, dir, args);
    // The server runs on this test's runtime: wait for the child off it.
    tokio::task::spawn_blocking(move || c.output().expect("run cleanroom"))
        .await
        .expect("join")
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", show(o));
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The session id in "Finish it with: cleanroom match --resume ID".
fn resume_id(o: &Output) -> String {
    let err = stderr(o);
    err.lines()
        .find_map(|l| l.strip_prefix("Finish it with: cleanroom match --resume "))
        .unwrap_or_else(|| panic!("no resume hint: {}", show(o)))
        .trim()
        .to_owned()
}

async fn detach_resume_and_expiry(db: Db, dir: &Path) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let d = dir;
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for name in ["Vendor Co", "Partner Co", "Late Co"] {
        let (id, token) = cleanroom_server::bootstrap::create_org(&db.url, name)
            .await
            .unwrap();
        ids.push(id);
        tokens.push(token);
    }
    let mut config = cleanroom_server::Config::for_tests(&db.url);
    config.guardrails.min_population_size = 1;
    config.guardrails.min_cell_size = 1;
    config.guardrails.session_expiry_secs = DEPLOYMENT_EXPIRY;
    config.compute.sweep_interval = Duration::from_secs(1);
    let server = cleanroom_server::spawn(config).await.unwrap();
    let url = server.base_url();
    partnership(&server, "p-main", &ids[0], &ids[1], None).await;
    partnership(&server, "p-late", &ids[0], &ids[2], Some(SHORT_EXPIRY)).await;
    // Each side on its own machine: its own state directory.
    let side = |i: usize, name: &str| Side {
        url: url.clone(),
        token: tokens[i].clone(),
        state: d.join(name),
    };
    let (vendor, partner, late) = (side(0, "vendor"), side(1, "partner"), side(2, "late"));

    ok(&run(
        &vendor,
        d,
        &[
            "generate",
            "--vendor-out",
            "v.csv",
            "--partner-out",
            "p.csv",
            "--accounts",
            "400",
            "--overlap",
            "0.3",
            "--seed",
            "11",
            "--format",
            "salesforce",
            "--truth",
            "truth.json",
        ],
    )
    .await);
    let truth: Truth =
        serde_json::from_slice(&std::fs::read(d.join("truth.json")).unwrap()).unwrap();

    // 1. The vendor commits and detaches.
    let o = run(
        &vendor,
        d,
        &[
            "match",
            "--partner",
            "Partner Co",
            "--input",
            "v.csv",
            "--detach",
        ],
    )
    .await;
    ok(&o);
    assert!(o.stdout.is_empty(), "no results yet: {}", show(&o));
    let sid = resume_id(&o);
    assert!(stderr(&o).contains("waits for the other side's blinded upload until "));
    let v_api = api(&url, &vendor.token);
    let p_api = api(&url, &partner.token);
    let s = v_api.session(&sid).await.unwrap();
    assert_eq!(s.state, SessionState::AwaitingBlinded);
    assert_eq!(s.vendor.blinded, UploadState::Committed);
    assert_eq!(s.partner.blinded, UploadState::Pending);
    // Both sides see when it expires: the deployment's expiry after creation.
    let created = time::OffsetDateTime::parse(
        &s.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        s.expires_at.as_deref().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        (expires - created).whole_seconds(),
        DEPLOYMENT_EXPIRY as i64
    );
    assert_eq!(p_api.session(&sid).await.unwrap().expires_at, s.expires_at);
    // The secret waits in one private file on the vendor's machine.
    let files = active_files(&vendor.state);
    assert_eq!(files.len(), 1, "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(db.rows("blinded_chunks", "session_id", &sid).await > 0);

    // 2. Too early: still waiting, exit code 8, nothing lost.
    let o = run(&vendor, d, &["match", "--resume", &sid]).await;
    assert_eq!(o.status.code(), Some(8), "{}", show(&o));
    assert!(
        stderr(&o).contains("still waits for the other side's blinded upload"),
        "{}",
        show(&o)
    );
    assert_eq!(active_files(&vendor.state).len(), 1);

    // 3. "Hours later" the partner commits, and detaches too once its tokens are in.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let o = run(
        &partner,
        d,
        &[
            "match",
            "--partner",
            "Vendor Co",
            "--input",
            "p.csv",
            "--detach",
        ],
    )
    .await;
    ok(&o);
    assert_eq!(resume_id(&o), sid);
    assert!(
        stderr(&o).contains("waits for the other side's tokens"),
        "{}",
        show(&o)
    );
    let s = v_api.session(&sid).await.unwrap();
    assert_eq!(s.state, SessionState::AwaitingTokens);
    assert_eq!(s.partner.tokens, UploadState::Committed);

    // 4. The vendor resumes from its local state alone (no input, no id:
    // its only session) and gets the results.
    let o = run(&vendor, d, &["match", "--resume", "--json"]).await;
    let json = ok(&o);
    assert!(stderr(&o).contains("completed (resumed)"), "{}", show(&o));
    let r: SessionResults = serde_json::from_str(&json).unwrap();
    assert_eq!(r.session_id, sid);
    check_truth(&r, &truth);
    assert!(
        active_files(&vendor.state).is_empty(),
        "the secret is deleted"
    );

    // 5. The partner's resume fetches the same results.
    let o = run(
        &partner,
        d,
        &["match", "--resume", "--partner", "Vendor Co", "--json"],
    )
    .await;
    let r2: SessionResults = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(r2.cells, r.cells);
    check_truth(&r2, &truth);
    assert!(active_files(&partner.state).is_empty());
    assert_eq!(db.rows("blinded_chunks", "session_id", &sid).await, 0);
    assert_eq!(db.rows("token_chunks", "session_id", &sid).await, 0);

    // 6. A session nobody finishes: the partnership's policy shortens the
    // expiry to seconds. The vendor commits and detaches; the other side
    // never comes.
    let o = run(
        &vendor,
        d,
        &[
            "match",
            "--partner",
            "Late Co",
            "--input",
            "v.csv",
            "--detach",
        ],
    )
    .await;
    ok(&o);
    let late_sid = resume_id(&o);
    let l_api = api(&url, &late.token);
    let s = l_api.session(&late_sid).await.unwrap();
    assert_eq!(s.state, SessionState::AwaitingBlinded);
    let created = time::OffsetDateTime::parse(
        &s.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        s.expires_at.as_deref().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - created).whole_seconds(), SHORT_EXPIRY as i64);
    assert!(db.rows("blinded_chunks", "session_id", &late_sid).await > 0);

    // The sweep (not a reader) cancels it: poll the database, not the API.
    let deadline = Instant::now() + Duration::from_secs(SHORT_EXPIRY + 20);
    loop {
        let (state, reason) = db.session_row(&late_sid).await;
        if state == "cancelled" {
            assert_eq!(reason.as_deref(), Some("expired"));
            break;
        }
        assert!(Instant::now() < deadline, "never expired: {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(db.rows("blinded_chunks", "session_id", &late_sid).await, 0);
    assert_eq!(db.rows("token_chunks", "session_id", &late_sid).await, 0);
    for a in [&v_api, &l_api] {
        let s = a.session(&late_sid).await.unwrap();
        assert_eq!(s.state, SessionState::Cancelled);
        assert_eq!(s.cancel_reason, Some(CancelReason::Expired));
        assert!(s.finished_at.is_some());
    }
    let audit = v_api.audit("p-late").await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "session.expired"),
        "{audit:?}"
    );

    // The vendor's resume learns it expired (exit 6) and deletes its secret.
    let o = run(&vendor, d, &["match", "--resume", &late_sid]).await;
    assert_eq!(o.status.code(), Some(6), "{}", show(&o));
    assert!(stderr(&o).contains("expired"), "{}", show(&o));
    assert!(active_files(&vendor.state).is_empty());

    server.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_resume_and_expiry_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    detach_resume_and_expiry(Db::sqlite(dir.path()), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_resume_and_expiry_postgres() {
    let dir = tempfile::tempdir().unwrap();
    detach_resume_and_expiry(Db::postgres().await, dir.path()).await;
}
