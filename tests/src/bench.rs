//! The end-to-end benchmark behind `e2e-bench` (see BENCHMARKS.md): generated
//! CRM exports, the real `cleanroom-server` binary on SQLite or PostgreSQL and
//! two real `cleanroom match` processes running concurrently, each reporting
//! its phase timings, bytes on the wire, peak RSS and CPU time.
//!
//! The same entry point runs at small N in the test suite (without timing
//! assertions) so that the benchmark cannot rot.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cleanroom_client::generate::{Format, GenerateOptions, generate};
use cleanroom_core::api::{CreateInvitation, Role, SessionResults};

use crate::{PgDb, check_results, open_policy};

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Accounts per side.
    pub accounts: usize,
    /// Fraction of each side's accounts the other side also has.
    pub overlap: f64,
    /// Generator seed.
    pub seed: u64,
    /// PostgreSQL (`CLEANROOM_TEST_PG` or the local default) instead of SQLite.
    pub postgres: bool,
    /// Records per upload chunk (the client's default when `None`).
    pub chunk_records: Option<usize>,
    /// Directory holding the `cleanroom-server` and `cleanroom` binaries.
    pub bin_dir: PathBuf,
    /// Where inputs, databases, logs and stats go (a temporary directory when `None`).
    pub work_dir: Option<PathBuf>,
}

/// One phase of one client: offsets from that client's start, in ms.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// First report.
    pub start_ms: f64,
    /// Last report.
    pub end_ms: f64,
}

impl Span {
    /// Duration in seconds.
    pub fn secs(&self) -> f64 {
        (self.end_ms - self.start_ms) / 1000.0
    }
}

/// What one client process reported (`cleanroom match --stats-json`).
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    /// Process wall time until the results were in, ms.
    pub total_ms: f64,
    /// Per phase (`normalize`, `blind`, `upload_blinded`, `wait_counterpart`,
    /// `download_points`, `tokens`, `upload_tokens`, `wait_results`, `results`).
    pub phases: BTreeMap<String, Span>,
    /// Accounts uploaded.
    pub accounts: u64,
    /// Blinded records (keys) uploaded.
    pub records: u64,
    /// HTTP requests.
    pub requests: u64,
    /// Request body bytes.
    pub bytes_sent: u64,
    /// Response body bytes.
    pub bytes_received: u64,
    /// Peak RSS, KiB.
    pub vm_hwm_kib: u64,
    /// CPU time, ms.
    pub cpu_ms: u64,
}

/// The server process's figures.
#[derive(Clone, Debug, Default)]
pub struct ServerStats {
    /// Peak RSS, KiB.
    pub vm_hwm_kib: u64,
    /// CPU time over the whole session, ms.
    pub cpu_ms: u64,
    /// CPU time of the PostgreSQL processes over the session, ms (all of
    /// them, including exited backends; `None` on SQLite, which runs in-process).
    pub db_cpu_ms: Option<u64>,
    /// The final computation (load, match, store and delete), ms, from the server log.
    pub compute_ms: Option<f64>,
    /// Its parts: `load_ms`, `match_ms`, `store_ms`.
    pub compute_parts: BTreeMap<String, f64>,
}

/// The outcome of one run.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// The options.
    pub accounts: usize,
    /// Backend name.
    pub backend: &'static str,
    /// From launching both clients to both having the results, s.
    pub wall_secs: f64,
    /// The vendor client.
    pub vendor: ClientStats,
    /// The partner client.
    pub partner: ClientStats,
    /// The server.
    pub server: ServerStats,
    /// Machine-wide CPU utilization (0..=1 per core, summed) sampled every 200 ms:
    /// (ms since launch, busy cores).
    pub cpu_samples: Vec<(f64, f64)>,
    /// Shared accounts in the generated truth.
    pub shared: usize,
    /// The results, as the vendor saw them.
    pub results: SessionResults,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn err(msg: impl Into<String>) -> BoxError {
    msg.into().into()
}

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Builds `cleanroom-server` and `cleanroom` with cargo (release or debug)
/// and returns the directory holding them.
pub fn build_binaries(release: bool) -> Result<PathBuf, BoxError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = workspace_root();
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "-p", "cleanroom-server", "-p", "cleanroom-client"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status()?;
    if !status.success() {
        return Err(err(format!("cargo build failed: {status}")));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_relative() {
        root.join(target)
    } else {
        target
    };
    Ok(target.join(if release { "release" } else { "debug" }))
}

/// A field of `/proc/<pid>/status` in kB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A process's command name and its utime, stime, cutime and cstime in ms
/// (100 ticks per second), from `/proc/<pid>/stat`.
fn proc_times(proc_dir: &Path) -> Option<(String, [u64; 4])> {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 10;
    Some((comm, [t(11), t(12), t(13), t(14)]))
}

/// utime + stime of a process in ms.
fn cpu_ms_of(pid: u32) -> u64 {
    proc_times(Path::new(&format!("/proc/{pid}"))).map_or(0, |(_, t)| t[0] + t[1])
}

/// CPU time of every `postgres` process in ms, including children they reaped
/// (exited backends), so that a before/after difference covers the database's
/// whole share of a run.
fn postgres_cpu_ms() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|entry| proc_times(&entry.path()))
        .filter(|(comm, _)| comm == "postgres")
        .map(|(_, t)| t.iter().sum::<u64>())
        .sum()
}

/// Busy and total jiffies of the whole machine.
fn machine_jiffies() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<(f64, f64)>>>,
    handle: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(t0: Instant) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples: Arc<Mutex<Vec<(f64, f64)>>> = Arc::default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let (s2, st2) = (Arc::clone(&samples), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let mut last = machine_jiffies();
            while !st2.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let now = machine_jiffies();
                if let (Some((b0, t0j)), Some((b1, t1j))) = (last, now) {
                    if t1j > t0j {
                        let busy = (b1 - b0) as f64 / (t1j - t0j) as f64 * cores;
                        if let Ok(mut s) = s2.lock() {
                            s.push((t0.elapsed().as_secs_f64() * 1000.0, busy));
                        }
                    }
                }
                last = now;
            }
        });
        Sampler {
            stop,
            samples,
            handle,
        }
    }

    fn finish(self) -> Vec<(f64, f64)> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn parse_stats(path: &Path) -> Result<ClientStats, BoxError> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let num = |k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
    let mut phases = BTreeMap::new();
    if let Some(obj) = v.get("phases").and_then(|p| p.as_object()) {
        for (k, s) in obj {
            let f = |n: &str| s.get(n).and_then(|x| x.as_f64()).unwrap_or(0.0);
            phases.insert(
                k.clone(),
                Span {
                    start_ms: f("start_ms"),
                    end_ms: f("end_ms"),
                },
            );
        }
    }
    Ok(ClientStats {
        total_ms: num("total_ms"),
        phases,
        accounts: num("accounts") as u64,
        records: num("records") as u64,
        requests: num("requests") as u64,
        bytes_sent: num("bytes_sent") as u64,
        bytes_received: num("bytes_received") as u64,
        vm_hwm_kib: num("vm_hwm_kib") as u64,
        cpu_ms: (num("cpu_user_ms") + num("cpu_sys_ms")) as u64,
    })
}

/// Kills the child on drop unless it already exited.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn parse_compute_line(log: &str, stats: &mut ServerStats) {
    let Some(line) = log
        .lines()
        .rev()
        .find(|l| l.contains("session completed") && l.contains("total_ms="))
    else {
        return;
    };
    // Strip ANSI colour codes, then read key=value pairs.
    let mut clean = String::with_capacity(line.len());
    let mut in_esc = false;
    for c in line.chars() {
        match (in_esc, c) {
            (false, '\u{1b}') => in_esc = true,
            (true, 'm') => in_esc = false,
            (true, _) => {}
            (false, c) => clean.push(c),
        }
    }
    for word in clean.split_whitespace() {
        if let Some((k, v)) = word.split_once('=') {
            if let (true, Ok(x)) = (k.ends_with("_ms"), v.parse::<f64>()) {
                if k == "total_ms" {
                    stats.compute_ms = Some(x);
                } else {
                    stats.compute_parts.insert(k.to_owned(), x);
                }
            }
        }
    }
}

/// Runs the benchmark once and checks the results against the generator's truth.
pub async fn run(opts: &BenchOptions) -> Result<BenchReport, BoxError> {
    crate::install_crypto();
    let tmp;
    let dir: PathBuf = match &opts.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let server_bin = opts.bin_dir.join("cleanroom-server");
    let client_bin = opts.bin_dir.join("cleanroom");
    for b in [&server_bin, &client_bin] {
        if !b.exists() {
            return Err(err(format!("{} is missing: build it first", b.display())));
        }
    }

    // Inputs (not timed), reused from an earlier run in the same work
    // directory with the same parameters (generating 1M accounts takes a while).
    let vendor_csv = dir.join("vendor.csv");
    let partner_csv = dir.join("partner.csv");
    let truth_path = dir.join("truth.json");
    let params_path = dir.join("params.txt");
    let params = format!("{} {} {}", opts.accounts, opts.overlap, opts.seed);
    let cached = std::fs::read_to_string(&params_path).ok().as_deref() == Some(params.as_str())
        && vendor_csv.exists()
        && partner_csv.exists();
    let truth: cleanroom_client::generate::Truth = match cached
        .then(|| std::fs::read(&truth_path).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(t) => t,
        None => {
            let _ = std::fs::remove_file(&params_path);
            let g = generate(&GenerateOptions {
                accounts: opts.accounts,
                overlap: opts.overlap,
                seed: opts.seed,
                format: Format::Salesforce,
            })?;
            std::fs::write(&vendor_csv, &g.vendor_csv)?;
            std::fs::write(&partner_csv, &g.partner_csv)?;
            std::fs::write(&truth_path, serde_json::to_vec(&g.truth)?)?;
            std::fs::write(&params_path, &params)?;
            g.truth
        }
    };
    // The server below runs with a population minimum of 1.
    let expected = truth.expected();
    let shared = truth.shared();

    // Database and organizations (not timed).
    let pg = if opts.postgres {
        Some(PgDb::create().await)
    } else {
        None
    };
    let db_url = match &pg {
        Some(p) => p.url.clone(),
        None => {
            let f = dir.join("bench.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
            format!("sqlite://{}", f.display())
        }
    };
    let (_, vendor_token) = cleanroom_server::bootstrap::create_org(&db_url, "Vendor Co").await?;
    let (_, partner_token) = cleanroom_server::bootstrap::create_org(&db_url, "Partner Co").await?;

    // The server process.
    let log_path = dir.join("server.log");
    let mut server = Guard(
        Command::new(&server_bin)
            .env("DATABASE_URL", &db_url)
            .env("CLEANROOM_BIND", "127.0.0.1:0")
            .env("CLEANROOM_MIN_POPULATION_SIZE", "1")
            .env("CLEANROOM_MIN_CELL_SIZE", "1")
            .env("CLEANROOM_SESSIONS_PER_DAY", "1000")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()?,
    );
    let server_pid = server.0.id();
    let stdout = server.0.stdout.take().ok_or_else(|| err("server stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let base_url = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(u) = l.strip_prefix("listening on ") {
                    break u.trim().to_owned();
                }
            }
            _ => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(err(format!("the server did not start:\n{log}")));
            }
        }
    };

    // The partnership (not timed).
    let client = |t: &str| {
        cleanroom_client::Client::new(cleanroom_client::ClientConfig::new(base_url.clone(), t))
    };
    let (vc, pc) = (client(&vendor_token)?, client(&partner_token)?);
    let code = vc
        .create_invitation(&CreateInvitation {
            my_role: Role::Vendor,
            policy: open_policy(),
            expires_in_days: None,
        })
        .await?
        .code;
    let invited = pc.accept_invitation(&code).await?;

    // Both clients, concurrently: this is what is timed.
    let launch = |token: &str, input: &Path, who: &str| -> Result<Child, BoxError> {
        let mut cmd = Command::new(&client_bin);
        cmd.env("CLEANROOM_URL", &base_url)
            .env("CLEANROOM_TOKEN", token)
            .env("CLEANROOM_PROFILES", dir.join("no-profiles.toml"))
            .arg("--quiet")
            .arg("--state-dir")
            .arg(dir.join(format!("{who}-state")))
            .args([
                "match",
                "--partner",
                &invited.id,
                "--json",
                "--timeout",
                "2h",
            ])
            .arg("--input")
            .arg(input)
            .arg("--stats-json")
            .arg(dir.join(format!("{who}-stats.json")))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("{who}.log")))?);
        if let Some(c) = opts.chunk_records {
            cmd.args(["--chunk-size", &c.to_string()]);
        }
        Ok(cmd.spawn()?)
    };
    let t0 = Instant::now();
    let sampler = Sampler::start(t0);
    let cpu_before = cpu_ms_of(server_pid);
    let db_cpu_before = opts.postgres.then(postgres_cpu_ms);
    let vendor = launch(&vendor_token, &vendor_csv, "vendor")?;
    let partner = launch(&partner_token, &partner_csv, "partner")?;
    let (vout, pout) = tokio::task::spawn_blocking(move || {
        (vendor.wait_with_output(), partner.wait_with_output())
    })
    .await?;
    let wall_secs = t0.elapsed().as_secs_f64();
    let cpu_samples = sampler.finish();
    let (vout, pout) = (vout?, pout?);
    let server_stats_now = ServerStats {
        vm_hwm_kib: status_kib(server_pid, "VmHWM:"),
        cpu_ms: cpu_ms_of(server_pid).saturating_sub(cpu_before),
        db_cpu_ms: db_cpu_before.map(|b| postgres_cpu_ms().saturating_sub(b)),
        ..ServerStats::default()
    };
    for (who, out) in [("vendor", &vout), ("partner", &pout)] {
        if !out.status.success() {
            let log = std::fs::read_to_string(dir.join(format!("{who}.log"))).unwrap_or_default();
            return Err(err(format!(
                "the {who} client failed ({}):\n{log}",
                out.status
            )));
        }
    }
    // Stop the server; the compute line is in its log by now (the clients
    // only see `completed` after it was written).
    let _ = Command::new("kill")
        .args(["-TERM", &server_pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.0.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let mut server_stats = server_stats_now;
    parse_compute_line(
        &std::fs::read_to_string(&log_path).unwrap_or_default(),
        &mut server_stats,
    );

    // Correctness against the plaintext truth, for both viewers.
    let mut vendor_results: Option<SessionResults> = None;
    for out in [&vout, &pout] {
        let r: SessionResults = serde_json::from_slice(&out.stdout)?;
        check_results(
            &r,
            &expected.vendor_populations,
            &expected.partner_populations,
            &expected,
        );
        if r.my_role == Role::Vendor {
            vendor_results = Some(r);
        }
    }
    let results = vendor_results.ok_or_else(|| err("no vendor results"))?;
    let vendor_stats = parse_stats(&dir.join("vendor-stats.json"))?;
    let partner_stats = parse_stats(&dir.join("partner-stats.json"))?;
    if let Some(p) = pg {
        p.drop_db().await;
    }
    Ok(BenchReport {
        accounts: opts.accounts,
        backend: if opts.postgres { "postgres" } else { "sqlite" },
        wall_secs,
        vendor: vendor_stats,
        partner: partner_stats,
        server: server_stats,
        cpu_samples,
        shared,
        results,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

impl BenchReport {
    /// Mean busy cores over `[from_ms, to_ms]` of the run.
    pub fn busy_cores(&self, from_ms: f64, to_ms: f64) -> Option<f64> {
        let s: Vec<f64> = self
            .cpu_samples
            .iter()
            .filter(|(t, _)| *t >= from_ms && *t <= to_ms + 200.0)
            .map(|(_, b)| *b)
            .collect();
        if s.is_empty() {
            None
        } else {
            Some(s.iter().sum::<f64>() / s.len() as f64)
        }
    }

    /// A human-readable report in Markdown.
    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "### {} x {} accounts, {} ({} records vendor, {} partner; {} shared accounts)\n",
            self.accounts,
            self.accounts,
            self.backend,
            self.vendor.records,
            self.partner.records,
            self.shared
        );
        let _ = writeln!(o, "**Total wall time: {:.2} s**\n", self.wall_secs);
        let _ = writeln!(
            o,
            "| phase (s since the client started: start–end = duration) | vendor | partner |"
        );
        let _ = writeln!(o, "|---|---|---|");
        let rows = [
            ("normalize (read CSV, normalize, dedupe)", "normalize"),
            ("blind", "blind"),
            ("upload blinded (overlaps blind)", "upload_blinded"),
            ("wait for counterpart", "wait_counterpart"),
            ("download points", "download_points"),
            ("re-blind + tokens (overlaps download/upload)", "tokens"),
            ("upload tokens", "upload_tokens"),
            ("wait for server compute", "wait_results"),
            ("fetch results", "results"),
        ];
        let cell = |s: &ClientStats, k: &str| match s.phases.get(k) {
            Some(p) => format!(
                "{:.2}–{:.2} = {:.2}",
                p.start_ms / 1000.0,
                p.end_ms / 1000.0,
                p.secs()
            ),
            None => "–".into(),
        };
        for (label, k) in rows {
            let _ = writeln!(
                o,
                "| {label} | {} | {} |",
                cell(&self.vendor, k),
                cell(&self.partner, k)
            );
        }
        let _ = writeln!(
            o,
            "| client total | {:.2} | {:.2} |",
            self.vendor.total_ms / 1000.0,
            self.partner.total_ms / 1000.0
        );
        let _ = writeln!(
            o,
            "| bytes sent / received (HTTP bodies) | {:.1} MB / {:.1} MB | {:.1} MB / {:.1} MB |",
            mb(self.vendor.bytes_sent),
            mb(self.vendor.bytes_received),
            mb(self.partner.bytes_sent),
            mb(self.partner.bytes_received)
        );
        let _ = writeln!(
            o,
            "| HTTP requests | {} | {} |",
            self.vendor.requests, self.partner.requests
        );
        let _ = writeln!(
            o,
            "| peak RSS (VmHWM) | {:.0} MiB | {:.0} MiB |",
            mib(self.vendor.vm_hwm_kib),
            mib(self.partner.vm_hwm_kib)
        );
        let _ = writeln!(
            o,
            "| CPU time (user+sys) | {:.2} s | {:.2} s |",
            self.vendor.cpu_ms as f64 / 1000.0,
            self.partner.cpu_ms as f64 / 1000.0
        );
        let s = &self.server;
        let parts: Vec<String> = s
            .compute_parts
            .iter()
            .map(|(k, v)| format!("{} {:.2} s", k.trim_end_matches("_ms"), v / 1000.0))
            .collect();
        let db_ms = s.db_cpu_ms.unwrap_or(0);
        let all_ms = (s.cpu_ms + db_ms + self.vendor.cpu_ms + self.partner.cpu_ms).max(1) as f64;
        let _ = writeln!(
            o,
            "\nServer: peak RSS {:.0} MiB, CPU {:.2} s ({:.1}% of all CPU time), final compute {} ({}).",
            mib(s.vm_hwm_kib),
            s.cpu_ms as f64 / 1000.0,
            100.0 * s.cpu_ms as f64 / all_ms,
            s.compute_ms
                .map_or("n/a".into(), |c| format!("{:.2} s", c / 1000.0)),
            parts.join(", ")
        );
        if let Some(db) = s.db_cpu_ms {
            let _ = writeln!(
                o,
                "PostgreSQL processes: CPU {:.2} s; server + database {:.1}% of all CPU time.",
                db as f64 / 1000.0,
                100.0 * (s.cpu_ms + db) as f64 / all_ms,
            );
        }
        if let Some(b) = self.vendor.phases.get("blind") {
            if let Some(busy) = self.busy_cores(b.start_ms, b.end_ms) {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let _ = writeln!(
                    o,
                    "Machine CPU during the vendor's blinding: {busy:.2} of {cores} cores busy."
                );
            }
        }
        let total_cpu: f64 =
            self.cpu_samples.iter().map(|(_, b)| b * 0.2).sum::<f64>() / self.wall_secs.max(1e-9);
        let _ = writeln!(
            o,
            "Machine CPU over the whole run: {total_cpu:.2} cores busy on average."
        );
        o
    }
}
