//! TLS on the listener: SCIM over HTTPS with a certificate from PEM files, a reload that
//! swaps the certificate for new connections, a failed reload that keeps the old one, plain
//! HTTP refused, and mismatched files refused at load with the file named.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use scim_server::tls::Tls;
use scim_server::{ServerConfig, router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Pair {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn pair() -> Pair {
    let k = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Pair {
        cert_pem: k.cert.pem(),
        key_pem: k.signing_key.serialize_pem(),
        der: k.cert.der().clone(),
    }
}

fn write(dir: &Path, p: &Pair) {
    std::fs::write(dir.join("cert.pem"), &p.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &p.key_pem).unwrap();
}

/// One HTTPS request trusting only `trusted`: the status line and the certificate the server
/// presented, or the handshake's error.
async fn https_get(
    addr: &str,
    trusted: &CertificateDer<'static>,
    path: &str,
    token: &str,
) -> Result<(String, Vec<u8>), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    let ask =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    tls.write_all(ask.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    Ok((text.lines().next().unwrap_or_default().to_string(), presented))
}

#[tokio::test]
async fn scim_over_tls_with_a_certificate_reloaded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (pair(), pair());
    write(dir.path(), &first);
    let tls = Tls::load(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
    assert_eq!(tls.leaf(), first.der.to_vec());

    let store = scim_store::open(&format!("sqlite://{}/db", dir.path().display()), &Default::default())
        .await
        .unwrap();
    let at = scim_core::Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let tenant = store.create_tenant("acme", at).await.unwrap();
    let token = store.issue_token(tenant.id, None, at).await.unwrap().token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = ServerConfig::new(&format!("https://localhost:{}", listener.local_addr().unwrap().port()));
    let limits = config.limits.clone();
    let app = router(store, config);
    let served = tls.clone();
    tokio::spawn(async move { scim_server::serve_tls(listener, app, &limits, served, std::future::pending()).await });

    let (status, presented) = https_get(&addr, &first.der, "/scim/v2/acme/Users", &token)
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(presented, first.der.to_vec());
    let (status, _) = https_get(&addr, &first.der, "/scim/v2/acme/Users", "wrong")
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(&addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "{answer:?}");

    // Renewed files, reloaded: new connections get the new certificate.
    write(dir.path(), &second);
    tls.reload().unwrap();
    let (status, presented) = https_get(&addr, &second.der, "/scim/v2/acme/Users", &token)
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(presented, second.der.to_vec());
    let err = https_get(&addr, &first.der, "/healthz", &token).await.unwrap_err();
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");

    // A broken renewal is refused and the certificate in use stays.
    std::fs::write(dir.path().join("key.pem"), &first.key_pem).unwrap();
    let err = tls.reload().unwrap_err().to_string();
    assert!(err.contains("key.pem") && err.contains("does not fit"), "{err}");
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    let err = tls.reload().unwrap_err().to_string();
    assert!(err.contains("cert.pem"), "{err}");
    let (status, presented) = https_get(&addr, &second.der, "/healthz", &token).await.unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(presented, second.der.to_vec());

    let err = Tls::load(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap_err();
    assert!(err.to_string().contains("cert.pem"), "{err}");
    let err = Tls::load(&dir.path().join("missing.pem"), &dir.path().join("key.pem")).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
}
