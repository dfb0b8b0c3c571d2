//! OTLP exporters: ship spans to an OpenTelemetry Collector or any OTLP backend.
//!
//! Two transports, each behind a cargo feature of `traced-runtime` (`otlp` enables both):
//!
//! | feature | type | protocol |
//! |---|---|---|
//! | `otlp-http` | [`OtlpHttpExporter`] | `http/protobuf` (the default) and `http/json` |
//! | `otlp-grpc` | [`OtlpGrpcExporter`] | `grpc` |
//!
//! Protobuf requests (`http/protobuf` and `grpc`) are written by traced's [`Encoder`]
//! straight from the finished spans: the bytes prost writes for the official OTLP messages
//! (the `opentelemetry-proto` crate's generated types, which [`to_request`] builds and
//! `http/json` still uses), without building them. Both exporters retry what OTLP says is
//! retryable (HTTP 429/502/503/504, gRPC
//! `UNAVAILABLE` and friends, connection failures) with exponential backoff and jitter,
//! honour the server's `Retry-After` / `RetryInfo`, and give up at the configured timeout.
//! TLS (`https://` endpoints) trusts the system's roots and Mozilla's bundled ones, or only
//! a configured CA file, and presents a client certificate when one is configured (see
//! [`OtlpTls`]); a certificate or handshake failure is never
//! retried ([`ExportError::Tls`]).
//! Neither needs an async runtime from the user: HTTP uses a blocking client, gRPC runs
//! tonic on a small runtime the exporter owns. Export calls block, so put the exporter
//! behind a batch processor (its background thread does the waiting).
//!
//! ```no_run
//! # #[cfg(feature = "otlp-http")] {
//! use traced_runtime::pipeline::Pipeline;
//! use traced_runtime::export::otlp::{OtlpConfig, OtlpProtocol};
//! use traced_runtime::export::otlp::OtlpHttpExporter;
//!
//! let exporter = OtlpHttpExporter::new(OtlpConfig {
//!     endpoint: "http://localhost:4318/v1/traces".to_owned(),
//!     protocol: OtlpProtocol::HttpProtobuf,
//!     ..OtlpConfig::default()
//! })
//! .expect("valid endpoint");
//! let _guard = Pipeline::builder().with_simple_exporter(exporter).install();
//! # }
//! ```

mod config;
mod encode;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;
#[cfg(feature = "otlp-http")]
mod json;
mod limit;
mod retry;
mod tls;
mod transform;

pub use config::{DEFAULT_MAX_REQUEST_SIZE, OtlpCompression, OtlpConfig, OtlpProtocol, OtlpTls};
pub use encode::Encoder;
#[cfg(feature = "otlp-grpc")]
pub use grpc::OtlpGrpcExporter;
#[cfg(feature = "otlp-http")]
pub use http::OtlpHttpExporter;
pub use transform::to_request;

/// The official OTLP message types this module builds (`opentelemetry-proto`'s), for
/// callers who want to inspect or re-encode what [`to_request`] returns.
pub use opentelemetry_proto::tonic as proto;

use super::{ExportError, SpanExporter};

/// The exporter for `config.protocol`: [`OtlpHttpExporter`] for `http/protobuf` and
/// `http/json`, [`OtlpGrpcExporter`] for `grpc`.
///
/// Fails when the endpoint or a header is invalid, or when the protocol's feature
/// (`otlp-http` or `otlp-grpc`) is not enabled.
///
/// ```
/// # #[cfg(feature = "otlp-http")] {
/// use traced_runtime::export::otlp::OtlpConfig;
/// let exporter = traced_runtime::export::otlp::exporter(&OtlpConfig::default()).unwrap();
/// # }
/// ```
pub fn exporter(config: &OtlpConfig) -> Result<Box<dyn SpanExporter>, ExportError> {
    match config.protocol {
        OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
            #[cfg(feature = "otlp-http")]
            return Ok(Box::new(OtlpHttpExporter::new(config.clone())?));
            #[cfg(not(feature = "otlp-http"))]
            return Err(ExportError::Failed(
                "OTLP over HTTP needs traced-runtime's `otlp-http` feature".to_owned(),
            ));
        }
        OtlpProtocol::Grpc => {
            #[cfg(feature = "otlp-grpc")]
            return Ok(Box::new(OtlpGrpcExporter::new(config.clone())?));
            #[cfg(not(feature = "otlp-grpc"))]
            return Err(ExportError::Failed(
                "OTLP over gRPC needs traced-runtime's `otlp-grpc` feature".to_owned(),
            ));
        }
    }
}

/// Reports a receiver's partial success (spans it rejected, or a warning): on standard
/// error the first time only, since the same cause tends to repeat on every batch; later
/// ones are only counted.
#[derive(Debug, Default)]
struct PartialSuccess {
    reports: u64,
    rejected_spans: u64,
}

impl PartialSuccess {
    fn record(&mut self, rejected: i64, message: &str) {
        if rejected <= 0 && message.is_empty() {
            return;
        }
        self.reports += 1;
        self.rejected_spans += rejected.max(0) as u64;
        if self.reports == 1 {
            eprintln!(
                "traced: the OTLP receiver accepted the export partially: {rejected} span(s) \
                 rejected: {message} (reported once; later partial successes are not logged)"
            );
        }
    }
}

/// What a zero `OtlpConfig::timeout` stands for: no limit, as for
/// `OTEL_EXPORTER_OTLP_TIMEOUT=0` (the largest number of milliseconds in 32 bits, ~49 days).
const NO_LIMIT: std::time::Duration = std::time::Duration::from_millis(u32::MAX as u64);

/// The export timeout for a configured one, zero meaning no limit.
fn effective_timeout(configured: std::time::Duration) -> std::time::Duration {
    if configured.is_zero() {
        NO_LIMIT
    } else {
        configured
    }
}

/// At most this much of an error response body is kept in the error.
const MAX_ERROR_BODY: usize = 1024;

/// A response body or gRPC message cut to a readable length, as text.
fn error_text(bytes: &[u8]) -> String {
    let cut = bytes.len().min(MAX_ERROR_BODY);
    let mut s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > cut {
        s.push_str("...");
    }
    s
}
