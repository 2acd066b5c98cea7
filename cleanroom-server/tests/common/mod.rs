//! Shared test support: databases, generated accounts, a client that blinds
//! like a real one, and the plaintext expectation.
#![allow(dead_code, clippy::needless_range_loop)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cleanroom_core::api::{
    CommitBlinded, CommitTokens, CountsMode, CreateInvitation, CreatedInvitation, Partnership,
    Role, Session, SessionResults, SharingPolicy,
};
use cleanroom_core::protocol::protocol_version;
use cleanroom_core::wire::BlindedRecord;
use cleanroom_core::{AccountKey, KeyType, SessionSecret};
use http_body_util::BodyExt as _;
use sqlx::Connection as _;
use tower::ServiceExt as _;

/// A database for one test; PostgreSQL ones are created and dropped per test.
pub enum TestDb {
    /// A temporary SQLite file.
    Sqlite(tempfile::TempDir, String),
    /// A uniquely named PostgreSQL database.
    Pg {
        url: String,
        admin: String,
        name: String,
    },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("cleanroom.db").display());
        TestDb::Sqlite(dir, url)
    }

    /// Fails (never skips) when PostgreSQL is unreachable.
    pub async fn postgres() -> TestDb {
        let admin = std::env::var("CLEANROOM_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("cleanroom_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL must be reachable at CLEANROOM_TEST_PG for the PostgreSQL tests");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        let base = admin.split('?').next().unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        TestDb::Pg {
            url: format!("{prefix}/{name}"),
            admin,
            name,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite(_, url) => url,
            TestDb::Pg { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Pg { admin, name, .. } = self {
            let (admin, name) = (admin.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// One generated CRM account.
#[derive(Clone, Debug)]
pub struct Account {
    pub row: u32,
    pub pops: u64,
    pub domain: Option<String>,
    pub name: Option<String>,
    pub duns: Option<String>,
}

impl Account {
    pub fn keys(&self) -> Vec<AccountKey> {
        let mut out = Vec::new();
        if let Some(d) = &self.domain {
            out.push(AccountKey::from_normalized(KeyType::Domain, d));
        }
        if let Some(n) = &self.name {
            out.push(AccountKey::from_normalized(KeyType::Name, n));
        }
        if let Some(d) = &self.duns {
            out.push(AccountKey::from_normalized(KeyType::Duns, d));
        }
        out
    }
}

pub const VENDOR_POPS: [&str; 2] = ["customers", "prospects"];
pub const PARTNER_POPS: [&str; 2] = ["installed", "pipeline"];

/// 80 shared companies (with variations) plus 120 unique ones per side.
/// Cell (prospects, pipeline) is deliberately tiny (≤ 3) to exercise k-suppression.
pub fn generate() -> (Vec<Account>, Vec<Account>) {
    let mut vendor = Vec::new();
    let mut partner = Vec::new();
    for i in 0..80u32 {
        let name = Some(format!("shared co {i}"));
        let duns = (i % 3 == 0).then(|| format!("{}", 100_000_000 + i));
        let domain = Some(format!("shared{i}.com"));
        vendor.push(Account {
            row: 1000 + i * 7,
            pops: if i < 40 { 0b01 } else { 0b10 },
            domain: if i % 10 == 0 { None } else { domain.clone() },
            name: name.clone(),
            duns: duns.clone(),
        });
        partner.push(Account {
            row: 5000 + i * 3,
            pops: if (40..43).contains(&i) { 0b10 } else { 0b01 },
            domain: if i % 7 == 0 && i % 10 != 0 {
                Some(format!("alt{i}.com"))
            } else {
                domain
            },
            name,
            duns,
        });
    }
    for j in 0..120u32 {
        vendor.push(Account {
            row: 90_000 + j,
            pops: if j < 40 { 0b01 } else { 0b10 },
            domain: Some(format!("v{j}.com")),
            name: Some(format!("vendor only {j}")),
            duns: None,
        });
        partner.push(Account {
            row: 70_000 + j,
            pops: if j < 60 { 0b10 } else { 0b01 },
            domain: Some(format!("p{j}.com")),
            name: Some(format!("partner only {j}")),
            duns: (j % 2 == 0).then(|| format!("{}", 900_000_000 + j)),
        });
    }
    (vendor, partner)
}

/// Plain set logic on the keys (default name matching: when a domain is missing).
pub fn matches(v: &Account, p: &Account) -> bool {
    let both =
        |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x == y);
    both(&v.domain, &p.domain)
        || both(&v.duns, &p.duns)
        || (both(&v.name, &p.name) && (v.domain.is_none() || p.domain.is_none()))
}

/// The expected figures, computed independently of `overlap::compute`.
pub struct Expected {
    /// [vp][pp] = (vendor accounts, partner accounts)
    pub cells: Vec<Vec<(u64, u64)>>,
    pub vendor_totals: Vec<u64>,
    pub vendor_matched: Vec<u64>,
    pub partner_totals: Vec<u64>,
    pub partner_matched: Vec<u64>,
    pub vendor_matched_rows: BTreeMap<u32, BTreeSet<u32>>,
    pub partner_matched_rows: BTreeMap<u32, BTreeSet<u32>>,
}

pub fn expected(vendor: &[Account], partner: &[Account]) -> Expected {
    let in_pop = |a: &Account, i: usize| a.pops & (1 << i) != 0;
    let mut cells = vec![vec![(0, 0); 2]; 2];
    for vp in 0..2 {
        for pp in 0..2 {
            cells[vp][pp].0 = vendor
                .iter()
                .filter(|v| in_pop(v, vp))
                .filter(|v| partner.iter().any(|p| in_pop(p, pp) && matches(v, p)))
                .count() as u64;
            cells[vp][pp].1 = partner
                .iter()
                .filter(|p| in_pop(p, pp))
                .filter(|p| vendor.iter().any(|v| in_pop(v, vp) && matches(v, p)))
                .count() as u64;
        }
    }
    let totals = |side: &[Account]| {
        (0..2)
            .map(|i| side.iter().filter(|a| in_pop(a, i)).count() as u64)
            .collect()
    };
    let vendor_matched = (0..2)
        .map(|i| {
            vendor
                .iter()
                .filter(|v| in_pop(v, i) && partner.iter().any(|p| matches(v, p)))
                .count() as u64
        })
        .collect();
    let partner_matched = (0..2)
        .map(|i| {
            partner
                .iter()
                .filter(|p| in_pop(p, i) && vendor.iter().any(|v| matches(v, p)))
                .count() as u64
        })
        .collect();
    let mut vendor_matched_rows = BTreeMap::new();
    for v in vendor {
        let pops: BTreeSet<u32> = partner
            .iter()
            .filter(|p| matches(v, p))
            .flat_map(|p| (0..2u32).filter(move |i| p.pops & (1 << i) != 0))
            .collect();
        if partner.iter().any(|p| matches(v, p)) {
            vendor_matched_rows.insert(v.row, pops);
        }
    }
    let mut partner_matched_rows = BTreeMap::new();
    for p in partner {
        let pops: BTreeSet<u32> = vendor
            .iter()
            .filter(|v| matches(v, p))
            .flat_map(|v| (0..2u32).filter(move |i| v.pops & (1 << i) != 0))
            .collect();
        if vendor.iter().any(|v| matches(v, p)) {
            partner_matched_rows.insert(p.row, pops);
        }
    }
    Expected {
        cells,
        vendor_totals: totals(vendor),
        vendor_matched,
        partner_totals: totals(partner),
        partner_matched,
        vendor_matched_rows,
        partner_matched_rows,
    }
}

/// Blinds an account list into 48-byte records, as a client would.
pub fn blind(secret: &SessionSecret, accounts: &[Account]) -> Vec<u8> {
    let mut body = Vec::new();
    for a in accounts {
        for k in a.keys() {
            BlindedRecord {
                row_id: a.row,
                populations: a.pops,
                key_type: k.kind(),
                point: secret.blind(&k).to_bytes(),
            }
            .encode_into(&mut body);
        }
    }
    body
}

/// A minimal HTTP client for the API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        cleanroom_server::tls::install_crypto_provider();
        Api {
            base: base.to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        json: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(j) = json {
            rb = rb.json(&j);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, v)
    }

    pub async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        json: Option<serde_json::Value>,
    ) -> T {
        let (status, v) = self.send(method, path, json).await;
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        serde_json::from_value(v).unwrap()
    }

    pub async fn put_bytes(&self, path: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let v = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default();
        (status, v)
    }

    pub async fn get_bytes(&self, path: &str) -> (u16, Option<u64>, Vec<u8>) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let count = resp
            .headers()
            .get("x-record-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        (status, count, resp.bytes().await.unwrap().to_vec())
    }

    /// Vendor `self` invites with a code, which `partner` (of organization
    /// `_partner_org`: invitations name no organization) accepts. A policy
    /// that names no counts mode gets exact counts: these tests compare
    /// against plaintext truth (noisy mode is tested on its own).
    pub async fn partner_up(
        &self,
        partner: &Api,
        _partner_org: &str,
        mut policy: SharingPolicy,
    ) -> Partnership {
        policy.counts.get_or_insert(CountsMode::Exact);
        let invite = CreateInvitation {
            my_role: Role::Vendor,
            policy,
            expires_in_days: None,
        };
        self.invite_accepted(partner, serde_json::to_value(invite).unwrap())
            .await
    }

    /// Like [`Api::partner_up`], with the invitation naming no counts mode
    /// (the server's default applies).
    pub async fn partner_up_default(&self, partner: &Api, _partner_org: &str) -> Partnership {
        let invite = serde_json::json!({"my_role": "vendor"});
        self.invite_accepted(partner, invite).await
    }

    async fn invite_accepted(&self, partner: &Api, invite: serde_json::Value) -> Partnership {
        let code = self.invite(invite).await.code;
        partner.accept_code(&code).await
    }

    /// `POST /v1/invitations`: the new invitation and its code.
    pub async fn invite(&self, invite: serde_json::Value) -> CreatedInvitation {
        self.ok(reqwest::Method::POST, "/v1/invitations", Some(invite))
            .await
    }

    /// `POST /v1/invitations/accept` with `code`, which must succeed.
    pub async fn accept_code(&self, code: &str) -> Partnership {
        self.ok(
            reqwest::Method::POST,
            "/v1/invitations/accept",
            Some(serde_json::json!({ "code": code })),
        )
        .await
    }

    /// Uploads blinded records in chunks of `per_chunk` records and commits.
    pub async fn upload_blinded(
        &self,
        session: &str,
        body: &[u8],
        pops: &[&str],
        per_chunk: usize,
    ) -> Session {
        let chunks: Vec<&[u8]> = body.chunks(per_chunk * 48).collect();
        for (seq, c) in chunks.iter().enumerate() {
            let (s, v) = self
                .put_bytes(&format!("/v1/sessions/{session}/blinded/{seq}"), c.to_vec())
                .await;
            assert_eq!(s, 200, "{v}");
        }
        self.commit_blinded(session, body, pops, chunks.len()).await
    }

    /// Commits the blinded records `body`, uploaded in `chunks` chunks.
    pub async fn commit_blinded(
        &self,
        session: &str,
        body: &[u8],
        pops: &[&str],
        chunks: usize,
    ) -> Session {
        self.ok(
            reqwest::Method::POST,
            &format!("/v1/sessions/{session}/blinded/commit"),
            Some(
                serde_json::to_value(CommitBlinded {
                    protocol_version: protocol_version(),
                    populations: pops.iter().map(|s| s.to_string()).collect(),
                    chunks: chunks as u32,
                    records: (body.len() / 48) as u64,
                })
                .unwrap(),
            ),
        )
        .await
    }

    /// Opens a session in `partnership`.
    pub async fn open_session(&self, partnership: &str) -> Session {
        self.ok(
            reqwest::Method::POST,
            &format!("/v1/partnerships/{partnership}/sessions"),
            None,
        )
        .await
    }

    /// Downloads the counterpart's points, derives and uploads tokens, commits.
    pub async fn upload_tokens(
        &self,
        session: &str,
        secret: &SessionSecret,
        per_chunk: usize,
    ) -> Session {
        let (s, count, points) = self
            .get_bytes(&format!("/v1/sessions/{session}/counterpart/points"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(count, Some((points.len() / 32) as u64));
        let tokens = secret.token_batch(&points).unwrap();
        let body = cleanroom_core::wire::encode_tokens(&tokens);
        let chunks: Vec<&[u8]> = body.chunks(per_chunk * 16).collect();
        for (seq, c) in chunks.iter().enumerate() {
            let (s, v) = self
                .put_bytes(&format!("/v1/sessions/{session}/tokens/{seq}"), c.to_vec())
                .await;
            assert_eq!(s, 200, "{v}");
        }
        self.ok(
            reqwest::Method::POST,
            &format!("/v1/sessions/{session}/tokens/commit"),
            Some(
                serde_json::to_value(CommitTokens {
                    chunks: chunks.len() as u32,
                    records: tokens.len() as u64,
                })
                .unwrap(),
            ),
        )
        .await
    }

    pub async fn results(&self, session: &str) -> SessionResults {
        self.ok(
            reqwest::Method::GET,
            &format!("/v1/sessions/{session}/results"),
            None,
        )
        .await
    }
}

/// Checks every disclosed figure against the plaintext expectation.
/// Generates both sides' accounts and uploads their blinded records (100
/// a chunk), then the vendor's tokens: `session` awaits the partner's
/// tokens. The vendor's accounts, the partner's, and the partner's secret.
pub async fn upload_all_but_partner_tokens(
    v: &Api,
    p: &Api,
    session: &str,
) -> (Vec<Account>, Vec<Account>, SessionSecret) {
    let (va, pa) = generate();
    let (vs, pss) = (SessionSecret::generate(), SessionSecret::generate());
    v.upload_blinded(session, &blind(&vs, &va), &VENDOR_POPS, 100)
        .await;
    p.upload_blinded(session, &blind(&pss, &pa), &PARTNER_POPS, 100)
        .await;
    v.upload_tokens(session, &vs, 100).await;
    (va, pa, pss)
}

pub fn check_results(r: &SessionResults, e: &Expected) {
    let mut suppressed = 0;
    for vp in 0..2 {
        for pp in 0..2 {
            let c = &r.cells[vp][pp];
            let (ev, ep) = e.cells[vp][pp];
            assert!(
                c.vendor_accounts.admits(ev),
                "cell {vp},{pp}: {:?} vs {ev}",
                c.vendor_accounts
            );
            assert!(
                c.partner_accounts.admits(ep),
                "cell {vp},{pp}: {:?} vs {ep}",
                c.partner_accounts
            );
            for (count, exp) in [(c.vendor_accounts, ev), (c.partner_accounts, ep)] {
                if exp >= r.min_cell_size {
                    assert_eq!(count.exact(), Some(exp), "cell {vp},{pp} should be exact");
                } else {
                    assert!(
                        count.exact().is_none(),
                        "cell {vp},{pp} = {exp} must be suppressed"
                    );
                    suppressed += 1;
                }
            }
        }
    }
    if r.min_cell_size > 1 {
        assert!(suppressed > 0, "the generated data has a tiny cell");
    }
    // A total is shown exactly, or hidden together with the matched and
    // white-space figures when its owner does not share them.
    for (figures, totals) in [
        (&r.vendor.figures, &e.vendor_totals),
        (&r.partner.figures, &e.partner_totals),
    ] {
        assert_eq!(figures.len(), totals.len());
        for (f, t) in figures.iter().zip(totals) {
            match f.total {
                Some(c) => assert_eq!(c.exact(), Some(*t)),
                None => assert!(f.matched.is_none() && f.white_space.is_none()),
            }
        }
    }
    for (f, m) in r.vendor.figures.iter().zip(&e.vendor_matched) {
        if let Some(c) = f.matched {
            assert!(c.admits(*m));
        }
    }
    for (f, m) in r.partner.figures.iter().zip(&e.partner_matched) {
        if let Some(c) = f.matched {
            assert!(c.admits(*m));
        }
    }
}

/// The server binary cargo built for these tests.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_cleanroom-server");

/// Runs `admin create-org NAME` on the database at `url`; what it printed,
/// once it succeeded.
pub fn admin_create_org_report(url: &str, name: &str) -> String {
    let out = Command::new(SERVER_BIN)
        .args(["admin", "create-org", name, "--database-url", url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The admin token in what `admin create-org` printed.
pub fn admin_token(report: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix("admin-token: "))
        .unwrap()
        .to_owned()
}

/// Creates an organization with the admin command; its admin token.
pub fn admin_create_org(url: &str, name: &str) -> String {
    admin_token(&admin_create_org_report(url, name))
}

/// Starts the server binary on the database at `url` and a free port, with
/// `args` after those; returns the child and its base URL, which the server
/// prints first.
pub fn start_server(url: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(SERVER_BIN)
        .args(["--database-url", url, "--bind", "127.0.0.1:0"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

/// Sends `req` through `router` in-process: the status, the content type,
/// and the body as JSON (`Null` when it is not JSON).
pub async fn call_router(
    router: &Router,
    req: Request<Body>,
) -> (StatusCode, String, serde_json::Value) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, ct, v)
}
