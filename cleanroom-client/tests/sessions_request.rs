//! `cleanroom sessions request --partner NAME` against the real server, and
//! the library's agent calls (`heartbeat`, `agents`) the agent is built on.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use cleanroom_client::{Client, ClientConfig};
use cleanroom_core::api::{
    AgentHeartbeat, AgentSchedule, PartnershipStatus, Role, SessionState, SharingPolicy,
};
use cleanroom_server::store::{PartnershipRow, Store as _};
use cleanroom_server::{Config, bootstrap, spawn};

async fn run(url: &str, token: &str, dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cleanroom"));
    c.args(args)
        .current_dir(dir)
        .env("CLEANROOM_URL", url)
        .env("CLEANROOM_TOKEN", token)
        .env("CLEANROOM_STATE_DIR", dir.join("state"))
        .env("CLEANROOM_PROFILES", dir.join("no-profiles.toml"))
        .stdin(Stdio::null());
    // The server runs on this test's runtime: wait for the child off it.
    tokio::task::spawn_blocking(move || c.output().expect("run cleanroom"))
        .await
        .expect("join")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_request_and_agent_calls() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("server.db").display());
    let (acme, acme_token) = bootstrap::create_org(&db, "Acme").await.unwrap();
    let (globex, globex_token) = bootstrap::create_org(&db, "Globex").await.unwrap();
    let mut config = Config::for_tests(&db);
    // One session a day: the second request meets the session budget.
    config.guardrails.sessions_per_day = 1;
    let server = spawn(config).await.unwrap();
    let url = server.base_url();
    let pid = "p-acme-globex";
    server
        .state()
        .store
        .create_partnership(&PartnershipRow {
            id: pid.into(),
            vendor_org_id: acme,
            partner_org_id: globex,
            invited_by: Role::Vendor,
            status: PartnershipStatus::Active,
            policy: SharingPolicy::default(),
            pending: None,
            created_at: cleanroom_server::now(),
        })
        .await
        .unwrap();
    let (acme_token, globex_token) = (acme_token.as_str(), globex_token.as_str());
    let d = dir.path();

    // The library calls an agent makes.
    let acme_client = Client::new(ClientConfig::new(&url, acme_token)).unwrap();
    let globex_client = Client::new(ClientConfig::new(&url, globex_token)).unwrap();
    assert_eq!(acme_client.agents(pid).await.unwrap().partner, None);
    globex_client
        .heartbeat(&AgentHeartbeat {
            agent_version: "0.1.0".into(),
            protocol: cleanroom_core::protocol::protocol_version(),
            schedules: vec![AgentSchedule {
                partnership_id: pid.into(),
                refresh: "daily 06:00".into(),
                next_run_at: None,
            }],
        })
        .await
        .unwrap();
    let seen = acme_client.agents(pid).await.unwrap();
    assert!(seen.own.is_none());
    let partner = seen.partner.expect("Globex's agent");
    assert!(partner.online);
    assert_eq!(partner.schedule.expect("schedule").refresh, "daily 06:00");

    // A request creates a session and says who runs it.
    let o = run(
        &url,
        acme_token,
        d,
        &["sessions", "request", "--partner", "Globex"],
    )
    .await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("Requested session"), "{out}");
    assert!(out.contains("agents of both organizations"), "{out}");
    let sessions = acme_client.list_sessions(pid).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].state, SessionState::AwaitingBlinded);
    assert!(out.contains(&sessions[0].id), "{out}");

    // One is open: nothing new, and it says which.
    let o = run(
        &url,
        globex_token,
        d,
        &["sessions", "request", "--partner", "Acme"],
    )
    .await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}\n{err}");
    assert!(err.contains("already open"), "{err}");
    assert!(err.contains(&sessions[0].id), "{err}");

    // Cancelled, the pair's one session of the day is still spent: 429 in words.
    acme_client.cancel_session(&sessions[0].id).await.unwrap();
    let o = run(
        &url,
        acme_token,
        d,
        &["sessions", "request", "--partner", "Globex"],
    )
    .await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(6), "{out}\n{err}");
    assert!(err.contains("no new session now"), "{err}");
    assert!(!err.contains("429"), "{err}");

    // No such partner: a usage error.
    let o = run(
        &url,
        acme_token,
        d,
        &["sessions", "request", "--partner", "Initech"],
    )
    .await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    assert!(err.contains("no partnership"), "{err}");

    server.shutdown().await;
}
