//! Signed webhooks end to end: the real server delivers to a real HTTP
//! receiver on loopback, and the receiver checks every delivery with the
//! exported [`verify_webhook`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cleanroom_client::{WebhookError, verify_webhook};
use cleanroom_server::store::webhooks::{
    DeliveryState, WebhookRow, WebhookSecret, WebhookStore as _,
};
use serde_json::{Value, json};

/// What the receiver got, and the statuses it answers with (then 200).
#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<(HeaderMap, Bytes)>>,
    answers: Mutex<Vec<u16>>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    let code = {
        let mut answers = r.answers.lock().unwrap();
        if answers.is_empty() {
            200
        } else {
            answers.remove(0)
        }
    };
    StatusCode::from_u16(code).unwrap()
}

async fn start_receiver(answers: Vec<u16>) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver {
        answers: Mutex::new(answers),
        ..Receiver::default()
    });
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}/hook"))
}

struct Setup {
    server: cleanroom_server::RunningServer,
    _dir: tempfile::TempDir,
    vendor: String,
    partner: String,
    http: reqwest::Client,
}

async fn setup(tweak: impl FnOnce(&mut cleanroom_server::Config)) -> Setup {
    cleanroom_server::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let (_, vendor) = cleanroom_server::bootstrap::create_org(&db, "Vendor Co")
        .await
        .unwrap();
    let (_, partner) = cleanroom_server::bootstrap::create_org(&db, "Partner Co")
        .await
        .unwrap();
    let mut config = cleanroom_server::Config::for_tests(&db);
    config.webhooks.backoff_base = Duration::from_secs(1);
    config.webhooks.poll_interval = Duration::from_millis(100);
    tweak(&mut config);
    Setup {
        server: cleanroom_server::spawn(config).await.unwrap(),
        _dir: dir,
        vendor,
        partner,
        http: reqwest::Client::new(),
    }
}

impl Setup {
    async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.server.base_url()))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let v = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, v)
    }

    /// [`Setup::call`] that must answer `status`: the answer.
    async fn expect(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (st, v) = self.call(token, method, path, body).await;
        assert_eq!(st, status, "{method} {path}: {v}");
        v
    }

    /// Vendor invites with a code, partner accepts it: the partnership id.
    async fn partner_up(&self) -> String {
        let inv = self
            .expect(
                &self.vendor,
                "POST",
                "/v1/invitations",
                Some(json!({"my_role": "vendor"})),
                201,
            )
            .await;
        let p = self
            .expect(
                &self.partner,
                "POST",
                "/v1/invitations/accept",
                Some(json!({"code": inv["code"]})),
                201,
            )
            .await;
        p["id"].as_str().unwrap().to_owned()
    }

    /// Opens and cancels a session: the session id.
    async fn cancelled_session(&self, partnership: &str) -> String {
        let s = self
            .expect(
                &self.vendor,
                "POST",
                &format!("/v1/partnerships/{partnership}/sessions"),
                None,
                201,
            )
            .await;
        let sid = s["id"].as_str().unwrap().to_owned();
        self.expect(
            &self.partner,
            "POST",
            &format!("/v1/sessions/{sid}/cancel"),
            None,
            200,
        )
        .await;
        sid
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn wait_for(r: &Receiver, n: usize) {
    for _ in 0..150 {
        if r.got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the receiver got {} deliveries, expected {n}",
        r.got.lock().unwrap().len()
    );
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_logged() {
    // The first delivery attempt gets a 500, its retry a 200.
    let (receiver, url) = start_receiver(vec![500]).await;
    let s = setup(|c| {
        c.webhooks.allow_http = true;
        c.webhooks.allow = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let created = s
        .expect(
            &s.partner,
            "POST",
            "/v1/webhooks",
            Some(json!({
                "url": url,
                "events": ["partnership.invited", "partnership.accepted", "session.cancelled"],
            })),
            201,
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let hook_id = created["webhook"]["id"].as_str().unwrap().to_owned();
    // The list never shows the secret.
    let (_, list) = s.call(&s.partner, "GET", "/v1/webhooks", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret));
    // Another organization sees none of it.
    s.expect(
        &s.vendor,
        "GET",
        &format!("/v1/webhooks/{hook_id}/deliveries"),
        None,
        404,
    )
    .await;

    let partnership = s.partner_up().await;
    let session = s.cancelled_session(&partnership).await;
    // Accepted and cancelled, one of them twice (500, then retried); no
    // `partnership.invited`: a partnership now starts out accepted.
    wait_for(&receiver, 3).await;

    let got = receiver.got.lock().unwrap().clone();
    let mut types = Vec::new();
    for (headers, body) in &got {
        let ts = header(headers, "cleanroom-timestamp");
        let sig = header(headers, "cleanroom-signature");
        assert_eq!(verify_webhook(&secret, ts, sig, body, now()), Ok(()));
        // A replay after the window, or an altered body, is rejected.
        let ts_n: i64 = ts.parse().unwrap();
        assert_eq!(
            verify_webhook(&secret, ts, sig, body, ts_n + 301),
            Err(WebhookError::Expired)
        );
        let mut altered = body.to_vec();
        altered.extend_from_slice(b" ");
        assert_eq!(
            verify_webhook(&secret, ts, sig, &altered, now()),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_webhook(&secret, &(ts_n + 1).to_string(), sig, body, now()),
            Err(WebhookError::Mismatch)
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        // Ids and states only: no organization names, nothing else.
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["created_at", "data", "id", "type"]);
        assert!(!body.windows(7).any(|w| w == b"Partner"));
        assert_eq!(header(headers, "cleanroom-event"), v["type"]);
        assert_eq!(v["data"]["partnership_id"], partnership.as_str());
        types.push(v["type"].as_str().unwrap().to_owned());
    }
    // Deliveries run concurrently, so in no fixed order; the one that got
    // the 500 came again, as the same delivery with the same body.
    types.sort();
    types.dedup();
    assert_eq!(types, ["partnership.accepted", "session.cancelled"]);
    let ids: Vec<&str> = got
        .iter()
        .map(|(h, _)| header(h, "cleanroom-delivery"))
        .collect();
    let retried: Vec<usize> = (0..ids.len())
        .filter(|&i| ids.iter().filter(|x| **x == ids[i]).count() == 2)
        .collect();
    assert_eq!(retried.len(), 2, "{ids:?}");
    assert_eq!(got[retried[0]].1, got[retried[1]].1);
    let cancelled = got
        .iter()
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .find(|v| v["type"] == "session.cancelled")
        .unwrap();
    assert_eq!(cancelled["data"]["session_id"], session.as_str());
    assert_eq!(cancelled["data"]["state"], "cancelled");

    // The delivery log: newest first, all delivered, the first after a 500.
    let log = s
        .expect(
            &s.partner,
            "GET",
            &format!("/v1/webhooks/{hook_id}/deliveries"),
            None,
            200,
        )
        .await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    assert!(log.iter().all(|d| d["last_status"] == 200), "{log:?}");
    let mut attempts: Vec<u64> = log
        .iter()
        .map(|d| d["attempts"].as_u64().unwrap())
        .collect();
    attempts.sort();
    assert_eq!(attempts, [1, 2]);

    // Rotation: during the grace period both secrets sign.
    let rotated = s
        .expect(
            &s.partner,
            "POST",
            &format!("/v1/webhooks/{hook_id}/rotate-secret"),
            Some(json!({"grace_seconds": 3600})),
            200,
        )
        .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
    s.cancelled_session(&partnership).await;
    wait_for(&receiver, 4).await;
    let (headers, body) = receiver.got.lock().unwrap()[3].clone();
    let ts = header(&headers, "cleanroom-timestamp");
    let sig = header(&headers, "cleanroom-signature");
    assert_eq!(sig.matches("v1=").count(), 2, "{sig}");
    assert_eq!(verify_webhook(&secret, ts, sig, &body, now()), Ok(()));
    assert_eq!(verify_webhook(&new_secret, ts, sig, &body, now()), Ok(()));

    // Deleting the endpoint removes it and its log.
    s.expect(
        &s.partner,
        "DELETE",
        &format!("/v1/webhooks/{hook_id}"),
        None,
        204,
    )
    .await;
    s.expect(
        &s.partner,
        "GET",
        &format!("/v1/webhooks/{hook_id}/deliveries"),
        None,
        404,
    )
    .await;
    s.server.shutdown().await;
}

#[tokio::test]
async fn internal_targets_are_refused_at_registration_by_default() {
    let s = setup(|_| {}).await;
    for (url, code) in [
        ("https://127.0.0.1:8443/hook", "webhook-target-denied"),
        ("https://localhost/hook", "webhook-target-denied"),
        ("https://10.1.2.3/hook", "webhook-target-denied"),
        ("https://169.254.169.254/latest", "webhook-target-denied"),
        ("https://[::1]/hook", "webhook-target-denied"),
        ("https://[::ffff:127.0.0.1]/hook", "webhook-target-denied"),
        ("https://100.64.0.1/hook", "webhook-target-denied"),
        ("http://93.184.216.34/hook", "invalid-webhook"),
        ("https://user:pw@93.184.216.34/hook", "invalid-webhook"),
    ] {
        let (st, p) = s
            .call(
                &s.vendor,
                "POST",
                "/v1/webhooks",
                Some(json!({"url": url, "events": ["session.completed"]})),
            )
            .await;
        assert_eq!(st, 422, "{url}: {p}");
        assert_eq!(p["code"], code, "{url}: {p}");
    }
    let (st, p) = s
        .call(
            &s.vendor,
            "POST",
            "/v1/webhooks",
            Some(json!({"url": "https://93.184.216.34/hook", "events": ["session.exploded"]})),
        )
        .await;
    assert_eq!((st, p["code"].as_str()), (422, Some("invalid-webhook")));
    assert!(
        s.call(&s.vendor, "GET", "/v1/webhooks", None)
            .await
            .1
            .as_array()
            .unwrap()
            .is_empty()
    );
    s.server.shutdown().await;
}

#[tokio::test]
async fn a_name_that_resolves_to_a_denied_address_is_refused_at_delivery() {
    let (receiver, url) = start_receiver(vec![]).await;
    // http allowed, loopback not: the deny list is the default.
    let s = setup(|c| c.webhooks.allow_http = true).await;
    // As if `localhost` had resolved to a public address at registration and
    // was pointed at loopback later: the row goes in past the API's check.
    let port = url.rsplit(':').next().unwrap();
    let org = {
        let (_, me) = s.call(&s.vendor, "GET", "/v1/me", None).await;
        me["org"]["id"].as_str().unwrap().to_owned()
    };
    let store = &s.server.state().store;
    store
        .create_webhook(&WebhookRow {
            id: "wh_dns".into(),
            org_id: org,
            url: format!("http://localhost:{port}"),
            events: vec!["partnership.accepted".into()],
            secret: WebhookSecret::new("whsec_test".into()),
            previous_secret: None,
            previous_expires_at: None,
            created_at: now(),
        })
        .await
        .unwrap();
    s.partner_up().await;
    let mut log = Vec::new();
    for _ in 0..100 {
        log = store.deliveries("wh_dns", 10).await.unwrap();
        if log.iter().any(|d| d.state != DeliveryState::Pending) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].state, DeliveryState::Failed, "{log:?}");
    assert_eq!(log[0].attempts, 1, "a refused target is not retried");
    assert!(
        log[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("does not allow")
    );
    assert!(receiver.got.lock().unwrap().is_empty());
    s.server.shutdown().await;
}
