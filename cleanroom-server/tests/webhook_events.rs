//! The session events reach a real receiver during a full session over HTTP,
//! on SQLite and PostgreSQL, signed with the endpoint's secret.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use cleanroom_core::api::SessionState;
use cleanroom_server::store::webhooks::WebhookSecret;
use cleanroom_server::webhooks::sign;
use cleanroom_server::{Config, bootstrap, spawn};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

type Got = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receive(State(got): State<Got>, headers: HeaderMap, body: Bytes) -> &'static str {
    got.lock().unwrap().push((headers, body));
    "ok"
}

async fn events_of_a_full_session(db: &TestDb) {
    let got: Got = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let url = db.url();
    let (_, vt) = bootstrap::create_org(url, "Vendor Inc").await.unwrap();
    let (_, pt) = bootstrap::create_org(url, "Partner LLC").await.unwrap();
    let mut config = Config::for_tests(url);
    config.webhooks.allow_http = true;
    config.webhooks.allow = vec!["127.0.0.1/32".parse().unwrap()];
    config.webhooks.poll_interval = Duration::from_millis(100);
    let server = spawn(config).await.unwrap();
    let v = Api::new(&server.base_url(), &vt);
    let p = Api::new(&server.base_url(), &pt);
    let created: Value = v
        .ok(
            Method::POST,
            "/v1/webhooks",
            Some(json!({
                "url": format!("http://{addr}/hook"),
                "events": [
                    "partnership.invited",
                    "partnership.accepted",
                    "session.awaiting_tokens",
                    "session.completed",
                ],
            })),
        )
        .await;
    let secret = WebhookSecret::new(created["secret"].as_str().unwrap().to_owned());

    let ps = v.partner_up(&p, "Partner LLC", Default::default()).await;
    let s = p.open_session(&ps.id).await;
    let (_, _, pss) = upload_all_but_partner_tokens(&v, &p, &s.id).await;
    let done = p.upload_tokens(&s.id, &pss, 100).await;
    assert_eq!(done.state, SessionState::Completed);

    for _ in 0..100 {
        if got.lock().unwrap().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = got.lock().unwrap().clone();
    let mut types = Vec::new();
    for (headers, body) in &got {
        let ts: i64 = headers["cleanroom-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            headers["cleanroom-signature"].to_str().unwrap(),
            format!("v1={}", sign(&secret, ts, body))
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        let kind = v["type"].as_str().unwrap().to_owned();
        match kind.as_str() {
            // Ids and states only, never account data.
            "partnership.invited" => {
                assert!(
                    v["data"]["invitation_id"]
                        .as_str()
                        .unwrap()
                        .starts_with("inv_")
                );
                assert_eq!(v["data"]["role"], "vendor");
                assert_eq!(v["data"]["status"], "invited");
            }
            "partnership.accepted" => assert_eq!(v["data"]["partnership_id"], ps.id.as_str()),
            _ => {
                assert_eq!(v["data"]["session_id"], s.id.as_str());
                assert_eq!(v["data"]["partnership_id"], ps.id.as_str());
            }
        }
        types.push(kind);
    }
    types.sort();
    assert_eq!(
        types,
        [
            "partnership.accepted",
            "partnership.invited",
            "session.awaiting_tokens",
            "session.completed"
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn events_of_a_full_session_sqlite() {
    events_of_a_full_session(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn events_of_a_full_session_postgres() {
    events_of_a_full_session(&TestDb::postgres().await).await;
}
