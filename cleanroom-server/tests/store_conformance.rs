//! One conformance suite, generic over the store, run against every backend.

mod common;

use cleanroom_core::api::{
    CancelReason, CountsMode, Epsilon, PartnershipStatus, Role, Scope, SessionState, SharingPolicy,
};
use cleanroom_core::noise::NoiseSeed;
use cleanroom_server::problem::ProblemType;
use cleanroom_server::store::{
    AnyStore, AuditRow, ChunkCheck, ChunkKind, ComputeLease, NewSession, OrgRow, PartnershipRow,
    PgStore, SignInRow, SqliteStore, Store, StoreError, StoreResult, TokenRow,
};
use common::TestDb;

struct NoCheck(usize);
impl ChunkCheck for NoCheck {
    fn feed(&mut self, _seq: u32, data: &[u8]) -> StoreResult<()> {
        self.0 += data.len();
        Ok(())
    }
    fn finish(&mut self) -> StoreResult<()> {
        Ok(())
    }
}

fn records(n: u32) -> Vec<u8> {
    records_from(0, n)
}

fn records_from(start: u32, n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for i in start..start + n {
        out.extend_from_slice(&i.to_be_bytes());
        out.extend_from_slice(&1u64.to_be_bytes());
        out.extend_from_slice(&[1, 0, 0, 0]);
        out.extend_from_slice(&[(i % 200) as u8 + 1; 32]);
    }
    out
}

fn new_session(id: &str, p: &str, now: i64) -> NewSession {
    NewSession {
        id: id.into(),
        partnership_id: p.into(),
        created_by: Role::Vendor,
        protocol_version: "v".into(),
        now,
        min_cell_size: 5,
        sessions_per_day: 3,
        noise_seed: NoiseSeed::from_bytes([3; 32]),
        max_populations_per_row: 1,
        epsilon_budget_micro: 10_000_000,
        epsilon_window_secs: 30 * 86_400,
        expiry_secs: 86_400,
    }
}

/// Drives a session to `computing` through the store alone.
async fn to_computing<S: Store>(s: &S, id: &str) {
    for role in [Role::Vendor, Role::Partner] {
        s.put_chunk(ChunkKind::Blinded, id, role, 0, 3, &records(3), None)
            .await
            .unwrap();
        s.put_chunk(
            ChunkKind::Blinded,
            id,
            role,
            1,
            2,
            &records_from(3, 2),
            None,
        )
        .await
        .unwrap();
        s.commit_blinded(id, role, &["a".into()], 2, 5, &mut NoCheck(0))
            .await
            .unwrap();
    }
    for role in [Role::Vendor, Role::Partner] {
        s.put_chunk(ChunkKind::Tokens, id, role, 0, 5, &[9u8; 80], None)
            .await
            .unwrap();
        s.commit_tokens(id, role, 1, 5, None).await.unwrap();
    }
}

async fn conformance<S: Store>(s: &S) {
    s.ping().await.unwrap();
    let now = cleanroom_server::now();
    let org = |id: &str, name: &str| OrgRow {
        id: id.into(),
        name: name.into(),
        created_at: now,
    };
    s.create_org(&org("o1", "One")).await.unwrap();
    s.create_org(&org("o2", "Two")).await.unwrap();
    assert!(matches!(
        s.create_org(&org("o3", "One")).await,
        Err(StoreError::OrgNameTaken)
    ));
    assert_eq!(s.org_by_name("Two").await.unwrap().unwrap().id, "o2");
    assert_eq!(s.org_by_id("o1").await.unwrap().unwrap().name, "One");
    assert!(s.org_by_id("zz").await.unwrap().is_none());

    // Tokens.
    let tok = TokenRow {
        id: "cr_abcdefghi".into(),
        org_id: "o1".into(),
        label: "l".into(),
        scope: Scope::Upload,
        secret_hash: vec![7; 32],
        created_at: now,
        expires_at: Some(now + 10),
        revoked_at: None,
    };
    s.insert_token(&tok).await.unwrap();
    assert_eq!(s.token_by_id(&tok.id).await.unwrap().unwrap(), tok);
    assert_eq!(s.token_by_hash(&[7; 32]).await.unwrap().unwrap(), tok);
    assert!(s.token_by_hash(&[8; 32]).await.unwrap().is_none());
    assert_eq!(s.list_tokens("o1").await.unwrap().len(), 1);
    assert!(matches!(
        s.revoke_token("o2", &tok.id, now).await,
        Err(StoreError::NotFound)
    ));
    s.revoke_token("o1", &tok.id, now).await.unwrap();
    assert!(s.list_tokens("o1").await.unwrap().is_empty());
    assert_eq!(
        s.token_by_id(&tok.id).await.unwrap().unwrap().revoked_at,
        Some(now)
    );

    // Partnerships.
    let p = PartnershipRow {
        id: "p1".into(),
        vendor_org_id: "o1".into(),
        partner_org_id: "o2".into(),
        invited_by: Role::Vendor,
        status: PartnershipStatus::Invited,
        policy: SharingPolicy::default(),
        pending: None,
        created_at: now,
    };
    s.create_partnership(&p).await.unwrap();
    assert_eq!(s.partnership("p1").await.unwrap().unwrap(), p);
    assert_eq!(s.list_partnerships("o2").await.unwrap().len(), 1);
    assert!(s.list_partnerships("o3").await.unwrap().is_empty());
    // Sessions need an active partnership.
    assert!(matches!(
        s.create_session(&new_session("s0", "p1", now)).await,
        Err(StoreError::Conflict { .. })
    ));
    let updated = s
        .update_partnership("p1", &mut |p| {
            p.status = PartnershipStatus::Active;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(updated.status, PartnershipStatus::Active);
    assert!(matches!(
        s.update_partnership("p1", &mut |_| Err(StoreError::conflict(
            ProblemType::PartnershipState,
            "y"
        )))
        .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        s.partnership("p1").await.unwrap().unwrap().status,
        PartnershipStatus::Active
    );

    // Session lifecycle.
    let s1 = s
        .create_session(&new_session("s1", "p1", now))
        .await
        .unwrap();
    assert_eq!(s1.state, SessionState::AwaitingBlinded);
    match s.create_session(&new_session("s2", "p1", now)).await {
        Err(StoreError::Conflict { session_id, .. }) => {
            assert_eq!(session_id.as_deref(), Some("s1"))
        }
        other => panic!("{other:?}"),
    }
    // Chunk re-PUT replaces.
    s.put_chunk(
        ChunkKind::Blinded,
        "s1",
        Role::Vendor,
        0,
        1,
        &records(1),
        None,
    )
    .await
    .unwrap();
    s.put_chunk(
        ChunkKind::Blinded,
        "s1",
        Role::Vendor,
        0,
        4,
        &records(4),
        None,
    )
    .await
    .unwrap();
    let chunks = s
        .chunks(ChunkKind::Blinded, "s1", Role::Vendor)
        .await
        .unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].records, 4);
    assert_eq!(
        s.chunk_data(ChunkKind::Blinded, "s1", Role::Vendor, 0)
            .await
            .unwrap()
            .unwrap(),
        records(4)
    );
    // Token upload too early.
    assert!(matches!(
        s.put_chunk(ChunkKind::Tokens, "s1", Role::Vendor, 0, 1, &[0; 16], None)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Commit checks chunk completeness and count.
    assert!(matches!(
        s.commit_blinded("s1", Role::Vendor, &["a".into()], 2, 4, &mut NoCheck(0))
            .await,
        Err(StoreError::Invalid {
            code: ProblemType::ChunksMismatch,
            ..
        })
    ));
    assert!(matches!(
        s.commit_blinded("s1", Role::Vendor, &["a".into()], 1, 5, &mut NoCheck(0))
            .await,
        Err(StoreError::Invalid {
            code: ProblemType::RecordCountMismatch,
            ..
        })
    ));
    let mut check = NoCheck(0);
    assert_eq!(
        s.commit_blinded("s1", Role::Vendor, &["a".into()], 1, 4, &mut check)
            .await
            .unwrap(),
        SessionState::AwaitingBlinded
    );
    assert_eq!(check.0, 4 * 48);
    assert!(matches!(
        s.put_chunk(
            ChunkKind::Blinded,
            "s1",
            Role::Vendor,
            1,
            1,
            &records(1),
            None
        )
        .await,
        Err(StoreError::Conflict { .. })
    ));
    let [v, pa] = s.parties("s1").await.unwrap();
    assert!(v.blinded_committed && !pa.blinded_committed);
    assert_eq!(v.populations, Some(vec!["a".to_string()]));
    assert_eq!(v.records, Some(4));
    // Cancel deletes chunks.
    let c = s
        .cancel_session("s1", now, CancelReason::CancelledByVendor)
        .await
        .unwrap();
    assert_eq!(c.state, SessionState::Cancelled);
    assert_eq!(s.chunk_row_counts().await.unwrap(), (0, 0));
    assert!(matches!(
        s.cancel_session("s1", now, CancelReason::CancelledByVendor)
            .await,
        Err(StoreError::Conflict { .. })
    ));

    // A full run through the store; completion deletes chunks and keeps the result.
    s.create_session(&new_session("s3", "p1", now + 1))
        .await
        .unwrap();
    to_computing(s, "s3").await;
    assert_eq!(
        s.session("s3").await.unwrap().unwrap().state,
        SessionState::Computing
    );
    assert_eq!(
        s.sessions_in_state(SessionState::Computing).await.unwrap(),
        vec!["s3".to_string()]
    );
    assert!(s.chunk_row_counts().await.unwrap().0 > 0);
    leases(s, "s3").await;
    assert!(s.complete_session("s3", "{\"r\":1}", now).await.unwrap());
    let done = s.session("s3").await.unwrap().unwrap();
    assert_eq!(done.state, SessionState::Completed);
    assert_eq!(done.result.as_deref(), Some("{\"r\":1}"));
    assert_eq!(s.chunk_row_counts().await.unwrap(), (0, 0));
    // A second run after a lost lease stores nothing: the first result stays.
    assert!(!s.complete_session("s3", "{}", now).await.unwrap());
    assert_eq!(
        s.session("s3").await.unwrap().unwrap().result.as_deref(),
        Some("{\"r\":1}")
    );
    assert!(!s.renew_computation("s3", &lease("a", 1)).await.unwrap());
    let listed = s.list_sessions("p1").await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["s3", "s1"]
    );

    // Budget: 2 sessions already in the last 24h, limit 3.
    let s4 = s
        .create_session(&new_session("s4", "p1", now + 2))
        .await
        .unwrap();
    s.cancel_session(&s4.id, now, CancelReason::CancelledByVendor)
        .await
        .unwrap();
    assert!(matches!(
        s.create_session(&new_session("s5", "p1", now + 3)).await,
        Err(StoreError::Budget {
            code: ProblemType::SessionBudgetExhausted,
            ..
        })
    ));

    // Revocation cancels open sessions.
    let mut n = new_session("s6", "p1", now + 4);
    n.sessions_per_day = 100;
    s.create_session(&n).await.unwrap();
    s.put_chunk(
        ChunkKind::Blinded,
        "s6",
        Role::Partner,
        0,
        1,
        &records(1),
        None,
    )
    .await
    .unwrap();
    let (p, cancelled) = s.revoke_partnership("p1", now).await.unwrap();
    assert_eq!(p.status, PartnershipStatus::Revoked);
    assert_eq!(cancelled, vec!["s6".to_string()]);
    assert_eq!(s.chunk_row_counts().await.unwrap(), (0, 0));
    assert!(matches!(
        s.revoke_partnership("p1", now).await,
        Err(StoreError::Conflict { .. })
    ));

    // Audit, in order.
    for action in ["a.one", "a.two"] {
        s.append_audit(&AuditRow {
            partnership_id: "p1".into(),
            at: now,
            org_name: "One".into(),
            token_id: "cr_x".into(),
            action: action.into(),
            session_id: Some("s3".into()),
            detail: serde_json::json!({"n": 1}),
        })
        .await
        .unwrap();
    }
    let log = s.audit("p1").await.unwrap();
    assert_eq!(
        log.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["a.one", "a.two"]
    );
    assert_eq!(log[0].detail, serde_json::json!({"n": 1}));

    sign_ins(s, now).await;
}

fn lease(owner: &str, until_ms: i64) -> ComputeLease {
    ComputeLease {
        owner: owner.into(),
        until_ms,
    }
}

/// Computation leases on a session in `computing` (held by nobody yet):
/// one claimer at a time, renewal only by the holder, takeover once expired.
async fn leases<S: Store>(s: &S, id: &str) {
    assert_eq!(
        s.claim_computation(&lease("a", 1_000), 0).await.unwrap(),
        Some(id.to_string())
    );
    // Held until 1000: nobody else claims it before then.
    assert_eq!(
        s.claim_computation(&lease("b", 2_000), 1_000)
            .await
            .unwrap(),
        None
    );
    assert!(s.renew_computation(id, &lease("a", 3_000)).await.unwrap());
    assert!(!s.renew_computation(id, &lease("b", 3_000)).await.unwrap());
    assert_eq!(
        s.claim_computation(&lease("b", 9_000), 3_000)
            .await
            .unwrap(),
        None
    );
    // Ran out: b takes over, and a can no longer renew.
    assert_eq!(
        s.claim_computation(&lease("b", 9_000), 3_001)
            .await
            .unwrap(),
        Some(id.to_string())
    );
    assert!(!s.renew_computation(id, &lease("a", 20_000)).await.unwrap());
}

/// Dashboard sign-ins: found by hash while live, capped per organization
/// without touching another's, expired ones deleted on the next sign-in.
async fn sign_ins<S: Store>(s: &S, now: i64) {
    let row = |n: u32, org: &str, expires_at: i64| SignInRow {
        cookie_hash: format!("hash-{org}-{n}").into_bytes(),
        org_id: org.into(),
        token_id: format!("tok-{org}"),
        created_at: now,
        expires_at,
    };
    s.create_sign_in(&row(0, "o2", now + 100), 3).await.unwrap();
    for n in 0..5 {
        s.create_sign_in(&row(n, "o1", now + 10 + i64::from(n)), 3)
            .await
            .unwrap();
    }
    // o1 holds its 3 latest; o2's survives o1's flood.
    assert_eq!(s.count_sign_ins(now).await.unwrap(), 4);
    assert!(s.sign_in(b"hash-o1-0", now).await.unwrap().is_none());
    let found = s.sign_in(b"hash-o1-4", now).await.unwrap().unwrap();
    assert_eq!(found, row(4, "o1", now + 14));
    assert!(s.sign_in(b"hash-o2-0", now).await.unwrap().is_some());
    // Expired: not found, and deleted by the next sign-in of anyone.
    assert!(s.sign_in(b"hash-o1-4", now + 14).await.unwrap().is_none());
    let mut late = row(9, "o2", now + 200);
    late.created_at = now + 50;
    s.create_sign_in(&late, 3).await.unwrap();
    assert_eq!(s.count_sign_ins(0).await.unwrap(), 2);
    s.delete_sign_in(b"hash-o2-9").await.unwrap();
    s.delete_sign_in(b"no-such").await.unwrap();
    assert!(s.sign_in(b"hash-o2-9", now).await.unwrap().is_none());
    s.delete_sign_ins_of_token("tok-o2").await.unwrap();
    assert_eq!(s.count_sign_ins(0).await.unwrap(), 0);
    // A sign-in of an organization that does not exist is refused.
    assert!(matches!(
        s.create_sign_in(&row(0, "nobody", now + 10), 3).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn conformance_sqlite() {
    let db = TestDb::sqlite();
    let store = SqliteStore::connect(db.url()).await.unwrap();
    conformance(&store).await;
    store.close().await;
}

#[tokio::test]
async fn conformance_postgres() {
    let db = TestDb::postgres().await;
    let store = PgStore::connect(db.url()).await.unwrap();
    conformance(&store).await;
    store.close().await;
}

/// A session left in `computing` (crash between commit and result) is finished on startup.
async fn resumes_computing(db: &TestDb) {
    let store = AnyStore::connect(db.url()).await.unwrap();
    let now = cleanroom_server::now();
    for (id, name) in [("o1", "One"), ("o2", "Two")] {
        store
            .create_org(&OrgRow {
                id: id.into(),
                name: name.into(),
                created_at: now,
            })
            .await
            .unwrap();
    }
    store
        .create_partnership(&PartnershipRow {
            id: "p1".into(),
            vendor_org_id: "o1".into(),
            partner_org_id: "o2".into(),
            invited_by: Role::Vendor,
            status: PartnershipStatus::Active,
            policy: SharingPolicy::default(),
            pending: None,
            created_at: now,
        })
        .await
        .unwrap();
    store
        .create_session(&new_session("s1", "p1", now))
        .await
        .unwrap();
    to_computing(&store, "s1").await;
    store.close().await;

    let (_router, state) = cleanroom_server::app(cleanroom_server::Config::for_tests(db.url()))
        .await
        .unwrap();
    let s = state.store.session("s1").await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Completed);
    assert!(s.result.is_some());
    assert_eq!(state.store.chunk_row_counts().await.unwrap(), (0, 0));
    state.store.close().await;
}

#[tokio::test]
async fn resumes_computing_sqlite() {
    resumes_computing(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn resumes_computing_postgres() {
    resumes_computing(&TestDb::postgres().await).await;
}

const DAY: i64 = 86_400;

fn noisy_policy() -> SharingPolicy {
    SharingPolicy {
        counts: Some(CountsMode::Noisy {
            epsilon: Epsilon(1_000_000),
        }),
        ..SharingPolicy::default()
    }
}

fn active(id: &str, vendor: &str, partner: &str, now: i64) -> PartnershipRow {
    PartnershipRow {
        id: id.into(),
        vendor_org_id: vendor.into(),
        partner_org_id: partner.into(),
        invited_by: Role::Vendor,
        status: PartnershipStatus::Active,
        policy: noisy_policy(),
        pending: None,
        created_at: now,
    }
}

/// A session in the ε-budget tests: 3 ε per 30 days, sessions unlimited.
fn budgeted(id: &str, p: &str, now: i64) -> NewSession {
    NewSession {
        sessions_per_day: 1_000,
        epsilon_budget_micro: 3_000_000,
        ..new_session(id, p, now)
    }
}

fn is_privacy_budget(r: &StoreResult<cleanroom_server::store::SessionRow>) -> Option<Option<i64>> {
    match r {
        Err(StoreError::Budget {
            code: ProblemType::PrivacyBudgetExhausted,
            retry_at,
            ..
        }) => Some(*retry_at),
        _ => None,
    }
}

/// The ε budget belongs to the pair of organizations: it spans partnerships
/// (a revoked one and one in the other direction included), refunds cancelled
/// sessions, holds under concurrent creation, and survives reconnecting.
async fn epsilon_budget(db: &TestDb) {
    let s = AnyStore::connect(db.url()).await.unwrap();
    let now = cleanroom_server::now();
    for (id, name) in [("o1", "One"), ("o2", "Two"), ("o3", "Three")] {
        s.create_org(&OrgRow {
            id: id.into(),
            name: name.into(),
            created_at: now,
        })
        .await
        .unwrap();
    }
    // p1 and p2 link the same pair, in both directions; p3 another pair.
    for p in [
        active("p1", "o1", "o2", now),
        active("p2", "o2", "o1", now),
        active("p3", "o1", "o3", now),
    ] {
        s.create_partnership(&p).await.unwrap();
    }
    // Outside the window: never counts.
    s.create_session(&budgeted("old", "p1", now - 40 * DAY))
        .await
        .unwrap();
    to_computing(&s, "old").await;
    s.complete_session("old", "{}", now - 40 * DAY)
        .await
        .unwrap();
    // Inside: a completed one counts, a cancelled one is refunded.
    s.create_session(&budgeted("done", "p1", now - 10 * DAY))
        .await
        .unwrap();
    to_computing(&s, "done").await;
    s.complete_session("done", "{}", now - 10 * DAY)
        .await
        .unwrap();
    s.create_session(&budgeted("refund", "p2", now - 5 * DAY))
        .await
        .unwrap();
    s.cancel_session("refund", now - 5 * DAY, CancelReason::CancelledByVendor)
        .await
        .unwrap();
    let row = s
        .create_session(&budgeted("open", "p2", now - DAY))
        .await
        .unwrap();
    assert_eq!(row.epsilon_micro, Some(1_000_000));
    assert!(row.noise_seed.is_some(), "noisy sessions keep their seed");
    let usage = s
        .pair_usage("o2", "o1", now - DAY, now - 30 * DAY)
        .await
        .unwrap();
    assert_eq!(usage.epsilon_spent(), 2_000_000);
    // The third ε fits, the fourth does not: it fits again when "done" leaves the window.
    s.create_session(&budgeted("third", "p1", now))
        .await
        .unwrap();
    s.cancel_session("open", now, CancelReason::CancelledByVendor)
        .await
        .unwrap();
    let refused = s.create_session(&budgeted("over", "p2", now + 1)).await;
    assert_eq!(
        is_privacy_budget(&refused),
        None,
        "open was refunded: {refused:?}"
    );
    let refused = s.create_session(&budgeted("over2", "p1", now + 2)).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    s.cancel_session("third", now, CancelReason::CancelledByVendor)
        .await
        .unwrap();
    // Spent now: done (1) + over (1) = 2; third was cancelled.
    s.create_session(&budgeted("fourth", "p1", now + 3))
        .await
        .unwrap();
    s.cancel_session("over", now + 3, CancelReason::CancelledByVendor)
        .await
        .unwrap();
    s.create_session(&budgeted("fifth", "p2", now + 4))
        .await
        .unwrap();
    // Released results keep their ε spent, whatever happens to the partnership.
    for id in ["fourth", "fifth"] {
        to_computing(&s, id).await;
        s.complete_session(id, "{}", now + 4).await.unwrap();
    }
    // done + fourth + fifth = 3 of 3.
    let refused = s.create_session(&budgeted("sixth", "p3", now + 5)).await;
    assert!(
        refused.is_ok(),
        "another pair has its own budget: {refused:?}"
    );
    revoke_and_reinvite(&s, now).await;
    let refused = s.create_session(&budgeted("seventh", "p4", now + 6)).await;
    assert_eq!(
        is_privacy_budget(&refused),
        Some(Some(now - 10 * DAY + 30 * DAY)),
        "{refused:?}"
    );
    // An ε larger than the whole budget never fits.
    let mut huge = budgeted("huge", "p4", now + 7);
    huge.epsilon_budget_micro = 500_000;
    assert_eq!(
        is_privacy_budget(&s.create_session(&huge).await),
        Some(None)
    );
    s.close().await;

    // Reconnected (a restart): the same spending.
    let s = AnyStore::connect(db.url()).await.unwrap();
    let usage = s
        .pair_usage("o1", "o2", now - DAY, now - 30 * DAY)
        .await
        .unwrap();
    assert_eq!(usage.epsilon_spent(), 3_000_000);
    assert!(
        is_privacy_budget(&s.create_session(&budgeted("eighth", "p4", now + 8)).await).is_some()
    );

    // Concurrent creation across many partnerships of one new pair: the
    // budget admits exactly three.
    for (id, name) in [("c1", "C1"), ("c2", "C2")] {
        s.create_org(&OrgRow {
            id: id.into(),
            name: name.into(),
            created_at: now,
        })
        .await
        .unwrap();
    }
    for i in 0..8 {
        s.create_partnership(&active(&format!("cp{i}"), "c1", "c2", now))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.create_session(&budgeted(&format!("cs{i}"), &format!("cp{i}"), now))
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Budget { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 3, "exactly the budget's three sessions are admitted");
    let usage = s
        .pair_usage("c2", "c1", now - DAY, now - 30 * DAY)
        .await
        .unwrap();
    assert_eq!(usage.epsilon_spent(), 3_000_000);
    s.close().await;
}

/// Revoking the pair's partnerships and inviting again gives a new
/// partnership, not a new budget.
async fn revoke_and_reinvite<S: Store>(s: &S, now: i64) {
    s.revoke_partnership("p1", now).await.unwrap();
    s.revoke_partnership("p2", now).await.unwrap();
    s.create_partnership(&active("p4", "o1", "o2", now))
        .await
        .unwrap();
}

#[tokio::test]
async fn epsilon_budget_sqlite() {
    epsilon_budget(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn epsilon_budget_postgres() {
    epsilon_budget(&TestDb::postgres().await).await;
}

/// Expiry: the policy shortens the deployment's expiry, never lengthens it;
/// an expired session awaiting uploads is cancelled with its chunks deleted,
/// exactly once however many replicas try at the same moment; a session
/// that reached `computing` is left to finish.
async fn expiry(db: &TestDb) {
    let s = AnyStore::connect(db.url()).await.unwrap();
    let now = cleanroom_server::now();
    for (id, name) in [("e1", "E1"), ("e2", "E2")] {
        s.create_org(&OrgRow {
            id: id.into(),
            name: name.into(),
            created_at: now,
        })
        .await
        .unwrap();
    }
    let mut short = active("ep1", "e1", "e2", now);
    short.policy.session_expiry_secs = Some(60);
    s.create_partnership(&short).await.unwrap();
    let mut long = active("ep2", "e1", "e2", now);
    long.policy.session_expiry_secs = Some(10 * 86_400);
    s.create_partnership(&long).await.unwrap();
    let mut plain = active("ep3", "e1", "e2", now);
    plain.policy.session_expiry_secs = None;
    s.create_partnership(&plain).await.unwrap();

    let new = |id: &str, p: &str| NewSession {
        sessions_per_day: 1_000,
        ..new_session(id, p, now)
    };
    let a = s.create_session(&new("ea", "ep1")).await.unwrap();
    assert_eq!(a.expires_at, Some(now + 60), "the policy shortens it");
    let b = s.create_session(&new("eb", "ep2")).await.unwrap();
    assert_eq!(b.expires_at, Some(now + 86_400), "but never lengthens it");
    let c = s.create_session(&new("ec", "ep3")).await.unwrap();
    assert_eq!(
        s.session("ec").await.unwrap().unwrap().expires_at,
        c.expires_at
    );

    // "ea": one side committed its blinded set; "eb": both, and tokens uploading.
    s.put_chunk(
        ChunkKind::Blinded,
        "ea",
        Role::Vendor,
        0,
        3,
        &records(3),
        None,
    )
    .await
    .unwrap();
    s.commit_blinded("ea", Role::Vendor, &["a".into()], 1, 3, &mut NoCheck(0))
        .await
        .unwrap();
    for role in [Role::Vendor, Role::Partner] {
        s.put_chunk(ChunkKind::Blinded, "eb", role, 0, 3, &records(3), None)
            .await
            .unwrap();
        s.commit_blinded("eb", role, &["a".into()], 1, 3, &mut NoCheck(0))
            .await
            .unwrap();
    }
    s.put_chunk(
        ChunkKind::Tokens,
        "eb",
        Role::Vendor,
        0,
        3,
        &[9u8; 48],
        None,
    )
    .await
    .unwrap();
    // "ec" computes: expiry does not interrupt a computation.
    to_computing(&s, "ec").await;
    let (blinded, tokens) = s.chunk_row_counts().await.unwrap();
    assert!(blinded > 0 && tokens > 0);

    // Not due yet.
    assert!(
        s.expired_sessions(now + 59, 86_400)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.expire_session("ea", now + 59, 86_400)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.expired_sessions(now + 60, 86_400).await.unwrap(),
        vec!["ea".to_string()]
    );
    let later = now + 86_400;
    let mut due = s.expired_sessions(later, 86_400).await.unwrap();
    due.sort();
    assert_eq!(due, vec!["ea".to_string(), "eb".to_string()]);

    // Eight "replicas" at once: each session is expired by exactly one.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        for id in ["ea", "eb", "ec"] {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.expire_session(id, later, 86_400).await.unwrap()
            }));
        }
    }
    let mut won = Vec::new();
    for t in tasks {
        if let Some(row) = t.await.unwrap() {
            assert_eq!(row.state, SessionState::Cancelled);
            assert_eq!(row.cancel_reason, Some(CancelReason::Expired));
            won.push(row.id);
        }
    }
    won.sort();
    assert_eq!(won, vec!["ea".to_string(), "eb".to_string()]);
    for id in ["ea", "eb"] {
        let row = s.session(id).await.unwrap().unwrap();
        assert_eq!(row.state, SessionState::Cancelled);
        assert_eq!(row.cancel_reason, Some(CancelReason::Expired));
        assert_eq!(row.finished_at, Some(later));
        for kind in [ChunkKind::Blinded, ChunkKind::Tokens] {
            for role in [Role::Vendor, Role::Partner] {
                assert!(s.chunks(kind, id, role).await.unwrap().is_empty());
            }
        }
    }
    assert_eq!(
        s.session("ec").await.unwrap().unwrap().state,
        SessionState::Computing
    );
    assert!(s.expired_sessions(later, 86_400).await.unwrap().is_empty());

    // Other cancellations record their reason.
    let d = s.create_session(&new("ed", "ep1")).await.unwrap();
    let d = s
        .cancel_session(&d.id, now, CancelReason::CancelledByPartner)
        .await
        .unwrap();
    assert_eq!(d.cancel_reason, Some(CancelReason::CancelledByPartner));
    s.create_session(&new("ee", "ep2")).await.unwrap();
    s.revoke_partnership("ep2", now).await.unwrap();
    assert_eq!(
        s.session("ee").await.unwrap().unwrap().cancel_reason,
        Some(CancelReason::PartnershipRevoked)
    );
    s.close().await;
}

#[tokio::test]
async fn expiry_sqlite() {
    expiry(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn expiry_postgres() {
    expiry(&TestDb::postgres().await).await;
}
