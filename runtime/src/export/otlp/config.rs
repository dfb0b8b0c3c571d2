//! Where and how an OTLP exporter sends spans: the exporter's own configuration, filled from
//! the `OTEL_EXPORTER_OTLP_*` variables by [`EnvConfig`](crate::config::EnvConfig) or in code.
//!
//! Compiled without the OTLP features too, so the environment is read (and reported) the same
//! way whichever transports are built.

use std::collections::BTreeMap;
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
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: "http://localhost:4318/v1/traces".to_owned(),
            protocol: OtlpProtocol::HttpProtobuf,
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            compression: OtlpCompression::None,
        }
    }
}
