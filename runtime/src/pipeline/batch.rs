//! The batch span processor: a bounded queue in front of one background thread that exports.
//!
//! The thread that ends spans only copies its batch's pointers (a batch is 64 spans,
//! [`crate::pipeline::LOCAL_BATCH`]) into a
//! batch of the queue's own under a short lock, and takes back as many reusable boxes as its
//! pool has room for; what does not fit is dropped and counted, never waited for, and the
//! thread sheds its next children while the queue stays full. What its outermost span leaves
//! short of a batch waits in a place of the thread's own for the worker to collect. Turning records into
//! [`SpanData`](crate::model::SpanData) happens on the worker. The worker (the `traced-batch` thread, or
//! `traced-export` after an export was abandoned, see [`Worker`]) calls the exporter itself and
//! exports batches of at most `max_export_batch_size` spans, when a batch is full or when
//! `scheduled_delay` has passed since the last export, and on [`force_flush`] and
//! [`shutdown`]. Memory stays bounded by `max_queue_size` however slow the backend is.
//!
//! [`force_flush`]: SpanProcessor::force_flush
//! [`shutdown`]: SpanProcessor::shutdown

use super::processor::ParkedSpans;
use super::{Counters, LOCAL_BATCH, POOL_MAX, Parked, ProcessorStats, SpanProcessor};
use crate::export::{ExportError, ShutdownSignal, SpanExporter};
use crate::model::Resource;
use crate::model::record::{Slot, SpanBatch};
use std::collections::VecDeque;
use std::fmt;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Queue slots allocated up front. A larger queue grows on demand up to its size once, then
/// never again: a mistyped `OTEL_BSP_MAX_QUEUE_SIZE` cannot allocate gigabytes at start.
const PREALLOCATED_MAX: usize = 1 << 16;

/// Room for exported batches kept for reuse, allocated up front (the batches themselves come
/// with the spans, or from the worker's reserve: see [`Reserve`]).
const FREE_BATCHES: usize = 16;

/// The settings of a [`BatchSpanProcessor`], with OpenTelemetry's defaults but for a larger
/// queue.
///
/// | setting | default | environment variable |
/// |---|---|---|
/// | `max_queue_size` | 8192 (OpenTelemetry's: 2048) | `OTEL_BSP_MAX_QUEUE_SIZE` |
/// | `max_export_batch_size` | 512 | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` |
/// | `scheduled_delay` | 5 s | `OTEL_BSP_SCHEDULE_DELAY` |
/// | `export_timeout` | 30 s | `OTEL_BSP_EXPORT_TIMEOUT` |
///
/// Sizes below 1 count as 1, and a batch size above the queue size is clamped to the queue
/// size, as the specification asks.
///
/// The queue is four times OpenTelemetry's so that a thread ending 2 M spans/s in bursts of
/// a few thousand loses none while the worker waits for a core: 2048 spans are 1 ms at that
/// rate, and on a busy machine a woken thread can wait longer than that (`throughput paced
/// traced-otlp`, 2 M spans/s in chunks of 2048 calls on a loaded 2-core VM: each of 12 runs
/// with a queue of 2048 dropped spans, 4 000 to 48 000 of 1 M; 8 of 9 with 8192 none). A
/// queued span is a record of 496 bytes, and up to as many emptied records are kept for
/// reuse, so the default bounds the processor's memory to about 8 MiB (2 MiB with
/// OpenTelemetry's 2048, which `OTEL_BSP_MAX_QUEUE_SIZE=2048` restores), plus what each
/// thread keeps before it hands spans over: less than a batch (64 spans) waiting for the
/// worker, and its pool of empty records.
///
/// ```
/// use std::time::Duration;
/// use traced_runtime::pipeline::BatchConfig;
/// let config = BatchConfig::default()
///     .with_max_queue_size(8192)
///     .with_max_export_batch_size(10_000) // clamped to the queue size
///     .with_scheduled_delay(Duration::from_secs(1));
/// assert_eq!(config.max_queue_size(), 8192);
/// assert_eq!(config.max_export_batch_size(), 8192);
/// assert_eq!(config.export_timeout(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    max_queue_size: usize,
    max_export_batch_size: usize,
    scheduled_delay: Duration,
    export_timeout: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: 8192,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_secs(5),
            export_timeout: Duration::from_secs(30),
        }
    }
}

impl BatchConfig {
    /// The most spans waiting for export; spans ended while it is full are dropped and
    /// counted in [`ProcessorStats::dropped`]. The queue is allocated once, at this size (up
    /// to 65 536 spans; beyond that it grows on demand, once).
    #[must_use]
    pub fn with_max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = spans.max(1);
        self
    }
    /// The most spans in one call to [`SpanExporter::export`]. Full batches are exported
    /// without waiting for the scheduled delay once the worker is awake: threads wake it
    /// when a quarter of the queue is waiting (at least a full batch), so that they do not
    /// pay a wake-up for every batch.
    #[must_use]
    pub fn with_max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size = spans.max(1);
        self
    }
    /// The longest a span waits for a batch to fill: the delay between two exports.
    /// Zero exports as soon as anything is queued.
    #[must_use]
    pub fn with_scheduled_delay(mut self, delay: Duration) -> Self {
        self.scheduled_delay = delay;
        self
    }
    /// How long one export may take before its batch counts as failed. Zero means no limit.
    #[must_use]
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }
    /// The queue size.
    pub fn max_queue_size(&self) -> usize {
        self.max_queue_size
    }
    /// The batch size, never above the queue size.
    pub fn max_export_batch_size(&self) -> usize {
        self.max_export_batch_size.min(self.max_queue_size)
    }
    /// The scheduled delay.
    pub fn scheduled_delay(&self) -> Duration {
        self.scheduled_delay
    }
    /// The export timeout (zero: no limit).
    pub fn export_timeout(&self) -> Duration {
        self.export_timeout
    }
}

/// Exports finished spans in batches from a background thread named `traced-batch`: the
/// processor for a remote backend such as an OpenTelemetry Collector.
///
/// Ending a span never waits for the exporter: the span is moved into a bounded queue under a
/// short lock, with no allocation once the queue exists. When the queue is full, new spans
/// are dropped and counted, and a thread whose spans it refused sheds the children it starts
/// for as long as the queue stays full: they are not recorded (as unsampled children, their
/// parent's context going on), and they are counted as dropped too. Under overload, the
/// program's threads stop paying for spans that could only be dropped (roots and children of
/// remote parents are always recorded, so no trace loses its sampling decision).
///
/// A thread hands its spans over a batch at a time ([`crate::pipeline::LOCAL_BATCH`]):
/// what its outermost span leaves short of a batch (a root ending on its own, say) waits in a
/// place of the thread's own, under a lock only the worker shares, and the worker collects it
/// when its timer expires (the scheduled delay), at a flush and at shutdown. Such spans count
/// as received at once, and a thread that exits hands its spans over.
///
/// A slow or hung exporter delays only the background thread. The worker calls the exporter
/// itself (no hand-off per batch), while a second thread (`traced-export`) stands by, asleep:
/// an export that takes longer than the export timeout is abandoned, its batch counts as
/// failed, the standing-by thread takes the worker's place and moves on, and while the stuck
/// call has not returned, the next batches fail at once (counted) instead of waiting behind it.
/// [`force_flush`] and [`shutdown`] give up after their own timeout; a shutdown that gives up
/// counts the spans still queued as dropped. When shutdown starts, the exporter is told
/// ([`SpanExporter::set_shutdown_signal`]: the OTLP exporters stop retrying a refused
/// connection), and after one export fails during shutdown the rest of the queue fails
/// without being sent: a program whose collector is down exits within one export timeout,
/// not one per batch. The exporter is never called concurrently, and a panic inside it fails
/// the batch without stopping the thread.
///
/// Failures are reported on standard error at most once a minute, with the counts since the
/// last report, and a recovery once when an export succeeds again.
///
/// Whatever the exporter does, once [`shutdown`] has returned (in time or not) every span is
/// counted once: `exported + dropped + failed == received` in [`stats`].
///
/// ```
/// use std::time::Duration;
/// use traced_runtime::export::InMemoryExporter;
/// use traced_runtime::pipeline::{BatchConfig, BatchSpanProcessor, Pipeline, SpanProcessor};
///
/// let exporter = InMemoryExporter::default();
/// let config = BatchConfig::default().with_scheduled_delay(Duration::from_millis(100));
/// let guard = Pipeline::builder()
///     .with_batch_exporter_config(exporter.clone(), config)
///     .install();
/// for _ in 0..10 {
///     traced_runtime::span("request").start().end();
/// }
/// guard.force_flush(Duration::from_secs(5)).unwrap();
/// assert_eq!(exporter.spans().len(), 10);
/// let stats = guard.pipeline().processor().stats();
/// assert_eq!((stats.received, stats.exported, stats.dropped), (10, 10, 0));
/// ```
///
/// [`force_flush`]: SpanProcessor::force_flush
/// [`shutdown`]: SpanProcessor::shutdown
/// [`stats`]: SpanProcessor::stats
pub struct BatchSpanProcessor {
    shared: Arc<Shared>,
    /// The two threads (see [`Worker`]); the one that stops the worker is joined.
    workers: Mutex<[Option<JoinHandle<()>>; 2]>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the worker.
    work: Condvar,
    /// Wakes callers of `force_flush` and `shutdown`.
    done: Condvar,
    /// Wakes the thread standing by (only when the worker stops).
    watch: Condvar,
    /// The worker's state, with whichever thread holds the role.
    role: Mutex<Role>,
    counters: Counters,
    config: BatchConfig,
    /// A span was dropped because the queue was full (drops after shutdown are expected and
    /// not reported).
    overflowed: AtomicBool,
    /// The queue refused spans, and the worker has not taken any off it since: threads it
    /// refused shed their next children (see [`SpanProcessor::is_full`]).
    full: AtomicBool,
    /// A shutdown ran out of time and dropped what was queued (`give_up`): spans collected
    /// from threads' places after it are dropped too, not queued. Written and read under the
    /// state's lock.
    gave_up: AtomicBool,
    /// Queue length at which an ending thread wakes the worker: a quarter of the queue (at
    /// least a full batch), or any span when the scheduled delay is zero.
    ///
    /// A full batch woke the worker before, and each wake cost the waking thread a futex
    /// call and the worker a trip through the scheduler: with one thread ending children flat
    /// out (`perf` on `instr child-batch`, three quiet rounds), the thread's CPU per span was
    /// 34.2–35.7 ns waking at each full batch and 30.9–31.9 at a quarter of the queue, the
    /// worker's 10.5–11.6 and 6.2–6.4. A quarter of the queue leaves three quarters of it as
    /// headroom for the worker's wake-up.
    wake_at: usize,
    /// Queue length at which the worker, awake, exports another batch rather than waiting
    /// for its timer: a full batch, or any span when the scheduled delay is zero.
    batch_at: usize,
    /// Raised when shutdown starts; the exporter has a clone.
    signal: ShutdownSignal,
    /// Exports abandoned at their timeout.
    abandoned: AtomicU64,
    /// Where threads keep the spans their outermost spans left short of a batch (see
    /// [`SpanProcessor::park`]); the worker collects them.
    places: Mutex<Places>,
}

/// The threads' places for parked spans.
#[derive(Default)]
struct Places {
    all: Vec<Arc<Parked>>,
    /// Collected for the last time at shutdown: no new place.
    closed: bool,
}

struct State {
    /// Batches as threads handed them over, oldest first.
    queue: VecDeque<SpanBatch>,
    /// Spans in `queue`.
    queued: usize,
    /// Exported batches, empty, for the next threads that hand spans over: each takes one
    /// back for its next spans, so that ending spans allocates nothing once the pipeline runs.
    free: Vec<SpanBatch>,
    /// Empty record boxes, of exported spans or allocated ahead by the worker (see
    /// [`Reserve`]). A thread that hands spans over takes some back (as many as its pool has
    /// room for), so the boxes circulate between the threads and the worker instead of being
    /// freed on one side and allocated on the other.
    spares: Spares,
    /// The recent peaks of the queue, which size the reserve of `boxes` and `free`.
    reserve: Reserve,
    /// No span is accepted any more.
    shutdown: bool,
    /// The worker has exported everything and shut the exporter down (or never started).
    stopped: bool,
    shutdown_result: Option<Result<(), ExportError>>,
    flush_requested: u64,
    flush_done: u64,
    flush_result: Result<(), ExportError>,
    /// Handed to the exporter by the worker before its next export.
    resource: Option<Resource>,
    in_flight: Option<InFlight>,
    /// The worker is waiting on `work` (or about to): only then does a full batch need a wake.
    idle: bool,
    /// Which of the two threads holds the worker's role (see [`Worker`]).
    active: usize,
    /// The thread that stopped the worker (the one to join).
    stopper: usize,
}

/// Empty record boxes for the threads: exported batches with their boxes left in place, and
/// boxes on their own.
///
/// The boxes of an exported batch stay in it, their pointers where the threads that handed
/// the spans over wrote them: a thread reads them back without waiting for the worker's
/// core. When the worker copied them out into a list of its own, each thread that took
/// boxes back read pointers the worker's core had just written: with one thread ending
/// children flat out (`instr child-batch` under `perf`), that read was a tenth of the
/// thread's time.
#[derive(Default)]
struct Spares {
    /// Batches of empty boxes, no records; some may have lent all their boxes, until the
    /// worker takes them back ([`take_empty`](Self::take_empty)).
    batches: Vec<SpanBatch>,
    /// Boxes on their own: allocated ahead by the worker, or what a batch over the reserve
    /// left.
    loose: Vec<Slot>,
    /// Boxes in both.
    count: usize,
}

impl Spares {
    fn len(&self) -> usize {
        self.count
    }

    /// Moves up to `n` boxes into `to`'s room (it never grows), those in place first.
    fn lend(&mut self, to: &mut SpanBatch, n: usize) {
        let mut left = n;
        for batch in self.batches.iter_mut().rev() {
            if left == 0 {
                break;
            }
            left -= to.take_spare_from(batch, left);
        }
        let before = self.loose.len();
        to.take_spare(&mut self.loose, left);
        left -= before - self.loose.len();
        self.count -= n - left;
        // The next thread's boxes: their pointers were written long ago, and the lines may
        // have left this core's caches.
        if let Some(next) = self.batches.iter().rev().find(|b| b.spare_boxes() > 0) {
            next.prefetch_spare(LOCAL_BATCH);
        }
    }

    /// Keeps an exported batch's empty boxes where they are (the worker; may allocate).
    fn keep_batch(&mut self, batch: SpanBatch) {
        self.count += batch.spare_boxes();
        self.batches.push(batch);
    }

    /// Keeps boxes on their own (the worker; may allocate).
    fn keep_loose(&mut self, boxes: impl Iterator<Item = Slot>) {
        let before = self.loose.len();
        self.loose.extend(boxes);
        self.count += self.loose.len() - before;
    }

    /// The batches that lent all their boxes, for their room (the worker).
    fn take_empty(&mut self, into: &mut Vec<SpanBatch>) {
        let mut i = 0;
        while i < self.batches.len() {
            if self.batches[i].spare_boxes() == 0 {
                into.push(self.batches.swap_remove(i));
            } else {
                i += 1;
            }
        }
    }

    /// Takes out the boxes above `keep`, to be freed outside the lock (the worker).
    fn trim(&mut self, keep: usize) -> (Vec<Slot>, Vec<SpanBatch>) {
        let mut over = self.count.saturating_sub(keep);
        let loose = over.min(self.loose.len());
        let boxes = self.loose.split_off(self.loose.len() - loose);
        over -= loose;
        let mut batches = Vec::new();
        while over > 0
            && let Some(mut batch) = self.batches.pop()
        {
            let n = batch.spare_boxes();
            if n > over {
                // Part of it: the rest stays.
                let mut surplus = SpanBatch::new();
                surplus.reserve(over);
                surplus.take_spare_from(&mut batch, over);
                self.batches.push(batch);
                batches.push(surplus);
                over = 0;
            } else {
                over -= n;
                batches.push(batch);
            }
        }
        self.count = keep.min(self.count);
        (boxes, batches)
    }
}

/// How many empty boxes and batches the worker keeps ready for the threads, ahead of their
/// demand.
///
/// A thread that hands spans over takes empty boxes (and an empty batch) back from the
/// spares. When only the worker refilled the spares, with what it had just exported, a worker
/// that lagged (waiting for a core, or behind a slow export) left them empty while the queue
/// grew: the threads got fewer boxes back, their pools drained, and they allocated (`alloc`,
/// `child/traced-batch`: about one call in a thousand). So after each export the worker tops
/// the spares up, allocating on its own thread, outside the lock, to what a lag needs:
/// twice the most spans the processor held at once (queued and being exported) lately, and
/// at least what arrives in [`STALL`] at the recent rate, less what is queued now. A lag as
/// long as the longest recent one, or a scheduling stall, finds the boxes ready. Queued and
/// spare boxes together never pass a full queue, the batch being exported and a thread's
/// pool ([`Worker::most_boxes`]): memory stays bounded, and a queue that fills needs no box
/// beyond them.
///
/// "Lately" is the current [`RESERVE_WINDOW`] and the one before: after a burst, an idle or
/// light service gives the spares back within two windows (the worker trims them when its
/// timer finds nothing queued), and one that ends a few spans a second keeps a few spares.
/// Nothing is allocated before spans arrive, however large the queue may grow.
#[derive(Debug)]
struct Reserve {
    /// The most spans held (queued and in flight) in the current window, and the one before.
    spans: [usize; 2],
    /// The most batches queued, likewise.
    batches: [usize; 2],
    /// Spans received (`Counters::received`) when the current window started.
    received: u64,
    /// Spans received per second in the window before.
    rate: u64,
    /// When the current window started.
    since: Instant,
}

/// The most boxes the worker allocates for the [`Reserve`] after one export (a quarter of a
/// megabyte, some 30 µs): the reserve of a fast stream builds up over a few exports instead
/// of holding the worker off the queue. In one go, the first top-up of a stream of 2 M spans/s
/// (8 700 boxes, 4 MiB of fresh pages) took the worker 0.7 to 3.9 ms, as long as the queue
/// lasts at that rate (`throughput paced traced-otlp`).
const TOP_UP_STEP: usize = 512;

/// How long a peak of the queue keeps the reserve up (see [`Reserve`]).
const RESERVE_WINDOW: Duration = Duration::from_secs(30);

/// The worker's lag that the reserve covers at least, at the rate spans arrive: a stall of
/// the worker waiting for a core on a busy machine (see [`Reserve`]).
const STALL: Duration = Duration::from_millis(10);

impl Reserve {
    fn new(now: Instant) -> Self {
        Reserve {
            spans: [0; 2],
            batches: [0; 2],
            received: 0,
            rate: 0,
            since: now,
        }
    }

    /// Notes what the processor holds now (`on_end`, under the lock: two comparisons).
    #[inline]
    fn note(&mut self, spans: usize, batches: usize) {
        if spans > self.spans[0] {
            self.spans[0] = spans;
        }
        if batches > self.batches[0] {
            self.batches[0] = batches;
        }
    }

    /// Starts a new window when the current one is over; `received`: spans received so far.
    fn roll(&mut self, now: Instant, received: u64) {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed < RESERVE_WINDOW {
            return;
        }
        // A window that ran longer (nobody looked: the timer is off) counts as one.
        self.spans[1] = self.spans[0];
        self.batches[1] = self.batches[0];
        self.rate = per_second(received.saturating_sub(self.received), elapsed);
        self.spans[0] = 0;
        self.batches[0] = 0;
        self.received = received;
        self.since = now;
    }

    /// Boxes to keep, spare and queued together, never above `limit`.
    fn boxes(&self, now: Instant, received: u64, limit: usize) -> usize {
        // The current window's rate, over a millisecond at least: the first spans, handed
        // over at once, are not taken for a rate of millions a second.
        let elapsed = now
            .saturating_duration_since(self.since)
            .max(Duration::from_millis(1));
        let rate = per_second(received.saturating_sub(self.received), elapsed).max(self.rate);
        let stall = usize::try_from(rate.saturating_mul(STALL.as_micros() as u64) / 1_000_000)
            .unwrap_or(usize::MAX);
        self.spans[0]
            .max(self.spans[1])
            .saturating_mul(2)
            .max(stall)
            .min(limit)
    }

    /// Empty batches to keep, never above `limit` (`max_queue_size`: a full queue of single
    /// spans).
    fn batches(&self, limit: usize) -> usize {
        self.batches[0]
            .max(self.batches[1])
            .saturating_mul(2)
            .min(limit)
    }
}

/// `n` over `over`, per second.
fn per_second(n: u64, over: Duration) -> u64 {
    u64::try_from(u128::from(n) * 1_000_000 / over.as_micros().max(1)).unwrap_or(u64::MAX)
}

/// The batch the exporter is working on.
struct InFlight {
    spans: usize,
    deadline: Option<Instant>,
    /// Already counted as failed, its deadline having passed.
    settled: bool,
}

impl State {
    /// Notes what the processor holds now (queued and being exported) for the [`Reserve`].
    #[inline]
    fn note_held(&mut self) {
        let held = self.queued + self.in_flight.as_ref().map_or(0, |f| f.spans);
        let batches = self.queue.len();
        self.reserve.note(held, batches);
    }

    /// Counts an overdue in-flight batch as failed, once.
    fn settle_overdue(&mut self, counters: &Counters) {
        if let Some(f) = &mut self.in_flight
            && !f.settled
            && f.deadline.is_some_and(|d| Instant::now() >= d)
        {
            f.settled = true;
            Counters::add(&counters.failed, f.spans);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn places(&self) -> MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a thread's parked spans, `None` once shut down.
    #[cold]
    fn new_place(&self) -> Option<Arc<Parked>> {
        let mut places = self.places();
        if places.closed {
            return None;
        }
        let n = places.all.len();
        if n >= 64 && n.is_power_of_two() {
            // Places of threads that exited (handing their spans over as they did): a
            // program that starts threads all the time does not grow the list for good.
            places
                .all
                .retain(|p| Arc::strong_count(p) > 1 || !p.lock().batch.is_empty());
        }
        let mut batch = SpanBatch::new();
        batch.reserve(LOCAL_BATCH);
        let place = Parked::new(batch);
        places.all.push(Arc::clone(&place));
        Some(place)
    }
}

impl fmt::Debug for BatchSpanProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchSpanProcessor")
            .field("config", &self.shared.config)
            .field("stats", &self.shared.counters.snapshot())
            .finish_non_exhaustive()
    }
}

impl BatchSpanProcessor {
    /// A batch processor around `exporter`, with OpenTelemetry's default settings.
    pub fn new(exporter: impl SpanExporter + 'static) -> Self {
        Self::with_config(exporter, BatchConfig::default())
    }

    /// A batch processor around `exporter` with these settings. Starts the `traced-batch`
    /// thread; if the thread cannot start, the error is reported on standard error and every
    /// span is dropped and counted.
    pub fn with_config(exporter: impl SpanExporter + 'static, config: BatchConfig) -> Self {
        Self::start(Box::new(exporter), config)
    }

    fn start(exporter: Box<dyn SpanExporter>, config: BatchConfig) -> Self {
        let config = config
            .with_max_export_batch_size(config.max_export_batch_size())
            .with_max_queue_size(config.max_queue_size());
        let batch_at = if config.scheduled_delay.is_zero() {
            1
        } else {
            config.max_export_batch_size()
        };
        let wake_at = if config.scheduled_delay.is_zero() {
            1
        } else {
            batch_at.max(config.max_queue_size() / 4)
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                // A batch holds at least one span: this many never reallocate.
                queue: VecDeque::with_capacity(config.max_queue_size.min(PREALLOCATED_MAX)),
                queued: 0,
                free: Vec::with_capacity(FREE_BATCHES),
                spares: Spares {
                    batches: Vec::with_capacity(FREE_BATCHES),
                    loose: Vec::with_capacity(
                        config
                            .max_queue_size
                            .saturating_add(config.max_export_batch_size())
                            .min(PREALLOCATED_MAX),
                    ),
                    count: 0,
                },
                reserve: Reserve::new(Instant::now()),
                shutdown: false,
                stopped: false,
                shutdown_result: None,
                flush_requested: 0,
                flush_done: 0,
                flush_result: Ok(()),
                resource: None,
                in_flight: None,
                idle: false,
                active: 0,
                stopper: 0,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            watch: Condvar::new(),
            role: Mutex::new(Role {
                deadline: None,
                flushed: 0,
                reported_drop: false,
                failures: FailureReports::default(),
                given_up: false,
            }),
            counters: Counters::default(),
            config,
            overflowed: AtomicBool::new(false),
            full: AtomicBool::new(false),
            gave_up: AtomicBool::new(false),
            wake_at,
            batch_at,
            signal: ShutdownSignal::default(),
            abandoned: AtomicU64::new(0),
            places: Mutex::new(Places::default()),
        });
        let mut exporter = exporter;
        exporter.set_shutdown_signal(shared.signal.clone());
        let exporter: Exporter = Arc::new(Mutex::new(exporter));
        let first = Worker::new(Arc::clone(&shared), Arc::clone(&exporter), 0);
        first.restart_timer();
        let worker = std::thread::Builder::new()
            .name("traced-batch".to_owned())
            .spawn(move || first.run());
        let mut workers = [None, None];
        match worker {
            Ok(handle) => {
                workers[0] = Some(handle);
                let second = Worker::new(Arc::clone(&shared), exporter, 1);
                let standby = std::thread::Builder::new()
                    .name("traced-export".to_owned())
                    .spawn(move || second.run());
                match standby {
                    Ok(handle) => workers[1] = Some(handle),
                    Err(e) => report(format_args!(
                        "could not start the traced-export thread ({e}); hung exports will not be abandoned"
                    )),
                }
            }
            Err(e) => {
                report(format_args!(
                    "could not start the traced-batch thread ({e}); spans will be dropped"
                ));
                let mut st = shared.lock();
                st.shutdown = true;
                st.stopped = true;
                drop(st);
            }
        }
        BatchSpanProcessor {
            shared,
            workers: Mutex::new(workers),
        }
    }

    /// The settings in effect (sizes normalized).
    pub fn config(&self) -> &BatchConfig {
        &self.shared.config
    }

    /// Spans waiting in the queue now; never more than `max_queue_size`.
    pub fn queue_len(&self) -> usize {
        self.shared.lock().queued
    }

    /// A shutdown ran out of time: the spans still queued are dropped and counted, the batch
    /// under way counts as failed, so that every span is counted once whatever the exporter
    /// does (the worker, whenever it gets back, finds nothing left to count).
    fn give_up(&self) {
        // Spans still parked in threads' places (a thread's last spans, short of a batch, left
        // for the worker to collect at shutdown, which it had not reached): `stats` counts them
        // as received while they are there, so they are received and dropped now, and the
        // places are closed (a thread's later spans are handed over, and dropped and counted
        // as a shut processor's are). Found by `tests/exit_time.rs` on a host slow to wake the
        // worker: 56 spans of 3000 received and never settled.
        let mut parked = Vec::new();
        {
            let mut places = self.shared.places();
            places.closed = true;
            let mut n = 0;
            for place in &places.all {
                let mut place = place.lock();
                place.closed = true;
                if !place.batch.is_empty() {
                    n += place.batch.len();
                    parked.push(std::mem::take(&mut place.batch));
                }
            }
            Counters::add(&self.shared.counters.received, n);
            Counters::add(&self.shared.counters.dropped, n);
        }
        drop(parked);
        let mut st = self.shared.lock();
        self.shared.gave_up.store(true, Ordering::Relaxed);
        let queued = std::mem::take(&mut st.queued);
        let batches: Vec<SpanBatch> = st.queue.drain(..).collect();
        if let Some(f) = &mut st.in_flight
            && !f.settled
        {
            f.settled = true;
            Counters::add(&self.shared.counters.failed, f.spans);
        }
        drop(st);
        Counters::add(&self.shared.counters.dropped, queued);
        drop(batches);
    }

    /// Exports abandoned at their timeout so far (each one's call left to finish, or not, on
    /// the exporter's thread).
    pub fn abandoned_exports(&self) -> u64 {
        self.shared.abandoned.load(Ordering::Relaxed)
    }

    fn wait_done<'a>(
        &'a self,
        timeout: Duration,
        mut st: MutexGuard<'a, State>,
        finished: impl Fn(&State) -> bool,
    ) -> Result<MutexGuard<'a, State>, ExportError> {
        let deadline = Instant::now().checked_add(timeout);
        while !finished(&st) {
            st = match deadline {
                None => self
                    .shared
                    .done
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ExportError::Timeout(timeout));
                    }
                    self.shared
                        .done
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        Ok(st)
    }
}

impl SpanProcessor for BatchSpanProcessor {
    fn on_end(&self, spans: &mut SpanBatch) {
        let n = spans.len();
        let shed = std::mem::take(&mut spans.shed);
        let shared = &*self.shared;
        if shed > 0 {
            // Shed at their start by a thread this queue had refused: received and dropped.
            Counters::add(&shared.counters.received, shed);
            Counters::add(&shared.counters.dropped, shed);
        }
        if n == 0 {
            return;
        }
        Counters::add(&shared.counters.received, n);
        let mut st = shared.lock();
        let shut = st.shutdown;
        let accepted = if shut {
            0
        } else {
            (shared.config.max_queue_size - st.queued).min(n)
        };
        let before = st.queued;
        let records = spans.in_boxes();
        // Empty boxes for the thread: as many as its pool has room for when it says so (a
        // pool that ran short while the worker lagged fills up again), else one per record
        // taken; `left`: the boxes of records refused, which stay with it anyway.
        let keeps = spans.keeps.take();
        let boxed = accepted.min(records);
        let wanted = |left: usize| keeps.map_or(boxed, |k| k.saturating_sub(left));
        if accepted == n
            && records == n
            && let Some(back) = st.queue.back_mut()
            && back.in_boxes() == back.len()
            && back.capacity() - back.len() >= n
        {
            // A few spans (of a thread that exits, or flushes) join the last batch queued,
            // where there is room: their pointers move, the thread keeps its batch and takes
            // back empty boxes, and the worker gets fewer, fuller batches.
            back.append(spans);
            st.spares.lend(spans, wanted(0));
        } else if accepted == n
            && records == n
            && let Some(mut queued) = st.free.pop_if(|b| b.capacity() >= n)
        {
            // The pointers move into a batch of the queue's own: the thread keeps its batch,
            // whose memory only its core writes. Handing its batch over instead, it got back
            // one the worker had read, and the next spans it ended waited at each line of
            // it for the worker's core to give that line up.
            queued.append(spans);
            st.spares.lend(spans, wanted(0));
            st.queue.push_back(queued);
        } else if accepted == n {
            // The whole batch moves into the queue; the caller gets an empty one back, with
            // empty boxes, where the worker has them.
            let mut empty = st.free.pop().unwrap_or_else(|| {
                // Until the worker has batches to give back: one with a full batch's room.
                let mut b = SpanBatch::new();
                b.reserve(LOCAL_BATCH);
                b
            });
            st.spares.lend(&mut empty, wanted(0));
            st.queue.push_back(std::mem::replace(spans, empty));
        } else if accepted > 0 {
            // What fits moves into a batch of the queue's own, so that the thread keeps its
            // batch's room and allocates nothing.
            let mut front = st.free.pop().unwrap_or_default();
            spans.move_front_into(accepted, &mut front);
            let left = spans.in_boxes();
            st.spares.lend(spans, wanted(left));
            st.queue.push_back(front);
        }
        st.queued += accepted;
        st.note_held();
        let wake = st.idle && before < shared.wake_at && st.queued >= shared.wake_at;
        drop(st);
        if wake {
            shared.work.notify_one();
        }
        if accepted < n {
            // The thread sheds its next children while the queue stays full (`is_full`).
            if !shut {
                shared.full.store(true, Ordering::Relaxed);
                spans.refused = true;
            }
            // Dropped outside the lock; the worker reports the first drop (no I/O here).
            Counters::add(&shared.counters.dropped, n - accepted);
            if !shut {
                shared.overflowed.store(true, Ordering::Relaxed);
            }
            spans.clear();
        }
    }

    fn force_flush(&self, timeout: Duration) -> Result<(), ExportError> {
        let mut st = self.shared.lock();
        if st.shutdown {
            return Err(ExportError::Shutdown);
        }
        st.flush_requested += 1;
        let ticket = st.flush_requested;
        self.shared.work.notify_one();
        // A shutdown that overtakes the flush exports everything too.
        let st = self.wait_done(timeout, st, |st| st.flush_done >= ticket || st.stopped)?;
        if st.flush_done >= ticket {
            st.flush_result.clone()
        } else {
            Ok(())
        }
    }

    fn shutdown(&self, timeout: Duration) -> Result<(), ExportError> {
        let mut st = self.shared.lock();
        if st.shutdown {
            return Err(ExportError::Shutdown);
        }
        st.shutdown = true;
        self.shared.signal.raise();
        self.shared.work.notify_one();
        let mut st = match self.wait_done(timeout, st, |st| st.stopped) {
            Ok(st) => st,
            Err(e) => {
                self.give_up();
                return Err(e);
            }
        };
        let result = st.shutdown_result.take().unwrap_or(Ok(()));
        let stopper = st.stopper;
        drop(st);
        let handle = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(stopper)
            .and_then(Option::take);
        if let Some(handle) = handle {
            // That thread has stopped the worker: it is returning, so this does not wait.
            // The other may be in a call abandoned at its timeout: it is left to finish.
            let _ = handle.join();
        }
        result
    }

    fn set_resource(&self, resource: &mut Resource) {
        self.shared.lock().resource = Some(resource.clone());
    }

    fn is_full(&self) -> bool {
        self.shared.full.load(Ordering::Relaxed)
    }

    fn lend_boxes(&self, spare: &mut SpanBatch) {
        let mut st = self.shared.lock();
        st.spares.lend(spare, usize::MAX);
    }

    fn parks(&self) -> bool {
        // With no delay, what is queued is exported at once: nothing waits in a place.
        !self.shared.config.scheduled_delay.is_zero()
    }

    /// Keeps the spans in the thread's place, under the place's own lock, until they make a
    /// batch: then the thread hands over those kept, and keeps the new ones. Not with a zero
    /// scheduled delay, which exports as soon as anything is queued. The worker
    /// collects places when its timer expires (the scheduled delay, as for any span queued),
    /// at a flush and at shutdown; they are counted as received then.
    fn park(&self, spans: &mut SpanBatch, place: &mut Option<Arc<Parked>>) -> bool {
        if !self.parks() {
            return false;
        }
        let place = match place {
            Some(place) => place,
            None => match self.shared.new_place() {
                Some(new) => place.insert(new),
                None => return false,
            },
        };
        let mut parked = place.lock();
        let ParkedSpans { batch, closed } = &mut *parked;
        if *closed {
            return false;
        }
        if batch.len() + spans.len() > LOCAL_BATCH {
            // A batch's worth: those kept go first, the new ones stay.
            std::mem::swap(batch, spans);
            return false;
        }
        batch.append(spans);
        true
    }

    /// Spans that threads keep for the worker (see [`SpanProcessor::park`]) count as
    /// received.
    fn stats(&self) -> ProcessorStats {
        self.shared.lock().settle_overdue(&self.shared.counters);
        let places = self.shared.places();
        let parked: usize = places.all.iter().map(|p| p.lock().batch.len()).sum();
        let mut stats = self.shared.counters.snapshot();
        drop(places);
        stats.received += parked as u64;
        stats
    }
}

impl Drop for BatchSpanProcessor {
    /// Stops accepting spans; the worker exports what is queued, shuts the exporter down and
    /// exits in the background. Call [`SpanProcessor::shutdown`] to wait for that.
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if !st.shutdown {
            st.shutdown = true;
            self.shared.signal.raise();
            self.shared.work.notify_one();
        }
    }
}

/// What woke the worker.
enum Job {
    /// A batch is full, or the scheduled delay has passed.
    Batch,
    /// Export the first `spans` queued spans for flush ticket `ticket`, then flush.
    Flush { ticket: u64, spans: usize },
    /// Export everything, shut the exporter down, exit.
    Shutdown,
}

/// The worker's state, whichever of the two threads holds the role (see [`Worker`]).
struct Role {
    /// When the scheduled delay next expires (`None`: never, the delay is zero or huge).
    deadline: Option<Instant>,
    flushed: u64,
    reported_drop: bool,
    failures: FailureReports,
    /// Shutting down, and an export has failed: the rest of the queue is not sent.
    given_up: bool,
}

/// The exporter, shared by the two threads; held by the one calling it.
type Exporter = Arc<Mutex<Box<dyn SpanExporter>>>;

/// Why the exporter was not called, or its answer does not count.
enum Unanswered {
    /// Still in an export abandoned at its timeout (held by the other thread).
    Busy,
    /// This call ran past its timeout and the other thread took the worker's role over: the
    /// call's spans are counted already; this thread stands by.
    Abandoned,
}

/// One of the processor's two threads, `traced-batch` and `traced-export`. Each can hold the
/// worker's role: wait for a batch, the timer, a flush or the shutdown, and call the exporter
/// itself (no hand-off to another thread, so no wake-up per batch besides the one that starts
/// the worker when it sleeps). The other stands by as a watchdog, asleep until the export
/// under way passes its timeout (it wakes once per export timeout to look, and never for a
/// batch): then it counts that export's spans as failed, abandons the call, and takes the
/// role over, so the queue goes on (batches failing at once while the exporter is still
/// held by the stuck call); the stuck thread, when its call returns, stands by in turn.
struct Worker {
    shared: Arc<Shared>,
    exporter: Exporter,
    /// This thread's number (0: `traced-batch`, 1: `traced-export`), as in `State::active`.
    me: usize,
    /// The batch handed to the exporter, kept for its room.
    outgoing: SpanBatch,
    /// Empty boxes on their way back to threads.
    boxes: Vec<Slot>,
    /// The batches of the export under way (kept for its room).
    taken: Vec<SpanBatch>,
}

impl Worker {
    fn new(shared: Arc<Shared>, exporter: Exporter, me: usize) -> Self {
        Worker {
            shared,
            exporter,
            me,
            outgoing: SpanBatch::new(),
            boxes: Vec::new(),
            taken: Vec::new(),
        }
    }

    fn role(&self) -> MutexGuard<'_, Role> {
        self.shared
            .role
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn restart_timer(&self) {
        let delay = self.shared.config.scheduled_delay;
        self.role().deadline = if delay.is_zero() {
            None
        } else {
            Instant::now().checked_add(delay)
        };
    }

    /// The export timeout, `None` for no limit.
    fn timeout(&self) -> Option<Duration> {
        let timeout = self.shared.config.export_timeout;
        (!timeout.is_zero()).then_some(timeout)
    }

    /// Works or stands by until the processor has stopped.
    fn run(mut self) {
        // Thread 0 starts with the role, thread 1 standing by.
        if self.me != 0 && !self.stand_by() {
            return;
        }
        while self.work() {
            if !self.stand_by() {
                return;
            }
        }
    }

    /// Waits until the worker's export under way passes its timeout, then takes the role
    /// over (`true`); `false` once the processor has stopped.
    fn stand_by(&mut self) -> bool {
        let shared = Arc::clone(&self.shared);
        let mut st = shared.lock();
        loop {
            if st.stopped {
                return false;
            }
            let now = Instant::now();
            let overdue = st
                .in_flight
                .as_ref()
                .and_then(|f| f.deadline)
                .filter(|&d| now >= d);
            if st.active != self.me && overdue.is_some() {
                if let Some(f) = st.in_flight.take()
                    && !f.settled
                {
                    Counters::add(&shared.counters.failed, f.spans);
                }
                st.active = self.me;
                shared.abandoned.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            // The export under way, or the next one (it starts after this look), is
            // overdue at the earliest one export timeout from now.
            let wait = st
                .in_flight
                .as_ref()
                .and_then(|f| f.deadline)
                .map(|d| d.saturating_duration_since(now))
                .or(self.timeout());
            st = match wait {
                None => shared
                    .watch
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(wait) => {
                    shared
                        .watch
                        .wait_timeout(st, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Holds the worker's role: `false` once stopped, `true` when the role went to the other
    /// thread (an export of this one was abandoned).
    fn work(&mut self) -> bool {
        loop {
            let job = self.next_job();
            self.report_drops();
            match job {
                Job::Batch => {
                    let batch = self.shared.config.max_export_batch_size();
                    // Counted and reported inside; no caller waits for this one.
                    if let Err(Unanswered::Abandoned) = self.export_next(batch) {
                        return true;
                    }
                }
                Job::Flush { ticket, spans } => {
                    let Ok(exported) = self.export_up_to(spans) else {
                        return true;
                    };
                    let flushed = match self.call(|e| e.force_flush()) {
                        Ok(r) => r,
                        Err(Unanswered::Abandoned) => return true,
                        Err(Unanswered::Busy) => Err(still_busy()),
                    };
                    let result = exported.and(flushed);
                    self.role().flushed = ticket;
                    let mut st = self.shared.lock();
                    st.flush_done = ticket;
                    st.flush_result = result;
                    drop(st);
                    self.shared.done.notify_all();
                }
                Job::Shutdown => {
                    let Ok(result) = self.export_up_to(usize::MAX) else {
                        return true;
                    };
                    let closed = match self.call(|e| e.shutdown()) {
                        Ok(r) => r,
                        Err(Unanswered::Abandoned) => return true,
                        Err(Unanswered::Busy) => Err(still_busy()),
                    };
                    let mut st = self.shared.lock();
                    st.stopped = true;
                    st.stopper = self.me;
                    st.shutdown_result = Some(result.and(closed));
                    drop(st);
                    self.shared.done.notify_all();
                    self.shared.watch.notify_all();
                    return false;
                }
            }
        }
    }

    /// Waits for something to do.
    fn next_job(&mut self) -> Job {
        let shared = Arc::clone(&self.shared);
        let mut st = shared.lock();
        loop {
            let (flushed, deadline) = {
                let role = self.role();
                (role.flushed, role.deadline)
            };
            if st.flush_requested > flushed || st.shutdown {
                // Everything ended before the flush or the shutdown: the parked spans too.
                let last = st.shutdown;
                drop(st);
                self.collect_parked(last);
                st = shared.lock();
                if st.flush_requested > flushed {
                    return Job::Flush {
                        ticket: st.flush_requested,
                        spans: st.queued,
                    };
                }
                return Job::Shutdown;
            }
            if st.queued >= shared.batch_at {
                return Job::Batch;
            }
            st = match deadline {
                None => {
                    st.idle = true;
                    let (mut st, waited) = shared
                        .work
                        .wait_timeout(st, RESERVE_WINDOW)
                        .unwrap_or_else(PoisonError::into_inner);
                    if waited.timed_out() && st.queued == 0 {
                        // No timer gives the spares back: a window without work does.
                        st = self.trim(&shared, st);
                    }
                    st
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        drop(st);
                        self.collect_parked(false);
                        st = shared.lock();
                        if st.queued > 0 {
                            return Job::Batch;
                        }
                        self.restart_timer();
                        st = self.trim(&shared, st);
                        continue;
                    }
                    st.idle = true;
                    shared
                        .work
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            st.idle = false;
        }
    }

    /// Moves the spans threads parked (see [`SpanProcessor::park`]) into the queue, as far
    /// as it has room (the rest is dropped, counted); `last`: at shutdown, after which the
    /// places keep nothing more (threads hand their spans over, to be dropped and counted).
    fn collect_parked(&mut self, last: bool) {
        let found = self.take_parked(last);
        self.queue_parked(found);
    }

    /// The first half of [`collect_parked`](Self::collect_parked): the parked batches, taken
    /// out of their places and counted as received.
    fn take_parked(&mut self, last: bool) -> Vec<SpanBatch> {
        let shared = Arc::clone(&self.shared);
        let mut found = std::mem::take(&mut self.taken);
        let mut n = 0;
        {
            // Counted as received under the list's lock: `stats` counts what places keep
            // under it too, so no span is counted twice or missed.
            let mut places = shared.places();
            places.closed |= last;
            places.all.retain(|place| {
                let mut parked = place.lock();
                parked.closed |= last;
                if !parked.batch.is_empty() {
                    let mut empty = SpanBatch::new();
                    empty.reserve(LOCAL_BATCH);
                    n += parked.batch.len();
                    found.push(std::mem::replace(&mut parked.batch, empty));
                }
                // The thread exited: nothing more comes here.
                Arc::strong_count(place) > 1
            });
            Counters::add(&shared.counters.received, n);
        }
        found
    }

    /// The second half of [`collect_parked`](Self::collect_parked): the batches taken, into
    /// the queue. A shutdown may give up between the two (see `give_up`).
    fn queue_parked(&mut self, mut found: Vec<SpanBatch>) {
        if found.is_empty() {
            self.taken = found;
            return;
        }
        let shared = Arc::clone(&self.shared);
        let mut refused = Vec::new();
        let mut st = shared.lock();
        if shared.gave_up.load(Ordering::Relaxed) {
            // Collected after a shutdown gave up on the queue (see `give_up`): nothing more is
            // queued, and these are dropped, counted as everything left then was.
            let n: usize = found.iter().map(SpanBatch::len).sum();
            Counters::add(&shared.counters.dropped, n);
            refused.append(&mut found);
        }
        for mut batch in found.drain(..) {
            let room = shared.config.max_queue_size - st.queued;
            let len = batch.len();
            if len > room {
                let mut front = SpanBatch::new();
                batch.move_front_into(room, &mut front);
                Counters::add(&shared.counters.dropped, len - room);
                shared.overflowed.store(true, Ordering::Relaxed);
                refused.push(batch);
                batch = front;
            }
            if !batch.is_empty() {
                st.queued += batch.len();
                st.queue.push_back(batch);
            }
        }
        st.note_held();
        drop(st);
        // Dropped outside the lock.
        drop(refused);
        self.taken = found;
    }

    /// Exports up to `limit` queued spans in batches; the first error wins. `Err` only for
    /// [`Unanswered::Abandoned`].
    fn export_up_to(&mut self, mut limit: usize) -> Result<Result<(), ExportError>, Unanswered> {
        let batch = self.shared.config.max_export_batch_size();
        let mut result = Ok(());
        while limit > 0 {
            let Ok((taken, r)) = self.export_next(batch.min(limit)) else {
                return Err(Unanswered::Abandoned);
            };
            if taken == 0 {
                break;
            }
            limit = limit.saturating_sub(taken);
            result = result.and(r);
        }
        Ok(result)
    }

    /// Runs `f` on the exporter, on this thread, panics caught. The export under way
    /// (`State::in_flight`) is set by the caller, so that the thread standing by can abandon
    /// it at its deadline.
    fn with_exporter(
        &mut self,
        f: impl FnOnce(&mut dyn SpanExporter) -> Result<(), ExportError>,
    ) -> Result<Result<(), ExportError>, Unanswered> {
        let mut exporter = match self.exporter.try_lock() {
            Ok(e) => e,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(Unanswered::Busy),
        };
        let result = catch_unwind(AssertUnwindSafe(|| f(&mut **exporter)))
            .unwrap_or_else(|panic| Err(panicked(&*panic)));
        drop(exporter);
        Ok(result)
    }

    /// Takes up to `max` spans off the queue and exports them, within the export timeout.
    /// `Err` only for [`Unanswered::Abandoned`].
    fn export_next(&mut self, max: usize) -> Result<(usize, Result<(), ExportError>), Unanswered> {
        let timeout = self.shared.config.export_timeout;
        let mut st = self.shared.lock();
        let n = st.queued.min(max);
        if n == 0 {
            drop(st);
            self.restart_timer();
            return Ok((0, Ok(())));
        }
        let mut taken = std::mem::take(&mut self.taken);
        let mut left = n;
        while left > 0 {
            let Some(front) = st.queue.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                taken.extend(st.queue.pop_front());
            } else {
                taken.push(front.split_off_front(left));
                left = 0;
            }
        }
        st.queued -= n;
        // Written only when set: ending threads read this line, and a store every export
        // would take it from their caches.
        if self.shared.full.load(Ordering::Relaxed) {
            self.shared.full.store(false, Ordering::Relaxed);
        }
        let resource = st.resource.take();
        let deadline = self.timeout().and_then(|t| Instant::now().checked_add(t));
        st.in_flight = Some(InFlight {
            spans: n,
            deadline,
            settled: false,
        });
        drop(st);
        // One batch for the exporter (pointers move); the records are read or turned into
        // `SpanData` by the exporter, on this thread, never on the threads that ended them.
        let mut batch = std::mem::take(&mut self.outgoing);
        if let [one] = taken.as_mut_slice()
            && batch.is_empty()
        {
            // A batch of the queue's own, filled by the threads: exported as it is.
            std::mem::swap(&mut batch, one);
        } else {
            for b in &mut taken {
                batch.append(b);
            }
        }
        let given_up = self.role().given_up;
        let answer = if given_up {
            Ok(Err(ExportError::Failed(
                "not sent: an earlier export failed during shutdown".to_owned(),
            )))
        } else {
            self.with_exporter(|e| {
                if let Some(resource) = resource {
                    e.set_resource(&resource);
                }
                e.export_batch(&mut batch)
            })
        };
        self.recycle(&mut taken, &mut batch);
        self.outgoing = batch;
        self.taken = taken;
        let mut result = answer.unwrap_or_else(|_| Err(still_busy()));
        if result.is_ok() && deadline.is_some_and(|d| Instant::now() > d) {
            result = Err(ExportError::Timeout(timeout));
        }
        let mut st = self.shared.lock();
        if st.active != self.me {
            // Abandoned at its deadline while in the exporter: counted by the thread that
            // took the role over.
            return Err(Unanswered::Abandoned);
        }
        let settled = st.in_flight.take().is_some_and(|f| f.settled);
        // Shutting down (since before or during this export), and the backend could not be
        // reached or did not answer in time: the rest of the queue is not sent, so the exit
        // waits one export timeout at most. A backend that answered (a 400) gets the rest.
        let stop_sending = st.shutdown && result.as_ref().is_err_and(unreachable);
        drop(st);
        let counters = &self.shared.counters;
        match (&result, settled) {
            (_, true) => {}
            (Ok(()), false) => Counters::add(&counters.exported, n),
            (Err(e), false) => {
                let failed = e.failed_spans(n);
                Counters::add(&counters.exported, n - failed);
                Counters::add(&counters.failed, failed);
            }
        }
        {
            let mut role = self.role();
            if stop_sending {
                role.given_up = true;
            }
            role.failures.record(&result, n, Instant::now());
        }
        self.restart_timer();
        Ok((n, result))
    }

    /// Puts the empty boxes of an exported batch where threads take them back, and keeps the
    /// emptied batches for their room; then tops both up to the [`Reserve`], allocating here,
    /// outside the lock, rather than on the threads that end spans. What is above the reserve
    /// is freed here.
    ///
    /// Threads take back as many boxes as they hand over, whatever the size of the batch
    /// that carried them. When boxes travelled in their batches instead, a thread that
    /// handed over a short batch (its root ended a few children after the last full one)
    /// got a full one's boxes back and freed what its pool could not keep, while the next
    /// short set left it allocating: with roots of 256 children (`throughput cpu
    /// traced-otlp`), the calling thread allocated a box for one span in four.
    fn recycle(&mut self, batches: &mut Vec<SpanBatch>, exported: &mut SpanBatch) {
        // The records go; their boxes stay in the batch, as spares.
        exported.clear();
        let limit = self.shared.config.max_queue_size;
        let (now, received) = (Instant::now(), self.received());
        let mut st = self.shared.lock();
        st.reserve.roll(now, received);
        let keep = st.reserve.boxes(now, received, self.most_boxes());
        let room = keep.saturating_sub(st.spares.len());
        let boxes = exported.spare_boxes();
        if boxes > 0 && boxes <= room {
            st.spares.keep_batch(std::mem::take(exported));
        } else {
            // Above the reserve: what it has room for, on their own; the rest is freed below.
            exported.give_spare(&mut self.boxes, room);
            st.spares.keep_loose(self.boxes.drain(..));
        }
        st.spares.take_empty(batches);
        let keep_batches = st.reserve.batches(limit);
        for b in batches.drain(..) {
            // Batches cut short by a split would make a thread grow them again: not kept.
            if st.free.len() < keep_batches && b.capacity() >= LOCAL_BATCH {
                st.free.push(b);
            }
        }
        // Spares for the threads to fill the queue up to the reserve again, a step at a time.
        let boxes = (keep.saturating_sub(st.queued))
            .saturating_sub(st.spares.len())
            .min(TOP_UP_STEP);
        let free = keep_batches
            .saturating_sub(st.queue.len() + st.free.len())
            .min(TOP_UP_STEP / LOCAL_BATCH);
        drop(st);
        // Above the reserve: freed here, outside the lock.
        exported.recycle();
        batches.clear();
        if boxes > 0 || free > 0 {
            self.top_up(boxes, free);
        }
    }

    /// Allocates `boxes` empty boxes and `free` empty batches, then puts them with the spares,
    /// as far as the reserve still wants them (threads may have taken or given back some
    /// meanwhile); the rest is freed.
    #[cold]
    fn top_up(&mut self, boxes: usize, free: usize) {
        self.boxes.reserve(boxes);
        for _ in 0..boxes {
            self.boxes.push(Box::new_uninit());
        }
        // Room for an export's spans: threads append their spans to the last one queued
        // until it is full.
        let room = self.shared.config.max_export_batch_size().max(LOCAL_BATCH);
        let mut batches: Vec<SpanBatch> = (0..free)
            .map(|_| {
                let mut b = SpanBatch::new();
                b.reserve(room);
                b
            })
            .collect();
        let limit = self.shared.config.max_queue_size;
        let (now, received) = (Instant::now(), self.received());
        let mut st = self.shared.lock();
        let keep = st
            .reserve
            .boxes(now, received, self.most_boxes())
            .saturating_sub(st.queued);
        let room = keep.saturating_sub(st.spares.len()).min(self.boxes.len());
        let from = self.boxes.len() - room;
        st.spares.keep_loose(self.boxes.drain(from..));
        let keep_batches = st.reserve.batches(limit);
        let room = keep_batches
            .saturating_sub(st.queue.len() + st.free.len())
            .min(batches.len());
        st.free.extend(batches.drain(..room));
        drop(st);
        self.boxes.clear();
    }

    /// Gives back what is above the reserve, once its window is over: called when the worker
    /// wakes with nothing queued, so that an idle service does not keep the spares of its
    /// last burst.
    /// What is above is freed outside the lock, which this takes again.
    fn trim<'a>(&self, shared: &'a Shared, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let (now, received) = (Instant::now(), self.received());
        st.reserve.roll(now, received);
        let limit = self.shared.config.max_queue_size;
        let keep = st.reserve.boxes(now, received, self.most_boxes());
        let (boxes, mut batches) = st.spares.trim(keep);
        let keep_batches = st.reserve.batches(limit);
        let kept = keep_batches.min(st.free.len());
        batches.extend(st.free.split_off(kept));
        if boxes.is_empty() && batches.is_empty() {
            return st;
        }
        drop(st);
        drop((boxes, batches));
        shared.lock()
    }

    /// The most boxes the processor keeps, queued and spare together: a full queue, the
    /// batch being exported and a thread's pool. The worker gives the exported batch's boxes
    /// back only when the export returns, and meanwhile the threads hand over what fits in
    /// the room it made in the queue, and refill pools that ran short: without that margin,
    /// a thread that found no spares while the worker exported from a full queue drained its
    /// pool and allocated.
    fn most_boxes(&self) -> usize {
        let config = &self.shared.config;
        config
            .max_queue_size
            .saturating_add(config.max_export_batch_size())
            .saturating_add(POOL_MAX)
    }

    /// Spans received so far, for the rate in the [`Reserve`].
    fn received(&self) -> u64 {
        self.shared.counters.received.load(Ordering::Relaxed)
    }

    /// Calls the exporter (flush, shutdown) within the export timeout.
    fn call(
        &mut self,
        f: impl FnOnce(&mut dyn SpanExporter) -> Result<(), ExportError>,
    ) -> Result<Result<(), ExportError>, Unanswered> {
        if self.role().given_up {
            return Ok(Err(ExportError::Failed(
                "not called: an export failed during shutdown".to_owned(),
            )));
        }
        let deadline = self.timeout().and_then(|t| Instant::now().checked_add(t));
        self.shared.lock().in_flight = Some(InFlight {
            spans: 0,
            deadline,
            settled: false,
        });
        let answer = self.with_exporter(f);
        let mut st = self.shared.lock();
        if st.active != self.me {
            return Err(Unanswered::Abandoned);
        }
        st.in_flight = None;
        drop(st);
        let result = answer?;
        if result.is_ok()
            && let Some(timeout) = self.timeout()
            && deadline.is_some_and(|d| Instant::now() > d)
        {
            return Ok(Err(ExportError::Timeout(timeout)));
        }
        Ok(result)
    }

    fn report_drops(&mut self) {
        let mut role = self.role();
        if !role.reported_drop && self.shared.overflowed.load(Ordering::Relaxed) {
            role.reported_drop = true;
            drop(role);
            report(format_args!(
                "the span queue is full (max_queue_size = {}): dropping spans; the count is in ProcessorStats::dropped",
                self.shared.config.max_queue_size
            ));
        }
    }
}

/// The error of a call the exporter could not take: it is still in a call abandoned at its
/// timeout.
fn still_busy() -> ExportError {
    ExportError::Failed(
        "not sent: the exporter is still in an export abandoned at its timeout".to_owned(),
    )
}

/// Whether an export failed because the backend is not there or not answering: no connection,
/// no answer in time, or an answer that says so (gRPC `UNAVAILABLE` is also a refused
/// connection; HTTP 502, 503, 504 after the retries).
fn unreachable(e: &ExportError) -> bool {
    match e {
        ExportError::Timeout(_) | ExportError::Failed(_) => true,
        ExportError::GrpcStatus { code, .. } => matches!(code, 4 | 14),
        ExportError::HttpStatus { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

/// The error of an exporter call that panicked.
fn panicked(panic: &(dyn std::any::Any + Send)) -> ExportError {
    let why = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    ExportError::Failed(format!("the exporter panicked: {why}"))
}

/// The most often a failure is reported.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Failure reports, rate-limited: the first failure at once, then at most one report a
/// minute with the counts since the last one, and one line when exports succeed again.
#[derive(Debug, Default)]
struct FailureReports {
    /// When the last failure report was written.
    last: Option<Instant>,
    /// Failed exports and their spans not reported yet.
    exports: u64,
    spans: u64,
    /// The latest failure not reported yet.
    latest: Option<ExportError>,
    /// Failing: a success is reported as a recovery.
    failing: bool,
}

impl FailureReports {
    fn record(&mut self, result: &Result<(), ExportError>, spans: usize, now: Instant) {
        if let Some(line) = self.line(result, spans, now) {
            report(format_args!("{line}"));
        }
    }

    /// The line to report for this export's result, if any.
    fn line(
        &mut self,
        result: &Result<(), ExportError>,
        spans: usize,
        now: Instant,
    ) -> Option<String> {
        match result {
            Ok(()) => {
                if !self.failing {
                    return None;
                }
                self.failing = false;
                let unreported = std::mem::take(&mut self.exports);
                let lost = std::mem::take(&mut self.spans);
                self.latest = None;
                // The next failure is reported at once again.
                self.last = None;
                Some(if unreported > 0 {
                    format!(
                        "exports succeed again ({unreported} more exports of {lost} spans failed since the last report)"
                    )
                } else {
                    "exports succeed again".to_owned()
                })
            }
            Err(e) => {
                self.failing = true;
                self.exports += 1;
                self.spans += spans as u64;
                self.latest = Some(e.clone());
                if self
                    .last
                    .is_some_and(|last| now.duration_since(last) < REPORT_EVERY)
                {
                    return None;
                }
                let first = self.last.is_none();
                self.last = Some(now);
                let (exports, spans) = (
                    std::mem::take(&mut self.exports),
                    std::mem::take(&mut self.spans),
                );
                let e = self.latest.take().unwrap_or(ExportError::Shutdown);
                Some(if first && exports == 1 {
                    format!(
                        "exporting {spans} spans failed: {e} (counted in ProcessorStats::failed; reported at most once a minute)"
                    )
                } else {
                    format!(
                        "{exports} exports of {spans} spans failed in the last minute, the latest: {e} (counted in ProcessorStats::failed)"
                    )
                })
            }
        }
    }
}

/// One line on standard error, from the worker thread only.
fn report(message: fmt::Arguments<'_>) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "traced: batch span processor: {message}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::NoopExporter;
    use crate::model::record::tests::batch;

    /// A processor into a no-op exporter whose timer never fires in a test: only full
    /// batches, flushes and shutdown export.
    fn untimed() -> BatchSpanProcessor {
        BatchSpanProcessor::with_config(
            NoopExporter,
            BatchConfig::default().with_scheduled_delay(Duration::from_secs(3600)),
        )
    }

    #[test]
    fn the_queue_never_reallocates_on_the_ending_thread() {
        let p = BatchSpanProcessor::with_config(
            NoopExporter,
            BatchConfig::default()
                .with_max_queue_size(100)
                .with_scheduled_delay(Duration::from_secs(3600)),
        );
        let capacity = p.shared.lock().queue.capacity();
        assert!(capacity >= 100);
        for _ in 0..1000 {
            let mut spans = batch(64);
            p.on_end(&mut spans);
            assert!(spans.is_empty(), "on_end takes the spans out");
            assert_eq!(p.shared.lock().queue.capacity(), capacity);
            assert!(p.queue_len() <= 100);
        }
        p.shutdown(Duration::from_secs(10)).unwrap();
        assert_balanced(p.stats());
    }

    #[test]
    fn exported_batches_come_back_with_their_boxes() {
        let p = untimed();
        let mut spans = batch(64);
        p.on_end(&mut spans);
        assert_eq!(
            spans.spare_boxes(),
            0,
            "nothing exported yet: a new empty batch"
        );
        p.force_flush(Duration::from_secs(10)).unwrap();
        let mut spans = batch(64);
        p.on_end(&mut spans);
        assert!(spans.is_empty());
        assert_eq!(
            spans.spare_boxes(),
            64,
            "the exported batch's boxes, for reuse"
        );
        p.shutdown(Duration::from_secs(10)).unwrap();
        let s = p.stats();
        assert_eq!((s.received, s.exported), (128, 128));
    }

    #[test]
    fn parked_spans_wait_for_a_batch_then_go_first_and_the_timer_collects_the_rest() {
        let exporter = crate::export::InMemoryExporter::default();
        let p = BatchSpanProcessor::with_config(
            exporter.clone(),
            BatchConfig::default().with_scheduled_delay(Duration::from_millis(50)),
        );
        let mut place = None;
        for _ in 0..LOCAL_BATCH {
            let mut one = batch(1);
            assert!(p.park(&mut one, &mut place), "kept until a batch's worth");
            assert!(one.is_empty());
        }
        assert_eq!(
            p.stats().received,
            LOCAL_BATCH as u64,
            "kept spans count as received"
        );
        let mut next = batch(1);
        assert!(!p.park(&mut next, &mut place), "a batch's worth");
        assert_eq!(
            next.len(),
            LOCAL_BATCH,
            "the spans kept before are handed over"
        );
        p.on_end(&mut next);
        let start = Instant::now();
        while exporter.spans().len() < LOCAL_BATCH + 1 {
            assert!(start.elapsed() < Duration::from_secs(10), "not collected");
            std::thread::sleep(Duration::from_millis(5));
        }
        p.shutdown(Duration::from_secs(10)).unwrap();
        let s = p.stats();
        let all = LOCAL_BATCH as u64 + 1;
        assert_eq!((s.received, s.exported), (all, all));
    }

    #[test]
    fn a_flush_collects_parked_spans_and_after_shutdown_a_place_keeps_nothing() {
        let p = untimed();
        let mut place = None;
        assert!(p.park(&mut batch(3), &mut place));
        p.force_flush(Duration::from_secs(10)).unwrap();
        assert_eq!(p.stats().exported, 3);
        assert!(p.park(&mut batch(2), &mut place));
        p.shutdown(Duration::from_secs(10)).unwrap();
        assert_eq!(p.stats().exported, 5, "shutdown collects them too");
        let mut late = batch(1);
        assert!(
            !p.park(&mut late, &mut place),
            "closed: handed over, and dropped"
        );
        p.on_end(&mut late);
        assert!(!p.park(&mut batch(1), &mut None), "no new place either");
        let s = p.stats();
        assert_eq!((s.received, s.exported, s.dropped), (6, 5, 1));
    }

    #[test]
    fn places_of_exited_threads_do_not_pile_up() {
        let p = Arc::new(untimed());
        for _ in 0..1000 {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                let mut place = None;
                let mut none = SpanBatch::new();
                assert!(p.park(&mut none, &mut place));
            })
            .join()
            .unwrap();
        }
        assert!(
            p.shared.places().all.len() <= 128,
            "pruned as the list grows"
        );
        p.force_flush(Duration::from_secs(10)).unwrap();
        assert!(p.shared.places().all.is_empty(), "and by the worker");
        p.shutdown(Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn a_few_spans_join_the_last_queued_batch_where_there_is_room() {
        let p = untimed();
        let mut first = batch(1);
        first.reserve(LOCAL_BATCH);
        p.on_end(&mut first);
        for _ in 0..10 {
            // A span handed over as it ends (a thread exiting, or flushing).
            let mut one = batch(1);
            p.on_end(&mut one);
            assert!(one.is_empty(), "on_end takes the span out");
        }
        assert_eq!(p.shared.lock().queue.len(), 1, "one batch holds them all");
        assert_eq!(p.queue_len(), 11);
        let mut full = batch(LOCAL_BATCH);
        p.on_end(&mut full);
        assert_eq!(p.shared.lock().queue.len(), 2, "no room: queued on its own");
        p.shutdown(Duration::from_secs(10)).unwrap();
        let s = p.stats();
        let all = LOCAL_BATCH as u64 + 11;
        assert_eq!((s.received, s.exported), (all, all));
        assert_balanced(s);
    }

    #[test]
    fn spans_collected_as_a_shutdown_gives_up_are_dropped_and_counted_not_queued() {
        let p = untimed();
        let mut place = None;
        for _ in 0..10 {
            let mut one = batch(1);
            assert!(p.park(&mut one, &mut place));
        }
        // A worker takes the parked spans, and the shutdown gives up before it queues them.
        let exporter: Exporter = Arc::new(Mutex::new(Box::new(NoopExporter)));
        let mut worker = Worker::new(Arc::clone(&p.shared), exporter, 1);
        let found = worker.take_parked(false);
        assert_eq!(found.iter().map(SpanBatch::len).sum::<usize>(), 10);
        p.give_up();
        worker.queue_parked(found);
        assert_eq!(
            p.queue_len(),
            0,
            "nothing is queued once a shutdown gave up"
        );
        let s = p.stats();
        assert_eq!((s.received, s.dropped, s.exported), (10, 10, 0), "{s:?}");
        assert_balanced(s);
        p.shutdown(Duration::from_secs(10)).unwrap();
        assert_balanced(p.stats());
    }

    fn assert_balanced(s: ProcessorStats) {
        assert_eq!(s.exported + s.dropped + s.failed, s.received, "{s:?}");
    }

    #[test]
    fn failures_are_reported_at_most_once_a_minute_with_counts_and_a_recovery_once() {
        let mut r = FailureReports::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let failed = Err(ExportError::Failed("refused".into()));
        let first = r.line(&failed, 512, at(0)).unwrap();
        assert!(
            first.starts_with("exporting 512 spans failed: export failed: refused"),
            "{first}"
        );
        assert_eq!(r.line(&failed, 512, at(10)), None);
        assert_eq!(r.line(&failed, 100, at(59)), None);
        let minute = r.line(&failed, 1, at(61)).unwrap();
        assert!(
            minute.starts_with("3 exports of 613 spans failed in the last minute"),
            "{minute}"
        );
        assert_eq!(r.line(&failed, 7, at(62)), None);
        assert_eq!(
            r.line(&Ok(()), 5, at(70)).as_deref(),
            Some("exports succeed again (1 more exports of 7 spans failed since the last report)")
        );
        assert_eq!(
            r.line(&Ok(()), 5, at(71)),
            None,
            "the recovery is reported once"
        );
        // Hours later the collector dies again: reported at once.
        assert!(r.line(&failed, 2, at(7200)).is_some());
    }

    /// An exporter that waits while its gate is closed: a backend, or a worker, that lags.
    #[derive(Debug, Clone, Default)]
    struct Gate(Arc<(Mutex<bool>, Condvar)>);

    impl Gate {
        fn set(&self, closed: bool) {
            *self.0.0.lock().unwrap() = closed;
            self.0.1.notify_all();
        }
    }

    impl SpanExporter for Gate {
        fn export(&mut self, _batch: Vec<crate::model::SpanData>) -> Result<(), ExportError> {
            let (closed, open) = &*self.0;
            let mut closed = closed.lock().unwrap();
            while *closed {
                closed = open.wait(closed).unwrap();
            }
            Ok(())
        }
    }

    /// Waits until the worker is in an export.
    fn wait_for_export(p: &BatchSpanProcessor) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.shared.lock().in_flight.is_none() {
            assert!(
                Instant::now() < deadline,
                "the worker never started exporting"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn spares(p: &BatchSpanProcessor) -> usize {
        p.shared.lock().spares.len()
    }

    #[test]
    fn the_worker_keeps_spare_boxes_ahead_of_the_threads() {
        let p = BatchSpanProcessor::with_config(
            NoopExporter,
            BatchConfig::default()
                .with_max_queue_size(1024)
                .with_max_export_batch_size(256)
                .with_scheduled_delay(Duration::from_secs(3600)),
        );
        for _ in 0..4 {
            p.on_end(&mut batch(64));
        }
        p.force_flush(Duration::from_secs(10)).unwrap();
        // 256 boxes came back with the export; the worker allocated as many again, for a
        // next lag twice as deep as this one.
        assert!(spares(&p) >= 512, "{} spares", spares(&p));
        p.shutdown(Duration::from_secs(10)).unwrap();
        assert_balanced(p.stats());
    }

    #[test]
    fn a_lag_as_deep_as_the_last_finds_every_box_spare() {
        let gate = Gate::default();
        let p = BatchSpanProcessor::with_config(
            gate.clone(),
            BatchConfig::default()
                .with_max_queue_size(1024)
                .with_max_export_batch_size(256)
                .with_scheduled_delay(Duration::from_secs(3600)),
        );
        // Each lag: the worker takes a batch and hangs in the exporter while the queue
        // fills; the first (nothing spare yet) sizes the reserve for the second.
        for lag in 0..2 {
            gate.set(true);
            let mut short = 0;
            let mut hand_over = |p: &BatchSpanProcessor| {
                let mut spans = batch(64);
                p.on_end(&mut spans);
                assert!(spans.is_empty(), "the queue took them");
                short += 64 - spans.spare_boxes();
            };
            for _ in 0..4 {
                hand_over(&p);
            }
            wait_for_export(&p);
            for _ in 0..16 {
                hand_over(&p);
            }
            assert_eq!(p.queue_len(), 1024);
            if lag == 1 {
                // Without the reserve, the spares were what the last lag's exports gave back,
                // a full queue's worth at most: the batch in the exporter was missing.
                assert_eq!(short, 0, "boxes the thread would have allocated");
            }
            gate.set(false);
            p.force_flush(Duration::from_secs(10)).unwrap();
        }
        p.shutdown(Duration::from_secs(10)).unwrap();
        let s = p.stats();
        assert_eq!((s.received, s.exported), (2 * 1280, 2 * 1280));
    }

    #[test]
    fn spares_lend_boxes_in_place_first_and_count_what_they_hold() {
        let mut spares = Spares::default();
        let mut exported = batch(10);
        exported.clear();
        let first = exported.memory();
        spares.keep_batch(exported);
        spares.keep_loose((0..5).map(|_| Box::new_uninit()));
        assert_eq!(spares.len(), 15);
        let mut to = SpanBatch::new();
        to.reserve(8);
        spares.lend(&mut to, 8);
        assert_eq!((to.spare_boxes(), spares.len()), (8, 7));
        assert_eq!(
            spares.loose.len(),
            5,
            "the exported batch's boxes went first"
        );
        let mut more = SpanBatch::new();
        more.reserve(100);
        spares.lend(&mut more, 100);
        assert_eq!(
            (more.spare_boxes(), spares.len()),
            (7, 0),
            "then the loose ones"
        );
        let mut empty = Vec::new();
        spares.take_empty(&mut empty);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].memory(), first, "its room, for the queue");
        assert!(spares.batches.is_empty());
    }

    #[test]
    fn spares_trim_to_what_the_reserve_keeps() {
        let mut spares = Spares::default();
        for n in [10, 20] {
            let mut exported = batch(n);
            exported.clear();
            spares.keep_batch(exported);
        }
        spares.keep_loose((0..5).map(|_| Box::new_uninit()));
        let (boxes, batches) = spares.trim(12);
        assert_eq!(boxes.len(), 5, "the loose ones first");
        let freed: usize = batches.iter().map(SpanBatch::spare_boxes).sum();
        assert_eq!(freed, 18, "then from the batches, part of one");
        assert_eq!(spares.len(), 12);
        let kept: usize = spares.batches.iter().map(SpanBatch::spare_boxes).sum();
        assert_eq!(kept, 12);
    }

    #[test]
    fn a_thread_keeps_its_batch_once_the_queue_has_batches_of_its_own() {
        let p = untimed();
        let mut spans = batch(LOCAL_BATCH);
        p.on_end(&mut spans);
        p.force_flush(Duration::from_secs(10)).unwrap();
        // The worker keeps batches as large as an export for the queue (two, twice the most
        // queued lately): room for `fit` thread batches.
        let fit = 2 * BatchConfig::default().max_export_batch_size() / LOCAL_BATCH;
        for i in 0..fit {
            let mut spans = batch(LOCAL_BATCH);
            spans.reserve(LOCAL_BATCH);
            let memory = spans.memory();
            p.on_end(&mut spans);
            assert_eq!(spans.memory(), memory, "the thread's own memory, {i}");
            assert!(spans.is_empty());
        }
        // The worker, if it was still awake after the flush, may have taken an export's
        // worth already (it exports as soon as one waits): what is queued is whole thread
        // batches appended to batches of an export's size, not a queue batch per thread batch.
        let (queued, batches) = {
            let st = p.shared.lock();
            (st.queued, st.queue.len())
        };
        let export = BatchConfig::default().max_export_batch_size();
        assert_eq!(queued % LOCAL_BATCH, 0, "{queued}");
        assert_eq!(
            batches,
            queued.div_ceil(export),
            "appended to batches of an export's size"
        );
        p.shutdown(Duration::from_secs(10)).unwrap();
        assert_eq!(p.stats().exported, (fit + 1) as u64 * LOCAL_BATCH as u64);
    }

    #[test]
    fn a_thread_whose_pool_ran_short_gets_more_boxes_than_it_handed_over() {
        let p = untimed();
        p.on_end(&mut batch(LOCAL_BATCH));
        p.force_flush(Duration::from_secs(10)).unwrap();
        // A thread's batch, with room for its pool's.
        let mut one = batch(1);
        one.reserve(2 * LOCAL_BATCH);
        one.keeps = Some(2 * LOCAL_BATCH);
        p.on_end(&mut one);
        assert_eq!(
            one.spare_boxes(),
            2 * LOCAL_BATCH,
            "as many as its pool has room for (the worker keeps twice the peak spare)"
        );
        // What the worker keeps beyond those depended on the rate it saw (timing: on a slow
        // or loaded machine it kept exactly the 128 the thread took, and this test had nothing
        // left to lend). Its next export tops the spares up to twice the peak, at least.
        p.force_flush(Duration::from_secs(10)).unwrap();
        let kept = spares(&p);
        assert!(kept >= 2 * LOCAL_BATCH, "{kept}");
        let mut lent = SpanBatch::new();
        lent.reserve(LOCAL_BATCH);
        p.lend_boxes(&mut lent);
        assert_eq!(
            lent.spare_boxes(),
            kept.min(LOCAL_BATCH),
            "a dry pool borrows spares"
        );
        p.shutdown(Duration::from_secs(10)).unwrap();
        assert_balanced(p.stats());
    }

    #[test]
    fn a_batch_that_half_fits_keeps_its_room() {
        let p = BatchSpanProcessor::with_config(
            NoopExporter,
            BatchConfig::default()
                .with_max_queue_size(100)
                .with_scheduled_delay(Duration::from_secs(3600)),
        );
        p.on_end(&mut batch(64));
        let mut spans = batch(64);
        let capacity = spans.capacity();
        p.on_end(&mut spans);
        // 36 of them fit (the worker, woken by a full queue, may be exporting already).
        assert_eq!(p.stats().dropped, 28);
        assert!(spans.is_empty() && spans.refused);
        assert_eq!(spans.capacity(), capacity, "no new batch for the thread");
        p.shutdown(Duration::from_secs(10)).unwrap();
        let s = p.stats();
        assert_eq!((s.received, s.exported, s.dropped), (128, 100, 28));
    }

    #[test]
    fn the_reserve_follows_the_recent_peaks_then_falls_back() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut r = Reserve::new(t0);
        assert_eq!(r.boxes(t0, 0, 10_000), 0, "nothing before the first spans");
        r.note(1000, 20);
        // 1000 spans over a second: 1 000 a second, 10 in a stall; twice the peak wins.
        assert_eq!(r.boxes(at(1), 1000, 10_000), 2000);
        assert_eq!(r.boxes(at(1), 1000, 1500), 1500, "never above the limit");
        assert_eq!(r.batches(10_000), 40);
        r.roll(at(31), 1000);
        r.note(10, 1);
        assert_eq!(
            r.boxes(at(32), 1010, 10_000),
            2000,
            "the last window's peak holds"
        );
        r.roll(at(62), 1010);
        assert_eq!(r.boxes(at(62), 1010, 10_000), 20, "two quiet windows later");
        assert_eq!(r.batches(10_000), 2);
        r.roll(at(93), 1010);
        assert_eq!(r.boxes(at(93), 1010, 10_000), 0);
        // A fast stream: 2 M spans a second, 20 000 in a stall, whatever the queue held.
        r.note(512, 8);
        assert_eq!(r.boxes(at(94), 2_001_010, 100_000), 20_000);
    }

    #[test]
    fn a_huge_queue_size_does_not_allocate_up_front() {
        let p = BatchSpanProcessor::with_config(
            NoopExporter,
            BatchConfig::default().with_max_queue_size(usize::MAX / 2),
        );
        assert!(p.shared.lock().queue.capacity() < 2 * PREALLOCATED_MAX);
        p.on_end(&mut batch(1));
        p.force_flush(Duration::from_secs(10)).unwrap();
        assert_eq!(p.stats().exported, 1);
    }
}
