//! The database goes away under a running server: readiness says so within a
//! second, API calls fail fast with a 503 problem and `Retry-After`, and a
//! server that cannot reach its database at start names the host and why.

mod common;

use std::time::{Duration, Instant};

use cleanroom_server::store::AnyStore;
use cleanroom_server::{Config, bootstrap, spawn};
use common::TestDb;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP forwarder to PostgreSQL that the test can cut, as a network
/// partition or a dead database host would.
struct Proxy {
    port: u16,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks: std::sync::Arc<std::sync::Mutex<Vec<JoinHandle<()>>>> = Default::default();
        let spawned = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let t = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                spawned.lock().unwrap().push(t);
            }
        });
        Proxy {
            port,
            tasks,
            accept,
        }
    }

    /// Stops listening and drops every forwarded connection.
    fn cut(&self) {
        self.accept.abort();
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_loss_is_a_fast_503() {
    let db = TestDb::postgres().await;
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let url = db
        .url()
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(url, db.url(), "the test database is on 127.0.0.1:5432");
    let (_, token) = bootstrap::create_org(&url, "Org").await.unwrap();
    let server = spawn(Config::for_tests(&url)).await.unwrap();
    cleanroom_server::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let me = format!("{}/v1/me", server.base_url());
    let ready = format!("{}/readyz", server.base_url());
    let r = http.get(&me).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        http.get(&ready).send().await.unwrap().status().as_u16(),
        200
    );

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let t = Instant::now();
    let r = http.get(&ready).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );

    for _ in 0..3 {
        let t = Instant::now();
        let r = http.get(&me).bearer_auth(&token).send().await.unwrap();
        let took = t.elapsed();
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(r.headers()["retry-after"], "5");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], "database-unavailable", "{v}");
        assert!(took < Duration::from_millis(4500), "{took:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unreachable_database_at_start_names_the_host() {
    // Nothing listens on port 1.
    let err = AnyStore::connect("postgres://postgres:hunter2@127.0.0.1:1/cleanroom")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "no credentials in errors: {err}");
}
