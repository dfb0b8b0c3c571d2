//! Processors and exporters: where finished spans go.
//!
//! A [`SpanProcessor`] receives finished, sampled spans in batches and must never block the
//! thread that ended them; a [`SpanExporter`] ships a batch somewhere (the console, memory, an
//! OpenTelemetry Collector). The [`SimpleSpanProcessor`] exports on the ending thread at
//! once, for tests and the console; the [`BatchSpanProcessor`] queues them and exports from a
//! background thread, for remote backends.

mod batch;
mod console;
mod memory;
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
pub mod otlp;

pub use batch::{BatchConfig, BatchSpanProcessor};
pub use console::{ConsoleExporter, render_tree, render_tree_stable};
pub use memory::InMemoryExporter;

use crate::data::{Resource, SpanData};
pub use crate::record::{BatchDrain, SpanBatch};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
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
    /// Receives, once before the first export, the signal its processor raises when it starts
    /// shutting down: an exporter that retries should then stop retrying what cannot succeed
    /// soon (a refused connection) and cut its waits short, so that a program exits promptly
    /// when its collector is down. The OTLP exporters do.
    fn set_shutdown_signal(&mut self, _signal: ShutdownSignal) {}
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
    fn set_shutdown_signal(&mut self, signal: ShutdownSignal) {
        (**self).set_shutdown_signal(signal);
    }
    fn force_flush(&mut self) -> Result<(), ExportError> {
        (**self).force_flush()
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        (**self).shutdown()
    }
}

/// Raised by a processor when it starts shutting down; see
/// [`SpanExporter::set_shutdown_signal`]. Clones share one signal.
///
/// ```
/// use std::time::Duration;
/// use traced_runtime::export::ShutdownSignal;
/// let signal = ShutdownSignal::default();
/// let seen = signal.clone();
/// std::thread::spawn(move || signal.raise());
/// // Sleeps up to a minute, but wakes as soon as the signal is raised.
/// assert!(seen.sleep(Duration::from_secs(60)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ShutdownSignal(Arc<(Mutex<bool>, Condvar)>);

impl ShutdownSignal {
    /// Raises the signal (once raised it stays raised) and wakes every [`sleep`](Self::sleep).
    pub fn raise(&self) {
        let (raised, wake) = &*self.0;
        *raised.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }
    /// Whether it was raised.
    pub fn is_raised(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
    /// Waits `duration`, or until the signal is raised; returns whether it was.
    pub fn sleep(&self, duration: Duration) -> bool {
        let (raised, wake) = &*self.0;
        let guard = raised.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, duration, |raised| !*raised)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// Counts kept by a processor, readable at run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessorStats {
    /// Spans handed to the processor, and spans shed while it was full.
    pub received: u64,
    /// Spans the exporter accepted.
    pub exported: u64,
    /// Spans dropped before export: refused by a full queue, shed at their start while it
    /// stayed full (see [`SpanProcessor::is_full`]), or ended after shutdown.
    pub dropped: u64,
    /// Spans in batches the exporter failed to export.
    pub failed: u64,
    /// Values from user code whose `Debug` or `Display` panicked or failed while traced
    /// formatted them (recorded as `<Debug panicked>` and the like; the call went on). Counted
    /// for the whole process, as values are formatted before their span reaches a processor:
    /// the same as [`formatting_failures`](crate::formatting_failures).
    pub formatting_failures: u64,
}

/// Receives finished spans from the threads that end them.
pub trait SpanProcessor: Send + Sync + fmt::Debug {
    /// Receives spans ended on the calling thread, in the order they ended; what is left in
    /// `spans` afterwards is dropped. Runs on that thread: it must not block or do I/O, except
    /// in processors made for that (the simple processor), and should leave the conversion
    /// to [`SpanData`] ([`SpanBatch::drain`]) to a thread of its own when it can.
    fn on_end(&self, spans: &mut SpanBatch);
    /// Exports everything received so far, waiting at most `timeout`.
    fn force_flush(&self, timeout: Duration) -> Result<(), ExportError>;
    /// Exports everything received, then shuts the exporter down.
    fn shutdown(&self, timeout: Duration) -> Result<(), ExportError>;
    /// Receives the pipeline's resource once, before any span.
    fn set_resource(&self, _resource: &mut Resource) {}
    /// Whether spans may wait in the ending thread's buffer until its outermost span ends
    /// (true), or must arrive one by one as they end (false).
    fn accepts_thread_batches(&self) -> bool {
        true
    }
    /// Whether the processor refuses spans now (the batch processor: its queue is full). A
    /// thread whose spans it refused asks this at each span start, and sheds the children it
    /// starts (not recorded, counted as dropped with its next batch) for as long as it holds:
    /// recording spans that can only be dropped would cost the observed program for nothing.
    /// Called only in that state, never on the usual path.
    fn is_full(&self) -> bool {
        false
    }
    /// The processor's counts.
    fn stats(&self) -> ProcessorStats {
        ProcessorStats::default()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ProcessorStats {
        ProcessorStats {
            received: self.received.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            formatting_failures: crate::formatting::formatting_failures(),
        }
    }
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Exports each span as it ends, on the thread that ended it.
///
/// Simple and synchronous: the right choice for tests and the console, not for a remote
/// backend (use a batch processor there). An export that fails or panics counts its spans in
/// [`ProcessorStats::failed`]; a panic does not reach the code whose span ended.
#[derive(Debug)]
pub struct SimpleSpanProcessor {
    exporter: Mutex<Option<Box<dyn SpanExporter>>>,
    counters: Counters,
}

impl SimpleSpanProcessor {
    /// A simple processor around `exporter`.
    pub fn new(exporter: impl SpanExporter + 'static) -> Self {
        SimpleSpanProcessor {
            exporter: Mutex::new(Some(Box::new(exporter))),
            counters: Counters::default(),
        }
    }
}

impl SpanProcessor for SimpleSpanProcessor {
    fn on_end(&self, spans: &mut SpanBatch) {
        let n = spans.len();
        Counters::add(&self.counters.received, n);
        let mut guard = self
            .exporter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(exporter) = guard.as_mut() {
            // A panicking exporter fails its spans; it never unwinds into the code whose span
            // ended.
            let exported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                exporter.export_batch(spans)
            }));
            match exported {
                Ok(Ok(())) => Counters::add(&self.counters.exported, n),
                Ok(Err(_)) | Err(_) => Counters::add(&self.counters.failed, n),
            }
        } else {
            Counters::add(&self.counters.dropped, n);
        }
    }
    fn force_flush(&self, _timeout: Duration) -> Result<(), ExportError> {
        let mut guard = self
            .exporter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_mut().map_or(Ok(()), SpanExporter::force_flush)
    }
    fn shutdown(&self, _timeout: Duration) -> Result<(), ExportError> {
        let mut guard = self
            .exporter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.take() {
            Some(mut e) => e.shutdown(),
            None => Err(ExportError::Shutdown),
        }
    }
    fn set_resource(&self, resource: &mut Resource) {
        let mut guard = self
            .exporter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = guard.as_mut() {
            e.set_resource(resource);
        }
    }
    fn accepts_thread_batches(&self) -> bool {
        false
    }
    fn stats(&self) -> ProcessorStats {
        self.counters.snapshot()
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
