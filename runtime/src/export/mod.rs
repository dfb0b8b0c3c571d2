//! Exporters: where finished spans leave the process.
//!
//! A [`SpanExporter`] ships a batch somewhere: the terminal ([`ConsoleExporter`]), memory
//! ([`InMemoryExporter`], for tests), an OpenTelemetry Collector ([`otlp`], features `otlp`,
//! `otlp-http`, `otlp-grpc`). Exporters receive [`SpanBatch`]es from a processor
//! ([`crate::pipeline`]) and depend only on the model: nothing here knows the pipeline, the
//! context or the hot path.

mod console;
mod memory;
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
pub mod otlp;
/// OTLP export: without the `otlp` features only its configuration, which
/// [`EnvConfig`](crate::config::EnvConfig) fills from the `OTEL_EXPORTER_OTLP_*` variables.
#[cfg(not(any(feature = "otlp-http", feature = "otlp-grpc")))]
pub mod otlp {
    mod config;
    pub use config::{
        DEFAULT_MAX_REQUEST_SIZE, OtlpCompression, OtlpConfig, OtlpProtocol, OtlpTls,
    };
}

pub use console::{ConsoleExporter, render_tree, render_tree_stable};
pub use memory::InMemoryExporter;

pub use crate::model::record::{BatchDrain, SpanBatch};
use crate::model::{Resource, SpanData};
use std::fmt;
use std::time::Duration;

/// Why an export, flush or shutdown failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// The exporter or processor was already shut down.
    Shutdown,
    /// The operation did not finish in time.
    Timeout(Duration),
    /// The backend refused or could not be reached.
    Failed(String),
    /// An OTLP/HTTP receiver answered with an error status that must not be retried (400,
    /// 401, 413...), or kept answering with a retryable one (429, 503...) until the time
    /// ran out.
    HttpStatus {
        /// The HTTP status code.
        status: u16,
        /// The response body (a protobuf or JSON `google.rpc.Status`, or text), cut to 1 KiB.
        body: String,
    },
    /// An OTLP/gRPC receiver answered with a non-retryable status, or kept answering with a
    /// retryable one until the time ran out.
    GrpcStatus {
        /// The gRPC status code (`3` is `INVALID_ARGUMENT`, `14` is `UNAVAILABLE`).
        code: i32,
        /// The status message, cut to 1 KiB.
        message: String,
    },
    /// TLS failed for a reason that trying again cannot fix, so it was not retried: the
    /// collector's certificate is not trusted or does not match its name, the collector
    /// refused the client certificate (or asked for one and got none), or a certificate file
    /// could not be read or parsed when the exporter was created. The text says which.
    Tls(String),
    /// Some spans of the batch were delivered and `failed` were not, for `error`: a span too
    /// large for a request on its own, or a failure after the first requests of a batch
    /// split by size had gone.
    Partial {
        /// How many spans of the batch were not delivered.
        failed: usize,
        /// Why.
        error: Box<ExportError>,
    },
}

impl ExportError {
    /// How many spans of an `n`-span batch this error lost: all of them, but for
    /// [`ExportError::Partial`].
    pub fn failed_spans(&self, n: usize) -> usize {
        match self {
            ExportError::Partial { failed, .. } => (*failed).min(n),
            _ => n,
        }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Shutdown => f.write_str("already shut down"),
            ExportError::Timeout(d) => write!(f, "timed out after {d:?}"),
            ExportError::Failed(why) => write!(f, "export failed: {why}"),
            ExportError::HttpStatus { status, body } => {
                write!(f, "export failed: HTTP status {status}: {body}")
            }
            ExportError::GrpcStatus { code, message } => {
                write!(f, "export failed: gRPC status {code}: {message}")
            }
            ExportError::Tls(why) => write!(f, "export failed: TLS: {why}"),
            ExportError::Partial { failed, error } => {
                write!(f, "{failed} span(s) of the batch not delivered: {error}")
            }
        }
    }
}
impl std::error::Error for ExportError {}

/// Ships batches of finished spans to a destination. Never called concurrently: a processor
/// owns its exporter.
pub trait SpanExporter: Send + fmt::Debug {
    /// Exports one batch.
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError>;
    /// Exports one batch of spans in the form they finished in: what the processors call.
    ///
    /// The default turns them into [`SpanData`] ([`SpanBatch::to_vec`]) and calls
    /// [`export`](SpanExporter::export). An exporter that only serializes spans can read them
    /// in place instead, building nothing per span: the OTLP exporters encode protobuf
    /// straight from the batch with `otlp::Encoder` (feature
    /// `otlp-http` or `otlp-grpc`). What is left in `batch` afterwards is dropped.
    fn export_batch(&mut self, batch: &mut SpanBatch) -> Result<(), ExportError> {
        self.export(batch.to_vec())
    }
    /// Receives the pipeline's resource once, before the first export.
    fn set_resource(&mut self, _resource: &Resource) {}
    /// Flushes anything the exporter buffers itself.
    fn force_flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
    /// Releases the exporter's resources; later exports fail with [`ExportError::Shutdown`].
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}

/// A boxed exporter is an exporter: what configuration code builds at run time.
impl<E: SpanExporter + ?Sized> SpanExporter for Box<E> {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        (**self).export(batch)
    }
    fn export_batch(&mut self, batch: &mut SpanBatch) -> Result<(), ExportError> {
        (**self).export_batch(batch)
    }
    fn set_resource(&mut self, resource: &Resource) {
        (**self).set_resource(resource);
    }
    fn force_flush(&mut self) -> Result<(), ExportError> {
        (**self).force_flush()
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        (**self).shutdown()
    }
}

/// An exporter that discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopExporter;

impl SpanExporter for NoopExporter {
    fn export(&mut self, _batch: Vec<SpanData>) -> Result<(), ExportError> {
        Ok(())
    }
}
