//! The processor trait, its counts, and the simple processor (export on the ending thread).

use crate::export::{ExportError, SpanExporter};
use crate::model::Resource;
#[cfg(doc)]
use crate::model::SpanData;
use crate::model::record::SpanBatch;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Counts kept by a processor, readable at run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessorStats {
    /// Spans handed to the processor (or kept for it by the thread that ended them, see
    /// [`BatchSpanProcessor`](crate::pipeline::BatchSpanProcessor)), and spans shed while
    /// it was full.
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
    /// the same as [`formatting_failures`](crate::pipeline::formatting_failures).
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
    /// Puts empty record boxes in `spare`, as many as it has room for, when the processor
    /// keeps some (the batch processor: its spare boxes): a thread whose pool ran dry asks
    /// this before it allocates. Gives none by default.
    #[doc(hidden)]
    fn lend_boxes(&self, _spare: &mut SpanBatch) {}
    /// Keeps `spans`, left on this thread as its outermost local span ended, where the
    /// processor's own thread collects them (`place`: this thread's place, made on first
    /// use), so that the thread goes on without handing them over. `false` when the
    /// processor does not keep spans so (the default), or not these: the caller hands
    /// `spans` over with [`on_end`](Self::on_end), and they may then be spans the place held,
    /// ended earlier, while the place keeps these.
    #[doc(hidden)]
    fn park(&self, _spans: &mut SpanBatch, _place: &mut Option<Arc<Parked>>) -> bool {
        false
    }
    /// Whether [`park`](Self::park) may keep spans: asked once, when the pipeline is built,
    /// so that a thread ending roots into a processor that never does makes no call for it.
    #[doc(hidden)]
    fn parks(&self) -> bool {
        false
    }
}

/// A thread's spans that a processor keeps for its own thread to collect (see
/// [`SpanProcessor::park`]): the batch processor's, for the spans a thread's outermost
/// spans leave short of a full batch.
///
/// A thread whose outermost spans are roots ended one at a time handed each over under the
/// processor's lock, a lock its worker takes too: `instr root-batch` took 87 ns per root
/// against 36 ns with a processor that counts on the thread, the lock's cache line and the
/// queue's coming back from the worker's core at each root. The place's lock is the thread's
/// own, taken by the worker only when its timer, a flush or the shutdown collects.
#[doc(hidden)]
#[derive(Debug)]
pub struct Parked(Mutex<ParkedSpans>);

#[derive(Debug)]
pub(crate) struct ParkedSpans {
    /// Spans kept, in the order they ended.
    pub(crate) batch: SpanBatch,
    /// The processor shut down and collected this place for the last time: it keeps nothing
    /// more.
    pub(crate) closed: bool,
}

impl Parked {
    pub(crate) fn new(batch: SpanBatch) -> Arc<Self> {
        Arc::new(Parked(Mutex::new(ParkedSpans {
            batch,
            closed: false,
        })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ParkedSpans> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the spans kept here to the front of `spans`, which the thread is about to hand
    /// over itself (it is exiting).
    pub(crate) fn take_into(&self, spans: &mut SpanBatch) {
        let mut parked = self.lock();
        if parked.batch.is_empty() {
            return;
        }
        std::mem::swap(&mut parked.batch, spans);
        spans.append(&mut parked.batch);
    }
}

/// The counts behind [`ProcessorStats`]. `received` has a cache line of its own: the threads
/// that end spans add to it at every hand-over, and the batch worker's `exported` beside it
/// would take the line from them at every export.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: OwnLine<AtomicU64>,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
}

/// A value alone on its cache line (64 bytes).
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct OwnLine<T>(T);

impl<T> std::ops::Deref for OwnLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ProcessorStats {
        ProcessorStats {
            received: self.received.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            formatting_failures: super::formatting::formatting_failures(),
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
                Ok(Err(e)) => {
                    let failed = e.failed_spans(n);
                    Counters::add(&self.counters.exported, n - failed);
                    Counters::add(&self.counters.failed, failed);
                }
                Err(_) => Counters::add(&self.counters.failed, n),
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
