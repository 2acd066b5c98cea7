//! Shared helpers for the end-to-end tests: databases, a running server,
//! two organizations in a partnership, and checks against the ground truth.
#![forbid(unsafe_code)]

pub mod bench;
pub mod quality;

use cleanroom_client::generate::ExpectedOverlap;
use cleanroom_core::api::{CountsMode, Role, SessionResults};
use cleanroom_core::disclosure::Count;

/// Installs the process-wide rustls provider the server's TLS may need; the
/// client library never relies on it.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The PostgreSQL admin URL: `CLEANROOM_TEST_PG` or the local default.
pub fn pg_admin_url() -> String {
    std::env::var("CLEANROOM_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A uniquely named PostgreSQL database, dropped by [`PgDb::drop_db`] (or,
/// when a test fails first, when the value is dropped).
pub struct PgDb {
    admin: String,
    name: String,
    dropped: bool,
    /// URL of the new database.
    pub url: String,
}

impl PgDb {
    /// Creates the database; panics (fails the test) when PostgreSQL is unreachable.
    pub async fn create() -> PgDb {
        use sqlx::Connection;
        let admin = pg_admin_url();
        let name = format!("cleanroom_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at {admin} is unreachable (set CLEANROOM_TEST_PG): {e}")
            });
        // The name is ours: a fixed prefix and a UUID in hex.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        // Same server and credentials, other database: swap the URL's path.
        let (main, query) = match admin.split_once('?') {
            Some((m, q)) => (m, format!("?{q}")),
            None => (admin.as_str(), String::new()),
        };
        let host_start = main.find("://").map(|i| i + 3).unwrap_or(0);
        let base = match main[host_start..].find('/') {
            Some(i) => &main[..host_start + i],
            None => main,
        };
        let url = format!("{base}/{name}{query}");
        PgDb {
            admin,
            name,
            dropped: false,
            url,
        }
    }

    /// Drops the database (forcing out remaining connections).
    pub async fn drop_db(mut self) {
        drop_database(&self.admin, &self.name).await;
        self.dropped = true;
    }
}

async fn drop_database(admin: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
        let _ = conn.close().await;
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A failed test unwinds past `drop_db`: clean up on a thread of its
        // own, since we may be inside a runtime that cannot block.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_database(&admin, &name));
            }
        })
        .join();
    }
}

fn index_of(names: &[String], name: &str) -> usize {
    names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("population {name} missing from {names:?}"))
}

/// How many noisy figures of a result fell inside their 95 % interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Noisy figures whose interval admits the true value.
    pub inside: u64,
    /// Noisy figures checked.
    pub total: u64,
}

impl Coverage {
    /// The share inside.
    pub fn rate(&self) -> f64 {
        self.inside as f64 / self.total.max(1) as f64
    }
}

/// Checks every cell and every population figure of `r` against the
/// plaintext expectation. Exact counts: exactly when `min_cell_size <= 1`,
/// else that each disclosed count admits the true value. Noisy counts: every
/// figure is an estimate with an interval, and the returned [`Coverage`] says
/// how many intervals admit the truth (about 95 % of them should).
pub fn check_results(
    r: &SessionResults,
    truth_vendor_pops: &[String],
    truth_partner_pops: &[String],
    e: &ExpectedOverlap,
) -> Coverage {
    let noisy = matches!(r.disclosure.counts, CountsMode::Noisy { .. });
    let exact = r.min_cell_size <= 1 && !noisy;
    let coverage = std::cell::Cell::new(Coverage::default());
    let check = |what: &str, c: &Count, n: u64| {
        if noisy {
            let mut cov = coverage.get();
            match c {
                Count::Approx { .. } => {
                    cov.total += 1;
                    cov.inside += u64::from(c.admits(n));
                }
                Count::Range { .. } => {}
                Count::Exact(_) => panic!("{what}: an exact count in noisy mode"),
            }
            coverage.set(cov);
        } else if exact {
            assert_eq!(*c, Count::Exact(n), "{what} (viewer {:?})", r.my_role);
        } else {
            assert!(
                c.admits(n),
                "{what}: {c:?} does not admit {n} (viewer {:?})",
                r.my_role
            );
        }
    };
    for (v, vname) in r.vendor.populations.iter().enumerate() {
        let tv = index_of(truth_vendor_pops, vname);
        for (p, pname) in r.partner.populations.iter().enumerate() {
            let tp = index_of(truth_partner_pops, pname);
            let want = e.cells[tv][tp];
            let cell = &r.cells[v][p];
            check(
                &format!("cell {vname}×{pname} vendor accounts"),
                &cell.vendor_accounts,
                want,
            );
            check(
                &format!("cell {vname}×{pname} partner accounts"),
                &cell.partner_accounts,
                want,
            );
        }
    }
    for (side, role, names, totals, matched) in [
        (
            &r.vendor,
            Role::Vendor,
            truth_vendor_pops,
            &e.vendor_totals,
            &e.vendor_matched,
        ),
        (
            &r.partner,
            Role::Partner,
            truth_partner_pops,
            &e.partner_totals,
            &e.partner_matched,
        ),
    ] {
        let shared = role == r.my_role
            || match role {
                Role::Vendor => r.policy.vendor_shares_white_space,
                Role::Partner => r.policy.partner_shares_white_space,
            };
        for (i, name) in side.populations.iter().enumerate() {
            let t = index_of(names, name);
            let fig = &side.figures[i];
            if shared {
                let total = fig
                    .total
                    .unwrap_or_else(|| panic!("{role:?} {name} total hidden"));
                if noisy {
                    check(&format!("{role:?} {name} total"), &total, totals[t]);
                } else {
                    assert_eq!(total, Count::Exact(totals[t]), "{role:?} {name} total");
                }
                let m = fig
                    .matched
                    .unwrap_or_else(|| panic!("{role:?} {name} matched hidden"));
                let w = fig
                    .white_space
                    .unwrap_or_else(|| panic!("{role:?} {name} white space hidden"));
                check(&format!("{role:?} {name} matched"), &m, matched[t]);
                check(
                    &format!("{role:?} {name} white space"),
                    &w,
                    totals[t] - matched[t],
                );
            } else {
                assert!(
                    fig.total.is_none() && fig.matched.is_none() && fig.white_space.is_none(),
                    "{role:?} {name} must be hidden"
                );
            }
        }
    }
    coverage.get()
}

/// Whether any disclosed cell of `r` is a range (suppressed).
pub fn has_ranges(r: &SessionResults) -> bool {
    r.cells
        .iter()
        .flatten()
        .any(|c| c.vendor_accounts.exact().is_none() || c.partner_accounts.exact().is_none())
}

/// A running server with two organizations in an active partnership.
pub struct World {
    /// The server.
    pub server: cleanroom_server::RunningServer,
    /// The vendor's admin client.
    pub vendor: cleanroom_client::Client,
    /// The partner's admin client.
    pub partner: cleanroom_client::Client,
    /// The vendor's admin token.
    pub vendor_token: String,
    /// The partner's admin token.
    pub partner_token: String,
    /// The partnership.
    pub partnership_id: String,
}

/// Guardrails for a test run.
#[derive(Clone, Copy, Debug)]
pub struct Guards {
    /// Minimum population size.
    pub min_population_size: u64,
    /// Minimum cell size `k`.
    pub min_cell_size: u64,
}

impl Guards {
    /// Everything exact: every population passes and no cell is coarsened.
    pub const EXACT: Guards = Guards {
        min_population_size: 1,
        min_cell_size: 1,
    };
}

/// Bootstraps two organizations in `database_url`, starts the server and
/// makes them partners (the vendor invites with `policy`, the partner accepts).
pub async fn world(
    database_url: &str,
    guards: Option<Guards>,
    policy: cleanroom_core::api::SharingPolicy,
) -> World {
    use cleanroom_core::api::{CreateInvitation, PartnershipStatus};
    install_crypto();
    let (_, vendor_token) = cleanroom_server::bootstrap::create_org(database_url, "Vendor Co")
        .await
        .expect("bootstrap vendor");
    let (_, partner_token) = cleanroom_server::bootstrap::create_org(database_url, "Partner Co")
        .await
        .expect("bootstrap partner");
    let mut config = cleanroom_server::Config::for_tests(database_url);
    if let Some(g) = guards {
        config.guardrails.min_population_size = g.min_population_size;
        config.guardrails.min_cell_size = g.min_cell_size;
    }
    let server = cleanroom_server::spawn(config).await.expect("spawn server");
    let client = |t: &str| {
        cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(server.base_url(), t))
            .expect("client")
    };
    let (vendor, partner) = (client(&vendor_token), client(&partner_token));
    let invited = vendor
        .create_invitation(&CreateInvitation {
            my_role: Role::Vendor,
            policy,
            expires_in_days: None,
        })
        .await
        .expect("invite");
    let accepted = partner
        .accept_invitation(&invited.code)
        .await
        .expect("accept");
    assert_eq!(accepted.status, PartnershipStatus::Active);
    World {
        server,
        vendor,
        partner,
        vendor_token,
        partner_token,
        partnership_id: accepted.id,
    }
}

/// A policy sharing white space both ways and overlapping records.
pub fn open_policy() -> cleanroom_core::api::SharingPolicy {
    cleanroom_core::api::SharingPolicy {
        records: cleanroom_core::api::RecordSharing::OverlappingRecords,
        vendor_shares_white_space: true,
        partner_shares_white_space: true,
        name_matching: Default::default(),
        names_without_country: Default::default(),
        counts: Some(CountsMode::Exact),
        session_expiry_secs: None,
    }
}

/// [`open_policy`] with noisy counts at `epsilon`.
pub fn noisy_policy(epsilon: f64) -> cleanroom_core::api::SharingPolicy {
    cleanroom_core::api::SharingPolicy {
        counts: Some(CountsMode::Noisy {
            epsilon: cleanroom_core::api::Epsilon::from_f64(epsilon).expect("a valid epsilon"),
        }),
        ..open_policy()
    }
}
