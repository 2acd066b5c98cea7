//! Handler tests through `Router::oneshot`: the authorization matrix, bad
//! input, and problem+json for every error including axum's own rejections.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cleanroom_core::api::{Scope, SessionState};
use cleanroom_core::wire::BlindedRecord;
use cleanroom_core::{AccountKey, KeyType, SessionSecret};
use cleanroom_server::problem::ProblemType;
use cleanroom_server::store::Store as _;
use cleanroom_server::{AppState, Config, bootstrap};
use common::{TestDb, call_router};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

struct Fixture {
    _db: TestDb,
    router: Router,
    state: AppState,
    a_admin: String,
    a_view: String,
    a_expired: String,
    b_admin: String,
    c_admin: String,
    partnership: String,
    session: String,
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Body,
    content_type: Option<&str>,
) -> (StatusCode, String, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    call_router(router, req.body(body).unwrap()).await
}

async fn json(
    router: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let (s, _, v) = call(
        router,
        method,
        path,
        Some(token),
        Body::from(body.to_string()),
        Some("application/json"),
    )
    .await;
    (s, v)
}

fn fixture_config(db: &TestDb) -> Config {
    let mut config = Config::for_tests(db.url());
    config.max_chunk_bytes = 48 * 100;
    config
}

async fn fixture() -> Fixture {
    let db = TestDb::sqlite();
    let (router, state) = cleanroom_server::app(fixture_config(&db)).await.unwrap();
    fixture_in(db, router, state).await
}

/// Three organizations, an accepted A–B partnership and one open session, on
/// the given router (from `app`, or over a `spawn`ed server's state).
async fn fixture_in(db: TestDb, router: Router, state: AppState) -> Fixture {
    let (_, a_admin) = bootstrap::create_org_in(&state.store, "A").await.unwrap();
    let (_, b_admin) = bootstrap::create_org_in(&state.store, "B").await.unwrap();
    let (_, c_admin) = bootstrap::create_org_in(&state.store, "C").await.unwrap();
    let a_view = bootstrap::create_token_in(&state.store, "A", Scope::View, "ro", None)
        .await
        .unwrap();
    let a_expired = bootstrap::create_token_in(
        &state.store,
        "A",
        Scope::Admin,
        "old",
        Some(cleanroom_server::now() - 10),
    )
    .await
    .unwrap();
    let (a_admin, b_admin, c_admin) = (
        a_admin.expose().to_owned(),
        b_admin.expose().to_owned(),
        c_admin.expose().to_owned(),
    );
    let (s, inv) = json(
        &router,
        "POST",
        "/v1/invitations",
        &a_admin,
        serde_json::json!({"my_role": "vendor"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let (s, p) = json(
        &router,
        "POST",
        "/v1/invitations/accept",
        &b_admin,
        serde_json::json!({"code": inv["code"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "active");
    let partnership = p["id"].as_str().unwrap().to_owned();
    let (s, sess) = json(
        &router,
        "POST",
        &format!("/v1/partnerships/{partnership}/sessions"),
        &a_admin,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sess}");
    Fixture {
        _db: db,
        router,
        state,
        a_admin,
        a_view: a_view.expose().to_owned(),
        a_expired: a_expired.expose().to_owned(),
        b_admin,
        c_admin,
        partnership,
        session: sess["id"].as_str().unwrap().to_owned(),
    }
}

fn record(secret: &SessionSecret, row: u32, kt: KeyType, value: &str) -> Vec<u8> {
    let mut out = Vec::new();
    BlindedRecord {
        row_id: row,
        populations: 1,
        key_type: kt,
        point: secret
            .blind(&AccountKey::from_normalized(kt, value))
            .to_bytes(),
    }
    .encode_into(&mut out);
    out
}

/// (method, path, needed scope, body, content type)
fn endpoints(f: &Fixture) -> Vec<(&'static str, String, Scope, Body, Option<&'static str>)> {
    let p = &f.partnership;
    let s = &f.session;
    let j = |v: serde_json::Value| Body::from(v.to_string());
    let commit = serde_json::json!({"protocol_version": cleanroom_core::protocol::protocol_version(), "populations": ["a"], "chunks": 1, "records": 1});
    let rec = record(&SessionSecret::generate(), 1, KeyType::Domain, "acme.com");
    vec![
        (
            "GET",
            format!("/v1/partnerships/{p}"),
            Scope::View,
            Body::empty(),
            None,
        ),
        (
            "POST",
            format!("/v1/partnerships/{p}/accept"),
            Scope::Admin,
            Body::empty(),
            None,
        ),
        (
            "PUT",
            format!("/v1/partnerships/{p}/policy"),
            Scope::Admin,
            j(serde_json::json!({"policy": {}})),
            Some("application/json"),
        ),
        (
            "POST",
            format!("/v1/partnerships/{p}/revoke"),
            Scope::Admin,
            Body::empty(),
            None,
        ),
        (
            "GET",
            format!("/v1/partnerships/{p}/audit"),
            Scope::View,
            Body::empty(),
            None,
        ),
        (
            "POST",
            format!("/v1/partnerships/{p}/sessions"),
            Scope::Upload,
            Body::empty(),
            None,
        ),
        (
            "GET",
            format!("/v1/partnerships/{p}/sessions"),
            Scope::View,
            Body::empty(),
            None,
        ),
        (
            "GET",
            format!("/v1/sessions/{s}"),
            Scope::View,
            Body::empty(),
            None,
        ),
        (
            "POST",
            format!("/v1/sessions/{s}/cancel"),
            Scope::Upload,
            Body::empty(),
            None,
        ),
        (
            "PUT",
            format!("/v1/sessions/{s}/blinded/0"),
            Scope::Upload,
            Body::from(rec.clone()),
            Some("application/octet-stream"),
        ),
        (
            "POST",
            format!("/v1/sessions/{s}/blinded/commit"),
            Scope::Upload,
            j(commit),
            Some("application/json"),
        ),
        (
            "GET",
            format!("/v1/sessions/{s}/counterpart/points"),
            Scope::Upload,
            Body::empty(),
            None,
        ),
        (
            "PUT",
            format!("/v1/sessions/{s}/tokens/0"),
            Scope::Upload,
            Body::from(vec![7u8; 16]),
            Some("application/octet-stream"),
        ),
        (
            "POST",
            format!("/v1/sessions/{s}/tokens/commit"),
            Scope::Upload,
            j(serde_json::json!({"chunks": 1, "records": 1})),
            Some("application/json"),
        ),
        (
            "GET",
            format!("/v1/sessions/{s}/results"),
            Scope::View,
            Body::empty(),
            None,
        ),
        (
            "GET",
            format!("/v1/sessions/{s}/overlaps"),
            Scope::View,
            Body::empty(),
            None,
        ),
    ]
}

/// A problem+json answer with `expected` status, whose code is a listed
/// [`ProblemType`] answered with that status and title.
fn assert_problem(status: StatusCode, ct: &str, v: &serde_json::Value, expected: StatusCode) {
    assert_eq!(status, expected, "{v}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(v["status"], expected.as_u16());
    let code = v["code"].as_str().unwrap();
    assert_eq!(v["type"], format!("urn:cleanroom:problem:{code}"));
    let p = ProblemType::from_code(code).unwrap_or_else(|| panic!("{code} is not a ProblemType"));
    assert_eq!(p.status(), expected, "{code}");
    assert_eq!(v["title"], p.title(), "{code}");
}

/// [`assert_problem`] for a given problem type.
fn assert_problem_type(status: StatusCode, ct: &str, v: &serde_json::Value, expected: ProblemType) {
    assert_problem(status, ct, v, expected.status());
    assert_eq!(v["code"], expected.code(), "{v}");
}

#[tokio::test]
async fn foreign_org_gets_404_everywhere() {
    let f = fixture().await;
    for (m, path, _, body, ct) in endpoints(&f) {
        let (s, ctype, v) = call(&f.router, m, &path, Some(&f.c_admin), body, ct).await;
        assert_problem(s, &ctype, &v, StatusCode::NOT_FOUND);
        assert!(!v.to_string().contains(&f.session), "{m} {path} leaks");
    }
    // Unknown ids look the same as foreign ones.
    let (s, ct, v) = call(
        &f.router,
        "GET",
        "/v1/sessions/nope",
        Some(&f.a_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_problem(s, &ct, &v, StatusCode::NOT_FOUND);
    // The foreign org's own lists show nothing of A's.
    let (_, _, v) = call(
        &f.router,
        "GET",
        "/v1/partnerships",
        Some(&f.c_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(v, serde_json::json!([]));
    // Nothing changed.
    let s = f.state.store.session(&f.session).await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::AwaitingBlinded);
}

#[tokio::test]
async fn no_token_401_view_token_403_expired_401() {
    let f = fixture().await;
    let mut all = endpoints(&f);
    all.push(("GET", "/v1/me".into(), Scope::View, Body::empty(), None));
    all.push((
        "GET",
        "/v1/tokens".into(),
        Scope::Admin,
        Body::empty(),
        None,
    ));
    all.push((
        "DELETE",
        "/v1/tokens/cr_whatever".into(),
        Scope::Admin,
        Body::empty(),
        None,
    ));
    let code = || Body::from(r#"{"code": "cri_x"}"#);
    let invitations: Vec<(&'static str, String, Scope, Body, Option<&'static str>)> = vec![
        (
            "POST",
            "/v1/invitations".into(),
            Scope::Admin,
            Body::from(r#"{"my_role": "vendor"}"#),
            Some("application/json"),
        ),
        (
            "GET",
            "/v1/invitations".into(),
            Scope::Admin,
            Body::empty(),
            None,
        ),
        (
            "POST",
            "/v1/invitations/inv_x/cancel".into(),
            Scope::Admin,
            Body::empty(),
            None,
        ),
        (
            "POST",
            "/v1/invitations/preview".into(),
            Scope::Admin,
            code(),
            Some("application/json"),
        ),
        (
            "POST",
            "/v1/invitations/accept".into(),
            Scope::Admin,
            code(),
            Some("application/json"),
        ),
    ];
    for (m, path, _, body, ct) in invitations {
        let (s, ctype, v) = call(&f.router, m, &path, Some(&f.a_view), body, ct).await;
        assert_problem(s, &ctype, &v, StatusCode::FORBIDDEN);
    }
    let invitations = [
        ("POST", "/v1/invitations"),
        ("GET", "/v1/invitations"),
        ("POST", "/v1/invitations/inv_x/cancel"),
        ("POST", "/v1/invitations/preview"),
        ("POST", "/v1/invitations/accept"),
    ];
    for (m, path) in invitations {
        let (s, ctype, v) = call(&f.router, m, path, None, code(), Some("application/json")).await;
        assert_problem(s, &ctype, &v, StatusCode::UNAUTHORIZED);
    }
    for (m, path, _, body, ct) in all {
        let (s, ctype, v) = call(&f.router, m, &path, None, body, ct).await;
        assert_problem(s, &ctype, &v, StatusCode::UNAUTHORIZED);
    }
    for (m, path, _, body, ct) in endpoints(&f) {
        let (s, ctype, v) = call(&f.router, m, &path, Some(&f.a_expired), body, ct).await;
        assert_problem(s, &ctype, &v, StatusCode::UNAUTHORIZED);
        assert_eq!(v["code"], "token-expired");
    }
    for (m, path, needed, body, ct) in endpoints(&f) {
        if needed == Scope::View {
            continue;
        }
        let (s, ctype, v) = call(&f.router, m, &path, Some(&f.a_view), body, ct).await;
        assert_problem(s, &ctype, &v, StatusCode::FORBIDDEN);
    }
    let (s, _, v) = call(
        &f.router,
        "GET",
        "/v1/me",
        Some(&f.a_view),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["org"]["name"], "A");
    let (s, ct, v) = call(
        &f.router,
        "GET",
        "/v1/me",
        Some("cr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Body::empty(),
        None,
    )
    .await;
    assert_problem(s, &ct, &v, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_lifecycle_is_audited_and_revocation_works() {
    let f = fixture().await;
    let (s, v) = json(
        &f.router,
        "POST",
        "/v1/tokens",
        &f.a_admin,
        serde_json::json!({"label": "sync", "scope": "upload", "expires_in_days": 30}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["token"].as_str().unwrap().to_owned();
    let id = v["info"]["id"].as_str().unwrap().to_owned();
    // The id is public (the partner's audit log shows it): nothing of it
    // may come from the secret.
    assert!(id.starts_with("tok_") && secret.starts_with("cr_") && secret.len() > 40);
    let secret_body = &secret[3..];
    assert!(
        (0..id.len().saturating_sub(4))
            .all(|i| !secret_body.contains(&id[i..(i + 5).min(id.len())])),
        "token id {id} shares a run of characters with its secret"
    );
    let (s, _, _) = call(
        &f.router,
        "GET",
        "/v1/me",
        Some(&secret),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(
        &f.router,
        "DELETE",
        &format!("/v1/tokens/{id}"),
        Some(&f.b_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = call(
        &f.router,
        "DELETE",
        &format!("/v1/tokens/{id}"),
        Some(&f.a_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(
        &f.router,
        "GET",
        "/v1/me",
        Some(&secret),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, _, audit) = call(
        &f.router,
        "GET",
        &format!("/v1/partnerships/{}/audit", f.partnership),
        Some(&f.b_admin),
        Body::empty(),
        None,
    )
    .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"token.created") && actions.contains(&"token.revoked"),
        "{actions:?}"
    );
    assert!(!audit.to_string().contains(&secret));
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem() {
    let f = fixture().await;
    let r = &f.router;
    let s = &f.session;
    let secret = SessionSecret::generate();
    let put = |body: Vec<u8>| {
        let path = format!("/v1/sessions/{s}/blinded/0");
        let token = f.a_admin.clone();
        async move {
            call(
                r,
                "PUT",
                &path,
                Some(&token),
                Body::from(body),
                Some("application/octet-stream"),
            )
            .await
        }
    };
    // Malformed point.
    let mut bad = record(&secret, 1, KeyType::Domain, "acme.com");
    bad[16..48].fill(0xff);
    let (st, ct, v) = put(bad).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "malformed-records");
    // Wrong record length.
    let (st, ct, v) = put(record(&secret, 1, KeyType::Domain, "acme.com")[..47].to_vec()).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    // Unknown key type / reserved bytes.
    let mut bad = record(&secret, 1, KeyType::Domain, "acme.com");
    bad[12] = 9;
    let (st, ct, v) = put(bad).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    // Two names on one row (a row may carry up to 8 domains, but one name).
    let mut dup = record(&secret, 1, KeyType::Name, "gb:acme");
    dup.extend(record(&secret, 1, KeyType::Name, "gb:acme two"));
    let (st, ct, v) = put(dup).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "duplicate-key");
    // Nine domains on one row.
    let nine: Vec<u8> = (0..9)
        .flat_map(|i| record(&secret, 1, KeyType::Domain, &format!("acme{i}.com")))
        .collect();
    let (st, ct, v) = put(nine).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "duplicate-key");
    // Eleven keys on one row, none over its type's limit: 8 domains, a name,
    // a DUNS and a city-qualified name (10 at most, the K of the noise).
    let mut eleven: Vec<u8> = (0..8)
        .flat_map(|i| record(&secret, 1, KeyType::Domain, &format!("acme{i}.com")))
        .collect();
    eleven.extend(record(&secret, 1, KeyType::Name, "gb:acme"));
    eleven.extend(record(&secret, 1, KeyType::Duns, "150483782"));
    eleven.extend(record(&secret, 1, KeyType::CityName, "gb:london:acme"));
    let (st, ct, v) = put(eleven).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "duplicate-key");
    // Empty chunk.
    let (st, ct, v) = put(Vec::new()).await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    // Oversized chunk (limit 100 records here) → 413 problem.
    let (st, ct, v) = put(vec![0u8; 48 * 101]).await;
    assert_problem(st, &ct, &v, StatusCode::PAYLOAD_TOO_LARGE);
    // Oversized JSON (64 KiB).
    let big = serde_json::json!({"org": "x".repeat(70_000), "my_role": "vendor"});
    let (st, ct, v) = call(
        r,
        "POST",
        "/v1/invitations",
        Some(&f.a_admin),
        Body::from(big.to_string()),
        Some("application/json"),
    )
    .await;
    assert_problem(st, &ct, &v, StatusCode::PAYLOAD_TOO_LARGE);
    // Bad JSON, wrong media type, missing fields, bad enum, bad path parameter.
    let (st, ct, v) = call(
        r,
        "POST",
        "/v1/invitations",
        Some(&f.a_admin),
        Body::from("{"),
        Some("application/json"),
    )
    .await;
    assert_problem(st, &ct, &v, StatusCode::BAD_REQUEST);
    let (st, ct, v) = call(
        r,
        "POST",
        "/v1/invitations",
        Some(&f.a_admin),
        Body::from("{}"),
        Some("text/plain"),
    )
    .await;
    assert_problem(st, &ct, &v, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (st, ct, v) = call(
        r,
        "POST",
        "/v1/invitations",
        Some(&f.a_admin),
        Body::from("{}"),
        Some("application/json"),
    )
    .await;
    assert_problem(st, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, ct, v) = call(
        r,
        "PUT",
        &format!("/v1/sessions/{s}/blinded/notanumber"),
        Some(&f.a_admin),
        Body::from(vec![0u8; 48]),
        Some("application/octet-stream"),
    )
    .await;
    assert!(st.is_client_error());
    assert_eq!(ct, "application/problem+json", "{v}");
    let (st, ct, v) = call(r, "GET", "/v1/nope", Some(&f.a_admin), Body::empty(), None).await;
    assert_problem(st, &ct, &v, StatusCode::NOT_FOUND);
    let (st, ct, v) = call(r, "DELETE", "/v1/me", Some(&f.a_admin), Body::empty(), None).await;
    assert_problem(st, &ct, &v, StatusCode::METHOD_NOT_ALLOWED);
    // Invitations by name are gone; an expiry beyond the deployment's; one's
    // own code; a code from an organization one is already partnered with.
    let (st, ct, v) = call(
        r,
        "POST",
        "/v1/partnerships",
        Some(&f.a_admin),
        Body::from(r#"{"org": "B", "my_role": "vendor"}"#),
        Some("application/json"),
    )
    .await;
    assert_problem(st, &ct, &v, StatusCode::METHOD_NOT_ALLOWED);
    let (st, v) = json(
        r,
        "POST",
        "/v1/invitations",
        &f.a_admin,
        serde_json::json!({"my_role": "vendor", "expires_in_days": 8}),
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-expiry"))
    );
    let (st, inv) = json(
        r,
        "POST",
        "/v1/invitations",
        &f.a_admin,
        serde_json::json!({"my_role": "vendor"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{inv}");
    let code = serde_json::json!({"code": inv["code"]});
    let (st, v) = json(
        r,
        "POST",
        "/v1/invitations/accept",
        &f.a_admin,
        code.clone(),
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("self-partnership"))
    );
    let (st, v) = json(
        r,
        "POST",
        "/v1/invitations/accept",
        &f.b_admin,
        code.clone(),
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("partnership-exists"))
    );
    // Neither refusal used the code up: C can still accept it.
    let (st, v) = json(r, "POST", "/v1/invitations/accept", &f.c_admin, code).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // Commit: wrong protocol version, missing chunks, wrong record count.
    let (st, _, _) = put(record(&secret, 1, KeyType::Name, "gb:acme")).await;
    assert_eq!(st, StatusCode::OK);
    let commit = |pv: String, chunks: u32, records: u64| serde_json::json!({"protocol_version": pv, "populations": ["a"], "chunks": chunks, "records": records});
    let pv = cleanroom_core::protocol::protocol_version();
    let path = format!("/v1/sessions/{s}/blinded/commit");
    let (st, v) = json(
        r,
        "POST",
        &path,
        &f.a_admin,
        commit("cleanroom-v0".into(), 1, 1),
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("protocol-version-mismatch")
        )
    );
    let (st, v) = json(r, "POST", &path, &f.a_admin, commit(pv.clone(), 2, 1)).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("chunks-mismatch"))
    );
    let (st, v) = json(r, "POST", &path, &f.a_admin, commit(pv.clone(), 1, 2)).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("record-count-mismatch")
        )
    );
    // Cross-chunk duplicate row caught at commit.
    let (st, _, _) = call(
        r,
        "PUT",
        &format!("/v1/sessions/{s}/blinded/1"),
        Some(&f.a_admin),
        Body::from(record(&secret, 1, KeyType::Name, "gb:acme two")),
        Some("application/octet-stream"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = json(r, "POST", &path, &f.a_admin, commit(pv.clone(), 2, 2)).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("duplicate-key"))
    );
    // Token chunk with a partial record, and before its time.
    let (st, _, v) = call(
        r,
        "PUT",
        &format!("/v1/sessions/{s}/tokens/0"),
        Some(&f.a_admin),
        Body::from(vec![0u8; 15]),
        Some("application/octet-stream"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Closed session: cancel, then every upload is a 409.
    let (st, _, _) = call(
        r,
        "POST",
        &format!("/v1/sessions/{s}/cancel"),
        Some(&f.b_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, ct, v) = put(record(&secret, 2, KeyType::Domain, "b.com")).await;
    assert_problem(st, &ct, &v, StatusCode::CONFLICT);
    let (st, _, _) = call(
        r,
        "POST",
        &format!("/v1/sessions/{s}/cancel"),
        Some(&f.a_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(f.state.store.chunk_row_counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn policy_needs_both_sides_and_revoke_cancels() {
    let f = fixture().await;
    let r = &f.router;
    let path = format!("/v1/partnerships/{}/policy", f.partnership);
    let new = serde_json::json!({"policy": {"records": "overlapping-records", "vendor_shares_white_space": true}});
    let (st, v) = json(r, "PUT", &path, &f.a_admin, new.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["policy"]["records"], "counts");
    assert_eq!(v["pending_policy"]["proposed_by"], "vendor");
    let (st, v) = json(r, "PUT", &path, &f.b_admin, new).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["policy"]["records"], "overlapping-records");
    assert!(v["pending_policy"].is_null());
    // The open session keeps the policy it was created under: overlaps are refused.
    let (st, _, v) = call(
        r,
        "GET",
        &format!("/v1/sessions/{}/overlaps", f.session),
        Some(&f.a_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // Upload something, then revoke: the session is cancelled and its data deleted.
    let secret = SessionSecret::generate();
    let (st, _, _) = call(
        r,
        "PUT",
        &format!("/v1/sessions/{}/blinded/0", f.session),
        Some(&f.a_admin),
        Body::from(record(&secret, 1, KeyType::Domain, "a.com")),
        Some("application/octet-stream"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(f.state.store.chunk_row_counts().await.unwrap(), (1, 0));
    let (st, v) = json(
        r,
        "POST",
        &format!("/v1/partnerships/{}/revoke", f.partnership),
        &f.b_admin,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "revoked");
    assert_eq!(f.state.store.chunk_row_counts().await.unwrap(), (0, 0));
    let s = f.state.store.session(&f.session).await.unwrap().unwrap();
    assert_eq!(s.state, SessionState::Cancelled);
    let (st, _) = json(
        r,
        "POST",
        &format!("/v1/partnerships/{}/sessions", f.partnership),
        &f.a_admin,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test]
async fn ops_endpoints() {
    let f = fixture().await;
    let (st, _, _) = call(&f.router, "GET", "/healthz", None, Body::empty(), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = call(&f.router, "GET", "/readyz", None, Body::empty(), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, v) = call(
        &f.router,
        "GET",
        "/v1/openapi.json",
        None,
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["paths"]["/v1/sessions/{id}/blinded/{seq}"]["put"].is_object());
    let resp = f
        .router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("cleanroom_sessions_created_total 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/v1/partnerships/{id}/sessions\""),
        "{text}"
    );
    assert!(!text.contains(&f.session));
}

#[tokio::test]
async fn long_poll_answers_when_the_state_changes() {
    let f = fixture().await;
    let path = format!(
        "/v1/sessions/{}?while_state=awaiting_blinded&wait=20",
        f.session
    );
    // B (the other member) holds a long poll; A cancels meanwhile.
    let poll = {
        let (router, token, path) = (f.router.clone(), f.b_admin.clone(), path.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = call(&router, "GET", &path, Some(&token), Body::empty(), None).await;
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !poll.is_finished(),
        "the poll must be held while nothing changes"
    );
    let (s, v) = json(
        &f.router,
        "POST",
        &format!("/v1/sessions/{}/cancel", f.session),
        &f.a_admin,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ((status, _, v), held) = poll.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "cancelled");
    // Answered by the change, not by the 20 s timeout.
    assert!(held < std::time::Duration::from_secs(15), "held {held:?}");
}

/// `GET /v1/sessions/{id}?{query}` on the fixture's session.
async fn get_session(
    f: &Fixture,
    query: &str,
    token: &str,
) -> (StatusCode, String, serde_json::Value) {
    let path = format!("/v1/sessions/{}?{query}", f.session);
    call(&f.router, "GET", &path, Some(token), Body::empty(), None).await
}

#[tokio::test]
async fn long_poll_returns_at_once_or_at_its_deadline() {
    let f = fixture().await;
    // Already in another state: no wait at all.
    let (s, _, v) = get_session(&f, "while_state=computing&wait=20", &f.a_admin).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["state"], "awaiting_blinded");
    // Nothing changes: the answer comes after the wait, unchanged.
    let started = std::time::Instant::now();
    let (s, _, v) = get_session(&f, "while_state=awaiting_blinded&wait=1", &f.a_view).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["state"], "awaiting_blinded");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    // A foreign organization gets its 404 at once, whatever it asks to wait for.
    let (s, ct, v) = get_session(&f, "while_state=awaiting_blinded&wait=20", &f.c_admin).await;
    assert_problem(s, &ct, &v, StatusCode::NOT_FOUND);
    // An unknown state or a bad number is a 400 problem.
    for q in [
        "while_state=sleeping&wait=1",
        "while_state=computing&wait=-1",
    ] {
        let (s, ct, v) = get_session(&f, q, &f.a_admin).await;
        assert_problem(s, &ct, &v, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn long_polls_end_when_the_server_shuts_down() {
    let db = TestDb::sqlite();
    let server = cleanroom_server::spawn(fixture_config(&db)).await.unwrap();
    let state = server.state().clone();
    let f = fixture_in(db, cleanroom_server::routes::router(state.clone()), state).await;
    let url = format!(
        "{}/v1/sessions/{}?while_state=awaiting_blinded&wait=20",
        server.base_url(),
        f.session
    );
    cleanroom_server::tls::install_crypto_provider();
    let token = f.a_admin.clone();
    let poll = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    server.shutdown().await;
    // Graceful shutdown let the held request finish instead of sitting out its 20 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let resp = poll.await.unwrap().expect("the held poll is answered");
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Chunk uploads take only `application/octet-stream` (415 otherwise) and a
/// sequence number has one spelling (`+1` and `01` are not chunk 1).
#[tokio::test]
async fn chunk_media_type_and_seq_are_strict() {
    let f = fixture().await;
    let r = &f.router;
    let s = &f.session;
    let body = record(&SessionSecret::generate(), 1, KeyType::Domain, "acme.com");
    for ct in [None, Some("application/json"), Some("text/plain")] {
        let (st, ctype, v) = call(
            r,
            "PUT",
            &format!("/v1/sessions/{s}/blinded/0"),
            Some(&f.a_admin),
            Body::from(body.clone()),
            ct,
        )
        .await;
        assert_problem(st, &ctype, &v, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(v["code"], "unsupported-media-type");
    }
    for kind in ["blinded", "tokens"] {
        for seq in ["+1", "01", "-1", "4294967296", "1e3", "%201"] {
            let (st, ctype, v) = call(
                r,
                "PUT",
                &format!("/v1/sessions/{s}/{kind}/{seq}"),
                Some(&f.a_admin),
                Body::from(body.clone()),
                Some("application/octet-stream"),
            )
            .await;
            assert_problem(st, &ctype, &v, StatusCode::BAD_REQUEST);
            assert_eq!(v["code"], "bad-request", "{kind}/{seq}");
        }
    }
    let (st, _, v) = call(
        r,
        "PUT",
        &format!("/v1/sessions/{s}/blinded/0"),
        Some(&f.a_admin),
        Body::from(body),
        Some("application/octet-stream; charset=binary"),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// API answers, successes and problems alike, are never cached.
#[tokio::test]
async fn api_answers_are_not_cached() {
    let f = fixture().await;
    for (path, token) in [("/v1/me", Some(f.a_admin.as_str())), ("/v1/me", None)] {
        let mut req = Request::builder().method("GET").uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = f
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            resp.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path} {}",
            resp.status()
        );
    }
}

/// What axum and the middleware answer by themselves (body too large, wrong
/// media type, bad JSON, unknown path or method, too many header bytes or
/// fields) is a problem with a listed code, like the handlers' own problems.
#[tokio::test]
async fn framework_rejections_are_listed_problems() {
    let f = fixture().await;
    let r = &f.router;
    let s = &f.session;
    let a = Some(f.a_admin.as_str());
    let chunk = format!("/v1/sessions/{s}/blinded/0");
    let json_body = || Body::from(r#"{"org": "B", "my_role": "vendor"}"#);
    let big_json = serde_json::json!({"org": "x".repeat(70_000), "my_role": "vendor"});
    let cases: Vec<(&str, &str, Body, Option<&str>, ProblemType)> = vec![
        (
            "POST",
            "/v1/invitations",
            Body::from(big_json.to_string()),
            Some("application/json"),
            ProblemType::PayloadTooLarge,
        ),
        (
            "PUT",
            &chunk,
            Body::from(vec![0u8; 48 * 101]),
            Some("application/octet-stream"),
            ProblemType::PayloadTooLarge,
        ),
        (
            "POST",
            "/v1/invitations",
            json_body(),
            Some("text/plain"),
            ProblemType::UnsupportedMediaType,
        ),
        (
            "POST",
            "/v1/invitations",
            json_body(),
            None,
            ProblemType::UnsupportedMediaType,
        ),
        (
            "PUT",
            &chunk,
            Body::from(vec![0u8; 48]),
            Some("application/json"),
            ProblemType::UnsupportedMediaType,
        ),
        (
            "POST",
            "/v1/invitations",
            Body::from("{"),
            Some("application/json"),
            ProblemType::BadRequest,
        ),
        (
            "POST",
            "/v1/invitations",
            Body::from(r#"{"org": "B", "my_role": "reseller"}"#),
            Some("application/json"),
            ProblemType::Unprocessable,
        ),
        (
            "GET",
            "/v1/nope",
            Body::empty(),
            None,
            ProblemType::NotFound,
        ),
        ("GET", "/nope", Body::empty(), None, ProblemType::NotFound),
        (
            "PATCH",
            "/v1/me",
            Body::empty(),
            None,
            ProblemType::MethodNotAllowed,
        ),
    ];
    for (method, path, body, ct, expected) in cases {
        let (st, ctype, v) = call(r, method, path, a, body, ct).await;
        assert_problem_type(st, &ctype, &v, expected);
    }

    // Header fields: one too many, or one byte too many.
    let limit = cleanroom_server::routes::MAX_HEADER_BYTES;
    let fields = cleanroom_server::routes::MAX_HEADER_FIELDS;
    let too_many = (0..fields).fold(Request::builder().uri("/v1/me"), |req, i| {
        req.header(format!("x-filler-{i}"), "a")
    });
    // "authorization: Bearer <token>" and the filler field, 4 bytes each extra.
    let auth = "authorization".len() + "Bearer ".len() + f.a_admin.len() + 4;
    let filler = limit - auth - "x-filler".len() - 4 + 1;
    let too_long = Request::builder()
        .uri("/v1/me")
        .header("x-filler", "a".repeat(filler));
    let just_fits = Request::builder()
        .uri("/v1/me")
        .header("x-filler", "a".repeat(filler - 1));
    for (req, expected) in [
        (too_many, Some(ProblemType::HeadersTooLarge)),
        (too_long, Some(ProblemType::HeadersTooLarge)),
        (just_fits, None),
    ] {
        let req = req
            .header("authorization", format!("Bearer {}", f.a_admin))
            .body(Body::empty())
            .unwrap();
        let resp = r.clone().oneshot(req).await.unwrap();
        let st = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        match expected {
            Some(p) => assert_problem_type(st, &ct, &v, p),
            None => assert_eq!(st, StatusCode::OK, "{v}"),
        }
    }
}

/// A client on another protocol version is refused at its first blinded
/// commit, and the problem says which version the server speaks.
#[tokio::test]
async fn another_protocol_version_is_refused_with_the_servers_version() {
    let f = fixture().await;
    let r = &f.router;
    let s = &f.session;
    let record = record(&SessionSecret::generate(), 1, KeyType::Domain, "acme.com");
    let (st, _, v) = call(
        r,
        "PUT",
        &format!("/v1/sessions/{s}/blinded/0"),
        Some(&f.a_admin),
        Body::from(record),
        Some("application/octet-stream"),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ours = cleanroom_core::protocol::protocol_version();
    let (st, ct, v) = call(
        r,
        "POST",
        &format!("/v1/sessions/{s}/blinded/commit"),
        Some(&f.a_admin),
        Body::from(
            serde_json::json!({"protocol_version": "cleanroom-v1", "populations": ["a"], "chunks": 1, "records": 1})
                .to_string(),
        ),
        Some("application/json"),
    )
    .await;
    assert_problem_type(st, &ct, &v, ProblemType::ProtocolVersionMismatch);
    assert_eq!(v["protocol_version"], ours.as_str());
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(&ours) && detail.contains("cleanroom-v1"),
        "{detail}"
    );
    // The limits a client reads before it creates or joins a session name
    // the same version.
    let (st, _, limits) = call(
        r,
        "GET",
        "/v1/limits",
        Some(&f.a_admin),
        Body::empty(),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(limits["protocol_version"], ours.as_str());
}
