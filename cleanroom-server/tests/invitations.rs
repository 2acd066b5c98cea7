//! Hostile clients and invitations (issue 13), over the real HTTP API on
//! SQLite and PostgreSQL: an organization that probes for other
//! organizations' names, or guesses invitation codes, learns nothing, and
//! a code works once, until it expires, for whoever holds it.

mod common;

use cleanroom_core::api::{
    CreatedInvitation, Invitation, InvitationPreview, InvitationStatus, Partnership,
    PartnershipStatus, Role,
};
use cleanroom_server::{Config, RunningServer, bootstrap, spawn};
use common::{Api, TestDb};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;

struct World {
    db: TestDb,
    server: RunningServer,
    /// The inviting organization, "Acme".
    acme: Api,
    /// The organization Acme means to invite, "Globex".
    globex: Api,
    /// A third organization, "Initech".
    initech: Api,
}

async fn world(db: TestDb, tweak: impl FnOnce(&mut Config)) -> World {
    let url = db.url().to_owned();
    let mut tokens = Vec::new();
    for name in ["Acme", "Globex", "Initech"] {
        tokens.push(bootstrap::create_org(&url, name).await.unwrap().1);
    }
    let mut config = Config::for_tests(&url);
    tweak(&mut config);
    let server = spawn(config).await.unwrap();
    let api = |i: usize| Api::new(&server.base_url(), &tokens[i]);
    World {
        acme: api(0),
        globex: api(1),
        initech: api(2),
        server,
        db,
    }
}

/// A full response: status, the header names (sorted) and the body.
async fn answer(api: &Api, method: Method, path: &str, body: Value) -> (u16, Vec<String>, Value) {
    let resp = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let mut headers: Vec<String> = resp
        .headers()
        .keys()
        // Differ between any two answers: the request id, the date, the length.
        .filter(|k| !matches!(k.as_str(), "x-request-id" | "date" | "content-length"))
        .map(|k| k.as_str().to_owned())
        .collect();
    headers.sort();
    let v = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, headers, v)
}

/// Sets an invitation's expiry straight in the database.
async fn set_expiry(db: &TestDb, id: &str, at: i64) {
    let sql = "UPDATE invitations SET expires_at = $1 WHERE id = $2";
    let n = match db {
        TestDb::Sqlite(..) => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql)
                .bind(at)
                .bind(id)
                .execute(&mut c)
                .await
                .unwrap()
                .rows_affected()
        }
        TestDb::Pg { .. } => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql)
                .bind(at)
                .bind(id)
                .execute(&mut c)
                .await
                .unwrap()
                .rows_affected()
        }
    };
    assert_eq!(n, 1);
}

/// An invitation by `api` as vendor, with the server's default policy.
async fn invite(api: &Api) -> CreatedInvitation {
    api.invite(json!({"my_role": "vendor"})).await
}

/// A well-formed code nobody was given.
fn guessed_code(i: u32) -> String {
    format!("cri_{:A>43}", i)
}

/// Creating an invitation is the only step the inviter takes, and it names
/// no organization: "inviting" an existing and a nonexistent name (even in
/// an extra member, or at the old endpoint) gets answers that differ only
/// in the fresh random values.
async fn probing_names_learns_nothing(db: TestDb) {
    let w = world(db, |_| {}).await;
    let mut seen = Vec::new();
    for name in ["Globex", "Nobody That Exists Inc"] {
        let (status, headers, mut v) = answer(
            &w.acme,
            Method::POST,
            "/v1/invitations",
            json!({"org": name, "my_role": "vendor"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert!(!v.to_string().contains(name));
        // The random parts: ids, code, times.
        for key in ["id", "created_at", "expires_at"] {
            v["invitation"][key] = Value::Null;
        }
        v["code"] = Value::Null;
        let old = answer(
            &w.acme,
            Method::POST,
            "/v1/partnerships",
            json!({"org": name, "my_role": "vendor"}),
        )
        .await;
        assert_eq!(old.0, 405, "inviting by name is gone: {:?}", old.2);
        seen.push(((status, headers, v), old));
    }
    assert_eq!(
        seen[0], seen[1],
        "the answers must not depend on whether the name exists"
    );
    // Nobody was told anything, and no partnership exists yet.
    let (_, v) = w.globex.send(Method::GET, "/v1/partnerships", None).await;
    assert_eq!(v, json!([]));
    let (_, v) = w.acme.send(Method::GET, "/v1/partnerships", None).await;
    assert_eq!(v, json!([]));
    w.server.shutdown().await;
}

/// A guessed code, a malformed one, and real codes that were accepted,
/// cancelled or expired: every preview and acceptance of them is the same
/// 404 `invitation-invalid`, byte for byte.
async fn unusable_codes_look_the_same(db: TestDb) {
    let w = world(db, |c| c.auth_failures_per_minute = 1000).await;
    let accepted = invite(&w.acme).await;
    w.globex.accept_code(&accepted.code).await;
    let cancelled = invite(&w.acme).await;
    let inv: Invitation = w
        .acme
        .ok(
            Method::POST,
            &format!("/v1/invitations/{}/cancel", cancelled.invitation.id),
            None,
        )
        .await;
    assert_eq!(inv.status, InvitationStatus::Cancelled);
    let expired = invite(&w.acme).await;
    set_expiry(&w.db, &expired.invitation.id, cleanroom_server::now() - 1).await;
    let codes = [
        guessed_code(1),
        "not a code".to_owned(),
        accepted.code.clone(),
        cancelled.code.clone(),
        expired.code.clone(),
    ];
    let mut answers = Vec::new();
    for code in &codes {
        for path in ["/v1/invitations/preview", "/v1/invitations/accept"] {
            // The attacker, and the legitimate invitee, see the same.
            for who in [&w.initech, &w.globex] {
                let a = answer(who, Method::POST, path, json!({ "code": code })).await;
                assert_eq!(a.0, 404, "{path}: {:?}", a.2);
                assert_eq!(a.2["code"], "invitation-invalid");
                answers.push(a);
            }
        }
    }
    assert!(
        answers.windows(2).all(|p| p[0] == p[1]),
        "every unusable code must be answered alike: {answers:#?}"
    );
    // The inviter sees each one's state; nothing was created by the attempts.
    let list: Vec<Invitation> = w.acme.ok(Method::GET, "/v1/invitations", None).await;
    let status = |id: &str| list.iter().find(|i| i.id == id).unwrap().status;
    assert_eq!(status(&accepted.invitation.id), InvitationStatus::Accepted);
    assert_eq!(
        status(&cancelled.invitation.id),
        InvitationStatus::Cancelled
    );
    assert_eq!(status(&expired.invitation.id), InvitationStatus::Expired);
    let (_, v) = w.initech.send(Method::GET, "/v1/partnerships", None).await;
    assert_eq!(v, json!([]));
    // Another organization cannot see or cancel Acme's invitations.
    let (_, v) = w.initech.send(Method::GET, "/v1/invitations", None).await;
    assert_eq!(v, json!([]));
    let (s, v) = w
        .initech
        .send(
            Method::POST,
            &format!("/v1/invitations/{}/cancel", expired.invitation.id),
            None,
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not-found")));
    w.server.shutdown().await;
}

/// The code is the invitation: the organization it is passed to (here a
/// third one, not the one Acme had in mind) previews and accepts it, and
/// Acme sees who did. It works once; the policy and roles are Acme's.
async fn whoever_holds_the_code_accepts_it_once(db: TestDb) {
    let w = world(db, |_| {}).await;
    let created: CreatedInvitation = w
        .acme
        .invite(json!({
            "my_role": "partner",
            "policy": {"records": "overlapping-records", "counts": {"mode": "exact"}},
            "expires_in_days": 2,
        }))
        .await;
    let inv = &created.invitation;
    assert_eq!(inv.status, InvitationStatus::Open);
    assert!(created.code.starts_with("cri_") && created.code.len() == 47);
    let (_, v) = w.acme.send(Method::GET, "/v1/invitations", None).await;
    assert!(
        !v.to_string().contains(&created.code),
        "the code is shown only once"
    );
    // Previews change nothing and show who invites to what.
    for _ in 0..2 {
        let p: InvitationPreview = w
            .initech
            .ok(
                Method::POST,
                "/v1/invitations/preview",
                Some(json!({"code": created.code})),
            )
            .await;
        assert_eq!(p.inviter.name, "Acme");
        assert_eq!((p.inviter_role, p.your_role), (Role::Partner, Role::Vendor));
        assert_eq!(p.policy, inv.policy);
        assert_eq!(p.expires_at, inv.expires_at);
    }
    let p: Partnership = w.initech.accept_code(&created.code).await;
    assert_eq!(p.status, PartnershipStatus::Active);
    assert_eq!(p.vendor.name, "Initech");
    assert_eq!(p.partner.name, "Acme");
    assert_eq!(p.my_role, Role::Vendor);
    assert_eq!(p.policy, inv.policy);
    // Used up, for the intended invitee and for the acceptor alike.
    for who in [&w.globex, &w.initech] {
        let (s, v) = who
            .send(
                Method::POST,
                "/v1/invitations/accept",
                Some(json!({"code": created.code})),
            )
            .await;
        assert_eq!((s, v["code"].as_str()), (404, Some("invitation-invalid")));
    }
    // Acme sees who accepted, and can end it.
    let mine: Vec<Partnership> = w.acme.ok(Method::GET, "/v1/partnerships", None).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, p.id);
    assert_eq!(mine[0].vendor.name, "Initech");
    let list: Vec<Invitation> = w.acme.ok(Method::GET, "/v1/invitations", None).await;
    assert_eq!(list[0].status, InvitationStatus::Accepted);
    assert_eq!(list[0].partnership_id.as_deref(), Some(p.id.as_str()));
    // The shared audit log starts with the invitation and the acceptance.
    let log: Vec<Value> = w
        .acme
        .ok(
            Method::GET,
            &format!("/v1/partnerships/{}/audit", p.id),
            None,
        )
        .await;
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["org"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("partnership.invited", "Acme"),
            ("partnership.accepted", "Initech")
        ]
    );
    let revoked: Partnership = w
        .acme
        .ok(
            Method::POST,
            &format!("/v1/partnerships/{}/revoke", p.id),
            None,
        )
        .await;
    assert_eq!(revoked.status, PartnershipStatus::Revoked);
    // After the revocation a new invitation between the two works again,
    // and the pair's budget carries over (it belongs to the pair).
    let again = w.initech.accept_code(&invite(&w.acme).await.code).await;
    assert_ne!(again.id, p.id);
    assert_eq!(again.vendor.name, "Acme");
    w.server.shutdown().await;
}

/// A code expires: `expires_in_days` (1 up to the deployment's limit) sets
/// the time, after which the code is refused and the invitation is listed
/// as expired.
async fn codes_expire(db: TestDb) {
    let w = world(db, |c| c.invitation_expiry_days = 3).await;
    let before = cleanroom_server::now();
    let default: CreatedInvitation = invite(&w.acme).await;
    let one: CreatedInvitation = w
        .acme
        .invite(json!({"my_role": "vendor", "expires_in_days": 1}))
        .await;
    let at = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    let days = |c: &CreatedInvitation| (at(&c.invitation.expires_at) - before + 5) / 86_400;
    assert_eq!(days(&default), 3, "the deployment's expiry is the default");
    assert_eq!(days(&one), 1);
    for bad in [0, 4] {
        let (s, v) = w
            .acme
            .send(
                Method::POST,
                "/v1/invitations",
                Some(json!({"my_role": "vendor", "expires_in_days": bad})),
            )
            .await;
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid-expiry")));
    }
    set_expiry(&w.db, &one.invitation.id, cleanroom_server::now()).await;
    let (s, v) = w
        .globex
        .send(
            Method::POST,
            "/v1/invitations/accept",
            Some(json!({"code": one.code})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("invitation-invalid")));
    let list: Vec<Invitation> = w.acme.ok(Method::GET, "/v1/invitations", None).await;
    let one_now = list.iter().find(|i| i.id == one.invitation.id).unwrap();
    assert_eq!(one_now.status, InvitationStatus::Expired);
    // The other one still works.
    w.globex.accept_code(&default.code).await;
    w.server.shutdown().await;
}

/// Guessing codes in a loop runs into the failed-attempt limiter: after
/// `auth_failures_per_minute` wrong codes the guesser gets 429s, whatever
/// it presents, right code included.
async fn guessing_codes_is_rate_limited(db: TestDb) {
    let w = world(db, |c| c.auth_failures_per_minute = 5).await;
    let real = invite(&w.acme).await;
    // Five wrong codes are 404s, the sixth tips the guesser over the limit.
    for i in 0..5 {
        let (s, v) = w
            .initech
            .send(
                Method::POST,
                "/v1/invitations/accept",
                Some(json!({"code": guessed_code(i)})),
            )
            .await;
        assert_eq!((s, v["code"].as_str()), (404, Some("invitation-invalid")));
    }
    let too_many = Some("too-many-failed-attempts");
    let (s, v) = w
        .initech
        .send(
            Method::POST,
            "/v1/invitations/accept",
            Some(json!({"code": guessed_code(5)})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (429, too_many));
    // Blocked, even a right code is not looked at.
    let (s, v) = w
        .initech
        .send(
            Method::POST,
            "/v1/invitations/preview",
            Some(json!({"code": real.code})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (429, too_many));
    w.server.shutdown().await;
}

macro_rules! on_both_backends {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$body(TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$body(TestDb::postgres().await).await;
                }
            )*
        }
    };
}

on_both_backends! {
    probing_names_learns_nothing => probing_names_learns_nothing;
    wrong_expired_cancelled_and_used_codes_look_the_same => unusable_codes_look_the_same;
    whoever_holds_the_code_accepts_it_once => whoever_holds_the_code_accepts_it_once;
    codes_expire => codes_expire;
    guessing_codes_is_rate_limited => guessing_codes_is_rate_limited;
}
