//! Two real replicas (`cleanroom_server::spawn`, or the binary where one is
//! SIGKILLed) on one real PostgreSQL database: parties on different
//! replicas, an upload split between them, a dashboard cookie used on the
//! other replica, a replica killed while it holds a computation's lease and
//! one killed mid-upload, and long polls woken by changes made on another
//! replica.

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
    replica_with(
        url,
        ComputeLeases {
            lease: Duration::from_secs(3),
            sweep_interval: Duration::from_millis(300),
            delay_for_tests: delay,
        },
    )
    .await
}

async fn replica_with(url: &str, compute: ComputeLeases) -> RunningServer {
    let mut config = Config::for_tests(url);
    config.compute = compute;
    spawn(config).await.unwrap()
}

/// A replica as a process of its own (so that it can be SIGKILLed), with
/// the default settings; killed when dropped.
struct ReplicaProcess {
    child: std::process::Child,
    base: String,
}

impl ReplicaProcess {
    fn start(url: &str) -> ReplicaProcess {
        let (child, base) = start_server(url, &[]);
        ReplicaProcess { child, base }
    }

    /// `kill -9`.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        self.kill();
    }
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
/// takes over once the lease runs out and finishes the session once, within
/// seconds with the default lease and sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_compute_is_taken_over() {
    let db = TestDb::postgres().await;
    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    let defaults = ComputeLeases::default();
    // A computes only after a minute: it is killed long before.
    let a = replica_with(
        url,
        ComputeLeases {
            delay_for_tests: Duration::from_secs(60),
            ..defaults
        },
    )
    .await;
    let b = replica_with(url, defaults).await;
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
    tokio::time::sleep(defaults.lease + Duration::from_secs(1)).await;
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
    // Within the lease (6 s) plus a sweep (1 s), not never.
    let takeover = killed.elapsed();
    eprintln!("a killed replica's computation finished by the survivor after {takeover:?}");
    assert!(
        takeover < defaults.lease + defaults.sweep_interval + Duration::from_millis(1500),
        "{takeover:?}"
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

/// Party A long-polls its session on replica `a` while party B cancels it on
/// replica `b`, `tries` times; the delays from B's request to A's answer.
async fn cross_replica_wakeups(
    a_side: &Api,
    b_side: &Api,
    partnership: &str,
    tries: u64,
) -> Vec<Duration> {
    let mut delays = Vec::new();
    for i in 0..tries {
        let s = a_side.open_session(partnership).await;
        let poll = {
            let a_side = a_side.clone();
            let path = format!("/v1/sessions/{}?while_state=awaiting_blinded&wait=20", s.id);
            tokio::spawn(async move {
                let now: Session = a_side.ok(Method::GET, &path, None).await;
                (now.state, Instant::now())
            })
        };
        // The poll settles into its wait; B acts at a different point of
        // the poll's re-read period each time.
        tokio::time::sleep(Duration::from_millis(200 + 130 * i)).await;
        let acted = Instant::now();
        let cancelled: Session = b_side
            .ok(Method::POST, &format!("/v1/sessions/{}/cancel", s.id), None)
            .await;
        assert_eq!(cancelled.state, SessionState::Cancelled);
        let (state, woke) = poll.await.unwrap();
        assert_eq!(state, SessionState::Cancelled);
        delays.push(woke.saturating_duration_since(acted));
    }
    delays
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

/// A long poll on one replica learns of a change made on another through
/// PostgreSQL's LISTEN/NOTIFY, well within the 1 s re-read of a poll, and
/// again after its listening connection was cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_wakes_up_at_once_on_change_made_on_another_replica() {
    let db = TestDb::postgres().await;
    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    let a = replica(url, Duration::ZERO).await;
    let b = replica(url, Duration::ZERO).await;
    let v_on_a = Api::new(&a.base_url(), &vt);
    let p_on_b = Api::new(&b.base_url(), &pt);
    let ps = v_on_a
        .partner_up(&p_on_b, "Partner LLC", SharingPolicy::default())
        .await;

    // What goes over the channel: session ids, nothing else.
    let mut overheard = sqlx::postgres::PgListener::connect(url).await.unwrap();
    overheard.listen("cleanroom_session_changes").await.unwrap();

    let delays = cross_replica_wakeups(&v_on_a, &p_on_b, &ps.id, 5).await;
    let m = median(delays.clone());
    eprintln!("cross-replica wake-up: median {m:?} of {delays:?}");
    assert!(m < Duration::from_millis(300), "median {m:?} of {delays:?}");

    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let sessions: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 5);
    let mut announced = Vec::new();
    while announced.len() < sessions.len() {
        let n = tokio::time::timeout(Duration::from_secs(5), overheard.recv())
            .await
            .expect("every cancellation announced")
            .unwrap();
        assert!(sessions.iter().any(|s| s == n.payload()), "{}", n.payload());
        announced.push(n.payload().to_owned());
    }
    announced.sort();
    assert_eq!(announced, {
        let mut s = sessions.clone();
        s.sort();
        s
    });

    // The listening connections die (a database restart, a proxy's idle
    // timeout): the replicas listen again, and wake-ups are quick again.
    let listeners = || {
        sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'cleanroom-server session wake-ups'",
        )
    };
    let before = listeners().fetch_all(&mut conn).await.unwrap();
    assert_eq!(before.len(), 2, "one listener per replica: {before:?}");
    for pid in &before {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = listeners().fetch_all(&mut conn).await.unwrap();
        if now.len() == 2 && now.iter().all(|p| !before.contains(p)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replicas did not listen again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delays = cross_replica_wakeups(&v_on_a, &p_on_b, &ps.id, 3).await;
    let m = median(delays.clone());
    eprintln!("cross-replica wake-up after reconnecting: median {m:?} of {delays:?}");
    assert!(m < Duration::from_millis(300), "median {m:?} of {delays:?}");
    let _ = conn.close().await;
    let _ = overheard.unlisten_all().await;
    a.shutdown().await;
    b.shutdown().await;
}

/// A replica is SIGKILLed in the middle of a party's upload, with one
/// chunk's body half sent. The client sends that chunk, the ones after it
/// and once more the last one the dead replica acknowledged (it cannot know
/// whether that one landed) to the other replica, commits there, and the
/// session completes with the right result: no chunk lost, none stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_upload_loses_nothing() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let db = TestDb::postgres().await;
    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    let mut a = ReplicaProcess::start(url);
    let b = replica(url, Duration::ZERO).await;
    let v_on_a = Api::new(&a.base, &vt);
    let v_on_b = Api::new(&b.base_url(), &vt);
    let p = Api::new(&b.base_url(), &pt);
    let ps = v_on_b
        .partner_up(&p, "Partner LLC", SharingPolicy::default())
        .await;
    let s = v_on_b.open_session(&ps.id).await;
    let (va, pa) = generate();
    let (vs, pss) = (SessionSecret::generate(), SessionSecret::generate());
    let body = blind(&vs, &va);
    let chunks: Vec<&[u8]> = body.chunks(10 * 48).collect();
    let half = chunks.len() / 2;
    assert!(half >= 2, "enough chunks to kill half-way");
    let put = |seq: usize| format!("/v1/sessions/{}/blinded/{seq}", s.id);
    for (seq, c) in chunks.iter().enumerate().take(half) {
        let (st, v) = v_on_a.put_bytes(&put(seq), c.to_vec()).await;
        assert_eq!(st, 200, "{v}");
    }

    // The next chunk is half sent when A dies.
    let addr = a.base.strip_prefix("http://").unwrap().to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let c = chunks[half];
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {vt}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        put(half),
        c.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&c[..c.len() / 2]).await.unwrap();
    sock.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.kill();
    // The client gets no answer, and A is gone.
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(reqwest::get(format!("{}/healthz", a.base)).await.is_err());

    // The client carries on against B.
    for (seq, c) in chunks.iter().enumerate().skip(half - 1) {
        let (st, v) = v_on_b.put_bytes(&put(seq), c.to_vec()).await;
        assert_eq!(st, 200, "{v}");
    }
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let stored: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, records, data FROM blinded_chunks \
         WHERE session_id = $1 AND role = 'vendor' ORDER BY seq",
    )
    .bind(&s.id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(stored.len(), chunks.len(), "every chunk once");
    for ((seq, records, data), (i, c)) in stored.iter().zip(chunks.iter().enumerate()) {
        assert_eq!(*seq, i as i64);
        assert_eq!(*records, (c.len() / 48) as i64);
        assert_eq!(data.as_slice(), *c, "chunk {i} stored whole");
    }
    let _ = conn.close().await;

    let committed = v_on_b
        .commit_blinded(&s.id, &body, &VENDOR_POPS, chunks.len())
        .await;
    assert_eq!(committed.state, SessionState::AwaitingBlinded);
    p.upload_blinded(&s.id, &blind(&pss, &pa), &PARTNER_POPS, 100)
        .await;
    v_on_b.upload_tokens(&s.id, &vs, 100).await;
    let done = p.upload_tokens(&s.id, &pss, 100).await;
    assert_eq!(done.state, SessionState::Completed);
    let e = expected(&va, &pa);
    check_results(&v_on_b.results(&s.id).await, &e);
    check_results(&p.results(&s.id).await, &e);
    assert_eq!(completions(&p, &ps.id).await, 1);
    assert_eq!(b.state().store.chunk_row_counts().await.unwrap(), (0, 0));
    b.shutdown().await;
}
