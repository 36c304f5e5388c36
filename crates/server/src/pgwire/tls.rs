//! TLS for the SQL endpoint (rustls with the ring provider, through
//! pgwire's tokio-rustls support).
//!
//! [`TlsConfig::from_pem_files`] loads a PEM certificate chain and a PEM
//! private key (PKCS#8, PKCS#1 or SEC1) and checks that they belong
//! together. With a [`TlsConfig`] in [`super::PgConfig`], the server
//! answers a client's SSLRequest with `S` and runs the TLS handshake (it
//! also accepts PostgreSQL 17's direct TLS, ALPN `postgresql`); without
//! one it answers `N` and the client may continue in plain text or give up
//! (`sslmode=require`).
//!
//! Invariants: a configuration that cannot serve (unreadable file, no
//! certificate, no key, key not matching the certificate) is an error at
//! start-up naming the file, never a failure at the first handshake.
//! TLS 1.2 and 1.3 only (rustls' safe defaults).
//!
//! Not done: client certificates, reloading certificates without a
//! restart, requiring TLS from every client (`hostssl`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A loaded certificate and key, ready to accept TLS connections.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
    cert_pem: Arc<Vec<u8>>,
    cert_path: PathBuf,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert", &self.cert_path)
            .finish_non_exhaustive()
    }
}

/// Why a certificate/key pair cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS certificate {path}: no PEM certificate in it ({detail})")]
    Certificate { path: PathBuf, detail: String },
    #[error("TLS key {path}: no PEM private key in it ({detail})")]
    Key { path: PathBuf, detail: String },
    #[error("TLS certificate {cert} and key {key} cannot be used together: {detail}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

impl TlsConfig {
    /// Loads `cert` (PEM chain, leaf first) and `key` (PEM private key).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let cert_pem = read("certificate", cert)?;
        let key_pem = read("key", key)?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Certificate {
                path: cert.to_owned(),
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TlsError::Certificate {
                path: cert.to_owned(),
                detail: "the file holds no CERTIFICATE block".into(),
            });
        }
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
            path: key.to_owned(),
            detail: e.to_string(),
        })?;
        let pair = |detail: String| TlsError::Pair {
            cert: cert.to_owned(),
            key: key.to_owned(),
            detail,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| pair(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, private_key)
            .map_err(|e| pair(e.to_string()))?;
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_pem: Arc::new(cert_pem),
            cert_path: cert.to_owned(),
        })
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// The certificate's PEM (for SCRAM channel binding).
    pub(crate) fn cert_pem(&self) -> Arc<Vec<u8>> {
        self.cert_pem.clone()
    }
}
