//! Failed authentications are limited per client address and per token,
//! over the real server (so the client address is the connection's).

mod common;

use cleanroom_server::{Config, bootstrap, spawn};
use common::TestDb;

async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut rb = http.get(url).bearer_auth(token);
    if let Some(f) = forwarded {
        rb = rb.header("x-forwarded-for", f);
    }
    rb.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_tokens_gets_429_per_address_and_per_token() {
    let db = TestDb::sqlite();
    let (_, good) = bootstrap::create_org(db.url(), "Org").await.unwrap();
    let mut config = Config::for_tests(db.url());
    config.auth_failures_per_minute = 5;
    let server = spawn(config).await.unwrap();
    cleanroom_server::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let me = format!("{}/v1/me", server.base_url());

    // Per address: five wrong guesses are 401s, the sixth a 429, and while
    // blocked even a right token is not looked at.
    for i in 0..5 {
        let guess = format!("cr_{:0>43}", i);
        assert_eq!(get(&http, &me, &guess, None).await.status().as_u16(), 401);
    }
    let r = get(
        &http,
        &me,
        "cr_0000000000000000000000000000000000000000099",
        None,
    )
    .await;
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "too-many-failed-attempts");
    assert_eq!(get(&http, &me, &good, None).await.status().as_u16(), 429);
    server.shutdown().await;

    // Behind a trusted proxy the client is the forwarded address, and one
    // token guessed from many addresses is limited on its own.
    let mut config = Config::for_tests(db.url());
    config.auth_failures_per_minute = 5;
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = spawn(config).await.unwrap();
    let me = format!("{}/v1/me", server.base_url());
    let stolen = "cr_1111111111111111111111111111111111111111111";
    for i in 0..5 {
        let from = format!("198.51.100.{i}");
        assert_eq!(
            get(&http, &me, stolen, Some(&from)).await.status().as_u16(),
            401
        );
    }
    let r = get(&http, &me, stolen, Some("198.51.100.77")).await;
    assert_eq!(
        r.status().as_u16(),
        429,
        "the token is limited wherever it comes from"
    );
    // Other clients of the same proxy are not affected.
    let r = get(&http, &me, &good, Some("203.0.113.9")).await;
    assert_eq!(r.status().as_u16(), 200);
    server.shutdown().await;
}
