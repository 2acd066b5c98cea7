//! Clients that connect and never finish a request (half a request line, or
//! nothing at all) are closed after the header timeout, and a cap on open
//! connections keeps them from crowding out real requests for longer.

mod common;

use std::time::{Duration, Instant};

use cleanroom_server::{Config, spawn};
use common::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_closed_and_real_requests_get_through() {
    let db = TestDb::sqlite();
    let mut config = Config::for_tests(db.url());
    config.connections.header_read_timeout = Duration::from_secs(1);
    config.connections.max_connections = 32;
    let server = spawn(config).await.unwrap();
    let addr = server.base_url().trim_start_matches("http://").to_owned();

    // Fill every connection slot, and more, with half a request line each.
    let mut slow = Vec::new();
    for i in 0..64 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET /v1/me HTT").await.unwrap();
        }
        slow.push(s);
    }
    let started = Instant::now();
    cleanroom_server::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/healthz", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(6),
        "a real request waited {waited:?}"
    );

    // Every slow connection has been closed by the server.
    for mut s in slow {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        match read {
            Ok(Ok(_)) | Ok(Err(_)) => {} // a 408 and EOF, EOF, or a reset
            Err(_) => panic!("a slow connection is still open after the header timeout"),
        }
    }
    server.shutdown().await;
}
