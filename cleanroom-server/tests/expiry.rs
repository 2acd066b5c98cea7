//! Session expiry with the real server binary (`--session-expiry`), on
//! SQLite and on PostgreSQL: a policy cannot lengthen the deployment's
//! expiry; a session one side committed to and the other never joined is
//! cancelled at its `expires_at` by the sweep, with reason `expired`, and its
//! chunks deleted; and a read past the expiry cancels it even when no sweep
//! has run yet.

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use cleanroom_core::SessionSecret;
use cleanroom_core::api::{CancelReason, Session, SessionState, SharingPolicy};
use cleanroom_server::store::{AnyStore, Store as _};
use common::*;
use reqwest::Method;

/// The server binary with a session expiry of `expiry` seconds and a sweep
/// every second; returns the child and its base URL.
fn start(url: &str, expiry: u64) -> (Child, String) {
    start_server(
        url,
        &[
            "--session-expiry",
            &expiry.to_string(),
            "--lease-sweep",
            "1",
            "--min-population-size",
            "1",
            "--min-cell-size",
            "1",
        ],
    )
}

fn seconds(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

async fn expired_by_the_sweep(db: &TestDb) {
    let url = db.url().to_owned();
    AnyStore::connect(&url).await.unwrap().close().await;
    let vt = admin_create_org(&url, "Vendor Inc");
    let pt = admin_create_org(&url, "Partner LLC");
    let (mut child, base) = start(&url, 3);
    let v = Api::new(&base, &vt);
    let p = Api::new(&base, &pt);

    // The deployment's limit is public, and a policy cannot exceed it.
    let limits: serde_json::Value = v.ok(Method::GET, "/v1/limits", None).await;
    assert_eq!(limits["session_expiry_secs"], 3);
    for secs in [0, 4] {
        let (status, problem) = v
            .send(
                Method::POST,
                "/v1/invitations",
                Some(serde_json::json!({
                    "my_role": "vendor",
                    "policy": {"counts": {"mode": "exact"}, "session_expiry_secs": secs},
                })),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["code"], "invalid-session-expiry");
    }
    let ps = v
        .partner_up(&p, "Partner LLC", SharingPolicy::default())
        .await;

    // The vendor commits; the partner never comes.
    let s = v.open_session(&ps.id).await;
    let expires = s.expires_at.as_deref().expect("expires_at");
    assert_eq!(seconds(expires) - seconds(&s.created_at), 3);
    let (va, _) = generate();
    let vs = SessionSecret::generate();
    let committed = v
        .upload_blinded(&s.id, &blind(&vs, &va), &VENDOR_POPS, 40)
        .await;
    assert_eq!(committed.state, SessionState::AwaitingBlinded);
    assert_eq!(committed.expires_at, s.expires_at);
    let store = AnyStore::connect(&url).await.unwrap();
    assert!(store.chunk_row_counts().await.unwrap().0 > 0);

    // Nobody reads the session: the sweep must cancel it on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let row = store.session(&s.id).await.unwrap().unwrap();
        if row.state == SessionState::Cancelled {
            break row;
        }
        assert!(Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(row.cancel_reason, Some(CancelReason::Expired));
    // Within a sweep interval (1 s here) of the expiry, to the second.
    let late = row.finished_at.unwrap() - seconds(expires);
    eprintln!("cancelled {late} s after expires_at");
    assert!(
        (0..=2).contains(&late),
        "cancelled {late} s after expires_at"
    );
    assert_eq!(store.chunk_row_counts().await.unwrap(), (0, 0));
    store.close().await;

    // Both sides see it cancelled, and why; nothing more can be uploaded.
    for api in [&v, &p] {
        let seen: Session = api
            .ok(Method::GET, &format!("/v1/sessions/{}", s.id), None)
            .await;
        assert_eq!(seen.state, SessionState::Cancelled);
        assert_eq!(seen.cancel_reason, Some(CancelReason::Expired));
        assert_eq!(seen.expires_at, s.expires_at);
    }
    let (status, problem) = p
        .put_bytes(
            &format!("/v1/sessions/{}/blinded/0", s.id),
            blind(&vs, &va[..1]),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let audit: Vec<serde_json::Value> = v
        .ok(
            Method::GET,
            &format!("/v1/partnerships/{}/audit", ps.id),
            None,
        )
        .await;
    let expired: Vec<_> = audit
        .iter()
        .filter(|e| e["action"] == "session.expired")
        .collect();
    assert_eq!(expired.len(), 1, "{audit:?}");
    // A new session can start.
    assert_eq!(
        v.open_session(&ps.id).await.state,
        SessionState::AwaitingBlinded
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_by_the_sweep_sqlite() {
    expired_by_the_sweep(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_by_the_sweep_postgres() {
    expired_by_the_sweep(&TestDb::postgres().await).await;
}

/// With no sweep due for an hour, reading a session past its expiry
/// cancels it there and then: no answer shows an open session too late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_past_the_expiry_cancels() {
    let db = TestDb::sqlite();
    let (vt, pt) = {
        let store = AnyStore::connect(db.url()).await.unwrap();
        let (_, v) = cleanroom_server::bootstrap::create_org_in(&store, "Vendor Inc")
            .await
            .unwrap();
        let (_, p) = cleanroom_server::bootstrap::create_org_in(&store, "Partner LLC")
            .await
            .unwrap();
        store.close().await;
        (v.expose().to_owned(), p.expose().to_owned())
    };
    let mut config = cleanroom_server::Config::for_tests(db.url());
    config.guardrails.session_expiry_secs = 1;
    config.compute.sweep_interval = Duration::from_secs(3600);
    let server = cleanroom_server::spawn(config).await.unwrap();
    let v = Api::new(&server.base_url(), &vt);
    let p = Api::new(&server.base_url(), &pt);
    let ps = v
        .partner_up(&p, "Partner LLC", SharingPolicy::default())
        .await;
    let s = v.open_session(&ps.id).await;
    // The sweep's first tick ran at start; the next is an hour away.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let seen: Session = p
        .ok(Method::GET, &format!("/v1/sessions/{}", s.id), None)
        .await;
    assert_eq!(seen.state, SessionState::Cancelled);
    assert_eq!(seen.cancel_reason, Some(CancelReason::Expired));
    server.shutdown().await;
}
