//! TLS end to end: the real server on rustls with a private CA's certificate,
//! the client library trusting that CA through its extra-CA option.

use cleanroom_client::{Client, ClientConfig};
use cleanroom_server::{Config, TlsFiles};

#[tokio::test]
async fn server_speaks_tls_and_client_trusts_a_private_ca() {
    cleanroom_tests::install_crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("self-signed certificate");
    let cert_pem = cert.cert.pem();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");

    let db = format!("sqlite://{}", dir.path().join("tls.db").display());
    let (_, admin) = cleanroom_server::bootstrap::create_org(&db, "Acme Software")
        .await
        .expect("bootstrap org");
    let mut config = Config::for_tests(db);
    config.tls = Some(TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let server = cleanroom_server::spawn(config)
        .await
        .expect("spawn TLS server");
    let url = server.base_url();
    assert!(url.starts_with("https://"), "{url}");
    // The certificate names localhost, not 127.0.0.1.
    let url = url.replace("127.0.0.1", "localhost");

    let mut trusted = ClientConfig::new(url.clone(), admin.clone());
    trusted.extra_ca_pem = Some(cert_pem.into_bytes());
    let me = Client::new(trusted)
        .expect("client")
        .me()
        .await
        .expect("GET /v1/me over TLS");
    assert_eq!(me.org.name, "Acme Software");

    // Without the CA the handshake must fail: no silent downgrade or skip.
    let untrusted = Client::new(ClientConfig::new(url.clone(), admin)).expect("client");
    assert!(
        untrusted.me().await.is_err(),
        "an unknown CA must be refused"
    );

    // Plain HTTP to the TLS port gets no API answer.
    let plain =
        Client::new(ClientConfig::new(url.replace("https://", "http://"), "x")).expect("client");
    assert!(plain.me().await.is_err());

    server.shutdown().await;
}
