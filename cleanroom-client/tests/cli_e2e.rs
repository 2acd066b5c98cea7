//! The real `cleanroom` binary, end to end, against the real server on SQLite:
//! partnership set-up, two concurrent `match` runs on generated exports,
//! `results`, `overlaps`, `sessions`, `audit`, and an auth failure.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use cleanroom_client::generate::Truth;
use cleanroom_core::api::{NamesWithoutCountry, SessionResults};
use cleanroom_core::disclosure::Count;

struct Org<'a> {
    url: &'a str,
    token: &'a str,
    state: &'a Path,
}

/// The vendor and the partner of a test, on one server and with one state
/// directory, as when both run on one machine.
fn orgs<'a>(url: &'a str, vendor: &'a str, partner: &'a str, state: &'a Path) -> [Org<'a>; 2] {
    [
        Org {
            url,
            token: vendor,
            state,
        },
        Org {
            url,
            token: partner,
            state,
        },
    ]
}

fn cmd(org: &Org<'_>, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cleanroom"));
    c.args(args)
        .current_dir(dir)
        .env("CLEANROOM_URL", org.url)
        .env("CLEANROOM_TOKEN", org.token)
        .env("CLEANROOM_STATE_DIR", org.state)
        .env("CLEANROOM_PROFILES", dir.join("no-profiles.toml"))
        .stdin(Stdio::null());
    c
}

async fn run(org: &Org<'_>, dir: &Path, args: &[&str]) -> Output {
    let mut c = cmd(org, dir, args);
    // The server runs on this test's runtime: wait for the child off it.
    tokio::task::spawn_blocking(move || c.output().expect("run cleanroom"))
        .await
        .expect("join")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// `partners invite --role vendor` with `flags` run by `vendor`, then its
/// code accepted by `partner` (`partners accept --code … --yes`): what the
/// invitation said on stderr, and what the acceptance printed.
async fn partner_up(
    vendor: &Org<'_>,
    partner: &Org<'_>,
    d: &Path,
    flags: &[&str],
) -> (String, String) {
    let mut args = vec!["partners", "invite", "--role", "vendor"];
    args.extend_from_slice(flags);
    let o = run(vendor, d, &args).await;
    let code = ok(&o);
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    // Standard output is the code and nothing else, for piping.
    assert!(
        code.starts_with("cri_") && code.trim().len() == 47,
        "{code}"
    );
    assert!(said.contains("accept --code"), "{said}");
    assert!(
        !said.contains(code.trim()),
        "the code is printed once: {said}"
    );
    let accepted = ok(&run(
        partner,
        d,
        &["partners", "accept", "--code", code.trim(), "--yes"],
    )
    .await);
    (said, accepted)
}

/// Switches the partnership to noisy counts and runs a second session: the
/// figures carry "≈" and their 95 % intervals admit the truth for most of
/// them (coverage, not exactness).
async fn noisy_session(vendor: &Org<'_>, partner: &Org<'_>, d: &Path, truth: &Truth) {
    let out = ok(&run(
        vendor,
        d,
        &[
            "partners",
            "policy",
            "propose",
            "Partner Co",
            "--records",
            "overlapping-records",
            "--vendor-shares-white-space",
            "--partner-shares-white-space",
            "--epsilon",
            "1",
        ],
    )
    .await);
    assert!(
        out.contains("pending: counts: noisy (ε 1 per session)"),
        "{out}"
    );
    let out = ok(&run(partner, d, &["partners", "policy", "agree", "Vendor Co"]).await);
    assert!(
        out.contains("policy:  counts: noisy (ε 1 per session)"),
        "{out}"
    );
    // The exact session spent no ε; one session of the day is gone.
    assert!(
        out.contains("privacy budget: 0 of 10 ε spent in 30 days")
            && out.contains("sessions today 1 of 10"),
        "{out}"
    );

    let vc = cmd(
        vendor,
        d,
        &["match", "--partner", "Partner Co", "--input", "v.csv"],
    );
    let pc = cmd(
        partner,
        d,
        &["match", "--partner", "Vendor Co", "--input", "p.csv"],
    );
    let both = |mut c: Command| tokio::task::spawn_blocking(move || c.output().unwrap());
    let (vo, po) = tokio::join!(both(vc), both(pc));
    let vtable = ok(&vo.unwrap());
    ok(&po.unwrap());
    assert!(
        vtable.starts_with("Noisy counts (ε 1, 95 % interval ± "),
        "{vtable}"
    );
    assert!(vtable.contains("≈ "), "{vtable}");

    let json = ok(&run(vendor, d, &["results", "--partner", "Partner Co", "--json"]).await);
    let r: SessionResults = serde_json::from_str(&json).unwrap();
    let e = truth.expected();
    let mut figures: Vec<(Count, u64)> = Vec::new();
    for (v, line) in r.cells.iter().enumerate() {
        for (p, c) in line.iter().enumerate() {
            figures.push((c.vendor_accounts, e.cells[v][p]));
            figures.push((c.partner_accounts, e.cells[v][p]));
        }
    }
    for (side, totals, matched) in [
        (&r.vendor, &e.vendor_totals, &e.vendor_matched),
        (&r.partner, &e.partner_totals, &e.partner_matched),
    ] {
        for (i, f) in side.figures.iter().enumerate() {
            figures.push((f.total.expect("shared"), totals[i]));
            figures.push((f.matched.expect("shared"), matched[i]));
            figures.push((f.white_space.expect("shared"), totals[i] - matched[i]));
        }
    }
    assert!(
        figures
            .iter()
            .all(|(c, _)| matches!(c, Count::Approx { .. })),
        "{figures:?}"
    );
    let admitted = figures.iter().filter(|(c, t)| c.admits(*t)).count();
    // 95 % intervals: nearly all should hold; 80 % leaves room for chance.
    assert!(
        admitted * 5 >= figures.len() * 4,
        "{admitted} of {} intervals admit the truth: {figures:?}",
        figures.len()
    );
    let out = ok(&run(vendor, d, &["partners", "show", "Partner Co"]).await);
    assert!(
        out.contains("privacy budget: 1 of 10 ε spent in 30 days")
            && out.contains("sessions today 2 of 10"),
        "{out}"
    );
}

/// A server on a SQLite file in `dir` with the organizations "Vendor Co" and
/// "Partner Co" (their admin tokens returned); every population and cell is
/// shown, and `tweak` may change the rest.
async fn start(
    dir: &Path,
    tweak: impl FnOnce(&mut cleanroom_server::Config),
) -> (cleanroom_server::RunningServer, String, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = format!("sqlite://{}", dir.join("server.db").display());
    let (_, vtoken) = cleanroom_server::bootstrap::create_org(&db, "Vendor Co")
        .await
        .unwrap();
    let (_, ptoken) = cleanroom_server::bootstrap::create_org(&db, "Partner Co")
        .await
        .unwrap();
    let mut config = cleanroom_server::Config::for_tests(&db);
    config.guardrails.min_population_size = 1;
    config.guardrails.min_cell_size = 1;
    tweak(&mut config);
    (
        cleanroom_server::spawn(config).await.unwrap(),
        vtoken,
        ptoken,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_results_overlaps_via_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, vtoken, ptoken) = start(d, |_| {}).await;
    let url = server.base_url();
    // One state directory for both sides, as when both run on one machine
    // (the README quick start): the CLI must keep their secrets apart.
    let vs = d.join("state");
    let [vendor, partner] = orgs(&url, &vtoken, &ptoken, &vs);

    // The README quick start's pipe: the code goes from the vendor's
    // invitation straight into the partner's acceptance, never in argv.
    let mut pipe = Command::new("sh");
    pipe.arg("-c")
        .arg(
            "\"$BIN\" partners invite --role vendor --records overlapping-records \
             --vendor-shares-white-space --partner-shares-white-space --exact-counts \
             | CLEANROOM_TOKEN=\"$PARTNER_TOKEN\" \"$BIN\" partners accept --code - --yes",
        )
        .current_dir(d)
        .env("BIN", env!("CARGO_BIN_EXE_cleanroom"))
        .env("CLEANROOM_URL", &url)
        .env("CLEANROOM_TOKEN", &vtoken)
        .env("PARTNER_TOKEN", &ptoken)
        .env("CLEANROOM_STATE_DIR", &vs)
        .env("CLEANROOM_PROFILES", d.join("no-profiles.toml"))
        .stdin(Stdio::null());
    let o = tokio::task::spawn_blocking(move || pipe.output().expect("run sh"))
        .await
        .unwrap();
    let out = ok(&o);
    let said = String::from_utf8_lossy(&o.stderr);
    // Compared with the truth below, so exact.
    assert!(said.contains("counts: exact"), "{said}");
    assert!(
        out.contains("Invitation from Vendor Co: they are the vendor, your organization would be the partner."),
        "{out}"
    );
    assert!(out.contains("status:  active"), "{out}");
    assert!(out.contains("counts: exact"), "{out}");
    // The inviter's list shows the invitation accepted (never its code).
    let v_api = cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(
        url.clone(),
        vtoken.clone(),
    ))
    .unwrap();
    let invitations = v_api.list_invitations().await.unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(
        invitations[0].status,
        cleanroom_core::api::InvitationStatus::Accepted
    );
    let out = ok(&run(&vendor, d, &["partners", "invitations"]).await);
    assert!(out.contains("accepted"), "{out}");
    ok(&run(
        &vendor,
        d,
        &[
            "generate",
            "--vendor-out",
            "v.csv",
            "--partner-out",
            "p.csv",
            "--accounts",
            "800",
            "--overlap",
            "0.3",
            "--seed",
            "4",
            "--format",
            "salesforce",
            "--truth",
            "truth.json",
        ],
    )
    .await);
    let truth: Truth =
        serde_json::from_slice(&std::fs::read(d.join("truth.json")).unwrap()).unwrap();

    // Both sides at once, as two processes.
    let mut vc = cmd(
        &vendor,
        d,
        &[
            "match",
            "--partner",
            "Partner Co",
            "--input",
            "v.csv",
            "--json",
            "--chunk-size",
            "300",
        ],
    );
    let mut pc = cmd(
        &partner,
        d,
        &[
            "match",
            "--partner",
            "Vendor Co",
            "--input",
            "p.csv",
            "--rejects",
            "p-rejects.csv",
        ],
    );
    // The vendor goes first and has written its local state (and committed
    // its blinded set) before the partner starts: the partner must not pick
    // up the vendor's state file from the shared directory.
    let vendor_run = tokio::task::spawn_blocking(move || vc.output().unwrap());
    let api = cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(
        url.clone(),
        vtoken.clone(),
    ))
    .unwrap();
    let pid = api.list_partnerships().await.unwrap()[0].id.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let sessions = api.list_sessions(&pid).await.unwrap();
        if sessions
            .first()
            .is_some_and(|s| s.vendor.blinded == cleanroom_core::api::UploadState::Committed)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "vendor never committed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (vo, po) = tokio::join!(
        vendor_run,
        tokio::task::spawn_blocking(move || pc.output().unwrap())
    );
    let (vo, po) = (vo.unwrap(), po.unwrap());
    let vjson = ok(&vo);
    let ptable = ok(&po);
    let perr = String::from_utf8_lossy(&po.stderr);
    assert!(perr.contains("accounts; populations:"), "{perr}");
    assert!(perr.contains("Rejected values written to"), "{perr}");
    assert!(ptable.contains("Vendor Co \\ Partner Co"), "{ptable}");
    assert!(ptable.contains("white space"), "{ptable}");

    assert!(ptable.starts_with("Exact counts."), "{ptable}");

    let r: SessionResults = serde_json::from_str(&vjson).unwrap();
    // One population per account on this server, and accounts in none of
    // them as "(other)".
    let e = truth.expected();
    assert_eq!(r.vendor.populations, e.vendor_populations);
    assert_eq!(r.partner.populations, e.partner_populations);
    assert_eq!(
        r.partner.populations.last().map(String::as_str),
        Some(cleanroom_core::wire::OTHER_POPULATION)
    );
    for (v, line) in r.cells.iter().enumerate() {
        for (p, c) in line.iter().enumerate() {
            assert_eq!(
                c.vendor_accounts,
                Count::Exact(e.cells[v][p]),
                "cell {v},{p}"
            );
            assert_eq!(
                c.partner_accounts,
                Count::Exact(e.cells[v][p]),
                "cell {v},{p}"
            );
        }
    }
    for (i, f) in r.partner.figures.iter().enumerate() {
        assert_eq!(f.total, Some(Count::Exact(e.partner_totals[i])));
        assert_eq!(
            f.white_space,
            Some(Count::Exact(e.partner_totals[i] - e.partner_matched[i]))
        );
    }

    // The same results again, as CSV, written atomically to a file.
    ok(&run(
        &partner,
        d,
        &[
            "results",
            "--partner",
            "Vendor Co",
            "--csv",
            "--out",
            "r.csv",
        ],
    )
    .await);
    let rcsv = std::fs::read_to_string(d.join("r.csv")).unwrap();
    assert!(
        rcsv.starts_with("kind,vendor_population,partner_population"),
        "{rcsv}"
    );

    // Overlaps join back to the vendor's own CSV lines.
    ok(&run(
        &vendor,
        d,
        &[
            "overlaps",
            "--partner",
            "Partner Co",
            "--out",
            "matched.csv",
        ],
    )
    .await);
    let matched = std::fs::read_to_string(d.join("matched.csv")).unwrap();
    let mut rd = csv::Reader::from_reader(matched.as_bytes());
    let headers = rd.headers().unwrap().clone();
    assert_eq!(&headers[0], "csv_line");
    assert_eq!(&headers[1], "partner_populations");
    assert_eq!(&headers[3], "Account Name");
    let rows = rd.records().count();
    assert!(
        rows >= truth.shared(),
        "{rows} matched rows for {} shared accounts",
        truth.shared()
    );

    let out = ok(&run(&vendor, d, &["sessions", "--partner", "Partner Co"]).await);
    assert!(out.contains("Completed"), "{out}");

    noisy_session(&vendor, &partner, d, &truth).await;

    let out = ok(&run(&vendor, d, &["audit", "--partner", "Partner Co"]).await);
    assert!(out.contains("results"), "{out}");
    // Piped, the table fits 120 columns (the detail wraps) rather than ~330.
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 120, "audit lines up to {widest} wide:\n{out}");
    assert!(
        out.contains("records="),
        "details are compact key=value: {out}"
    );

    // A wrong token is an auth error: exit 5, the server's problem surfaced.
    let bad = Org {
        url: &url,
        token: "crt_not-a-real-token",
        state: &vs,
    };
    let o = run(&bad, d, &["partners", "list"]).await;
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: not authorized"));
    server.shutdown().await;
}

/// A used-up budget stops `match` at once (no retrying a 429 that refreshes
/// in hours), with the server's detail naming the refresh time, and exit 6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn used_up_session_budget_is_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, vtoken, ptoken) = start(d, |c| c.guardrails.sessions_per_day = 1).await;
    let url = server.base_url();
    let state = d.join("state");
    let [vendor, partner] = orgs(&url, &vtoken, &ptoken, &state);
    let (said, out) = partner_up(&vendor, &partner, d, &[]).await;
    // No counts flag: the server's default, noisy.
    assert!(said.contains("counts: noisy (ε 1 per session)"), "{said}");
    assert!(out.contains("counts: noisy (ε 1 per session)"), "{out}");
    std::fs::write(
        d.join("v.csv"),
        "Account Name,Website\nAcme,acme.com\nBeta,beta.io\n",
    )
    .unwrap();
    // The one session of the day, cancelled: it still counts.
    let api = cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(
        url.clone(),
        vtoken.clone(),
    ))
    .unwrap();
    let pid = api.list_partnerships().await.unwrap()[0].id.clone();
    let s = api.create_session(&pid).await.unwrap();
    api.cancel_session(&s.id).await.unwrap();

    let started = std::time::Instant::now();
    let o = run(
        &vendor,
        d,
        &["match", "--partner", "Partner Co", "--input", "v.csv"],
    )
    .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(
        err.contains("error: no new session now:") && err.contains("refreshes at"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let out = ok(&run(&vendor, d, &["partners", "show", "Partner Co"]).await);
    assert!(out.contains("sessions today 1 of 1"), "{out}");
    server.shutdown().await;
}

/// The partnership's rule for names without a country reaches both sides'
/// uploads: `match` prepares under it by itself (and says so when the file
/// has no country column), and the library refuses an input prepared under
/// the other rule before any session exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_without_a_country_follow_the_partnership_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, vtoken, ptoken) = start(d, |_| {}).await;
    let url = server.base_url();
    let state = d.join("state");
    let [vendor, partner] = orgs(&url, &vtoken, &ptoken, &state);
    let (said, _) = partner_up(
        &vendor,
        &partner,
        d,
        &[
            "--exact-counts",
            // The version 1 spelling still works.
            "--name-matching",
            "when-domain-missing",
            "--names-without-country",
            "unqualified",
        ],
    )
    .await;
    assert!(
        said.contains(
            "name matching: when-strong-key-missing; names without a country: unqualified"
        ),
        "{said}"
    );

    // Neither file has a country column; the names only meet unqualified.
    std::fs::write(
        d.join("v.csv"),
        "Account Name,Website\nAcme Inc,\nBeta GmbH,beta.de\nGamma,\n",
    )
    .unwrap();
    std::fs::write(
        d.join("p.csv"),
        "Account Name,Website\nACME Incorporated,\nDelta,delta.io\n",
    )
    .unwrap();

    let api = cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(
        url.clone(),
        vtoken.clone(),
    ))
    .unwrap();
    let pid = api.list_partnerships().await.unwrap()[0].id.clone();
    let input = cleanroom_client::prepare_file_quiet(
        &d.join("v.csv"),
        &cleanroom_client::InputOptions::default(),
    )
    .unwrap();
    let opts = cleanroom_client::SessionOptions::new(
        pid.clone(),
        cleanroom_client::StateDir::new(d.join("lib-state")),
    );
    let err = cleanroom_client::run_session(&api, &input, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            cleanroom_client::Error::NamesWithoutCountryMismatch {
                prepared: NamesWithoutCountry::Omit,
                agreed: NamesWithoutCountry::Unqualified,
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), cleanroom_client::ErrorKind::Input);
    let msg = err.to_string();
    assert!(
        msg.contains("omit")
            && msg.contains("unqualified")
            && msg.contains("names_without_country"),
        "{msg}"
    );
    assert!(api.list_sessions(&pid).await.unwrap().is_empty());

    let vc = cmd(
        &vendor,
        d,
        &[
            "match",
            "--partner",
            "Partner Co",
            "--input",
            "v.csv",
            "--json",
        ],
    );
    let pc = cmd(
        &partner,
        d,
        &["match", "--partner", "Vendor Co", "--input", "p.csv"],
    );
    let both = |mut c: Command| tokio::task::spawn_blocking(move || c.output().unwrap());
    let (vo, po) = tokio::join!(both(vc), both(pc));
    let (vo, po) = (vo.unwrap(), po.unwrap());
    let vjson = ok(&vo);
    ok(&po);
    let verr = String::from_utf8_lossy(&vo.stderr);
    let warning = verr
        .lines()
        .find(|l| l.starts_with("warning: no country column"))
        .unwrap_or_else(|| panic!("no warning: {verr}"));
    assert!(
        warning.contains("unqualified") && warning.contains("--country-col"),
        "{warning}"
    );
    assert!(
        verr.contains("Uploaded 3 company names without a country"),
        "{verr}"
    );
    let r: SessionResults = serde_json::from_str(&vjson).unwrap();
    // Acme on both sides, by its unqualified name; nothing else.
    assert_eq!(r.cells[0][0].vendor_accounts, Count::Exact(1), "{vjson}");
    server.shutdown().await;
}
