//! Two real replicas (`cleanroom_server::spawn`) on one real PostgreSQL
//! database: parties on different replicas, an upload split between them, a
//! dashboard cookie used on the other replica, and a replica killed while it
//! holds a computation's lease.

mod common;

use std::time::{Duration, Instant};

use cleanroom_core::SessionSecret;
use cleanroom_core::api::{Session, SessionState, SharingPolicy};
use cleanroom_server::store::Store as _;
use cleanroom_server::{ComputeLeases, Config, RunningServer, bootstrap, spawn};
use common::*;
use reqwest::Method;
use reqwest::header;
use sqlx::Connection as _;

/// A replica with short leases, so that a takeover fits in a test.
async fn replica(url: &str, delay: Duration) -> RunningServer {
    let mut config = Config::for_tests(url);
    config.compute = ComputeLeases {
        lease: Duration::from_secs(3),
        sweep_interval: Duration::from_millis(300),
        delay_for_tests: delay,
    };
    spawn(config).await.unwrap()
}

/// Uploads blinded records chunk by chunk, even chunks through `a` and odd
/// ones through `b`, then commits through `b`.
async fn upload_split(a: &Api, b: &Api, session: &str, body: &[u8], pops: &[&str]) -> Session {
    let chunks: Vec<&[u8]> = body.chunks(10 * 48).collect();
    assert!(chunks.len() >= 4, "enough chunks to split");
    for (seq, c) in chunks.iter().enumerate() {
        let via = if seq % 2 == 0 { a } else { b };
        let (s, v) = via
            .put_bytes(&format!("/v1/sessions/{session}/blinded/{seq}"), c.to_vec())
            .await;
        assert_eq!(s, 200, "{v}");
    }
    b.commit_blinded(session, body, pops, chunks.len()).await
}

/// Signs in to the dashboard of `base` over HTTP; the session cookie value.
async fn sign_in(base: &str, token: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The sign-in form is double-submit: any value in both cookie and field.
    let res = http
        .post(format!("{base}/dashboard/login"))
        .header(header::COOKIE, "cleanroom_login_csrf=c1")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={token}&csrf=c1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|l| l.split(';').next()?.strip_prefix("cleanroom_session="))
        .expect("session cookie")
        .to_owned()
}

async fn status_with_cookie(url: &str, cookie: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Completed sessions in the audit log (one per session, whoever computed).
async fn completions(api: &Api, partnership: &str) -> usize {
    let (st, log) = api
        .send(
            Method::GET,
            &format!("/v1/partnerships/{partnership}/audit"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{log}");
    log.to_string().matches("session.completed").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_on_different_replicas_and_a_cookie_from_the_other() {
    let db = TestDb::postgres().await;
    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    let a = replica(url, Duration::ZERO).await;
    let b = replica(url, Duration::ZERO).await;
    let (va_api, vb_api) = (Api::new(&a.base_url(), &vt), Api::new(&b.base_url(), &vt));
    let p = Api::new(&b.base_url(), &pt);

    let ps = va_api
        .partner_up(&p, "Partner LLC", SharingPolicy::default())
        .await;
    let s = va_api.open_session(&ps.id).await;
    let (va, pa) = generate();
    let (vs, pss) = (SessionSecret::generate(), SessionSecret::generate());
    // The vendor's chunks go half to A and half to B.
    upload_split(&va_api, &vb_api, &s.id, &blind(&vs, &va), &VENDOR_POPS).await;
    p.upload_blinded(&s.id, &blind(&pss, &pa), &PARTNER_POPS, 100)
        .await;
    va_api.upload_tokens(&s.id, &vs, 100).await;
    let done = p.upload_tokens(&s.id, &pss, 100).await;
    assert_eq!(done.state, SessionState::Completed);

    let e = expected(&va, &pa);
    let (on_a, on_b) = (va_api.results(&s.id).await, vb_api.results(&s.id).await);
    check_results(&on_a, &e);
    check_results(&p.results(&s.id).await, &e);
    assert_eq!(
        serde_json::to_value(&on_a).unwrap(),
        serde_json::to_value(&on_b).unwrap(),
        "both replicas serve the one stored release"
    );
    assert_eq!(completions(&p, &ps.id).await, 1);

    // A sign-in made on A is known to B, and outlives A.
    let cookie = sign_in(&a.base_url(), &pt).await;
    let on_b = format!("{}/v1/partnerships", b.base_url());
    assert_eq!(status_with_cookie(&on_b, &cookie).await, 200);
    assert_eq!(
        status_with_cookie(&format!("{}/dashboard/", b.base_url()), &cookie).await,
        200
    );
    assert_eq!(status_with_cookie(&on_b, "not-a-cookie").await, 401);
    a.shutdown().await;
    assert_eq!(status_with_cookie(&on_b, &cookie).await, 200);
    b.shutdown().await;
}

/// The replica holding a computation's lease dies mid-compute; the other
/// takes over once the lease runs out and finishes the session once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_compute_is_taken_over() {
    let db = TestDb::postgres().await;
    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    // A computes only after a minute: it is killed long before.
    let a = replica(url, Duration::from_secs(60)).await;
    let b = replica(url, Duration::ZERO).await;
    let a_id = a.state().replica_id.to_string();
    let v = Api::new(&b.base_url(), &vt);
    let p_on_a = Api::new(&a.base_url(), &pt);
    let p_on_b = Api::new(&b.base_url(), &pt);

    let ps = v
        .partner_up(&p_on_b, "Partner LLC", SharingPolicy::default())
        .await;
    let s = v.open_session(&ps.id).await;
    let (va, pa, pss) = upload_all_but_partner_tokens(&v, &p_on_a, &s.id).await;
    // The partner's commit reaches A, which takes the lease and "computes";
    // the request never gets its answer, since A dies.
    let sid = s.id.clone();
    let pending = tokio::spawn(async move { p_on_a.upload_tokens(&sid, &pss, 100).await });

    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let lease_owner = || {
        sqlx::query_scalar::<_, Option<String>>("SELECT lease_owner FROM sessions WHERE id = $1")
            .bind(s.id.clone())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while lease_owner().fetch_one(&mut conn).await.unwrap().as_deref() != Some(a_id.as_str()) {
        assert!(Instant::now() < deadline, "A never took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A renews its lease past its first term: B does not steal a live one.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mid: Session = v
        .ok(Method::GET, &format!("/v1/sessions/{}", s.id), None)
        .await;
    assert_eq!(mid.state, SessionState::Computing);
    assert_eq!(
        lease_owner().fetch_one(&mut conn).await.unwrap().as_deref(),
        Some(a_id.as_str())
    );

    let killed = Instant::now();
    a.kill().await;
    pending.abort();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now: Session = v
            .ok(Method::GET, &format!("/v1/sessions/{}", s.id), None)
            .await;
        if now.state == SessionState::Completed {
            break;
        }
        assert_eq!(now.state, SessionState::Computing);
        assert!(Instant::now() < deadline, "B never finished the session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Within the lease (3 s) plus a sweep, not never.
    assert!(
        killed.elapsed() < Duration::from_secs(8),
        "{:?}",
        killed.elapsed()
    );
    let b_id = b.state().replica_id.to_string();
    assert_eq!(
        lease_owner().fetch_one(&mut conn).await.unwrap().as_deref(),
        Some(b_id.as_str())
    );
    let e = expected(&va, &pa);
    check_results(&v.results(&s.id).await, &e);
    check_results(&p_on_b.results(&s.id).await, &e);
    assert_eq!(completions(&v, &ps.id).await, 1);
    assert_eq!(b.state().store.chunk_row_counts().await.unwrap(), (0, 0));
    let _ = conn.close().await;
    b.shutdown().await;
}
