//! Scaffolding the client's end-to-end tests share: a database for the
//! real server (a SQLite file or a fresh PostgreSQL database), an exact-count
//! partnership written straight into the store, the comparison of results
//! with the generator's truth, and the local state files of a side.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cleanroom_client::generate::Truth;
use cleanroom_core::api::{
    CountsMode, PartnershipStatus, RecordSharing, Role, SessionResults, SharingPolicy,
};
use cleanroom_core::disclosure::Count;
use cleanroom_server::store::{PartnershipRow, Store as _};

/// The state files (`active-*.json`) under a state directory.
pub fn active_files(state: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(orgs) = std::fs::read_dir(state) else {
        return out;
    };
    for org in orgs {
        let org = org.unwrap().path();
        for f in std::fs::read_dir(&org).into_iter().flatten() {
            let f = f.unwrap().path();
            if f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("active-"))
            {
                out.push(f);
            }
        }
    }
    out
}

/// A database for the server: a SQLite file, or a new PostgreSQL database.
pub struct Db {
    pub url: String,
    pg: Option<(String, String)>,
}

impl Db {
    pub fn sqlite(dir: &Path) -> Db {
        Db {
            url: format!("sqlite://{}", dir.join("server.db").display()),
            pg: None,
        }
    }

    pub async fn postgres() -> Db {
        use sqlx::Connection;
        let admin = std::env::var("CLEANROOM_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("cleanroom_test_{}", uuid_hex());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL must be reachable at CLEANROOM_TEST_PG");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').expect("a database in the URL").0;
        Db {
            url: format!("{base}/{name}"),
            pg: Some((admin, name)),
        }
    }

    /// Rows of `table` that belong to `session`.
    pub async fn rows(&self, table: &str, column: &str, session: &str) -> i64 {
        use sqlx::{Connection, Row};
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1");
        if self.pg.is_some() {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(session)
                .fetch_one(&mut c)
                .await
                .unwrap()
                .get("n")
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(session)
                .fetch_one(&mut c)
                .await
                .unwrap()
                .get("n")
        }
    }

    /// `(state, cancel_reason)` of a session's row.
    pub async fn session_row(&self, session: &str) -> (String, Option<String>) {
        use sqlx::{Connection, Row};
        let sql = "SELECT state, cancel_reason FROM sessions WHERE id = $1";
        if self.pg.is_some() {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            let r = sqlx::query(sql)
                .bind(session)
                .fetch_one(&mut c)
                .await
                .unwrap();
            (r.get("state"), r.get("cancel_reason"))
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            let r = sqlx::query(sql)
                .bind(session)
                .fetch_one(&mut c)
                .await
                .unwrap();
            (r.get("state"), r.get("cancel_reason"))
        }
    }

    pub async fn drop_db(self) {
        use sqlx::Connection;
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut c)
                .await;
            }
        }
    }
}

pub fn uuid_hex() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{:x}{:x}", t.as_nanos(), std::process::id())
}

/// An active partnership written straight into the store (the invitation
/// flow has its own tests): exact counts, everything shared, so results can
/// be compared with the truth figure by figure.
pub async fn partnership(
    server: &cleanroom_server::RunningServer,
    id: &str,
    vendor: &str,
    partner: &str,
    expiry: Option<u64>,
) {
    server
        .state()
        .store
        .create_partnership(&PartnershipRow {
            id: id.into(),
            vendor_org_id: vendor.into(),
            partner_org_id: partner.into(),
            invited_by: Role::Vendor,
            status: PartnershipStatus::Active,
            policy: SharingPolicy {
                records: RecordSharing::OverlappingRecords,
                vendor_shares_white_space: true,
                partner_shares_white_space: true,
                counts: Some(CountsMode::Exact),
                session_expiry_secs: expiry,
                ..SharingPolicy::default()
            },
            pending: None,
            created_at: cleanroom_server::now(),
        })
        .await
        .unwrap();
}

pub fn check_truth(r: &SessionResults, truth: &Truth) {
    let e = truth.expected();
    assert_eq!(r.vendor.populations, e.vendor_populations);
    assert_eq!(r.partner.populations, e.partner_populations);
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
    for (i, f) in r.vendor.figures.iter().enumerate() {
        assert_eq!(f.total, Some(Count::Exact(e.vendor_totals[i])));
        assert_eq!(f.matched, Some(Count::Exact(e.vendor_matched[i])));
    }
    for (i, f) in r.partner.figures.iter().enumerate() {
        assert_eq!(f.total, Some(Count::Exact(e.partner_totals[i])));
        assert_eq!(f.matched, Some(Count::Exact(e.partner_matched[i])));
    }
}

pub fn api(url: &str, token: &str) -> cleanroom_client::Client {
    cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(url, token)).unwrap()
}
