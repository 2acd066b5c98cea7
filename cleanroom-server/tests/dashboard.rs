//! The web dashboard against a real server: sign-in and the cookie's limits
//! over plain HTTP, then the pages in headless Chromium driven over
//! WebDriver, checked against the JSON API after a real two-party session.
//!
//! The browser test needs Debian's `chromium` and `chromium-driver`
//! (`.ci/dashboard-deps` installs them). It fails, rather than skips, when
//! they are missing so that CI cannot go green without running it; set
//! `CLEANROOM_SKIP_BROWSER_TESTS=1` to skip it on a machine without them.
//! Screenshots land in `<workspace>/test-artifacts/dashboard-*.png`.

mod browser;
mod common;

use browser::{Browser, WAIT};

use std::time::Duration;

use cleanroom_core::SessionSecret;
use cleanroom_core::api::{
    CountsMode, CreatedToken, Partnership, RecordSharing, Session, SessionResults, SessionState,
    SharingPolicy,
};
use cleanroom_server::{Config, RunningServer, bootstrap, spawn};
use common::*;
use fantoccini::Locator;
use reqwest::Method;
use reqwest::header::{self, HeaderMap};
use serde_json::json;

const VENDOR: &str = "Acme <Software> & Co";
const PARTNER: &str = "Globex \"Partners\"";
const OTHER: &str = "Initech";
/// Population names with markup in them: they must show up as text.
const VENDOR_POPS_SHOWN: [&str; 2] = ["Customers <b>EMEA</b>", "Prospects & leads"];
const PARTNER_POPS_SHOWN: [&str; 2] = ["Installed base", "Pipeline <script>"];

// ---------------------------------------------------------------- fixture

/// A server with three organizations, the first two partnered under the
/// overlapping-records policy and two completed sessions between them.
struct Fixture {
    _db: TestDb,
    server: RunningServer,
    partnership: Partnership,
    latest_session: String,
    /// The vendor's admin client, to drive a session while a page watches.
    vendor: Api,
    vendor_view: CreatedToken,
    partner_view: CreatedToken,
    other_view: CreatedToken,
}

async fn view_token(admin: &Api, label: &str) -> CreatedToken {
    admin
        .ok(
            Method::POST,
            "/v1/tokens",
            Some(json!({ "label": label, "scope": "view" })),
        )
        .await
}

/// One full session over HTTP, as two clients would run it.
async fn run_session(
    v: &Api,
    p: &Api,
    partnership: &str,
    vendor: &[Account],
    partner: &[Account],
) -> String {
    let s: Session = v
        .ok(
            Method::POST,
            &format!("/v1/partnerships/{partnership}/sessions"),
            None,
        )
        .await;
    let (vs, ps) = (SessionSecret::generate(), SessionSecret::generate());
    v.upload_blinded(&s.id, &blind(&vs, vendor), &VENDOR_POPS_SHOWN, 100)
        .await;
    p.upload_blinded(&s.id, &blind(&ps, partner), &PARTNER_POPS_SHOWN, 100)
        .await;
    v.upload_tokens(&s.id, &vs, 200).await;
    let done = p.upload_tokens(&s.id, &ps, 200).await;
    assert_eq!(done.state, SessionState::Completed);
    s.id
}

async fn fixture() -> Fixture {
    let db = TestDb::sqlite();
    let url = db.url().to_owned();
    let (_, vt) = bootstrap::create_org(&url, VENDOR).await.expect("vendor");
    let (_, pt) = bootstrap::create_org(&url, PARTNER).await.expect("partner");
    let (_, ot) = bootstrap::create_org(&url, OTHER).await.expect("other");
    let server = spawn(Config::for_tests(&url)).await.expect("spawn");
    let base = server.base_url();
    let (v, p, o) = (
        Api::new(&base, &vt),
        Api::new(&base, &pt),
        Api::new(&base, &ot),
    );
    let policy = SharingPolicy {
        records: RecordSharing::OverlappingRecords,
        vendor_shares_white_space: true,
        partner_shares_white_space: false,
        // The page is checked figure by figure against the API, "< k"
        // suppression included: exact counts make those checks exact.
        counts: Some(CountsMode::Exact),
        ..SharingPolicy::default()
    };
    let partnership = v.partner_up(&p, PARTNER, policy).await;

    let (vendor, partner) = generate();
    // A first session with a quarter of the shared companies missing on the
    // vendor side, so that the trend has two different points.
    let fewer: Vec<Account> = vendor
        .iter()
        .filter(|a| !(1000..1560).contains(&a.row) || (a.row - 1000) / 7 % 4 != 0)
        .cloned()
        .collect();
    run_session(&v, &p, &partnership.id, &fewer, &partner).await;
    // Sessions are listed newest first by their creation second; start the
    // second one in a later second so that "latest" is unambiguous.
    let first_done = cleanroom_server::now();
    while cleanroom_server::now() <= first_done {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let latest_session = run_session(&v, &p, &partnership.id, &vendor, &partner).await;

    Fixture {
        vendor_view: view_token(&v, "dashboard").await,
        partner_view: view_token(&p, "dashboard").await,
        other_view: view_token(&o, "dashboard").await,
        _db: db,
        server,
        partnership,
        latest_session,
        vendor: v,
    }
}

// ------------------------------------------------- sign-in over plain HTTP

fn no_redirects() -> reqwest::Client {
    cleanroom_server::tls::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `name=value` of a Set-Cookie header, with the whole header line.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<(String, String)> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| {
            let (k, v) = line.split(';').next()?.trim().split_once('=')?;
            (k == name).then(|| (v.to_owned(), line.to_owned()))
        })
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    let end = html[start..].find('"').expect("closing quote");
    html[start..start + end].to_owned()
}

/// An `application/x-www-form-urlencoded` body (reqwest's `form` feature is
/// not enabled in the workspace).
fn form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs in through the form over HTTP; returns the session cookie value.
async fn http_sign_in(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    let res = http
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .expect("login page");
    let (csrf_cookie, _) = set_cookie(res.headers(), "cleanroom_login_csrf").expect("csrf");
    let csrf = hidden_field(&res.text().await.expect("html"), "csrf");
    http.post(format!("{base}/dashboard/login"))
        .header(
            header::COOKIE,
            format!("cleanroom_login_csrf={csrf_cookie}"),
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("token", token), ("csrf", &csrf)]))
        .send()
        .await
        .expect("login")
}

async fn status_with_cookie(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    cookie: &str,
    body: serde_json::Value,
) -> u16 {
    http.request(method, url)
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_exchanges_a_token_for_a_view_only_cookie() {
    let db = TestDb::sqlite();
    let (_, admin) = bootstrap::create_org(db.url(), VENDOR).await.expect("org");
    let server = spawn(Config::for_tests(db.url())).await.expect("spawn");
    let base = server.base_url();
    let api = Api::new(&base, &admin);
    let view = view_token(&api, "dashboard").await;
    let http = no_redirects();

    // The page itself: HTML with the strict headers.
    let res = http
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    // Pages need a sign-in.
    let res = http
        .get(format!("{base}/dashboard/"))
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), 303);

    // Missing CSRF: 403, as an HTML page (not rewritten to problem+json).
    let res = http
        .post(format!("{base}/dashboard/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("token", view.token.as_str())]))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    assert!(set_cookie(res.headers(), "cleanroom_session").is_none());

    // A bad token: 401 with the form again.
    let res = http_sign_in(
        &http,
        &base,
        "cr_0000000000000000000000000000000000000000000",
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(set_cookie(res.headers(), "cleanroom_session").is_none());
    assert!(res.text().await.expect("html").contains("not accepted"));

    // An admin token signs in, but the cookie can only read.
    let res = http_sign_in(&http, &base, &admin).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[header::LOCATION], "/dashboard/");
    let (cookie, line) = set_cookie(res.headers(), "cleanroom_session").expect("cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(line.contains(flag), "{flag} missing: {line}");
    }
    assert!(
        !line.contains("Secure"),
        "plain HTTP cookie marked Secure: {line}"
    );

    let me = http
        .get(format!("{base}/v1/me"))
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["org"]["name"], VENDOR);
    assert_eq!(me["token"]["scope"], "view");
    // Valid bodies, so that only the scope can refuse them.
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/tokens".to_owned(),
            json!({"label": "x", "scope": "admin"}),
        ),
        (Method::GET, "/v1/tokens".to_owned(), json!(null)),
        (
            Method::DELETE,
            format!("/v1/tokens/{}", view.info.id),
            json!(null),
        ),
        (
            Method::POST,
            "/v1/invitations".to_owned(),
            json!({"my_role": "vendor"}),
        ),
    ] {
        let st = status_with_cookie(
            &http,
            method.clone(),
            &format!("{base}{path}"),
            &cookie,
            body,
        )
        .await;
        assert_eq!(st, 403, "{method} {path} with the dashboard cookie");
    }
    let st = status_with_cookie(
        &http,
        Method::GET,
        &format!("{base}/v1/me"),
        "forged",
        json!(null),
    )
    .await;
    assert_eq!(st, 401);

    // Sign-out needs the page's CSRF token and ends the cookie.
    let page = http
        .get(format!("{base}/dashboard/"))
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let csrf = hidden_field(&page.text().await.expect("html"), "csrf");
    let res = http
        .post(format!("{base}/dashboard/logout"))
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("csrf", "wrong")]))
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 403);
    let res = http
        .post(format!("{base}/dashboard/logout"))
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 303);
    let st = status_with_cookie(
        &http,
        Method::GET,
        &format!("{base}/v1/me"),
        &cookie,
        json!(null),
    )
    .await;
    assert_eq!(st, 401, "signed out");

    // Revoking the token ends the sign-ins made with it.
    let res = http_sign_in(&http, &base, &view.token).await;
    let (cookie, _) = set_cookie(res.headers(), "cleanroom_session").expect("cookie");
    let me = format!("{base}/v1/me");
    assert_eq!(
        status_with_cookie(&http, Method::GET, &me, &cookie, json!(null)).await,
        200
    );
    let (st, _) = api
        .send(
            Method::DELETE,
            &format!("/v1/tokens/{}", view.info.id),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        status_with_cookie(&http, Method::GET, &me, &cookie, json!(null)).await,
        401
    );

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_is_secure_when_the_server_speaks_tls() {
    cleanroom_server::tls::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let db = format!("sqlite://{}", dir.path().join("tls.db").display());
    let (_, admin) = bootstrap::create_org(&db, VENDOR).await.expect("org");
    let mut config = Config::for_tests(&db);
    config.tls = Some(cleanroom_server::TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let server = spawn(config).await.expect("spawn");
    // The certificate names localhost, not 127.0.0.1.
    let base = server.base_url().replace("127.0.0.1", "localhost");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem"),
        )
        .build()
        .expect("client");

    let page = http
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .expect("page");
    let (_, line) = set_cookie(page.headers(), "cleanroom_login_csrf").expect("csrf");
    assert!(line.contains("Secure"), "{line}");
    let res = http_sign_in(&http, &base, &admin).await;
    assert_eq!(res.status(), 303);
    let (_, line) = set_cookie(res.headers(), "cleanroom_session").expect("cookie");
    for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(line.contains(flag), "{flag} missing: {line}");
    }
    server.shutdown().await;
}

/// The texts of the heat-map cells as `[vendor pop][partner pop] = (vendor, partner)`.
async fn shown_cells(b: &Browser, rows: usize, cols: usize) -> Vec<Vec<(String, String)>> {
    let cells = b
        .js(
            "return Array.from(document.querySelectorAll('#matrix td.cell')).map(td => [\
               Number(td.dataset.vendorPop), Number(td.dataset.partnerPop),\
               td.querySelector('.vendor-count').innerText,\
               td.querySelector('.partner-count').innerText, td.getAttribute('aria-label')])",
        )
        .await;
    let cells = cells.as_array().expect("array");
    assert_eq!(cells.len(), rows * cols, "one cell per population pair");
    let mut out = vec![vec![(String::new(), String::new()); cols]; rows];
    for c in cells {
        let (v, p) = (
            c[0].as_u64().expect("v") as usize,
            c[1].as_u64().expect("p") as usize,
        );
        let label = c[4].as_str().expect("every cell has an aria-label");
        assert!(label.contains(VENDOR_POPS_SHOWN[v]) && label.contains(PARTNER_POPS_SHOWN[p]));
        out[v][p] = (
            c[2].as_str().expect("text").to_owned(),
            c[3].as_str().expect("text").to_owned(),
        );
    }
    out
}

/// Checks every shown cell, both directions, against the API's figures
/// formatted for people; returns the shown texts.
fn cells_as_the_api_has_them(
    shown: &[Vec<(String, String)>],
    results: &SessionResults,
) -> Vec<String> {
    let mut texts = Vec::new();
    for (v, line) in results.cells.iter().enumerate() {
        for (p, cell) in line.iter().enumerate() {
            let want = (
                cell.vendor_accounts.to_string(),
                cell.partner_accounts.to_string(),
            );
            assert_eq!(shown[v][p], want, "cell ({v}, {p})");
            texts.extend([want.0, want.1]);
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    if std::env::var_os("CLEANROOM_SKIP_BROWSER_TESTS").is_some() {
        eprintln!("CLEANROOM_SKIP_BROWSER_TESTS is set: skipping the browser test");
        return;
    }
    let f = fixture().await;
    let base = f.server.base_url();
    let pid = &f.partnership.id;
    let view = Api::new(&base, &f.vendor_view.token);
    let results: SessionResults = view.results(&f.latest_session).await;

    let b = Browser::start().await;

    // --- the vendor's view
    b.sign_in(&base, &f.vendor_view.token).await;
    let names = b
        .js("return Array.from(document.querySelectorAll('#partnerships tbody th a')).map(a => a.innerText)")
        .await;
    assert_eq!(names, json!([PARTNER]), "org names are shown as text");
    assert_eq!(
        b.js("return document.getElementById('whoami').innerText")
            .await,
        json!(format!("Signed in as {VENDOR}"))
    );
    b.screenshot("partnerships").await;

    // A real link to the partnership page.
    b.follow_link(PARTNER, "partnership").await;
    assert!(
        b.c()
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with(pid.as_str())
    );

    // Population names, as text, in the API's order.
    let rows = b
        .js("return Array.from(document.querySelectorAll('#matrix tbody th[scope=row]')).map(t => t.innerText)")
        .await;
    assert_eq!(rows, json!(VENDOR_POPS_SHOWN));
    assert_eq!(results.vendor.populations, VENDOR_POPS_SHOWN);
    assert_eq!(results.partner.populations, PARTNER_POPS_SHOWN);

    // Every cell, both directions, equals the API's figures formatted for people.
    let shown = shown_cells(&b, 2, 2).await;
    let suppressed = cells_as_the_api_has_them(&shown, &results)
        .iter()
        .filter(|t| t.starts_with("< "))
        .count();
    assert!(
        suppressed > 0,
        "the generated data has a cell under the threshold"
    );
    assert!(
        shown.iter().flatten().any(|(v, _)| v == "< 5"),
        "shown as \"< k\""
    );

    // Per-population totals and white space of the vendor's own rows.
    let marginals = b
        .js(
            "return Array.from(document.querySelectorAll('#matrix tbody tr')).map(tr => \
             Array.from(tr.querySelectorAll('td.marginal')).map(td => td.innerText))",
        )
        .await;
    let want: Vec<Vec<String>> = results
        .vendor
        .figures
        .iter()
        .map(|f| {
            vec![
                f.total.expect("own figures").to_string(),
                f.matched.expect("own figures").to_string(),
                f.white_space.expect("own figures").to_string(),
            ]
        })
        .collect();
    assert_eq!(marginals, json!(want));
    // The partner does not share its white space: its totals are hidden too.
    let their_totals = b
        .js(
            "return Array.from(document.querySelectorAll('#matrix tfoot tr:first-child td.marginal')).map(td => td.innerText)",
        )
        .await;
    assert!(results.partner.figures.iter().all(|f| f.total.is_none()));
    assert_eq!(their_totals, json!(["—", "—"]));

    // The counts mode, on the results and in the policy, and the pair's budget.
    let meta = b
        .js("return document.getElementById('matrix-meta').innerText")
        .await;
    assert!(
        meta.as_str().unwrap_or("").ends_with("Exact counts."),
        "{meta}"
    );
    let summary = b
        .js("return document.getElementById('summary').innerText")
        .await;
    let summary = summary.as_str().unwrap_or("");
    assert!(summary.contains("Exact counts"), "{summary}");
    assert!(
        summary.contains("Privacy: 0 of 10 ε spent in the last 30 days")
            && summary.contains("Sessions: 2 of 10 in the last 24 hours"),
        "{summary}"
    );

    // The trend has one point per completed session and line, and the
    // audit log and the CSV download (overlapping-records policy) are there.
    let points = b
        .js("return document.querySelectorAll('#trend-chart circle').length")
        .await;
    assert_eq!(points, json!(4), "2 sessions × 2 populations");
    let audit_rows = b
        .js("return document.querySelectorAll('#audit tbody tr').length")
        .await;
    assert!(
        audit_rows.as_u64().expect("count") >= 5,
        "audit rows: {audit_rows}"
    );
    assert!(
        b.c()
            .find(Locator::Id("download-csv"))
            .await
            .expect("button")
            .is_displayed()
            .await
            .expect("shown")
    );

    // The cookie is invisible to scripts, and it cannot change anything.
    let cookies = b.js("return document.cookie").await;
    assert!(!cookies.as_str().unwrap_or("").contains("cleanroom_session"));
    let post = b
        .c()
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0], {method: 'POST', credentials: 'same-origin'}).then(r => done(r.status));",
            vec![json!(format!("/v1/partnerships/{pid}/sessions"))],
        )
        .await
        .expect("fetch");
    assert_eq!(post, json!(403));

    let shot = b.screenshot("partnership").await;
    eprintln!("screenshot: {}", shot.display());

    b.c()
        .goto(&format!("{base}/dashboard/sessions/{}", f.latest_session))
        .await
        .expect("goto");
    b.loaded("session").await;
    assert_eq!(
        b.js("return document.getElementById('state').innerText")
            .await,
        json!("Completed")
    );
    b.screenshot("session").await;

    // --- a running session, followed live without a reload
    let open: Session = f
        .vendor
        .ok(
            Method::POST,
            &format!("/v1/partnerships/{pid}/sessions"),
            None,
        )
        .await;
    b.c()
        .goto(&format!("{base}/dashboard/sessions/{}", open.id))
        .await
        .expect("goto");
    b.loaded("session").await;
    assert_eq!(
        b.js("return document.getElementById('state').innerText")
            .await,
        json!("Awaiting blinded records")
    );
    let live = b
        .js("return document.getElementById('live').innerText")
        .await;
    assert!(live.as_str().unwrap_or("").starts_with("Live"), "{live}");
    let (vendor_accounts, _) = generate();
    let secret = SessionSecret::generate();
    f.vendor
        .upload_blinded(
            &open.id,
            &blind(&secret, &vendor_accounts),
            &VENDOR_POPS_SHOWN,
            100,
        )
        .await;
    // Row 3 of the progress table is the blinded upload; column 1 is "You".
    b.eventually(
        WAIT,
        "return document.querySelector('#progress tbody tr:nth-child(3) td').innerText",
        |v| v.as_str().is_some_and(|t| t.starts_with("Committed")),
    )
    .await;
    b.screenshot("session-live").await;

    b.sign_out().await;
    let st = b
        .c()
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/v1/me', {credentials: 'same-origin'}).then(r => done(r.status));",
            vec![],
        )
        .await
        .expect("fetch");
    assert_eq!(st, json!(401), "signed out");

    // --- the partner sees the same matrix from its side: its populations
    // as rows, the vendor's shared white space included
    b.sign_in(&base, &f.partner_view.token).await;
    b.c()
        .goto(&format!("{base}/dashboard/partnerships/{pid}"))
        .await
        .expect("goto");
    b.loaded("partnership").await;
    let rows = b
        .js("return Array.from(document.querySelectorAll('#matrix tbody th[scope=row]')).map(t => t.innerText)")
        .await;
    assert_eq!(rows, json!(PARTNER_POPS_SHOWN));
    let shown = shown_cells(&b, 2, 2).await;
    for (v, line) in results.cells.iter().enumerate() {
        for (p, cell) in line.iter().enumerate() {
            let want = (
                cell.vendor_accounts.to_string(),
                cell.partner_accounts.to_string(),
            );
            assert_eq!(shown[v][p], want, "partner's view of cell ({v}, {p})");
        }
    }
    let foot = b
        .js("return document.querySelector('#matrix tfoot').innerText")
        .await;
    assert!(
        !foot.as_str().unwrap_or("").contains("not shared"),
        "the vendor shares white space: {foot}"
    );
    b.sign_out().await;

    // --- a third organization sees nothing of it
    b.sign_in(&base, &f.other_view.token).await;
    assert_eq!(
        b.js("return document.querySelectorAll('#partnerships tbody tr').length")
            .await,
        json!(0)
    );
    assert!(
        b.c()
            .find(Locator::Id("empty"))
            .await
            .expect("empty")
            .is_displayed()
            .await
            .expect("shown")
    );
    b.c()
        .goto(&format!("{base}/dashboard/partnerships/{pid}"))
        .await
        .expect("goto");
    b.loaded("partnership").await;
    let status = b
        .js("return document.getElementById('status').innerText")
        .await;
    assert!(
        status.as_str().unwrap_or("").contains("not found"),
        "{status}"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('td.cell').length")
            .await,
        json!(0)
    );
    let body = b.js("return document.body.innerText").await;
    for secret in [VENDOR_POPS_SHOWN[0], PARTNER_POPS_SHOWN[0], VENDOR] {
        assert!(
            !body.as_str().unwrap_or("").contains(secret),
            "{secret} leaked"
        );
    }
    b.screenshot("other-org").await;
    b.c()
        .goto(&format!("{base}/dashboard/sessions/{}", f.latest_session))
        .await
        .expect("goto");
    b.loaded("session").await;
    let status = b
        .js("return document.getElementById('status').innerText")
        .await;
    assert!(
        status.as_str().unwrap_or("").contains("not found"),
        "{status}"
    );

    b.close().await;
    f.server.shutdown().await;
}

/// Noisy counts on the page: every figure is the API's estimate as "≈ n"
/// (or "< k"), its 95 % interval on hover, and the mode is stated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_counts_in_headless_chromium() {
    if std::env::var_os("CLEANROOM_SKIP_BROWSER_TESTS").is_some() {
        eprintln!("CLEANROOM_SKIP_BROWSER_TESTS is set: skipping the browser test");
        return;
    }
    let db = TestDb::sqlite();
    let url = db.url().to_owned();
    let (_, vt) = bootstrap::create_org(&url, VENDOR).await.expect("vendor");
    let (_, pt) = bootstrap::create_org(&url, PARTNER).await.expect("partner");
    let server = spawn(Config::for_tests(&url)).await.expect("spawn");
    let base = server.base_url();
    let (v, p) = (Api::new(&base, &vt), Api::new(&base, &pt));
    // ε = 2, the deployment maximum: at K = 10 keys per account ε = 1 gives
    // ±96, and cells of about 40 accounts then fall below k = 5 often
    // enough to leave no "≈" on the page now and then.
    let policy = SharingPolicy {
        vendor_shares_white_space: true,
        partner_shares_white_space: true,
        counts: Some(CountsMode::Noisy {
            epsilon: cleanroom_core::api::Epsilon(2_000_000),
        }),
        ..SharingPolicy::default()
    };
    let partnership = v.partner_up(&p, PARTNER, policy).await;
    let (vendor, partner) = generate();
    let sid = run_session(&v, &p, &partnership.id, &vendor, &partner).await;
    let token = view_token(&v, "dashboard").await;
    let results: SessionResults = Api::new(&base, &token.token).results(&sid).await;

    let b = Browser::start().await;
    b.sign_in(&base, &token.token).await;
    b.follow_link(PARTNER, "partnership").await;
    let shown = shown_cells(&b, 2, 2).await;
    let approx = cells_as_the_api_has_them(&shown, &results)
        .iter()
        .filter(|t| t.starts_with("≈ "))
        .count();
    assert!(approx > 0, "some cells are noisy estimates: {shown:?}");
    // The interval is on hover, with the API's bounds.
    let titles = b
        .js("return Array.from(document.querySelectorAll('#matrix td.cell [title]')).map(e => e.getAttribute('title'))")
        .await;
    let titles: Vec<String> = titles
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    for line in &results.cells {
        for c in line {
            if let cleanroom_core::disclosure::Count::Approx { low, high, .. } = c.vendor_accounts {
                let want = format!(
                    "{}–{}",
                    cleanroom_core::disclosure::group_thousands(low),
                    cleanroom_core::disclosure::group_thousands(high)
                );
                assert!(
                    titles
                        .iter()
                        .any(|t| t.contains("95 % interval") && t.contains(&want)),
                    "no hover shows {want}: {titles:?}"
                );
            }
        }
    }
    let meta = b
        .js("return document.getElementById('matrix-meta').innerText")
        .await;
    assert!(
        meta.as_str().unwrap_or("").contains("Noisy counts"),
        "{meta}"
    );
    b.screenshot("noisy-partnership").await;
    b.close().await;
    server.shutdown().await;
}

// ------------------------------------------------ agents and "Refresh now"

/// "Refresh now": both sides' agents on the partnership page, the button
/// creating a session for an upload sign-in, forged requests refused, and
/// the button disabled with its reason for a view sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_now_in_headless_chromium() {
    if std::env::var_os("CLEANROOM_SKIP_BROWSER_TESTS").is_some() {
        eprintln!("CLEANROOM_SKIP_BROWSER_TESTS is set: skipping the browser test");
        return;
    }
    let db = TestDb::sqlite();
    let url = db.url().to_owned();
    let (_, vt) = bootstrap::create_org(&url, VENDOR).await.expect("vendor");
    let (_, pt) = bootstrap::create_org(&url, PARTNER).await.expect("partner");
    let server = spawn(Config::for_tests(&url)).await.expect("spawn");
    let base = server.base_url();
    let (v, p) = (Api::new(&base, &vt), Api::new(&base, &pt));
    let partnership = v.partner_up(&p, PARTNER, SharingPolicy::default()).await;
    let pid = partnership.id.clone();
    let upload: CreatedToken = v
        .ok(
            Method::POST,
            "/v1/tokens",
            Some(json!({ "label": "dashboard", "scope": "upload" })),
        )
        .await;
    let vendor_view = view_token(&v, "dashboard").await;

    // Both agents report; only the partner's runs a schedule for this partnership.
    let next_run = cleanroom_server::now() + 3 * 3600;
    let (s, body) = p
        .send(
            Method::POST,
            "/v1/agents/heartbeat",
            Some(json!({
                "agent_version": "0.4.2",
                "protocol": "cleanroom-v2",
                "schedules": [{"partnership_id": pid, "refresh": "daily 06:00", "next_run_at": next_run}],
            })),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    let (s, _) = v
        .send(
            Method::POST,
            "/v1/agents/heartbeat",
            Some(json!({"agent_version": "0.4.1", "protocol": "cleanroom-v2"})),
        )
        .await;
    assert_eq!(s, 204);

    let b = Browser::start().await;
    b.sign_in(&base, &upload.token).await;
    b.follow_link(PARTNER, "partnership").await;
    let partner_agent = "return document.querySelector('#agents [data-agent=partner]').innerText";
    b.eventually(WAIT, partner_agent, |v| {
        let t = v.as_str().unwrap_or("");
        t.contains(&format!("{PARTNER}’s agent: online, last seen"))
            && t.contains("Agent version 0.4.2")
            && t.contains("Refreshes daily 06:00, next run")
    })
    .await;
    let own = b
        .js("return document.querySelector('#agents [data-agent=own]').innerText")
        .await;
    let own = own.as_str().expect("text");
    assert!(
        own.contains("Your agent: online") && own.contains("No refresh schedule"),
        "{own}"
    );
    let next = b
        .js("return document.querySelector('#refreshes [data-refresh=next]').innerText")
        .await;
    assert!(
        next.as_str()
            .expect("text")
            .contains("scheduled by an agent"),
        "{next}"
    );
    assert_eq!(
        b.js("return document.getElementById('refresh-now').disabled")
            .await,
        json!(false)
    );

    // The button creates a session, which the page then lists as pending.
    b.c()
        .find(Locator::Css("#refresh-now"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    b.eventually(
        WAIT,
        "return document.getElementById('refresh-status').dataset.session || null",
        |v| v.is_string(),
    )
    .await;
    let created = b
        .js("return document.getElementById('refresh-status').dataset.session")
        .await;
    let sessions: Vec<Session> = v
        .ok(
            Method::GET,
            &format!("/v1/partnerships/{pid}/sessions"),
            None,
        )
        .await;
    assert_eq!(sessions.len(), 1);
    assert_eq!(json!(sessions[0].id), created);
    assert_eq!(sessions[0].state, SessionState::AwaitingBlinded);
    b.eventually(
        WAIT,
        "return document.querySelector('#refreshes [data-refresh=pending]').innerText",
        |v| {
            let t = v.as_str().unwrap_or("");
            t.contains("waiting for your agent and") && t.contains(PARTNER)
        },
    )
    .await;
    b.eventually(
        WAIT,
        "return document.getElementById('budget').innerText",
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("Sessions: 1 of 10 in the last 24 hours"))
        },
    )
    .await;
    let audit: Vec<serde_json::Value> = v
        .ok(Method::GET, &format!("/v1/partnerships/{pid}/audit"), None)
        .await;
    let entry = audit
        .iter()
        .find(|e| e["action"] == "session.created")
        .expect("audited");
    assert_eq!(entry["token_id"], upload.info.id.as_str());
    b.screenshot("refresh-now").await;

    // Forged requests with a live upload sign-in: no or a wrong CSRF token
    // is a 403 problem; the page's own token passes the check (and meets
    // the open session).
    let http = no_redirects();
    let res = http_sign_in(&http, &base, &upload.token).await;
    let (cookie, line) = set_cookie(res.headers(), "cleanroom_session").expect("cookie");
    assert!(line.contains("SameSite=Strict"), "{line}");
    let refresh_url = format!("{base}/dashboard/partnerships/{pid}/refresh");
    let forged = |csrf: Option<&'static str>, cookie: String| {
        let mut rb = http
            .post(&refresh_url)
            .header(header::COOKIE, format!("cleanroom_session={cookie}"));
        if let Some(c) = csrf {
            rb = rb.header("x-csrf-token", c);
        }
        rb.send()
    };
    for csrf in [None, Some("wrong"), Some("")] {
        let res = forged(csrf, cookie.clone()).await.expect("post");
        assert_eq!(res.status(), 403, "csrf {csrf:?}");
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("application/problem+json")
        );
        let problem: serde_json::Value = res.json().await.expect("json");
        assert_eq!(problem["code"], "forbidden");
        assert!(problem["detail"].as_str().expect("detail").contains("CSRF"));
    }
    // A cross-site form cannot set the header: the same request as a form
    // post, with the token as a field, is refused too.
    let page = http
        .get(format!("{base}/dashboard/"))
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .send()
        .await
        .expect("page");
    let csrf = hidden_field(&page.text().await.expect("html"), "csrf");
    let res = http
        .post(&refresh_url)
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);
    let res = http
        .post(&refresh_url)
        .header(header::COOKIE, format!("cleanroom_session={cookie}"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        409,
        "past the CSRF check: one session is open"
    );
    let problem: serde_json::Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "session-open");
    // Without a sign-in: 401. The API itself still refuses the cookie.
    let res = http.post(&refresh_url).send().await.expect("post");
    assert_eq!(res.status(), 401);
    let st = status_with_cookie(
        &http,
        Method::POST,
        &format!("{base}/v1/partnerships/{pid}/sessions"),
        &cookie,
        json!(null),
    )
    .await;
    assert_eq!(st, 403, "the API takes no state change from a cookie");

    // A view sign-in sees the button disabled, with the reason; its forged
    // request with the right CSRF token is refused for the scope.
    b.sign_out().await;
    b.sign_in(&base, &vendor_view.token).await;
    b.follow_link(PARTNER, "partnership").await;
    b.eventually(
        WAIT,
        "return document.getElementById('refresh-reason').hidden ? null : document.getElementById('refresh-reason').innerText",
        |v| v.as_str().is_some_and(|t| t.contains("view token") && t.contains("upload")),
    )
    .await;
    assert_eq!(
        b.js("return document.getElementById('refresh-now').disabled")
            .await,
        json!(true)
    );
    b.screenshot("refresh-now-view").await;
    let res = http_sign_in(&http, &base, &vendor_view.token).await;
    let (view_cookie, _) = set_cookie(res.headers(), "cleanroom_session").expect("cookie");
    let page = http
        .get(format!("{base}/dashboard/"))
        .header(header::COOKIE, format!("cleanroom_session={view_cookie}"))
        .send()
        .await
        .expect("page");
    let view_csrf = hidden_field(&page.text().await.expect("html"), "csrf");
    let res = http
        .post(&refresh_url)
        .header(header::COOKIE, format!("cleanroom_session={view_cookie}"))
        .header("x-csrf-token", &view_csrf)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);
    let problem: serde_json::Value = res.json().await.expect("json");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("view token")
    );
    let sessions: Vec<Session> = v
        .ok(
            Method::GET,
            &format!("/v1/partnerships/{pid}/sessions"),
            None,
        )
        .await;
    assert_eq!(sessions.len(), 1, "no forged request created a session");

    b.close().await;
    server.shutdown().await;
}
