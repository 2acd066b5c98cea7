//! Storage quotas: one side of a session and one organization may store only
//! so much, chunk numbers stay within the record quota, and a cancelled
//! upload gives its space back to the file system on SQLite.

mod common;

use cleanroom_core::api::{Session, SharingPolicy};
use cleanroom_core::wire::BlindedRecord;
use cleanroom_core::{AccountKey, KeyType, SessionSecret};
use cleanroom_server::{Config, bootstrap, spawn};
use common::{Api, TestDb};
use reqwest::Method;

/// `n` records with distinct row ids starting at `first`. The point is one
/// valid blinded point reused: chunk uploads check points, not uniqueness
/// (that is the commit's job), and blinding thousands would only slow the test.
fn records(first: u32, n: u32) -> Vec<u8> {
    let point = SessionSecret::generate()
        .blind(&AccountKey::from_normalized(
            KeyType::Domain,
            "quota.example",
        ))
        .to_bytes();
    let mut out = Vec::with_capacity(n as usize * 48);
    for row_id in first..first + n {
        BlindedRecord {
            row_id,
            populations: 1,
            key_type: KeyType::Domain,
            point,
        }
        .encode_into(&mut out);
    }
    out
}

async fn session(a: &Api, partnership: &str) -> String {
    let s: Session = a
        .ok(
            Method::POST,
            &format!("/v1/partnerships/{partnership}/sessions"),
            None,
        )
        .await;
    s.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_per_side_and_bytes_per_org_are_bounded() {
    let db = TestDb::sqlite();
    let (_, at) = bootstrap::create_org(db.url(), "A").await.unwrap();
    let (_, bt) = bootstrap::create_org(db.url(), "B").await.unwrap();
    let (_, ct) = bootstrap::create_org(db.url(), "C").await.unwrap();
    let mut config = Config::for_tests(db.url());
    config.guardrails.max_records_per_side = 1000;
    config.guardrails.max_bytes_per_org = 2000 * 48;
    let server = spawn(config).await.unwrap();
    let (a, b, c) = (
        Api::new(&server.base_url(), &at),
        Api::new(&server.base_url(), &bt),
        Api::new(&server.base_url(), &ct),
    );
    let ab = a.partner_up(&b, "B", SharingPolicy::default()).await;
    let ac = a.partner_up(&c, "C", SharingPolicy::default()).await;
    let s1 = session(&a, &ab.id).await;
    let put = |s: &str, seq: &str, body: Vec<u8>| {
        let path = format!("/v1/sessions/{s}/blinded/{seq}");
        let a = a.clone();
        async move { a.put_bytes(&path, body).await }
    };

    assert_eq!(put(&s1, "0", records(0, 600)).await.0, 200);
    let (st, v) = put(&s1, "1", records(600, 600)).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (422, Some("quota-exceeded")),
        "{v}"
    );
    // Replacing a chunk counts it once.
    assert_eq!(put(&s1, "0", records(0, 900)).await.0, 200);
    // Chunk numbers stay below the record quota.
    let (st, v) = put(&s1, "1000", records(0, 1)).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (422, Some("quota-exceeded")),
        "{v}"
    );

    // The organization's bytes across its open sessions: 900 + 900 fit, 300 more do not.
    let s2 = session(&a, &ac.id).await;
    assert_eq!(put(&s2, "0", records(0, 900)).await.0, 200);
    let (st, v) = put(&s2, "1", records(900, 300)).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (422, Some("quota-exceeded")),
        "{v}"
    );
    // The other organizations' quotas are their own.
    let (st, _) = b
        .put_bytes(&format!("/v1/sessions/{s1}/blinded/0"), records(0, 900))
        .await;
    assert_eq!(st, 200);
    // Cancelling frees the space.
    a.ok::<Session>(Method::POST, &format!("/v1/sessions/{s1}/cancel"), None)
        .await;
    assert_eq!(put(&s2, "1", records(900, 100)).await.0, 200);
    server.shutdown().await;
}

fn file_size(db: &TestDb) -> u64 {
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    ["", "-wal"]
        .iter()
        .map(|s| std::fs::metadata(format!("{path}{s}")).map_or(0, |m| m.len()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_upload_gives_its_space_back_on_sqlite() {
    let db = TestDb::sqlite();
    let (_, at) = bootstrap::create_org(db.url(), "A").await.unwrap();
    let (_, bt) = bootstrap::create_org(db.url(), "B").await.unwrap();
    let server = spawn(Config::for_tests(db.url())).await.unwrap();
    let a = Api::new(&server.base_url(), &at);
    let b = Api::new(&server.base_url(), &bt);
    let ab = a.partner_up(&b, "B", SharingPolicy::default()).await;
    let s = session(&a, &ab.id).await;
    let empty = file_size(&db);
    for seq in 0..4u32 {
        let (st, v) = a
            .put_bytes(
                &format!("/v1/sessions/{s}/blinded/{seq}"),
                records(seq * 100_000, 100_000),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let full = file_size(&db);
    assert!(full > empty + 15_000_000, "{empty} -> {full}");
    a.ok::<Session>(Method::POST, &format!("/v1/sessions/{s}/cancel"), None)
        .await;
    let after = file_size(&db);
    assert!(
        after < empty + 2_000_000,
        "the file kept {after} bytes after cancelling (empty {empty}, full {full})"
    );
    server.shutdown().await;
}
