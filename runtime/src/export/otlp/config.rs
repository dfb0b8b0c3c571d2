//! Where and how an OTLP exporter sends spans: the exporter's own configuration, filled from
//! the `OTEL_EXPORTER_OTLP_*` variables by [`EnvConfig`](crate::config::EnvConfig) or in code.
//!
//! Compiled without the OTLP features too, so the environment is read (and reported) the same
//! way whichever transports are built.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// gRPC (`grpc`), default port 4317.
    Grpc,
    /// HTTP with protobuf bodies (`http/protobuf`), OpenTelemetry's default, port 4318.
    #[default]
    HttpProtobuf,
    /// HTTP with JSON bodies (`http/json`), port 4318.
    HttpJson,
}

/// Body compression for OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpCompression {
    /// None (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// Where and how an OTLP exporter sends spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The full URL for traces: for HTTP including the `/v1/traces` path, for gRPC the
    /// server's base URL (`http://host:4317`).
    pub endpoint: String,
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Extra headers sent with every export (e.g. an API key).
    pub headers: BTreeMap<String, String>,
    /// How long one export may take, retries included (default 10 s).
    pub timeout: Duration,
    /// Body compression.
    pub compression: OtlpCompression,
    /// Certificates for `https://` endpoints: the CA to trust, and the client's own for
    /// mutual TLS.
    pub tls: OtlpTls,
    /// The largest export request, in bytes, before compression (default 4,000,000, under
    /// gRPC's usual 4 MiB limit; `TRACED_OTLP_MAX_REQUEST_SIZE`). A batch that encodes to
    /// more goes out as several requests; a request the receiver refuses as too large (HTTP
    /// 413, gRPC `RESOURCE_EXHAUSTED` / `OUT_OF_RANGE` about size) is halved and sent again,
    /// never as it was; a span too large on its own is dropped and counted as failed.
    pub max_request_size: usize,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: "http://localhost:4318/v1/traces".to_owned(),
            protocol: OtlpProtocol::HttpProtobuf,
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            compression: OtlpCompression::None,
            tls: OtlpTls::default(),
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
        }
    }
}

/// The default of [`OtlpConfig::max_request_size`]: just under the 4 MiB (4,194,304 bytes)
/// that gRPC servers, the OpenTelemetry Collector's among them, accept by default.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 4_000_000;

/// The certificate files of an OTLP exporter with an `https://` endpoint, all PEM.
///
/// With none set, the collector's certificate is checked against the operating system's
/// trust store and Mozilla's roots bundled with traced. A CA file replaces both, as in the
/// other OpenTelemetry SDKs: only a collector whose certificate that CA issued is trusted.
/// The files are read when the exporter is created; a missing or unreadable file, a file
/// with no certificate or key in it, or a client certificate without its key (or the other
/// way round) is an error then, not at the first export. With an `http://` endpoint the
/// files are not used.
///
/// ```
/// use traced_runtime::export::otlp::{OtlpConfig, OtlpTls};
/// let config = OtlpConfig {
///     endpoint: "https://collector.internal:4318/v1/traces".to_owned(),
///     tls: OtlpTls {
///         certificate: Some("/etc/otel/ca.pem".into()),
///         client_certificate: Some("/etc/otel/client.pem".into()),
///         client_key: Some("/etc/otel/client-key.pem".into()),
///     },
///     ..OtlpConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OtlpTls {
    /// The CA certificate(s) to trust for the collector's certificate
    /// (`OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`).
    pub certificate: Option<PathBuf>,
    /// The client's certificate chain for mutual TLS
    /// (`OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE`).
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key, PKCS #8, PKCS #1 or SEC1
    /// (`OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
}
