//! A full two-organization session over real HTTP, on SQLite and PostgreSQL,
//! checked against a plaintext computation; plus the guardrails.

mod common;

use cleanroom_core::SessionSecret;
use cleanroom_core::api::{
    AuditEntry, CountsMode, OverlappingRecords, PartnershipStatus, RecordSharing, Session,
    SessionState, SharingPolicy,
};
use cleanroom_server::store::Store;
use cleanroom_server::{Config, bootstrap, spawn};
use common::*;
use reqwest::Method;

async fn full_session(db: &TestDb) {
    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    let server = spawn(Config::for_tests(url)).await.unwrap();
    let v = Api::new(&server.base_url(), &vt);
    let p = Api::new(&server.base_url(), &pt);
    let policy = SharingPolicy {
        records: RecordSharing::OverlappingRecords,
        vendor_shares_white_space: true,
        partner_shares_white_space: false,
        counts: Some(CountsMode::Exact),
        ..SharingPolicy::default()
    };
    let ps = v.partner_up(&p, "Partner LLC", policy).await;
    assert_eq!(ps.status, PartnershipStatus::Active);
    assert_eq!(ps.policy, policy);

    let s = p.open_session(&ps.id).await;
    assert_eq!(s.state, SessionState::AwaitingBlinded);
    let (status, body) = v
        .send(
            Method::POST,
            &format!("/v1/partnerships/{}/sessions", ps.id),
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["session_id"], s.id.as_str());
    assert!(body["detail"].as_str().unwrap().contains(&s.id));

    let (va, pa) = generate();
    let (vs, pss) = (SessionSecret::generate(), SessionSecret::generate());
    let (vb, pb) = (blind(&vs, &va), blind(&pss, &pa));

    // Re-PUT of a chunk before commit replaces it (resumable).
    let (st, _) = v
        .put_bytes(
            &format!("/v1/sessions/{}/blinded/0", s.id),
            vb[..48 * 3].to_vec(),
        )
        .await;
    assert_eq!(st, 200);
    let after_v = v.upload_blinded(&s.id, &vb, &VENDOR_POPS, 100).await;
    assert_eq!(after_v.state, SessionState::AwaitingBlinded);
    // Out of order: tokens before both blinded sets, points too early, upload after commit.
    let (st, body) = v
        .put_bytes(&format!("/v1/sessions/{}/tokens/0", s.id), vec![0; 16])
        .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["code"], "session-state");
    let (st, _, _) = v
        .get_bytes(&format!("/v1/sessions/{}/counterpart/points", s.id))
        .await;
    assert_eq!(st, 409);
    let (st, body) = v
        .put_bytes(
            &format!("/v1/sessions/{}/blinded/0", s.id),
            vb[..48].to_vec(),
        )
        .await;
    assert_eq!(st, 409, "{body}");

    let after_p = p.upload_blinded(&s.id, &pb, &PARTNER_POPS, 64).await;
    assert_eq!(after_p.state, SessionState::AwaitingTokens);
    assert_eq!(after_p.vendor.records, Some((vb.len() / 48) as u64));

    let mid = v.upload_tokens(&s.id, &vs, 150).await;
    assert_eq!(mid.state, SessionState::AwaitingTokens);
    let (st, body) = v
        .send(Method::GET, &format!("/v1/sessions/{}/results", s.id), None)
        .await;
    assert_eq!(st, 409, "{body}");
    let done = p.upload_tokens(&s.id, &pss, 100).await;
    assert_eq!(done.state, SessionState::Completed);
    assert!(done.finished_at.is_some());

    // Blinded points and tokens are gone; results are kept.
    assert_eq!(
        server.state().store.chunk_row_counts().await.unwrap(),
        (0, 0)
    );

    let e = expected(&va, &pa);
    let rv = v.results(&s.id).await;
    check_results(&rv, &e);
    assert!(
        rv.partner
            .figures
            .iter()
            .all(|f| f.matched.is_none() && f.white_space.is_none())
    );
    assert!(rv.vendor.figures.iter().all(|f| f.matched.is_some()));
    let rp = p.results(&s.id).await;
    check_results(&rp, &e);
    assert!(
        rp.vendor
            .figures
            .iter()
            .all(|f| f.matched.is_some() && f.white_space.is_some())
    );
    assert!(rp.partner.figures.iter().all(|f| f.matched.is_some()));
    assert_eq!(rv.cells, rp.cells);

    for (api, exp, pops) in [
        (&v, &e.vendor_matched_rows, PARTNER_POPS),
        (&p, &e.partner_matched_rows, VENDOR_POPS),
    ] {
        let o: OverlappingRecords = api
            .ok(
                Method::GET,
                &format!("/v1/sessions/{}/overlaps", s.id),
                None,
            )
            .await;
        assert_eq!(o.counterpart_populations, pops);
        let got: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> = o
            .rows
            .iter()
            .map(|r| {
                (
                    r.row_id,
                    r.counterpart_populations.iter().copied().collect(),
                )
            })
            .collect();
        assert_eq!(&got, exp);
    }

    let av: Vec<AuditEntry> = v
        .ok(
            Method::GET,
            &format!("/v1/partnerships/{}/audit", ps.id),
            None,
        )
        .await;
    let ap: Vec<AuditEntry> = p
        .ok(
            Method::GET,
            &format!("/v1/partnerships/{}/audit", ps.id),
            None,
        )
        .await;
    assert_eq!(av, ap);
    let actions: Vec<&str> = av.iter().map(|a| a.action.as_str()).collect();
    for a in [
        "partnership.invited",
        "partnership.accepted",
        "session.created",
        "blinded.committed",
        "tokens.committed",
        "session.completed",
        "results.fetched",
        "overlaps.fetched",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_sqlite() {
    full_session(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_postgres() {
    full_session(&TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_population_size_and_budget() {
    let db = TestDb::sqlite();
    let (_, vt) = bootstrap::create_org(db.url(), "V").await.unwrap();
    let (_, pt) = bootstrap::create_org(db.url(), "P").await.unwrap();
    let mut config = Config::for_tests(db.url());
    config.guardrails.sessions_per_day = 3;
    // One account in two populations makes the tiny segment below.
    config.guardrails.max_populations_per_row = 2;
    let server = spawn(config).await.unwrap();
    let v = Api::new(&server.base_url(), &vt);
    let p = Api::new(&server.base_url(), &pt);
    let ps = v.partner_up(&p, "P", SharingPolicy::default()).await;
    let sessions = format!("/v1/partnerships/{}/sessions", ps.id);

    // A population under 50 accounts is rejected at commit, naming it.
    let s: Session = v.ok(Method::POST, &sessions, None).await;
    let (va, _) = generate();
    let secret = SessionSecret::generate();
    let mut small = va.clone();
    for a in small.iter_mut() {
        a.pops = 0b01;
    }
    small[0].pops = 0b11;
    let body = blind(&secret, &small);
    let (st, _) = v
        .put_bytes(&format!("/v1/sessions/{}/blinded/0", s.id), body.clone())
        .await;
    assert_eq!(st, 200);
    let (st, problem) = v
        .send(
            Method::POST,
            &format!("/v1/sessions/{}/blinded/commit", s.id),
            Some(serde_json::json!({
                "protocol_version": cleanroom_core::protocol::protocol_version(),
                "populations": ["big", "tiny-segment"],
                "chunks": 1,
                "records": body.len() / 48,
            })),
        )
        .await;
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["code"], "population-too-small");
    assert!(problem["detail"].as_str().unwrap().contains("tiny-segment"));
    assert_eq!(
        problem["type"],
        "urn:cleanroom:problem:population-too-small"
    );

    // Budget: the cancelled session counts; the fourth creation in 24h is refused.
    v.ok::<Session>(Method::POST, &format!("/v1/sessions/{}/cancel", s.id), None)
        .await;
    assert_eq!(
        server.state().store.chunk_row_counts().await.unwrap(),
        (0, 0)
    );
    for _ in 0..2 {
        let s: Session = p.ok(Method::POST, &sessions, None).await;
        p.ok::<Session>(Method::POST, &format!("/v1/sessions/{}/cancel", s.id), None)
            .await;
    }
    let (st, problem) = v.send(Method::POST, &sessions, None).await;
    assert_eq!(st, 429, "{problem}");
    assert_eq!(problem["code"], "session-budget-exhausted");
    server.shutdown().await;
}

/// ε outside the deployment's bounds is refused when a policy is proposed and,
/// after an operator narrowed the bounds, when a session would be created;
/// `GET /v1/limits` tells clients the bounds beforehand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epsilon_bounds_and_limits() {
    let db = TestDb::sqlite();
    let (_, vt) = bootstrap::create_org(db.url(), "V").await.unwrap();
    let (_, pt) = bootstrap::create_org(db.url(), "P").await.unwrap();
    let server = spawn(Config::for_tests(db.url())).await.unwrap();
    let v = Api::new(&server.base_url(), &vt);
    let p = Api::new(&server.base_url(), &pt);
    let limits: cleanroom_core::api::Limits = v.ok(Method::GET, "/v1/limits", None).await;
    assert_eq!(limits.max_populations_per_row, 1);
    assert_eq!(limits.epsilon_default.as_f64(), 1.0);
    assert_eq!(
        limits.protocol_version,
        cleanroom_core::protocol::protocol_version()
    );
    let (st, problem) = v
        .send(
            Method::POST,
            "/v1/invitations",
            Some(serde_json::json!({
                "my_role": "vendor",
                "policy": {"counts": {"mode": "noisy", "epsilon": 5.0}},
            })),
        )
        .await;
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["code"], "epsilon-out-of-range");
    // No counts mode named: noisy at the default ε.
    let ps = v.partner_up_default(&p, "P").await;
    assert_eq!(
        ps.policy.counts,
        Some(CountsMode::Noisy {
            epsilon: limits.epsilon_default
        })
    );
    server.shutdown().await;

    // The operator narrows the bounds below the agreed ε.
    let mut config = Config::for_tests(db.url());
    config.guardrails.epsilon_max = cleanroom_core::api::Epsilon(500_000);
    config.guardrails.epsilon_default = cleanroom_core::api::Epsilon(500_000);
    let server = spawn(config).await.unwrap();
    let v = Api::new(&server.base_url(), &vt);
    let (st, problem) = v
        .send(
            Method::POST,
            &format!("/v1/partnerships/{}/sessions", ps.id),
            None,
        )
        .await;
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["code"], "epsilon-out-of-range");
    assert!(problem["detail"].as_str().unwrap().contains("new policy"));
    server.shutdown().await;
}
