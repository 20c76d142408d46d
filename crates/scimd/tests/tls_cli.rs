//! `scimd serve --tls-cert --tls-key`: HTTPS with Tenant URLs on https, SIGHUP reloads a
//! renewed certificate without dropping the server, a broken renewal keeps the old one, and
//! half a TLS configuration is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::{Server, run};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn new_pair(dir: &std::path::Path) -> CertificateDer<'static> {
    let k = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), k.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), k.signing_key.serialize_pem()).unwrap();
    k.cert.der().clone()
}

/// The certificate the server presents, and the status line of `GET path`, trusting any
/// certificate in `trusted`.
fn https(addr: &str, trusted: &[&CertificateDer<'static>], path: &str, token: &str) -> (Vec<u8>, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut roots = rustls::RootCertStore::empty();
        for c in trusted {
            roots.add((*c).clone()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let presented = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
        let ask = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        tls.write_all(ask.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        (
            presented,
            String::from_utf8_lossy(&answer)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    })
}

#[test]
fn serve_over_tls_and_reload_the_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let first = new_pair(dir.path());
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let s = Server::start(
        &db,
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    let url = common::line_value(&s.stdout_lines, "SCIM base URL:");
    let token = common::line_value(&s.stdout_lines, "Secret token:");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let path = url.split_once(&s.addr).unwrap().1.to_string();
    let (presented, status) = https(&s.addr, &[&first], &format!("{path}/Users"), &token);
    assert_eq!((presented, status.as_str()), (first.to_vec(), "HTTP/1.1 200 OK"));

    let second = new_pair(dir.path());
    s.signal("-HUP");
    // The reload happens when the server takes the signal: ask until the new one is presented.
    let mut seen = Vec::new();
    for _ in 0..200 {
        let (presented, status) = https(&s.addr, &[&first, &second], &format!("{path}/Users"), &token);
        assert_eq!(status, "HTTP/1.1 200 OK");
        if presented == second.to_vec() {
            seen = presented;
            break;
        }
    }
    assert_eq!(seen, second.to_vec(), "SIGHUP swapped the certificate");

    std::fs::write(&cert, "garbage").unwrap();
    s.signal("-HUP");
    let (presented, status) = https(&s.addr, &[&second], "/healthz", &token);
    assert_eq!(
        (presented, status.as_str()),
        (second.to_vec(), "HTTP/1.1 200 OK"),
        "a broken renewal keeps the certificate"
    );
}

#[test]
fn half_a_tls_configuration_and_bad_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let (ok, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &db,
        "--tls-cert",
        "x.pem",
    ]);
    assert!(!ok && err.contains("--tls-key"), "{err}");
    let missing = dir.path().join("missing.pem");
    let (ok, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &db,
        "--tls-cert",
        missing.to_str().unwrap(),
        "--tls-key",
        missing.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("missing.pem") && err.contains("TLS certificate"),
        "{err}"
    );
}
