//! Shared helpers for the end-to-end tests: databases, a running server,
//! two organizations in a partnership, and checks against the ground truth.
#![forbid(unsafe_code)]

use cleanroom_client::generate::ExpectedOverlap;
use cleanroom_core::api::{Role, SessionResults};
use cleanroom_core::disclosure::Count;

/// Installs the process-wide rustls provider the server's TLS may need; the
/// client library never relies on it.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The PostgreSQL admin URL: `CLEANROOM_TEST_PG` or the local default.
pub fn pg_admin_url() -> String {
    std::env::var("CLEANROOM_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A uniquely named PostgreSQL database, dropped by [`PgDb::drop_db`].
pub struct PgDb {
    admin: String,
    name: String,
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
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is unreachable (set CLEANROOM_TEST_PG): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
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
        PgDb { admin, name, url }
    }

    /// Drops the database (forcing out remaining connections).
    pub async fn drop_db(self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

fn index_of(names: &[String], name: &str) -> usize {
    names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("population {name} missing from {names:?}"))
}

/// Checks every cell and every population figure of `r` against the
/// plaintext expectation: exactly when `min_cell_size <= 1`, else that each
/// disclosed count admits the true value (and that exact ones are exact).
pub fn check_results(r: &SessionResults, truth_vendor_pops: &[String], truth_partner_pops: &[String], e: &ExpectedOverlap) {
    let exact = r.min_cell_size <= 1;
    let check = |what: &str, c: &Count, n: u64| {
        if exact {
            assert_eq!(*c, Count::Exact(n), "{what} (viewer {:?})", r.my_role);
        } else {
            assert!(c.admits(n), "{what}: {c:?} does not admit {n} (viewer {:?})", r.my_role);
        }
    };
    for (v, vname) in r.vendor.populations.iter().enumerate() {
        let tv = index_of(truth_vendor_pops, vname);
        for (p, pname) in r.partner.populations.iter().enumerate() {
            let tp = index_of(truth_partner_pops, pname);
            let want = e.cells[tv][tp];
            let cell = &r.cells[v][p];
            check(&format!("cell {vname}×{pname} vendor accounts"), &cell.vendor_accounts, want);
            check(&format!("cell {vname}×{pname} partner accounts"), &cell.partner_accounts, want);
        }
    }
    for (side, role, names, totals, matched) in [
        (&r.vendor, Role::Vendor, truth_vendor_pops, &e.vendor_totals, &e.vendor_matched),
        (&r.partner, Role::Partner, truth_partner_pops, &e.partner_totals, &e.partner_matched),
    ] {
        let shared = role == r.my_role
            || match role {
                Role::Vendor => r.policy.vendor_shares_white_space,
                Role::Partner => r.policy.partner_shares_white_space,
            };
        for (i, name) in side.populations.iter().enumerate() {
            let t = index_of(names, name);
            let fig = &side.figures[i];
            assert_eq!(fig.total, totals[t], "{role:?} {name} total");
            if shared {
                let m = fig.matched.unwrap_or_else(|| panic!("{role:?} {name} matched hidden"));
                let w = fig.white_space.unwrap_or_else(|| panic!("{role:?} {name} white space hidden"));
                check(&format!("{role:?} {name} matched"), &m, matched[t]);
                check(&format!("{role:?} {name} white space"), &w, totals[t] - matched[t]);
            } else {
                assert!(fig.matched.is_none() && fig.white_space.is_none(), "{role:?} {name} must be hidden");
            }
        }
    }
}

/// Whether any disclosed cell of `r` is a range (suppressed).
pub fn has_ranges(r: &SessionResults) -> bool {
    r.cells
        .iter()
        .flatten()
        .any(|c| c.vendor_accounts.exact().is_none() || c.partner_accounts.exact().is_none())
}
