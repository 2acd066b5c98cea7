//! Conformance of the webhook tables ([`WebhookStore`]) on both backends:
//! endpoints per organization, secret rotation, the delivery queue's claims
//! and attempts, and the delivery log.

mod common;

use cleanroom_server::bootstrap::create_org_in;
use cleanroom_server::store::webhooks::{
    AttemptOutcome, DeliveryRow, DeliveryState, WebhookRow, WebhookSecret, WebhookStore,
};
use cleanroom_server::store::{PgStore, SqliteStore, Store};
use common::TestDb;

fn hook(id: &str, org: &str, now: i64) -> WebhookRow {
    WebhookRow {
        id: id.into(),
        org_id: org.into(),
        url: "https://hooks.example.com/cleanroom".into(),
        events: vec!["session.completed".into(), "partnership.invited".into()],
        secret: WebhookSecret::new(format!("whsec_{id}")),
        previous_secret: None,
        previous_expires_at: None,
        created_at: now,
    }
}

fn delivery(id: &str, webhook: &str, now: i64) -> DeliveryRow {
    DeliveryRow {
        id: id.into(),
        webhook_id: webhook.into(),
        event: "session.completed".into(),
        body: r#"{"type":"session.completed"}"#.into(),
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_at: now,
        last_status: None,
        last_error: None,
        created_at: now,
        finished_at: None,
    }
}

async fn conformance<S: Store + WebhookStore>(s: &S) {
    let now = 1_800_000_000;
    let (a, _) = create_org_in(s, "Org A").await.unwrap();
    let (b, _) = create_org_in(s, "Org B").await.unwrap();
    s.create_webhook(&hook("wh1", &a, now)).await.unwrap();
    s.create_webhook(&hook("wh2", &a, now + 1)).await.unwrap();
    s.create_webhook(&hook("wh3", &b, now)).await.unwrap();

    let of_a = s.webhooks_of_org(&a).await.unwrap();
    assert_eq!(
        of_a.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["wh1", "wh2"]
    );
    assert_eq!(of_a[0], hook("wh1", &a, now), "round trip");
    assert_eq!(s.webhook("wh3").await.unwrap().unwrap().org_id, b);
    assert!(s.webhook("nope").await.unwrap().is_none());

    // Rotation: only the owner; the old secret signs until the grace ends.
    let new = WebhookSecret::new("whsec_new".into());
    assert!(
        s.rotate_webhook_secret(&b, "wh1", &new, now + 60)
            .await
            .unwrap()
            .is_none()
    );
    let r = s
        .rotate_webhook_secret(&a, "wh1", &new, now + 60)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.secret, new);
    assert_eq!(r.previous_secret.as_ref().unwrap().expose(), "whsec_wh1");
    assert_eq!(r.signing_secrets(now).len(), 2);
    assert_eq!(r.signing_secrets(now + 60).len(), 1);

    // Queue: due ones are claimed once; a claimed one is not due again until
    // its lease runs out.
    s.enqueue_delivery(&delivery("d1", "wh1", now))
        .await
        .unwrap();
    s.enqueue_delivery(&delivery("d2", "wh1", now + 100))
        .await
        .unwrap();
    s.enqueue_delivery(&delivery("d3", "wh3", now))
        .await
        .unwrap();
    let claimed = s.claim_deliveries(now, now + 30, 10).await.unwrap();
    let mut ids: Vec<_> = claimed.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["d1", "d3"]);
    assert!(
        s.claim_deliveries(now + 29, now + 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.claim_deliveries(now, now + 30, 10).await.unwrap().len(),
        0
    );

    // Attempts: a retry, then delivered; another fails for good.
    s.record_attempt(
        "d1",
        &AttemptOutcome {
            state: DeliveryState::Pending,
            next_attempt_at: now + 40,
            status: Some(500),
            error: Some("the receiver answered HTTP 500".into()),
            at: now + 1,
        },
    )
    .await
    .unwrap();
    s.record_attempt(
        "d3",
        &AttemptOutcome {
            state: DeliveryState::Failed,
            next_attempt_at: now + 2,
            status: None,
            error: Some("denied".into()),
            at: now + 2,
        },
    )
    .await
    .unwrap();
    let again = s.claim_deliveries(now + 40, now + 70, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].attempts), ("d1", 1));
    s.record_attempt(
        "d1",
        &AttemptOutcome {
            state: DeliveryState::Delivered,
            next_attempt_at: now + 41,
            status: Some(204),
            error: None,
            at: now + 41,
        },
    )
    .await
    .unwrap();
    let log = s.deliveries("wh1", 10).await.unwrap();
    assert_eq!(
        log.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["d2", "d1"],
        "newest first"
    );
    let d1 = &log[1];
    assert_eq!(d1.state, DeliveryState::Delivered);
    assert_eq!((d1.attempts, d1.last_status), (2, Some(204)));
    assert_eq!(d1.last_error, None);
    assert_eq!(d1.finished_at, Some(now + 41));
    assert_eq!(log[0].finished_at, None);
    let d3 = &s.deliveries("wh3", 10).await.unwrap()[0];
    assert_eq!(d3.state, DeliveryState::Failed);
    assert_eq!(d3.last_error.as_deref(), Some("denied"));
    // A finished delivery is never claimed again.
    assert_eq!(
        s.claim_deliveries(now + 1000, now + 1030, 10)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["d2"]
    );
    assert_eq!(s.deliveries("wh1", 1).await.unwrap().len(), 1, "limit");

    // Deleting: only the owner; the log goes with the endpoint.
    assert!(!s.delete_webhook(&b, "wh1").await.unwrap());
    assert!(s.delete_webhook(&a, "wh1").await.unwrap());
    assert!(s.webhook("wh1").await.unwrap().is_none());
    assert!(s.deliveries("wh1", 10).await.unwrap().is_empty());
    assert!(!s.delete_webhook(&a, "wh1").await.unwrap());
    assert_eq!(s.webhooks_of_org(&a).await.unwrap().len(), 1);
}

#[tokio::test]
async fn webhook_store_sqlite() {
    let db = TestDb::sqlite();
    let store = SqliteStore::connect(db.url()).await.unwrap();
    conformance(&store).await;
    store.close().await;
}

#[tokio::test]
async fn webhook_store_postgres() {
    let db = TestDb::postgres().await;
    let store = PgStore::connect(db.url()).await.unwrap();
    conformance(&store).await;
    store.close().await;
}
