//! cleanroom-server: brokers matching sessions between a vendor and a partner.
//!
//! The server stores only blinded points, match tokens and results; see
//! `SECURITY.md` at the repository root for what each party learns.
//!
//! # Embedding (tests, end-to-end suites)
//!
//! ```no_run
//! # async fn demo() -> Result<(), cleanroom_server::ServerError> {
//! use cleanroom_server::{Config, bootstrap, spawn};
//! cleanroom_server::tls::install_crypto_provider();
//! let url = "sqlite:///tmp/cleanroom-test.db";
//! let (_org_id, admin_token) = bootstrap::create_org(url, "Acme").await?;
//! let server = spawn(Config::for_tests(url)).await?; // 127.0.0.1:0
//! let base = server.base_url(); // "http://127.0.0.1:PORT"
//! # let _ = (base, admin_token);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

pub mod agents;
pub mod auth;
pub mod auth_limit;
pub mod bootstrap;
pub mod compute;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod expiry;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod replica_wakeups;
pub mod routes;
pub mod store;
pub mod tls;
pub mod webhooks;

pub use config::{ComputeLeases, Config, DatabaseUrl, Guardrails, TlsFiles};
pub use error::{ApiError, ServerError};
pub use store::{AnyStore, Store};

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: AnyStore,
    /// The configuration.
    pub config: Arc<Config>,
    /// Counters.
    pub metrics: Arc<metrics::Metrics>,
    /// Dashboard sign-ins, kept in the database (shared by every replica).
    pub dashboard: Arc<dashboard::DashboardSessions>,
    /// Wakes long-polling session readers when a session changes state
    /// (through [`events::session_changed`], which tells other replicas too).
    pub events: events::SessionEvents,
    /// Failed-authentication limits.
    pub auth_limiter: Arc<auth_limit::AuthLimiter>,
    /// This process's id in computation leases: random per start, so a
    /// restarted replica does not mistake its previous life's leases for live ones.
    pub replica_id: Arc<str>,
    /// Background tasks (computations, the lease sweep) that die with the server.
    pub tasks: Arc<Tasks>,
}

/// Handles of background tasks, so that stopping (or killing, in tests) a
/// server stops its computations too rather than leaving them running
/// detached in the embedding process.
#[derive(Debug, Default)]
pub struct Tasks(std::sync::Mutex<Vec<tokio::task::AbortHandle>>);

impl Tasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<tokio::task::AbortHandle>> {
        // Each critical section is one push/retain/drain: a poisoned lock
        // holds a consistent list.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers a task (and forgets finished ones).
    pub fn track(&self, task: tokio::task::AbortHandle) {
        let mut tasks = self.lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Aborts every task.
    pub fn abort_all(&self) {
        for t in self.lock().drain(..) {
            t.abort();
        }
    }
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Connects and migrates the database, finishes sessions left in
/// `computing`, and builds the router (for `oneshot` tests or custom serving).
pub async fn app(config: Config) -> Result<(Router, AppState), ServerError> {
    let store = AnyStore::connect(config.database_url.expose()).await?;
    let state = AppState {
        auth_limiter: Arc::new(auth_limit::AuthLimiter::new(
            config.auth_failures_per_minute,
        )),
        dashboard: Arc::new(dashboard::DashboardSessions::in_store(
            store.clone(),
            dashboard::DEFAULT_LIFETIME,
        )),
        store,
        config: Arc::new(config),
        metrics: Arc::new(metrics::Metrics::default()),
        events: events::SessionEvents::default(),
        replica_id: uuid::Uuid::new_v4().to_string().into(),
        tasks: Arc::new(Tasks::default()),
    };
    // SQLite serves one process: every lease in it is from this process's
    // previous life. On PostgreSQL, leases of live replicas are respected
    // and the sweep takes over the rest as they run out.
    let single_process = matches!(state.store, AnyStore::Sqlite(_));
    let resumed = compute::resume_computing(&state, single_process).await?;
    if resumed > 0 {
        tracing::info!(
            sessions = resumed,
            "finished sessions interrupted while computing"
        );
    }
    Ok((routes::router(state.clone()), state))
}

/// A server running on its own task.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT` (or `https://…` with TLS).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's state (its store, for test assertions).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, waits for open connections (bounded), closes the database.
    ///
    /// A computation still running is abandoned with its lease, which another
    /// replica (or this one after a restart) takes over once it runs out.
    pub async fn shutdown(mut self) {
        self.state.tasks.abort_all();
        self.state.events.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.state.store.close().await;
    }

    /// Simulates a crash (for tests): stops serving and aborts every
    /// computation and the lease sweep at once, without a grace period and
    /// without releasing leases.
    pub async fn kill(self) {
        self.state.tasks.abort_all();
        self.task.abort();
        self.state.events.close();
        self.state.store.close().await;
    }
}

/// Starts a server on `config.bind` (port 0 picks a free one) and returns once it listens.
///
/// Plain HTTP is refused on a non-loopback address unless `config.insecure_http`.
pub async fn spawn(config: Config) -> Result<RunningServer, ServerError> {
    if config.tls.is_none() && !config.bind.ip().is_loopback() && !config.insecure_http {
        return Err(ServerError::InsecureBind(config.bind));
    }
    let acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let bind = config.bind;
    let (router, state) = app(config).await?;
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel();
    let tls = acceptor.is_some();
    let task = tokio::spawn(serve(
        listener,
        router,
        acceptor,
        state.config.connections,
        stopped,
    ));
    state
        .tasks
        .track(tokio::spawn(compute::sweep(state.clone())).abort_handle());
    state
        .tasks
        .track(tokio::spawn(expiry::sweep(state.clone())).abort_handle());
    state
        .tasks
        .track(tokio::spawn(webhooks::deliver::run(state.clone())).abort_handle());
    state
        .tasks
        .track(tokio::spawn(replica_wakeups::run(state.clone())).abort_handle());
    state
        .tasks
        .track(tokio::spawn(agents::sweep(state.clone())).abort_handle());
    tracing::info!(%addr, tls, "listening");
    Ok(RunningServer {
        addr,
        tls,
        state,
        stop: Some(stop),
        task,
    })
}

/// HTTP/2's header list limit: the middleware's byte limit, 32 bytes per
/// field it allows, and as much again for the pseudo-headers and the path.
const H2_MAX_HEADER_LIST_BYTES: u32 =
    (2 * (routes::MAX_HEADER_BYTES + 32 * routes::MAX_HEADER_FIELDS)) as u32;

/// Whether the client sends anything within `timeout`. hyper's HTTP version
/// detection waits for the first bytes with no deadline of its own, so a
/// client that connects and stays silent would hold its slot forever.
async fn first_bytes_arrive(stream: &tokio::net::TcpStream, timeout: std::time::Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(timeout, stream.peek(&mut byte)).await,
        Ok(Ok(n)) if n > 0
    )
}

async fn serve(
    listener: TcpListener,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    limits: config::ConnectionLimits,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Slow and idle clients: headers (and the wait for the next request on a
    // keep-alive connection) must arrive in time, else hyper closes it.
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout)
        // HTTP/2 counts 32 bytes more per field and the pseudo-headers too:
        // room above the middleware's limit, so a client gets its 431 as a
        // problem rather than hyper's bare one.
        .max_header_list_size(H2_MAX_HEADER_LIST_BYTES);
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_read_timeout,
    ));
    // At the cap, the loop stops accepting: new clients wait in the listen
    // backlog instead of each costing a task and buffers.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stopped => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let (stream, peer) = stream;
        let router = router.clone();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let handshake = limits.tls_handshake_timeout;
        let idle = limits.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(Body::new);
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    router.clone().oneshot(req)
                });
            let result = match acceptor {
                Some(acceptor) => match tokio::time::timeout(handshake, acceptor.accept(stream))
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("TLS handshake timed out")))
                {
                    // No first-byte wait here: rustls may already hold the
                    // request, read with the handshake's last flight.
                    Ok(tls) => {
                        watcher
                            .watch(builder.serve_connection_with_upgrades(TokioIo::new(tls), svc))
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    if !first_bytes_arrive(&stream, idle).await {
                        return;
                    }
                    watcher
                        .watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), svc))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(routes::SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after the grace period");
        }
    }
}
