//! `cleanroom agent`, end to end: two real agent processes (a vendor's and a
//! partner's, each with its own state directory) against the real server on
//! SQLite and on PostgreSQL, on CSV files from `cleanroom generate`:
//!
//! 1. the vendor's schedule fires at start (a partnership that never ran is
//!    due at once) and the partner's agent joins: results equal the truth;
//!    the vendor's heartbeat shows its schedule to both sides;
//! 2. a session requested by the partner (as `cleanroom sessions request`
//!    creates it) is joined by both agents and completes;
//! 3. a session requested by the vendor while its agent is down: the
//!    partner's agent joins and commits, is killed (SIGKILL) while it waits,
//!    and after both restart the partner's agent resumes from its local
//!    state and the session completes;
//! 4. SIGTERM stops both agents with exit 0, the partner's in the middle of
//!    a session its organization requested; `--once` runs then take that
//!    session to completion, each exiting 0: the vendor's leaves it waiting
//!    for the partner's tokens, the partner's resumes from the state SIGTERM
//!    left, the vendor's next one fetches the results;
//! 5. a third partner-opened session in a day is over the vendor's cap of 2:
//!    `--once` leaves it alone, says why, and exits 0;
//! 6. an export command that fails or overruns its timeout fails `--once`
//!    with exit 3, nothing uploaded; a mistyped key fails with exit 2.
//!
//! And with the pair's session budget used up, the scheduled run's `429`
//! is waited out for its `Retry-After` (hours) instead of retried every
//! poll, and `--once` exits 6.

mod common;

use common::{Db, active_files, api, check_truth};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cleanroom_client::generate::Truth;
use cleanroom_core::api::{Role, Session, SessionResults, SessionState, UploadState};

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(90);

struct Side {
    url: String,
    token: String,
    state: PathBuf,
    config: PathBuf,
    log: PathBuf,
}

fn cmd(side: &Side, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cleanroom"));
    c.args(args)
        .current_dir(dir)
        .env("CLEANROOM_URL", &side.url)
        .env("CLEANROOM_TOKEN", &side.token)
        .env("CLEANROOM_STATE_DIR", &side.state)
        .env("CLEANROOM_PROFILES", dir.join("no-profiles.toml"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// A long-running agent, its log appended to `side.log`.
fn start_agent(side: &Side, dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&side.log)
        .unwrap();
    cmd(
        side,
        dir,
        &[
            "agent",
            "--config",
            side.config.to_str().unwrap(),
            "--log-format",
            "json",
        ],
    )
    .stdout(Stdio::null())
    .stderr(log)
    .spawn()
    .expect("start cleanroom agent")
}

/// `agent --once`, waited for off the server's runtime.
async fn once(side: &Side, dir: &Path) -> Output {
    let mut c = cmd(
        side,
        dir,
        &["agent", "--once", "--config", side.config.to_str().unwrap()],
    );
    let started = Instant::now();
    let o = tokio::task::spawn_blocking(move || c.output().expect("run cleanroom agent --once"))
        .await
        .unwrap();
    assert!(
        started.elapsed() < STEP,
        "--once took {:?}",
        started.elapsed()
    );
    o
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// SIGTERM, then the exit status (within the step's bound).
async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(st.success());
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "agent ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGKILL: no chance to tidy up.
fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Polls a session until `done` holds.
async fn wait_session(
    api: &cleanroom_client::Client,
    sid: &str,
    what: &str,
    done: impl Fn(&Session) -> bool,
) -> Session {
    let deadline = Instant::now() + STEP;
    loop {
        let s = api.session(sid).await.unwrap();
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: session {sid} stuck in {:?} ({:?} / {:?})",
            s.state,
            s.vendor,
            s.partner
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the session to complete; checks both sides' results.
async fn completes(
    v_api: &cleanroom_client::Client,
    p_api: &cleanroom_client::Client,
    sid: &str,
    truth: &Truth,
) {
    wait_session(v_api, sid, "completion", |s| {
        assert_ne!(s.state, SessionState::Cancelled, "{s:?}");
        s.state == SessionState::Completed
    })
    .await;
    check_truth(&v_api.results(sid).await.unwrap(), truth);
    check_truth(&p_api.results(sid).await.unwrap(), truth);
}

/// A server on `db` with "Vendor Co" and "Partner Co" in one active
/// partnership (exact counts, everything shared, so results compare with
/// the truth figure by figure), and `sessions_per_day` for the pair.
async fn setup(
    db: &Db,
    sessions_per_day: u32,
) -> (
    cleanroom_server::RunningServer,
    String,
    String,
    &'static str,
) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (vendor_id, vtoken) = cleanroom_server::bootstrap::create_org(&db.url, "Vendor Co")
        .await
        .unwrap();
    let (partner_id, ptoken) = cleanroom_server::bootstrap::create_org(&db.url, "Partner Co")
        .await
        .unwrap();
    let mut config = cleanroom_server::Config::for_tests(&db.url);
    config.guardrails.min_population_size = 1;
    config.guardrails.min_cell_size = 1;
    config.guardrails.sessions_per_day = sessions_per_day;
    let server = cleanroom_server::spawn(config).await.unwrap();
    let pid = "p-agents";
    common::partnership(&server, pid, &vendor_id, &partner_id, None).await;
    (server, vtoken, ptoken, pid)
}

async fn agents_end_to_end(db: Db, d: &Path) {
    let (server, vtoken, ptoken, pid) = setup(&db, 50).await;
    let url = server.base_url();

    // The vendor reads its file and refreshes hourly (due at once); the
    // partner's export comes from a command and it only joins.
    std::fs::write(
        d.join("vendor.toml"),
        r#"
[agent]
poll_interval = "1s"
heartbeat_interval = "1s"
results_dir = "vendor-results"
notify_command = ["sh", "-c", "echo \"$CLEANROOM_PARTNER/$CLEANROOM_SESSION: $CLEANROOM_REASON\" >> notified.txt"]

[[partnership]]
partner = "Partner Co"
source = { path = "v.csv" }
refresh = "every 1h"
auto_join = "within-caps"
max_partner_sessions_per_day = 2
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("partner.toml"),
        r#"
[agent]
poll_interval = "1s"
heartbeat_interval = "1s"

[defaults]
source = { command = ["cat", "p.csv"], timeout = "30s" }
auto_join = "always"
"#,
    )
    .unwrap();
    let side = |token: &str, name: &str| Side {
        url: url.clone(),
        token: token.to_owned(),
        state: d.join(format!("{name}-state")),
        config: d.join(format!("{name}.toml")),
        log: d.join(format!("{name}.log")),
    };
    let (vendor, partner) = (side(&vtoken, "vendor"), side(&ptoken, "partner"));
    let o = tokio::task::spawn_blocking({
        let mut c = cmd(
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
                "21",
                "--format",
                "salesforce",
                "--truth",
                "truth.json",
            ],
        );
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let truth: Truth =
        serde_json::from_slice(&std::fs::read(d.join("truth.json")).unwrap()).unwrap();
    let v_api = api(&url, &vtoken);
    let p_api = api(&url, &ptoken);

    // `--check` shows what each agent would serve, and starts nothing.
    let o = tokio::task::spawn_blocking({
        let mut c = cmd(
            &vendor,
            d,
            &[
                "agent",
                "--check",
                "--config",
                vendor.config.to_str().unwrap(),
            ],
        );
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        out.contains("Partner Co (p-agents, Active): file ")
            && out.contains("refresh every 1h; auto_join within-caps (caps 2/day, 10/week)"),
        "{out}"
    );
    assert!(v_api.list_sessions(pid).await.unwrap().is_empty());

    // 1. The vendor's schedule opens a session; the partner's agent joins.
    let mut va = start_agent(&vendor, d);
    let mut pa = start_agent(&partner, d);
    let deadline = Instant::now() + STEP;
    let first = loop {
        if let Some(s) = v_api.list_sessions(pid).await.unwrap().first() {
            break s.clone();
        }
        assert!(Instant::now() < deadline, "the schedule never fired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(first.created_by, Role::Vendor);
    completes(&v_api, &p_api, &first.id, &truth).await;
    // The results file, private.
    let results_file = d
        .join("vendor-results")
        .join(format!("{pid}-{}.json", first.id));
    let deadline = Instant::now() + STEP;
    while !results_file.exists() {
        assert!(Instant::now() < deadline, "no results file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let written: SessionResults =
        serde_json::from_slice(&std::fs::read(&results_file).unwrap()).unwrap();
    check_truth(&written, &truth);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&results_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Both sides see the vendor's agent and its schedule.
    let deadline = Instant::now() + STEP;
    loop {
        let seen = p_api.agents(pid).await.unwrap();
        if let Some((v, sch)) = seen
            .partner
            .as_ref()
            .and_then(|v| Some((v, v.schedule.as_ref()?)))
        {
            assert_eq!(sch.refresh, "every 1h");
            assert!(sch.next_run_at.is_some());
            assert_eq!(v.agent_version, env!("CARGO_PKG_VERSION"));
            assert!(seen.own.is_some(), "the partner's agent beats too");
            assert!(seen.own.unwrap().schedule.is_none(), "it only joins");
            break;
        }
        assert!(Instant::now() < deadline, "no heartbeat: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 2. A refresh requested by the partner: both agents join it.
    let requested = p_api.create_session(pid).await.unwrap();
    completes(&v_api, &p_api, &requested.id, &truth).await;

    // 3. The vendor's agent is down when its organization requests a
    // session; the partner's agent joins, commits and waits, and is killed.
    kill(&mut va);
    let s3 = v_api.create_session(pid).await.unwrap();
    wait_session(&p_api, &s3.id, "the partner's commit", |s| {
        s.partner.blinded == UploadState::Committed
    })
    .await;
    assert_eq!(
        active_files(&partner.state).len(),
        1,
        "state before waiting"
    );
    kill(&mut pa);
    let mut va = start_agent(&vendor, d);
    // The vendor's agent joins its organization's session and does all it
    // can: blinded upload, then its tokens.
    wait_session(&v_api, &s3.id, "the vendor's tokens", |s| {
        s.vendor.tokens == UploadState::Committed
    })
    .await;
    assert_eq!(
        v_api.session(&s3.id).await.unwrap().partner.tokens,
        UploadState::Pending
    );
    let mut pa = start_agent(&partner, d);
    completes(&v_api, &p_api, &s3.id, &truth).await;
    let deadline = Instant::now() + STEP;
    while !active_files(&partner.state).is_empty() {
        assert!(Instant::now() < deadline, "the secret outlives the session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The restarted agent said it resumed, in JSON lines.
    let plog = std::fs::read_to_string(&partner.log).unwrap();
    let resumed = plog
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| {
            v["message"] == "session completed"
                && v["session"] == s3.id.as_str()
                && v["resumed"] == true
                && v["why"] == "resume"
        });
    assert!(
        resumed,
        "no resumed completion in the partner's log:\n{plog}"
    );

    // 4. SIGTERM stops the vendor's idle agent, and the partner's in the
    // middle of a session its organization requested: both exit 0, and the
    // partner's local state stays for the next run.
    assert!(terminate(&mut va).await.success());
    let s4 = p_api.create_session(pid).await.unwrap();
    wait_session(&p_api, &s4.id, "the partner's commit", |s| {
        s.partner.blinded == UploadState::Committed
    })
    .await;
    assert!(terminate(&mut pa).await.success());
    let stopped = |log: &Path, running: i64| {
        std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("shutting down"))
                    && v["sessions_in_progress"] == running
            })
    };
    assert!(stopped(&vendor.log, 0));
    assert!(stopped(&partner.log, 1));
    assert_eq!(active_files(&partner.state).len(), 1);
    // Cron-style runs take it from there, each exiting 0: the vendor joins,
    // uploads its blinded set and its tokens, and leaves the session waiting
    // for the partner's tokens...
    let o = once(&vendor, d).await;
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        show(&o).contains("session waits for the partner"),
        "{}",
        show(&o)
    );
    let s = v_api.session(&s4.id).await.unwrap();
    assert_eq!(s.state, SessionState::AwaitingTokens);
    assert_eq!(s.vendor.tokens, UploadState::Committed);
    assert_eq!(s.partner.tokens, UploadState::Pending);
    // ...the partner resumes from the state SIGTERM left and completes it...
    let o = once(&partner, d).await;
    assert!(o.status.success(), "{}", show(&o));
    assert!(show(&o).contains("session completed"), "{}", show(&o));
    completes(&v_api, &p_api, &s4.id, &truth).await;
    // ...and the vendor's next run fetches the results.
    let o = once(&vendor, d).await;
    assert!(o.status.success(), "{}", show(&o));
    assert!(show(&o).contains("session completed"), "{}", show(&o));
    assert!(active_files(&vendor.state).is_empty());
    assert!(active_files(&partner.state).is_empty());
    // Nothing due: a quick exit 0.
    let o = once(&vendor, d).await;
    assert!(o.status.success(), "{}", show(&o));
    assert!(!show(&o).contains("opening a session"), "{}", show(&o));

    // 5. A third partner-opened session today: over the vendor's cap.
    let s5 = p_api.create_session(pid).await.unwrap();
    let o = once(&vendor, d).await;
    assert!(o.status.success(), "{}", show(&o));
    let said = show(&o);
    assert!(said.contains("over max_partner_sessions_per_day"), "{said}");
    assert!(said.contains(&s5.id), "{said}");
    let s = v_api.session(&s5.id).await.unwrap();
    assert_eq!(s.state, SessionState::AwaitingBlinded);
    assert_eq!(s.vendor.blinded, UploadState::Pending, "not joined");
    assert_eq!(
        std::fs::read_to_string(d.join("notified.txt")).unwrap(),
        format!("Partner Co/{}: over max_partner_sessions_per_day\n", s5.id)
    );
    assert!(active_files(&vendor.state).is_empty());

    // 6. The partner's own session awaits it, but its export fails: a
    // command that exits non-zero, then one that overruns its timeout.
    // `--once` exits 3 (input) and nothing is uploaded.
    for (command, said) in [
        (
            r#"["sh", "-c", "echo export broke >&2; exit 4"]"#,
            "export broke",
        ),
        (r#"["sleep", "30"]"#, "did not finish within 1s"),
    ] {
        std::fs::write(
            d.join("partner.toml"),
            format!(
                "[agent]\nheartbeat_interval = \"0s\"\n[defaults]\n\
                 source = {{ command = {command}, timeout = \"1s\" }}\n"
            ),
        )
        .unwrap();
        let o = once(&partner, d).await;
        assert_eq!(o.status.code(), Some(3), "{}", show(&o));
        assert!(show(&o).contains(said), "{}", show(&o));
        let s = p_api.session(&s5.id).await.unwrap();
        assert_eq!(s.partner.blinded, UploadState::Pending);
        assert!(active_files(&partner.state).is_empty());
    }
    p_api.cancel_session(&s5.id).await.unwrap();

    // A mistyped key: exit 2, the key named, before any request.
    std::fs::write(
        d.join("partner.toml"),
        "[defaults]\nsource = { path = \"p.csv\" }\nmax_partner_sessions_per_dya = 1\n",
    )
    .unwrap();
    let o = once(&partner, d).await;
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        show(&o).contains("max_partner_sessions_per_dya"),
        "{}",
        show(&o)
    );

    server.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    agents_end_to_end(Db::sqlite(dir.path()), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_postgres() {
    let dir = tempfile::tempdir().unwrap();
    agents_end_to_end(Db::postgres().await, dir.path()).await;
}

/// The pair's one session of the day is used up: the server answers the
/// scheduled run's session request with 429 and a Retry-After of about a
/// day. A long-running agent asks once and holds the partnership (polling
/// every second, it does not ask again); `--once` exits 6.
async fn budget_is_waited_out(db: Db, d: &Path) {
    let (server, vtoken, ptoken, pid) = setup(&db, 1).await;
    let url = server.base_url();
    let v_api = api(&url, &vtoken);
    let s = v_api.create_session(pid).await.unwrap();
    v_api.cancel_session(&s.id).await.unwrap();
    std::fs::write(
        d.join("v.csv"),
        "Account Name,Website\nAcme,acme.com\nBeta,beta.io\n",
    )
    .unwrap();
    std::fs::write(
        d.join("vendor.toml"),
        "[agent]\npoll_interval = \"1s\"\nheartbeat_interval = \"0s\"\n\
         [defaults]\nsource = { path = \"v.csv\" }\nrefresh = \"every 1h\"\n",
    )
    .unwrap();
    let vendor = Side {
        url: url.clone(),
        token: vtoken.clone(),
        state: d.join("vendor-state"),
        config: d.join("vendor.toml"),
        log: d.join("vendor.log"),
    };
    let o = once(&vendor, d).await;
    assert_eq!(o.status.code(), Some(6), "{}", show(&o));
    assert!(show(&o).contains("no new session now"), "{}", show(&o));

    let mut va = start_agent(&vendor, d);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(terminate(&mut va).await.success());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&vendor.log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let asked = lines
        .iter()
        .filter(|v| v["message"] == "refresh due: opening a session")
        .count();
    assert_eq!(asked, 1, "{lines:#?}");
    let failed = lines
        .iter()
        .find(|v| v["message"] == "session run failed")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let wait = failed["retry_in_secs"].as_i64().unwrap();
    assert!(wait > 20 * 3600, "waits {wait}s");
    assert_eq!(v_api.list_sessions(pid).await.unwrap().len(), 1);
    let _ = ptoken;
    server.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_is_waited_out_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    budget_is_waited_out(Db::sqlite(dir.path()), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_is_waited_out_postgres() {
    let dir = tempfile::tempdir().unwrap();
    budget_is_waited_out(Db::postgres().await, dir.path()).await;
}
