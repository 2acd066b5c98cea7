//! The real `cleanroom` binary, end to end, against the real server on SQLite:
//! partnership set-up, two concurrent `match` runs on generated exports,
//! `results`, `overlaps`, `sessions`, `audit`, and an auth failure.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use cleanroom_client::generate::Truth;
use cleanroom_core::api::SessionResults;
use cleanroom_core::disclosure::Count;

struct Org<'a> {
    url: &'a str,
    token: &'a str,
    state: &'a Path,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_results_overlaps_via_the_binary() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = format!("sqlite://{}", d.join("server.db").display());
    let (_, vtoken) = cleanroom_server::bootstrap::create_org(&db, "Vendor Co")
        .await
        .unwrap();
    let (_, ptoken) = cleanroom_server::bootstrap::create_org(&db, "Partner Co")
        .await
        .unwrap();
    let mut config = cleanroom_server::Config::for_tests(&db);
    config.guardrails.min_population_size = 1;
    config.guardrails.min_cell_size = 1;
    let server = cleanroom_server::spawn(config).await.unwrap();
    let url = server.base_url();
    // One state directory for both sides, as when both run on one machine
    // (the README quick start): the CLI must keep their secrets apart.
    let (vs, ps) = (d.join("state"), d.join("state"));
    let vendor = Org {
        url: &url,
        token: &vtoken,
        state: &vs,
    };
    let partner = Org {
        url: &url,
        token: &ptoken,
        state: &ps,
    };

    let out = ok(&run(
        &vendor,
        d,
        &[
            "partners",
            "invite",
            "Partner Co",
            "--role",
            "vendor",
            "--records",
            "overlapping-records",
            "--vendor-shares-white-space",
            "--partner-shares-white-space",
        ],
    )
    .await);
    assert!(out.contains("invited"), "{out}");
    let out = ok(&run(&partner, d, &["partners", "accept", "Vendor Co"]).await);
    assert!(out.contains("active"), "{out}");
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

    let r: SessionResults = serde_json::from_str(&vjson).unwrap();
    let e = truth.expected();
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
        assert_eq!(f.total, e.partner_totals[i]);
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
    let out = ok(&run(&vendor, d, &["audit", "--partner", "Partner Co"]).await);
    assert!(out.contains("results"), "{out}");

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
