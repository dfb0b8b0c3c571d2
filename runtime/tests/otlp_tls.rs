//! TLS over both OTLP transports, against receivers on 127.0.0.1 whose certificates are made
//! here (rcgen): a trusted CA succeeds, an unknown CA fails at once without retries, a
//! receiver that requires a client certificate accepts ours and refuses its absence, and bad
//! certificate files are clear errors when the exporter is created.
//!
//! Run with `cargo test -p traced-runtime --features otlp --test otlp_tls`.
#![cfg(feature = "otlp")]

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;
use traced_runtime::export::ExportError;
use traced_runtime::export::otlp::{self, OtlpConfig, OtlpProtocol, OtlpTls};
use traced_runtime::model::{SpanContext, SpanData, SpanId, TraceFlags, TraceId, TraceState};

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

/// A CA, a server certificate for `localhost` / `127.0.0.1` and a client certificate it
/// issued, all written as PEM files in a fresh directory.
struct Pki {
    dir: PathBuf,
    ca_pem: String,
    server_chain: String,
    server_key: String,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!(
            "traced-otlp-tls-{}-{name}-{}",
            std::process::id(),
            SpanId::random()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("traced test CA {name}"));
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_chain, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
        let (client_chain, client_key) = leaf(vec!["traced-client".into()]);
        let pki = Pki {
            dir,
            ca_pem: ca.pem(),
            server_chain,
            server_key,
        };
        pki.write("ca.pem", &pki.ca_pem);
        pki.write("client.pem", &client_chain);
        pki.write("client-key.pem", &client_key);
        pki
    }

    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// The exporter's TLS settings: this CA trusted, with or without our client certificate.
    fn trust(&self, client: bool) -> OtlpTls {
        OtlpTls {
            certificate: Some(self.path("ca.pem")),
            client_certificate: client.then(|| self.path("client.pem")),
            client_key: client.then(|| self.path("client-key.pem")),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// Receivers
// ---------------------------------------------------------------------------------------

/// A TLS receiver: counts the TCP connections it accepted and the exports it answered.
struct Receiver {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    exports: Arc<AtomicUsize>,
}

impl Receiver {
    /// OTLP/HTTP over TLS: tokio-rustls in front of a hyper server that answers every POST
    /// with an empty `ExportTraceServiceResponse`.
    fn http(pki: &Pki, tls: Tls) -> Receiver {
        let config = Arc::new(server_config(pki, tls));
        let connections = Arc::new(AtomicUsize::new(0));
        let exports = Arc::new(AtomicUsize::new(0));
        let (c, e) = (connections.clone(), exports.clone());
        let addr = RT.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    c.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, e) = (acceptor.clone(), e.clone());
                    tokio::spawn(async move {
                        let Some(tls) = accept(&acceptor, tcp).await else {
                            return;
                        };
                        let service = hyper::service::service_fn(move |_request| {
                            e.fetch_add(1, Ordering::SeqCst);
                            async {
                                let mut response = hyper::Response::new(String::new());
                                response.headers_mut().insert(
                                    "content-type",
                                    hyper::header::HeaderValue::from_static(
                                        "application/x-protobuf",
                                    ),
                                );
                                Ok::<_, std::convert::Infallible>(response)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
            addr
        });
        Receiver {
            addr,
            connections,
            exports,
        }
    }

    /// OTLP/gRPC over TLS: tonic's server fed the connections our acceptor took.
    fn grpc(pki: &Pki, tls: Tls) -> Receiver {
        let mut config = server_config(pki, tls);
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let connections = Arc::new(AtomicUsize::new(0));
        let exports = Arc::new(AtomicUsize::new(0));
        let service = TraceServiceServer::new(Counting(exports.clone()));
        let c = connections.clone();
        let addr = RT.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // TLS connections for tonic: each accepted one counted, failed handshakes skipped.
            let incoming = futures::stream::unfold(listener, move |listener| {
                let (c, acceptor) = (c.clone(), acceptor.clone());
                async move {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            return None;
                        };
                        c.fetch_add(1, Ordering::SeqCst);
                        if let Some(tls) = accept(&acceptor, tcp).await {
                            return Some((Ok::<_, std::io::Error>(tls), listener));
                        }
                    }
                }
            });
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(incoming),
            );
            addr
        });
        Receiver {
            addr,
            connections,
            exports,
        }
    }

    fn config(&self, protocol: OtlpProtocol, tls: OtlpTls) -> OtlpConfig {
        let endpoint = match protocol {
            OtlpProtocol::Grpc => format!("https://localhost:{}", self.addr.port()),
            _ => format!("https://localhost:{}/v1/traces", self.addr.port()),
        };
        OtlpConfig {
            endpoint,
            protocol,
            timeout: Duration::from_secs(10),
            tls,
            ..OtlpConfig::default()
        }
    }
}

/// The TLS handshake of an accepted connection. On failure the connection is closed the way
/// nginx closes it (a lingering close: our end shut, then what the client still sends read
/// and dropped for up to a second), so the client reads the alert that says why. A server
/// that closes at once, with the client's request unread, makes the kernel reset the
/// connection, and the reset can reach the client before the alert: the client then sees a
/// dropped connection, which it retries (the alert, once seen, ends the export).
async fn accept(
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
) -> Option<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    match acceptor.accept(tcp).into_fallible().await {
        Ok(tls) => Some(tls),
        Err((_, mut tcp)) => {
            let _ = tcp.shutdown().await;
            let mut buf = [0u8; 4096];
            let drain = async { while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
            None
        }
    }
}

/// How a receiver does TLS.
#[derive(Clone, Copy, Debug)]
struct Tls {
    /// Only clients with a certificate this PKI's CA issued get in.
    require_client: bool,
    /// TLS 1.2 only: a refused client certificate fails the handshake itself (under TLS 1.3
    /// the client's handshake is over before the server checks its certificate, and the
    /// alert comes in answer to the request).
    tls12: bool,
}

const PLAIN: Tls = Tls {
    require_client: false,
    tls12: false,
};
const MTLS: Tls = Tls {
    require_client: true,
    tls12: false,
};
/// Mutual TLS under TLS 1.3 and under TLS 1.2.
const MTLS_BOTH: [Tls; 2] = [
    MTLS,
    Tls {
        require_client: true,
        tls12: true,
    },
];

fn server_config(pki: &Pki, tls: Tls) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone());
    let builder = if tls.tls12 {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .unwrap();
    let builder = if tls.require_client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let chain = CertificateDer::pem_slice_iter(pki.server_chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    builder.with_single_cert(chain, key).unwrap()
}

struct Counting(Arc<AtomicUsize>);

#[tonic::async_trait]
impl TraceService for Counting {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn span() -> SpanData {
    let cx = SpanContext::new(
        TraceId::from_u128(7),
        SpanId::from_u64(9),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    SpanData::new(cx, "tls")
}

/// One export of one span through the exporter `config` makes; how long it took.
fn export(config: &OtlpConfig) -> (Result<(), ExportError>, Duration) {
    let mut exporter = otlp::exporter(config).expect("the exporter is created");
    let start = Instant::now();
    let result = exporter.export(vec![span()]);
    (result, start.elapsed())
}

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::HttpProtobuf,
    OtlpProtocol::HttpJson,
    OtlpProtocol::Grpc,
];

fn receiver(protocol: OtlpProtocol, pki: &Pki, tls: Tls) -> Receiver {
    match protocol {
        OtlpProtocol::Grpc => Receiver::grpc(pki, tls),
        _ => Receiver::http(pki, tls),
    }
}

/// A `Tls` error, with its text; anything else fails the test.
fn tls_error(result: Result<(), ExportError>, what: &str) -> String {
    match result {
        Err(ExportError::Tls(why)) => why,
        other => panic!("{what}: expected a TLS error, got {other:?}"),
    }
}

#[test]
fn a_collector_behind_a_private_ca_is_trusted_with_its_ca_file() {
    let pki = Pki::new("trusted");
    for protocol in PROTOCOLS {
        let receiver = receiver(protocol, &pki, PLAIN);
        let (result, _) = export(&receiver.config(protocol, pki.trust(false)));
        assert_eq!(result, Ok(()), "{protocol:?}");
        assert_eq!(receiver.exports.load(Ordering::SeqCst), 1, "{protocol:?}");
    }
}

#[test]
fn an_unknown_ca_fails_at_once_without_retries() {
    let pki = Pki::new("unknown");
    let other = Pki::new("other");
    for protocol in PROTOCOLS {
        // The system's and the bundled roots, then another private CA: neither issued the
        // receiver's certificate.
        for (tls, what) in [
            (OtlpTls::default(), "system and bundled roots"),
            (other.trust(false), "another CA"),
        ] {
            let receiver = receiver(protocol, &pki, PLAIN);
            let (result, took) = export(&receiver.config(protocol, tls));
            let why = tls_error(result, &format!("{protocol:?}, {what}"));
            assert!(
                why.contains("UnknownIssuer") || why.contains("unknown issuer"),
                "{protocol:?}, {what}: {why}"
            );
            // One connection, no backoff: a retried export would connect again after 50 to
            // 100 ms, and go on until the 10 s timeout.
            assert_eq!(
                receiver.connections.load(Ordering::SeqCst),
                1,
                "{protocol:?}, {what}"
            );
            assert_eq!(receiver.exports.load(Ordering::SeqCst), 0);
            assert!(
                took < Duration::from_secs(2),
                "{protocol:?}, {what}: {took:?}"
            );
        }
    }
}

#[test]
fn mutual_tls_with_the_client_certificate_succeeds() {
    let pki = Pki::new("mtls");
    for protocol in PROTOCOLS {
        for tls in MTLS_BOTH {
            let receiver = receiver(protocol, &pki, tls);
            let (result, _) = export(&receiver.config(protocol, pki.trust(true)));
            assert_eq!(result, Ok(()), "{protocol:?} {tls:?}");
            assert_eq!(receiver.exports.load(Ordering::SeqCst), 1, "{protocol:?}");
        }
    }
}

/// Under TLS 1.3 (the client learns of the refusal in answer to its request) and TLS 1.2
/// (the handshake itself fails): a TLS error naming the missing certificate, at once.
#[test]
fn mutual_tls_without_a_client_certificate_fails_without_retries() {
    let pki = Pki::new("mtls-missing");
    for protocol in PROTOCOLS {
        for tls in MTLS_BOTH {
            let receiver = receiver(protocol, &pki, tls);
            let (result, took) = export(&receiver.config(protocol, pki.trust(false)));
            let why = tls_error(result, &format!("{protocol:?} {tls:?}"));
            assert!(
                why.to_ascii_lowercase().contains("certificate"),
                "{protocol:?} {tls:?}: {why}"
            );
            let connections = receiver.connections.load(Ordering::SeqCst);
            assert_eq!(connections, 1, "{protocol:?} {tls:?}");
            assert_eq!(receiver.exports.load(Ordering::SeqCst), 0, "{protocol:?}");
            assert!(
                took < Duration::from_secs(2),
                "{protocol:?} {tls:?}: {took:?}"
            );
        }
    }
}

#[test]
fn bad_certificate_files_are_clear_errors_when_the_exporter_is_created() {
    let pki = Pki::new("files");
    let not_pem = pki.write("not-pem.pem", "hello");
    let missing = pki.path("missing.pem");
    let cases = [
        (
            OtlpTls {
                certificate: Some(missing.clone()),
                ..OtlpTls::default()
            },
            "cannot read the CA certificate file",
        ),
        (
            OtlpTls {
                certificate: Some(not_pem.clone()),
                ..OtlpTls::default()
            },
            "holds no PEM certificate",
        ),
        (
            OtlpTls {
                client_certificate: Some(pki.path("client.pem")),
                ..OtlpTls::default()
            },
            "needs its key",
        ),
        (
            OtlpTls {
                client_key: Some(pki.path("client-key.pem")),
                ..OtlpTls::default()
            },
            "needs its certificate",
        ),
        (
            OtlpTls {
                client_certificate: Some(pki.path("client.pem")),
                client_key: Some(not_pem.clone()),
                ..OtlpTls::default()
            },
            "holds no usable PEM private key",
        ),
    ];
    for protocol in PROTOCOLS {
        for (tls, want) in &cases {
            let config = OtlpConfig {
                endpoint: "https://localhost:1/v1/traces".to_owned(),
                protocol,
                tls: tls.clone(),
                ..OtlpConfig::default()
            };
            match otlp::exporter(&config) {
                Err(ExportError::Tls(why)) => {
                    assert!(why.contains(want), "{protocol:?}: {why}");
                    if why.contains("file ") && !why.contains("needs") {
                        assert!(why.contains(&*pki.dir.to_string_lossy()), "{why}");
                    }
                }
                Err(e) => panic!("{protocol:?}, {want}: {e}"),
                Ok(_) => panic!("{protocol:?}, {want}: created"),
            }
        }
        // Plain http:// does not read the files.
        let config = OtlpConfig {
            endpoint: "http://localhost:1/v1/traces".to_owned(),
            protocol,
            tls: cases[0].0.clone(),
            ..OtlpConfig::default()
        };
        assert!(otlp::exporter(&config).is_ok());
    }
}
