//! `e2e-bench`: the end-to-end benchmark (see BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p cleanroom-tests --bin e2e-bench -- --accounts 100000 [--overlap 0.3] [--postgres]
//! ```
//!
//! It builds the release `cleanroom-server` and `cleanroom` binaries, generates
//! N accounts per side, starts the server on SQLite (or PostgreSQL), runs the
//! vendor and partner clients concurrently through a whole session, checks the
//! results against the generator's truth and prints a Markdown report.

use std::path::PathBuf;
use std::process::ExitCode;

use cleanroom_tests::bench::{BenchOptions, build_binaries, run};

const USAGE: &str = "usage: e2e-bench [--accounts N] [--overlap F] [--seed S] [--postgres] \
[--chunk-size N] [--runs N] [--bin-dir DIR] [--work-dir DIR] [--allow-debug]";

fn main() -> ExitCode {
    let mut opts = BenchOptions {
        accounts: 10_000,
        overlap: 0.3,
        seed: 1,
        postgres: false,
        chunk_records: None,
        bin_dir: PathBuf::new(),
        work_dir: None,
    };
    let mut bin_dir: Option<PathBuf> = None;
    let mut runs = 1usize;
    let mut allow_debug = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value\n{USAGE}");
                std::process::exit(2)
            })
        };
        let bad = |name: &str| -> ! {
            eprintln!("bad value for {name}\n{USAGE}");
            std::process::exit(2)
        };
        match a.as_str() {
            "--accounts" => opts.accounts = val(&a).parse().unwrap_or_else(|_| bad(&a)),
            "--overlap" => opts.overlap = val(&a).parse().unwrap_or_else(|_| bad(&a)),
            "--seed" => opts.seed = val(&a).parse().unwrap_or_else(|_| bad(&a)),
            "--chunk-size" => {
                opts.chunk_records = Some(val(&a).parse().unwrap_or_else(|_| bad(&a)))
            }
            "--runs" => runs = val(&a).parse().unwrap_or_else(|_| bad(&a)),
            "--bin-dir" => bin_dir = Some(PathBuf::from(val(&a))),
            "--work-dir" => opts.work_dir = Some(PathBuf::from(val(&a))),
            "--postgres" => opts.postgres = true,
            "--allow-debug" => allow_debug = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument {a}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if cfg!(debug_assertions) && !allow_debug {
        eprintln!(
            "e2e-bench measures release builds: run it with `cargo run --release` (or pass --allow-debug)"
        );
        return ExitCode::from(2);
    }
    opts.bin_dir = match bin_dir {
        Some(d) => d,
        None => match build_binaries(!cfg!(debug_assertions)) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for i in 0..runs {
        match rt.block_on(run(&opts)) {
            Ok(r) => {
                if runs > 1 {
                    println!("<!-- run {} of {runs} -->", i + 1);
                }
                println!("{}", r.markdown());
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
