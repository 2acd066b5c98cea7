//! cleanroom-client: the library partner tools embed, and the `cleanroom` CLI.
//!
//! Plaintext never leaves the machine: accounts are read from a CSV export,
//! normalized into keys ([`cleanroom_core::normalize`]), merged, shuffled and
//! blinded locally; the broker only sees blinded points and match tokens.
//!
//! The pieces, from low to high level:
//!
//! - [`Client`]: a typed client for every endpoint of the `/v1` API;
//! - [`prepare_file`] / [`prepare`]: CSV export → deduplicated [`Account`]s
//!   with populations ([`presets`], [`populations`], [`dedupe`]);
//! - [`run_session`]: drives one side of a session to its results, resuming
//!   an interrupted one from local [`state`];
//! - [`generate`]: realistic messy CRM exports with ground truth, for tests
//!   and demos.
//!
//! # Example
//!
//! ```no_run
//! use cleanroom_client::{Client, ClientConfig, InputOptions, SessionOptions, StateDir};
//!
//! # async fn demo() -> Result<(), cleanroom_client::Error> {
//! let client = Client::new(ClientConfig::new("https://broker.example.com", "crt_…"))?;
//! // Both sides must treat names without a country alike: the partnership says how.
//! let policy = client.partnership("partnership-id").await?.policy;
//! let options = InputOptions {
//!     names_without_country: policy.names_without_country,
//!     ..InputOptions::default()
//! };
//! let input = cleanroom_client::prepare_file_quiet("accounts.csv".as_ref(), &options)?;
//! let mut opts = SessionOptions::new("partnership-id", StateDir::default_location()?);
//! opts.progress = std::sync::Arc::new(|p| eprintln!("{:?} {}/{:?}", p.phase, p.done, p.total));
//! let outcome = cleanroom_client::run_session(&client, &input, &opts).await?;
//! print!("{}", cleanroom_client::output::results_table(&outcome.results));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account_vectors;
pub mod agent;
pub mod csv_input;
pub mod dedupe;
pub mod error;
pub mod fsutil;
pub mod generate;
pub mod http;
pub mod output;
pub mod overlaps;
pub mod populations;
pub mod prepare;
pub mod presets;
pub mod profile;
pub mod progress;
pub mod session;
pub mod state;
pub mod tls;
pub mod webhook;

pub use dedupe::Account;
pub use error::{Error, ErrorKind, Result};
pub use http::{Client, ClientConfig, Traffic};
pub use prepare::{
    InputOptions, InputReport, PreparedInput, prepare, prepare_file, prepare_file_quiet,
};
pub use progress::{Phase, Progress, ProgressFn};
pub use session::{
    SessionOptions, SessionOutcome, SessionStatus, WaitingSession, resume_session, run_session,
    start_session,
};
pub use state::StateDir;
pub use webhook::{WebhookError, verify_webhook};
