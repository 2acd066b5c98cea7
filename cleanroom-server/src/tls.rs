//! rustls server configuration from PEM files. The process-wide
//! `CryptoProvider` (ring) must be installed before; see [`install_crypto_provider`].

use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::config::TlsFiles;
use crate::error::ServerError;

/// Installs ring as the process-wide rustls provider; idempotent.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds a TLS acceptor (HTTP/2 and HTTP/1.1 via ALPN).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
    install_crypto_provider();
    let open = |p: &std::path::Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| ServerError::Tls(format!("opening {}: {e}", p.display())))
    };
    let certs = rustls_pemfile::certs(&mut open(&files.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerError::Tls(format!("reading certificates: {e}")))?;
    if certs.is_empty() {
        return Err(ServerError::Tls("no certificate in the PEM file".into()));
    }
    let key = rustls_pemfile::private_key(&mut open(&files.key)?)
        .map_err(|e| ServerError::Tls(format!("reading private key: {e}")))?
        .ok_or_else(|| ServerError::Tls("no private key in the PEM file".into()))?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
