//! Headless Chromium for the dashboard tests: chromedriver in its own
//! process group with one Chromium session, and the page steps the tests
//! share. cleanroom-server's `dashboard.rs` and cleanroom-client's
//! `dashboard_refresh_e2e.rs` (which needs the `cleanroom` binary, so lives
//! in that crate) both include this file.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Long enough for a cold Chromium on a loaded 2-core CI machine.
pub const WAIT: Duration = Duration::from_secs(30);

/// chromedriver (in its own process group) with one Chromium session.
pub struct Browser {
    client: Option<Client>,
    driver: Option<std::process::Child>,
    profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    pub async fn start() -> Browser {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "{CHROMIUM} and {CHROMEDRIVER} are needed: run .ci/dashboard-deps \
             (or set CLEANROOM_SKIP_BROWSER_TESTS=1)"
        );
        let port = free_port();
        let driver = std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so that Drop can take Chromium down with it.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let mut browser = Browser {
            client: None,
            driver: Some(driver),
            profile: tempfile::tempdir().expect("profile dir"),
        };
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    // Laptop width; tall enough to show the whole partnership page.
                    "--window-size=1366,2400",
                    format!("--user-data-dir={}", browser.profile.path().display()),
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("an object literal"),
        };
        // chromedriver needs a moment before it listens; plain HTTP on
        // loopback, so no TLS connector at all.
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    panic!("no WebDriver session from {CHROMEDRIVER} at {url}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        browser.client = Some(client);
        browser
    }

    pub fn c(&self) -> &Client {
        self.client.as_ref().expect("browser open")
    }

    /// Ends the WebDriver session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
        if let Some(mut d) = self.driver.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.c()
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// Waits until the page's script has finished its first load.
    /// Clicks the link with this text (a real link, not a script) and waits
    /// for `page` to load.
    pub async fn follow_link(&self, text: &str, page: &str) {
        self.c()
            .find(Locator::LinkText(text))
            .await
            .expect("link")
            .click()
            .await
            .expect("follow");
        self.loaded(page).await;
    }

    pub async fn loaded(&self, page: &str) {
        self.wait_for(&format!("body[data-page='{page}'][data-loaded='true']"))
            .await;
    }

    pub async fn sign_in(&self, base: &str, token: &str) {
        self.c()
            .goto(&format!("{base}/dashboard/"))
            .await
            .expect("goto");
        // Redirected to the sign-in form.
        self.wait_for("#token")
            .await
            .send_keys(token)
            .await
            .expect("type token");
        self.c()
            .find(Locator::Css("form.login-form button[type='submit']"))
            .await
            .expect("submit button")
            .click()
            .await
            .expect("submit");
        self.loaded("partnerships").await;
    }

    pub async fn sign_out(&self) {
        self.c()
            .find(Locator::Css("#logout-form button"))
            .await
            .expect("sign-out button")
            .click()
            .await
            .expect("sign out");
        self.wait_for("#token").await;
    }

    /// Polls a script until `ok` accepts its value (the page updates itself)
    /// and returns that value; fails after `within`.
    pub async fn eventually(
        &self,
        within: Duration,
        script: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let v = self.js(script).await;
            if ok(&v) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still {v} after {within:?}: {script}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.c()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-artifacts");
        std::fs::create_dir_all(&dir).expect("artifact dir");
        let path = dir.join(format!("dashboard-{name}.png"));
        let png = self.c().screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Reached without close() only when an assertion failed: kill the
        // chromedriver process group by its id so no Chromium outlives the
        // test. (Killing chromedriver alone would orphan the browser.)
        if let Some(mut d) = self.driver.take() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", d.id())])
                .stderr(Stdio::null())
                .status();
            let _ = d.wait();
        }
    }
}
