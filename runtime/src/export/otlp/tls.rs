//! TLS for both OTLP transports: the roots to trust, the client's identity for mutual TLS,
//! and telling a certificate or handshake failure (never retried) from a network one.

use super::OtlpTls;
use crate::export::ExportError;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::OnceLock;

/// The certificate files of an [`OtlpTls`], read and checked.
#[derive(Debug, Default)]
pub(super) struct Files {
    /// The CA file, as read and as certificates: the only roots when set.
    pub(super) ca: Option<(Vec<u8>, Vec<CertificateDer<'static>>)>,
    /// The client's identity for mutual TLS.
    pub(super) identity: Option<Identity>,
}

/// A client certificate chain and its key, PEM, both checked to hold what they should.
#[derive(Debug)]
pub(super) struct Identity {
    pub(super) chain_pem: Vec<u8>,
    pub(super) key_pem: Vec<u8>,
}

impl Files {
    /// Reads and parses the files `tls` names; a missing or unreadable file, one without a
    /// certificate (or key), or half an identity is an error naming the file.
    pub(super) fn load(tls: &OtlpTls) -> Result<Files, ExportError> {
        let ca = match &tls.certificate {
            None => None,
            Some(path) => {
                let pem = read(path, "CA certificate")?;
                let certs = certificates(&pem, path, "CA certificate")?;
                Some((pem, certs))
            }
        };
        let identity = match (&tls.client_certificate, &tls.client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                let chain_pem = read(cert, "client certificate")?;
                certificates(&chain_pem, cert, "client certificate")?;
                let key_pem = read(key, "client key")?;
                PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    ExportError::Tls(format!(
                        "the client key file {} holds no usable PEM private key: {e}",
                        key.display()
                    ))
                })?;
                Some(Identity { chain_pem, key_pem })
            }
            (Some(cert), None) => {
                return Err(ExportError::Tls(format!(
                    "a client certificate ({}) needs its key: set OTEL_EXPORTER_OTLP_CLIENT_KEY \
                     or Config::with_otlp_client_key",
                    cert.display()
                )));
            }
            (None, Some(key)) => {
                return Err(ExportError::Tls(format!(
                    "a client key ({}) needs its certificate: set \
                     OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE or Config::with_otlp_client_certificate",
                    key.display()
                )));
            }
        };
        Ok(Files { ca, identity })
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ExportError> {
    std::fs::read(path).map_err(|e| {
        ExportError::Tls(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })
}

fn certificates(
    pem: &[u8],
    path: &Path,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, ExportError> {
    match CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>() {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(ExportError::Tls(format!(
            "the {what} file {} holds no PEM certificate",
            path.display()
        ))),
        Err(e) => Err(ExportError::Tls(format!(
            "the {what} file {} is not valid PEM: {e}",
            path.display()
        ))),
    }
}

/// The operating system's trust store, read once per process (empty where there is none:
/// the bundled roots still apply).
pub(super) fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// How rustls' `Display` starts the errors that no retry can fix: an alert from the server
/// (a refused or missing client certificate), our refusal of its certificate, a peer that
/// cannot agree on the protocol.
const RUSTLS_TEXTS: [&str; 4] = [
    "received fatal alert",
    "invalid peer certificate",
    "peer is incompatible",
    "peer misbehaved",
];

/// Why a request failed, when the cause is TLS itself: the server's certificate was not
/// trusted or did not match, the server refused our certificate (or its absence), or the
/// handshake failed. Retrying cannot help; `None` for anything else.
pub(super) fn failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            // `io::Error::source` skips the error it wraps; look at that one too.
            if let Some(reason) = failure(inner) {
                return Some(reason);
            }
            // Some layers (tokio-rustls under hyper) pass a rustls error on as its text.
            let text = inner.to_string();
            if io.kind() == std::io::ErrorKind::InvalidData
                && RUSTLS_TEXTS.iter().any(|t| text.starts_with(t))
            {
                return Some(text);
            }
        }
        next = e.source();
    }
    None
}
