//! The dashboard's "Refresh now" button, end to end: the real server (on
//! SQLite and on PostgreSQL), two real `cleanroom agent` processes with
//! `refresh = "off"` (so nothing runs until someone asks) on CSV files from
//! `cleanroom generate`, and headless Chromium signed in with the vendor's
//! upload token. The click creates a session, both agents complete it, and
//! the open partnership page updates by itself to show it completed, with
//! the overlap the API returns; the results equal the generator's truth.
//!
//! Like cleanroom-server's dashboard tests, this needs Debian's `chromium`
//! and `chromium-driver` (`.ci/dashboard-deps` installs them) and fails
//! without them; `CLEANROOM_SKIP_BROWSER_TESTS=1` skips it.

// The dashboard tests' browser driver, shared with cleanroom-server's.
#[path = "../../cleanroom-server/tests/browser/mod.rs"]
mod browser;
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use browser::{Browser, WAIT};
use cleanroom_client::generate::Truth;
use cleanroom_core::api::{CreateToken, Role, Scope, SessionState};
use common::{Db, api, check_truth};
use fantoccini::Locator;
use serde_json::json;

/// Longest wait from the click to the page showing the completed session.
const COMPLETION: Duration = Duration::from_secs(60);

// ------------------------------------------------------------ processes

/// The agents, killed if the test fails half-way so that none outlives it.
struct Agents(Vec<Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn cmd(url: &str, token: &str, dir: &Path, name: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cleanroom"));
    c.args(args)
        .current_dir(dir)
        .env("CLEANROOM_URL", url)
        .env("CLEANROOM_TOKEN", token)
        .env("CLEANROOM_STATE_DIR", dir.join(format!("{name}-state")))
        .env("CLEANROOM_PROFILES", dir.join("no-profiles.toml"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// `cleanroom agent` for one side: its file, refreshes off, joins all.
fn start_agent(url: &str, token: &str, dir: &Path, name: &str, csv: &str) -> Child {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[agent]\npoll_interval = \"1s\"\nheartbeat_interval = \"1s\"\n\
             [defaults]\nsource = {{ path = \"{csv}\" }}\nrefresh = \"off\"\n\
             auto_join = \"always\"\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    cmd(
        url,
        token,
        dir,
        name,
        &["agent", "--config", config.to_str().unwrap()],
    )
    .stdout(Stdio::null())
    .stderr(log)
    .spawn()
    .expect("start cleanroom agent")
}

fn logs(dir: &Path) -> String {
    ["vendor", "partner"]
        .iter()
        .map(|n| {
            format!(
                "--- {n}'s agent:\n{}",
                std::fs::read_to_string(dir.join(format!("{n}.log"))).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ------------------------------------------------------------------ test

/// What the partnership page shows of its refreshes, sessions and overlap.
const PAGE_STATE: &str = r#"
const text = (css) => { const e = document.querySelector(css); return e ? e.innerText : null; };
const row = document.querySelector('#sessions tbody tr');
return {
  pending: text('#refreshes [data-refresh=pending]'),
  last: text('#refreshes [data-refresh=last]'),
  live: text('#sessions-live'),
  first_session: row ? row.querySelector('a').getAttribute('href') : null,
  first_state: row ? row.querySelectorAll('td')[0].innerText : null,
  sessions: document.querySelectorAll('#sessions tbody tr').length,
  matrix_shown: !document.getElementById('matrix-wrap').hidden,
  matrix_meta: text('#matrix-meta'),
  cells: Array.from(document.querySelectorAll('#matrix td.cell')).map(td => [
    Number(td.dataset.vendorPop), Number(td.dataset.partnerPop),
    td.dataset.vendorAccounts, td.dataset.partnerAccounts]),
};
"#;

async fn refresh_now_runs_on_both_agents(db: Db, d: &Path) {
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
    let server = cleanroom_server::spawn(config).await.unwrap();
    let url = server.base_url();
    // Exact counts, everything shared: the results compare with the truth
    // figure by figure.
    let pid = "p-refresh";
    common::partnership(&server, pid, &vendor_id, &partner_id, None).await;
    let (v_api, p_api) = (api(&url, &vtoken), api(&url, &ptoken));
    let upload = v_api
        .create_token(&CreateToken {
            label: "dashboard".into(),
            scope: Scope::Upload,
            expires_in_days: None,
        })
        .await
        .unwrap();

    let o = tokio::task::spawn_blocking({
        let mut c = cmd(
            &url,
            &vtoken,
            d,
            "vendor",
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
                "14",
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
    assert!(
        o.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let truth: Truth =
        serde_json::from_slice(&std::fs::read(d.join("truth.json")).unwrap()).unwrap();

    let agents = Agents(vec![
        start_agent(&url, &vtoken, d, "vendor", "v.csv"),
        start_agent(&url, &ptoken, d, "partner", "p.csv"),
    ]);
    // Both agents report before the page opens (it reads them once while
    // no session runs).
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = v_api.agents(pid).await.unwrap();
        if seen.own.is_some() && seen.partner.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeats: {seen:?}\n{}",
            logs(d)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let b = Browser::start().await;
    b.sign_in(&url, &upload.token).await;
    b.follow_link("Partner Co", "partnership").await;
    let agents_text = b
        .js("return document.getElementById('agents').innerText")
        .await;
    let agents_text = agents_text.as_str().expect("text");
    assert!(
        agents_text.contains("Your agent: online")
            && agents_text.contains("Partner Co’s agent: online")
            && !agents_text.contains("Refreshes "),
        "{agents_text}"
    );
    // With refreshes off, nothing has run: no session, nothing pending.
    let before = b.js(PAGE_STATE).await;
    assert_eq!(before["sessions"], 0, "{before}");
    assert_eq!(before["matrix_shown"], false, "{before}");
    assert!(v_api.list_sessions(pid).await.unwrap().is_empty());
    b.eventually(
        WAIT,
        "return document.getElementById('refresh-now').disabled",
        |v| *v == json!(false),
    )
    .await;

    // The click creates the session...
    b.c()
        .find(Locator::Css("#refresh-now"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    let created = b
        .eventually(
            WAIT,
            "return document.getElementById('refresh-status').dataset.session || null",
            |v| v.is_string(),
        )
        .await;
    let sid = created.as_str().unwrap().to_owned();
    let clicked = Instant::now();

    // ...both agents complete it, and the page, left alone, shows it.
    let deadline = clicked + COMPLETION;
    let shown = loop {
        let s = b.js(PAGE_STATE).await;
        let done = s["last"].as_str().is_some_and(|t| t.contains("Completed"))
            && s["pending"].as_str().is_some_and(|t| t.contains("None"))
            && s["first_state"] == "Completed"
            && s["live"] == ""
            && s["matrix_shown"] == true
            && s["matrix_meta"]
                .as_str()
                .is_some_and(|t| t.contains(&sid[..8]));
        if done {
            break s;
        }
        let api_state = v_api.session(&sid).await.map(|s| s.state);
        assert_ne!(
            api_state.as_ref().ok(),
            Some(&SessionState::Cancelled),
            "{}",
            logs(d)
        );
        if Instant::now() >= deadline {
            b.screenshot("refresh-agents-stuck").await;
            panic!(
                "the page did not show session {sid} completed within {COMPLETION:?}: {s:#}\n\
                 API: {api_state:?}\n{}",
                logs(d)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "session {sid} shown completed {:?} after the click",
        clicked.elapsed()
    );
    b.screenshot("refresh-agents").await;
    assert_eq!(shown["sessions"], 1, "{shown}");
    assert_eq!(
        shown["first_session"],
        format!("/dashboard/sessions/{sid}"),
        "{shown}"
    );

    // The API agrees: the session the click created, opened by the vendor,
    // completed with results equal to the truth on both sides...
    let sessions = v_api.list_sessions(pid).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, sid);
    assert_eq!(sessions[0].created_by, Role::Vendor);
    assert_eq!(sessions[0].state, SessionState::Completed);
    let results = v_api.results(&sid).await.unwrap();
    check_truth(&results, &truth);
    check_truth(&p_api.results(&sid).await.unwrap(), &truth);
    // ...and the page's heat map shows those figures, cell by cell.
    let cells = shown["cells"].as_array().expect("cells");
    let expected: usize = results.cells.iter().map(Vec::len).sum();
    assert_eq!(cells.len(), expected, "{shown}");
    for c in cells {
        let (v, p) = (
            c[0].as_u64().unwrap() as usize,
            c[1].as_u64().unwrap() as usize,
        );
        let cell = &results.cells[v][p];
        assert_eq!(c[2], cell.vendor_accounts.to_string(), "cell {v},{p}");
        assert_eq!(c[3], cell.partner_accounts.to_string(), "cell {v},{p}");
    }

    b.close().await;
    drop(agents);
    server.shutdown().await;
    db.drop_db().await;
}

/// One browser and two agents at a time: the two databases' runs would
/// otherwise share two cores with two Chromiums and four agents.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn skip() -> bool {
    let skip = std::env::var_os("CLEANROOM_SKIP_BROWSER_TESTS").is_some();
    if skip {
        eprintln!("CLEANROOM_SKIP_BROWSER_TESTS is set: skipping the browser test");
    }
    skip
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_now_runs_on_both_agents_sqlite() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    refresh_now_runs_on_both_agents(Db::sqlite(dir.path()), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_now_runs_on_both_agents_postgres() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    refresh_now_runs_on_both_agents(Db::postgres().await, dir.path()).await;
}
