//! `cleanroom-server`: serve (default) or bootstrap (`admin …`).

use anyhow::Context as _;
use clap::Parser as _;
use cleanroom_server::config::{AdminCommand, Cli, Command};
use cleanroom_server::{bootstrap, spawn, tls};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One process-wide rustls provider, before anything touches TLS.
    tls::install_crypto_provider();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.settings.log_json {
        fmt.json().init();
    } else {
        fmt.init();
    }
    let config = cli.settings.resolve().context("configuration")?;
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Admin(_) = command {
        // An admin command run from another directory must not quietly make
        // a new, empty database there.
        eprintln!("using the database: {}", config.database_url.describe());
        if let Some(file) = config.database_url.sqlite_file() {
            if !file.exists() {
                anyhow::bail!(
                    "there is no database at {}: admin commands do not create one. Run them in the \
                     directory where the server runs (it creates ./cleanroom.db at its first start), \
                     or name the database with --database-url",
                    file.display()
                );
            }
        }
    }
    match command {
        Command::Serve => {
            let server = spawn(config).await.context("starting the server")?;
            // A machine-readable line for supervisors and tests.
            println!("listening on {}", server.base_url());
            shutdown_signal().await;
            tracing::info!("shutting down");
            server.shutdown().await;
        }
        Command::Admin(AdminCommand::CreateOrg { name }) => {
            let (id, token) = match bootstrap::create_org(config.database_url.expose(), &name).await
            {
                Err(cleanroom_server::error::ServerError::Store(
                    cleanroom_server::store::StoreError::OrgNameTaken,
                )) => anyhow::bail!(
                    "an organization named {name:?} exists already. For another admin token for it: \
                     cleanroom-server admin create-token --org {name:?} --scope admin"
                ),
                other => other.context("creating the organization")?,
            };
            println!("org-id: {id}");
            println!("admin-token: {token}");
        }
        Command::Admin(AdminCommand::CreateToken {
            org,
            scope,
            label,
            expires_in_days,
        }) => {
            let expires_at =
                expires_in_days.map(|d| cleanroom_server::now() + i64::from(d) * 86_400);
            let token = bootstrap::create_token(
                config.database_url.expose(),
                &org,
                scope,
                &label,
                expires_at,
            )
            .await
            .context("creating the token")?;
            println!("token: {token}");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
