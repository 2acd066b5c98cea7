//! Agent heartbeats and refresh requests on both backends: the store's
//! offline claims, `POST /v1/agents/heartbeat` and
//! `GET /v1/partnerships/{id}/agents` through `Router::oneshot`, the
//! `agent.offline` event sent once per outage even with several sweeps at
//! once, and `session.requested` when a session is created.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cleanroom_core::api::{
    AgentSchedule, PartnershipAgents, PartnershipStatus, Role, Scope, SharingPolicy,
};
use cleanroom_server::bootstrap::{create_org_in, create_token_in};
use cleanroom_server::store::agents::{AgentRow, AgentStore};
use cleanroom_server::store::webhooks::{WebhookRow, WebhookSecret, WebhookStore};
use cleanroom_server::store::{PartnershipRow, PgStore, SqliteStore, Store};
use cleanroom_server::{AppState, Config};
use common::{TestDb, call_router};
use serde_json::json;

// ------------------------------------------------------------- the store

fn agent(org: &str, last_seen: i64) -> AgentRow {
    AgentRow {
        org_id: org.into(),
        agent_version: "0.1.0".into(),
        protocol: "2".into(),
        schedules: vec![AgentSchedule {
            partnership_id: "p1".into(),
            refresh: "daily 06:00".into(),
            next_run_at: Some(last_seen + 3600),
        }],
        last_seen,
        offline_reported_at: None,
    }
}

async fn store_conformance<S: Store + AgentStore>(s: &S) {
    let now = 1_800_000_000;
    let (a, _) = create_org_in(s, "Org A").await.unwrap();
    let (b, _) = create_org_in(s, "Org B").await.unwrap();
    assert!(s.agent(&a).await.unwrap().is_none());
    s.record_heartbeat(&agent(&a, now - 1000)).await.unwrap();
    s.record_heartbeat(&agent(&b, now)).await.unwrap();
    assert_eq!(s.agent(&a).await.unwrap().unwrap(), agent(&a, now - 1000));

    // A replaces its row: one per organization.
    let mut newer = agent(&a, now - 900);
    newer.agent_version = "0.2.0".into();
    newer.schedules.clear();
    s.record_heartbeat(&newer).await.unwrap();
    assert_eq!(s.agent(&a).await.unwrap().unwrap(), newer);

    // Only A is older than the threshold; it is claimed once.
    let claimed = s.claim_offline_agents(now - 300, now).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].org_id, a);
    assert_eq!(claimed[0].offline_reported_at, Some(now));
    assert!(
        s.claim_offline_agents(now - 300, now + 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.agent(&a).await.unwrap().unwrap().offline_reported_at,
        Some(now)
    );

    // A heartbeat ends the outage; the next one is claimed again.
    s.record_heartbeat(&agent(&a, now + 10)).await.unwrap();
    assert_eq!(
        s.agent(&a).await.unwrap().unwrap().offline_reported_at,
        None
    );
    assert!(
        s.claim_offline_agents(now, now + 20)
            .await
            .unwrap()
            .is_empty()
    );
    let again = s.claim_offline_agents(now + 400, now + 400).await.unwrap();
    assert_eq!(
        again.iter().map(|r| r.org_id.as_str()).collect::<Vec<_>>(),
        // Oldest heartbeat first.
        [b.as_str(), a.as_str()]
    );
}

#[tokio::test]
async fn agent_store_sqlite() {
    let db = TestDb::sqlite();
    let s = SqliteStore::connect(db.url()).await.unwrap();
    store_conformance(&s).await;
}

#[tokio::test]
async fn agent_store_postgres() {
    let db = TestDb::postgres().await;
    let s = PgStore::connect(db.url()).await.unwrap();
    store_conformance(&s).await;
}

// ------------------------------------------------------------ the handlers

struct Fixture {
    _db: TestDb,
    router: Router,
    state: AppState,
    a_org: String,
    b_org: String,
    a_upload: String,
    a_view: String,
    b_upload: String,
    c_admin: String,
    partnership: String,
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, String, serde_json::Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    call_router(router, req.body(body).unwrap()).await
}

/// Organizations A and B in an active partnership, and C outside it.
async fn fixture(db: TestDb) -> Fixture {
    let mut config = Config::for_tests(db.url());
    config.agent_offline_after = Duration::from_secs(60);
    let (router, state) = cleanroom_server::app(config).await.unwrap();
    let s = &state.store;
    let (a_org, _) = create_org_in(s, "A").await.unwrap();
    let (b_org, _) = create_org_in(s, "B").await.unwrap();
    let (_, c_admin) = create_org_in(s, "C").await.unwrap();
    let token = |org: &'static str, scope| async move {
        create_token_in(s, org, scope, "agent", None)
            .await
            .unwrap()
            .expose()
            .to_owned()
    };
    let a_upload = token("A", Scope::Upload).await;
    let a_view = token("A", Scope::View).await;
    let b_upload = token("B", Scope::Upload).await;
    let partnership = "p-agents".to_owned();
    s.create_partnership(&PartnershipRow {
        id: partnership.clone(),
        vendor_org_id: a_org.clone(),
        partner_org_id: b_org.clone(),
        invited_by: Role::Vendor,
        status: PartnershipStatus::Active,
        policy: SharingPolicy::default(),
        pending: None,
        created_at: cleanroom_server::now(),
    })
    .await
    .unwrap();
    Fixture {
        _db: db,
        router,
        a_org,
        b_org,
        a_upload,
        a_view,
        b_upload,
        c_admin: c_admin.expose().to_owned(),
        partnership,
        state,
    }
}

fn heartbeat(partnership: &str) -> serde_json::Value {
    json!({
        "agent_version": "0.3.1",
        "protocol": cleanroom_core::protocol::protocol_version(),
        "schedules": [{"partnership_id": partnership, "refresh": "daily 06:00", "next_run_at": 1_900_000_000}],
    })
}

async fn heartbeats_and_agent_status(f: Fixture) {
    let r = &f.router;
    let agents_path = format!("/v1/partnerships/{}/agents", f.partnership);

    // Nobody reported yet.
    let (s, _, v) = call(r, "GET", &agents_path, &f.a_view, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"own": null, "partner": null}));

    // A heartbeat needs upload scope.
    let (s, ct, v) = call(
        r,
        "POST",
        "/v1/agents/heartbeat",
        &f.a_view,
        Some(heartbeat(&f.partnership)),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(ct.starts_with("application/problem+json"));
    let (s, _, v) = call(
        r,
        "POST",
        "/v1/agents/heartbeat",
        &f.a_upload,
        Some(heartbeat(&f.partnership)),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // A sees its own agent with the schedule; B sees it as the partner's.
    let (s, _, v) = call(r, "GET", &agents_path, &f.a_view, None).await;
    assert_eq!(s, StatusCode::OK);
    let a_sees: PartnershipAgents = serde_json::from_value(v).unwrap();
    let own = a_sees.own.expect("own agent");
    assert!(own.online);
    assert_eq!(own.agent_version, "0.3.1");
    assert!((cleanroom_server::now() - own.last_seen).abs() <= 5);
    let sched = own.schedule.expect("schedule");
    assert_eq!(sched.refresh, "daily 06:00");
    assert_eq!(sched.next_run_at, Some(1_900_000_000));
    assert!(a_sees.partner.is_none());
    let (_, _, v) = call(r, "GET", &agents_path, &f.b_upload, None).await;
    let b_sees: PartnershipAgents = serde_json::from_value(v).unwrap();
    assert!(b_sees.own.is_none());
    assert_eq!(b_sees.partner.unwrap().agent_version, "0.3.1");

    // B's agent, without a schedule for this partnership.
    let (s, _, _) = call(
        r,
        "POST",
        "/v1/agents/heartbeat",
        &f.b_upload,
        Some(json!({"agent_version": "0.3.0", "protocol": "2", "schedules": []})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, v) = call(r, "GET", &agents_path, &f.a_view, None).await;
    let a_sees: PartnershipAgents = serde_json::from_value(v).unwrap();
    let partner = a_sees.partner.expect("partner agent");
    assert_eq!(partner.agent_version, "0.3.0");
    assert!(partner.schedule.is_none());

    // Past the threshold the agent reads offline.
    let mut old = f.state.store.agent(&f.b_org).await.unwrap().unwrap();
    old.last_seen -= 61;
    f.state.store.record_heartbeat(&old).await.unwrap();
    let (_, _, v) = call(r, "GET", &agents_path, &f.a_view, None).await;
    assert_eq!(v["partner"]["online"], false, "{v}");
    assert_eq!(v["own"]["online"], true, "{v}");

    // Another organization's partnership is not found, nor can its agent
    // claim a schedule there.
    let (s, _, v) = call(r, "GET", &agents_path, &f.c_admin, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _, v) = call(
        r,
        "POST",
        "/v1/agents/heartbeat",
        &f.c_admin,
        Some(heartbeat(&f.partnership)),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "unprocessable");

    // Bad bodies are 4xx problems and change nothing.
    let long = "x".repeat(65);
    for bad in [
        json!({"agent_version": "", "protocol": "2"}),
        json!({"agent_version": long, "protocol": "2"}),
        json!({"agent_version": "1", "protocol": "2\n"}),
        json!({"agent_version": "1", "protocol": "2", "schedules": [
            {"partnership_id": f.partnership, "refresh": "daily"},
            {"partnership_id": f.partnership, "refresh": "hourly"}]}),
        json!({"agent_version": "1", "protocol": "2", "schedules": [
            {"partnership_id": f.partnership, "refresh": ""}]}),
        json!({"agent_version": "1", "protocol": "2", "extra": 1}),
        json!({"protocol": "2"}),
    ] {
        let (s, ct, v) = call(r, "POST", "/v1/agents/heartbeat", &f.a_upload, Some(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(ct.starts_with("application/problem+json"));
    }
    let own = f.state.store.agent(&f.a_org).await.unwrap().unwrap();
    assert_eq!(own.agent_version, "0.3.1");
}

#[tokio::test]
async fn heartbeats_and_agent_status_sqlite() {
    heartbeats_and_agent_status(fixture(TestDb::sqlite()).await).await;
}

#[tokio::test]
async fn heartbeats_and_agent_status_postgres() {
    heartbeats_and_agent_status(fixture(TestDb::postgres().await).await).await;
}

// ---------------------------------------------------------------- events

async fn subscribe(state: &AppState, id: &str, org: &str, event: &str) {
    state
        .store
        .create_webhook(&WebhookRow {
            id: id.into(),
            org_id: org.into(),
            url: "https://hooks.example.com/cleanroom".into(),
            events: vec![event.into()],
            secret: WebhookSecret::new(format!("whsec_{id}")),
            previous_secret: None,
            previous_expires_at: None,
            created_at: cleanroom_server::now(),
        })
        .await
        .unwrap();
}

async fn bodies(state: &AppState, webhook: &str) -> Vec<serde_json::Value> {
    state
        .store
        .deliveries(webhook, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str(&d.body).unwrap())
        .collect()
}

/// One sweep for agents gone offline; the outages it reported.
async fn sweep(state: &AppState) -> usize {
    cleanroom_server::agents::report_offline(state)
        .await
        .unwrap()
}

/// A's agent sends a heartbeat; online, it gives a sweep nothing to report.
async fn a_reports_in(f: &Fixture) {
    let (s, _, _) = call(
        &f.router,
        "POST",
        "/v1/agents/heartbeat",
        &f.a_upload,
        Some(heartbeat(&f.partnership)),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(sweep(&f.state).await, 0);
}

/// A's last heartbeat two minutes back: past the fixture's 60 s threshold.
async fn a_goes_quiet(f: &Fixture) {
    let mut row = f.state.store.agent(&f.a_org).await.unwrap().unwrap();
    row.last_seen -= 120;
    f.state.store.record_heartbeat(&row).await.unwrap();
}

async fn offline_once_and_requests_announced(f: Fixture) {
    subscribe(&f.state, "wh-a", &f.a_org, "agent.offline").await;
    subscribe(&f.state, "wh-b", &f.b_org, "agent.offline").await;
    subscribe(&f.state, "wh-b-req", &f.b_org, "session.requested").await;
    // Online: nothing to report.
    a_reports_in(&f).await;

    // A's agent goes quiet: four sweeps at once (as on four replicas)
    // report it once, to A and to its partner B.
    a_goes_quiet(&f).await;
    let sweeps = (0..4).map(|_| sweep(&f.state));
    let reported: usize = futures_util::future::join_all(sweeps)
        .await
        .into_iter()
        .sum();
    assert_eq!(reported, 1);
    assert_eq!(sweep(&f.state).await, 0);
    for hook in ["wh-a", "wh-b"] {
        let got = bodies(&f.state, hook).await;
        assert_eq!(got.len(), 1, "{hook}: {got:?}");
        assert_eq!(got[0]["type"], "agent.offline");
        assert_eq!(got[0]["data"]["org_id"], f.a_org.as_str());
        assert_eq!(got[0]["data"]["org_name"], "A");
        assert_eq!(got[0]["data"]["agent_version"], "0.3.1");
    }

    // Back online, then offline again: a second outage, a second event.
    a_reports_in(&f).await;
    a_goes_quiet(&f).await;
    assert_eq!(sweep(&f.state).await, 1);
    assert_eq!(bodies(&f.state, "wh-a").await.len(), 2);

    // A refresh request is a session; the partner's tools hear of it.
    let (s, _, session) = call(
        &f.router,
        "POST",
        &format!("/v1/partnerships/{}/sessions", f.partnership),
        &f.a_upload,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let got = bodies(&f.state, "wh-b-req").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["type"], "session.requested");
    assert_eq!(got[0]["data"]["session_id"], session["id"]);
    assert_eq!(got[0]["data"]["partnership_id"], f.partnership.as_str());
    assert_eq!(got[0]["data"]["state"], "awaiting_blinded");
}

#[tokio::test]
async fn offline_once_and_requests_announced_sqlite() {
    offline_once_and_requests_announced(fixture(TestDb::sqlite()).await).await;
}

#[tokio::test]
async fn offline_once_and_requests_announced_postgres() {
    offline_once_and_requests_announced(fixture(TestDb::postgres().await).await).await;
}

/// Two real replicas on one PostgreSQL, each with its own sweep task: one
/// outage, one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_report_an_outage_once() {
    let db = TestDb::postgres().await;
    let mut config = Config::for_tests(db.url());
    config.agent_offline_after = Duration::from_secs(1);
    let one = cleanroom_server::spawn(config.clone()).await.unwrap();
    let two = cleanroom_server::spawn(config).await.unwrap();
    let state = one.state();
    let (org, _) = create_org_in(&state.store, "Solo").await.unwrap();
    subscribe(state, "wh-solo", &org, "agent.offline").await;
    state
        .store
        .record_heartbeat(&AgentRow {
            schedules: Vec::new(),
            ..agent(&org, cleanroom_server::now())
        })
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bodies(state, "wh-solo").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no agent.offline within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Several more sweeps of both replicas: still one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bodies(state, "wh-solo").await.len(), 1);
    one.shutdown().await;
    two.shutdown().await;
}

/// `--agent-offline-after` (and its config key) in seconds, at least 1; 5
/// minutes by default.
#[test]
fn offline_threshold_setting() {
    use cleanroom_server::config::{DEFAULT_AGENT_OFFLINE_AFTER, Settings};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cleanroom.toml");
    std::fs::write(&file, "agent_offline_after = 120\n").unwrap();
    let resolve = |flag: Option<u64>, config: Option<std::path::PathBuf>| {
        Settings {
            agent_offline_after: flag,
            config,
            ..Settings::default()
        }
        .resolve()
        .unwrap()
        .agent_offline_after
    };
    assert_eq!(resolve(None, None), DEFAULT_AGENT_OFFLINE_AFTER);
    assert_eq!(DEFAULT_AGENT_OFFLINE_AFTER, Duration::from_secs(300));
    assert_eq!(resolve(None, Some(file.clone())), Duration::from_secs(120));
    assert_eq!(resolve(Some(30), Some(file)), Duration::from_secs(30));
    assert_eq!(resolve(Some(0), None), Duration::from_secs(1));
}
