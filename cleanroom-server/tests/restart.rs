//! The real binary on a SQLite file: half a session, `kill -9`, restart, finish.

mod common;

use std::process::Command;

use cleanroom_core::api::{Session, SessionState, SharingPolicy};
use cleanroom_server::store::{AnyStore, Store as _};
use common::*;
use reqwest::Method;

/// `admin_create_org`, also checking that the command reports the new
/// organization's id.
fn create_org(url: &str, name: &str) -> String {
    let report = admin_create_org_report(url, name);
    assert!(report.contains("org-id: "));
    admin_token(&report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_session_loses_nothing() {
    let db = TestDb::sqlite();
    let url = db.url().to_owned();
    // The database exists before the admin commands, as after a first start.
    AnyStore::connect(&url).await.unwrap().close().await;
    let vt = create_org(&url, "Vendor Inc");
    let pt = create_org(&url, "Partner LLC");

    let (mut child, base) = start_server(&url, &[]);
    let v = Api::new(&base, &vt);
    let p = Api::new(&base, &pt);
    let ps = v
        .partner_up(&p, "Partner LLC", SharingPolicy::default())
        .await;
    let s = v.open_session(&ps.id).await;
    let (va, pa, pss) = upload_all_but_partner_tokens(&v, &p, &s.id).await;
    // The partner gets half-way through its tokens when the server dies.
    let (_, _, points) = p
        .get_bytes(&format!("/v1/sessions/{}/counterpart/points", s.id))
        .await;
    let tokens = pss.token_batch(&points).unwrap();
    let partial = cleanroom_core::wire::encode_tokens(&tokens[..50]);
    let (st, _) = p
        .put_bytes(&format!("/v1/sessions/{}/tokens/0", s.id), partial)
        .await;
    assert_eq!(st, 200);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (mut child, base) = start_server(&url, &[]);
    let v = Api::new(&base, &vt);
    let p = Api::new(&base, &pt);
    let resumed: Session = p
        .ok(Method::GET, &format!("/v1/sessions/{}", s.id), None)
        .await;
    assert_eq!(resumed.state, SessionState::AwaitingTokens);
    assert_eq!(resumed.partner.token_chunks, vec![0]);
    let done = p.upload_tokens(&s.id, &pss, 100).await;
    assert_eq!(done.state, SessionState::Completed);
    let e = expected(&va, &pa);
    check_results(&v.results(&s.id).await, &e);
    check_results(&p.results(&s.id).await, &e);
    child.kill().unwrap();
    child.wait().unwrap();

    let store = AnyStore::connect(&url).await.unwrap();
    assert_eq!(store.chunk_row_counts().await.unwrap(), (0, 0));
    store.close().await;
}

/// Admin commands say which database they use, refuse to create an empty
/// SQLite file where none is (a command run from another directory), and
/// explain what to do when the organization exists already.
#[tokio::test]
async fn admin_commands_name_their_database_and_never_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(SERVER_BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run(&["admin", "create-org", "Acme"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("using the database: SQLite file"), "{err}");
    assert!(err.contains("there is no database at"), "{err}");
    assert!(
        !dir.path().join("cleanroom.db").exists(),
        "no file was created"
    );

    let url = format!("sqlite://{}", dir.path().join("cleanroom.db").display());
    AnyStore::connect(&url).await.unwrap().close().await;
    assert!(run(&["admin", "create-org", "Acme"]).status.success());
    let out = run(&["admin", "create-org", "Acme"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("exists already") && err.contains("admin create-token --org"),
        "{err}"
    );
}
