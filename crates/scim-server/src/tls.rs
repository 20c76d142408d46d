//! TLS for the listener (rustls with ring): a certificate chain and its key from PEM files,
//! reloadable in place ([`Tls::reload`]; `scimd serve` calls it on SIGHUP) so a renewed
//! certificate needs no restart. A reload that fails keeps the certificate in use.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// The listener's certificate, and where it is reloaded from.
#[derive(Debug)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Tls {
    /// Reads the certificate chain (PEM, leaf first) and its private key (PEM: PKCS#8, PKCS#1
    /// or SEC1) and checks that they belong together.
    pub fn load(cert: &Path, key: &Path) -> io::Result<Arc<Tls>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = read(cert, key, &provider)?;
        Ok(Arc::new(Tls {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Reads both files again; new connections get the new certificate, connections already
    /// open keep theirs. On an error the certificate in use stays.
    pub fn reload(&self) -> io::Result<()> {
        let fresh = read(&self.cert, &self.key, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        Ok(())
    }

    /// The leaf certificate in use (DER), e.g. to log or compare fingerprints.
    pub fn leaf(&self) -> Vec<u8> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.cert.first().map(|c| c.to_vec()).unwrap_or_default()
    }

    pub(crate) fn acceptor(self: &Arc<Self>) -> io::Result<TlsAcceptor> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read(cert: &Path, key: &Path, provider: &CryptoProvider) -> io::Result<CertifiedKey> {
    let named = |path: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| named(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(cert, &e))?;
    if chain.is_empty() {
        return Err(named(cert, &"no PEM certificate in the file"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| named(key, &e))?;
    CertifiedKey::from_der(chain, private, provider)
        .map_err(|e| named(key, &format!("does not fit the certificate in {}: {e}", cert.display())))
}

#[derive(Debug)]
struct Resolver(Arc<Tls>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}
