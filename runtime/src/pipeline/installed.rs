//! The pipeline: sampler, limits, resource and processor, installed once for the process.
//!
//! Finished spans go first to a buffer of the thread that ended them (no lock, no
//! allocation once it has grown), and reach the processor in batches: when the thread's
//! outermost local span ends, when the buffer holds [`LOCAL_BATCH`] spans, or at once for a
//! processor that wants every span as it ends (the simple processor). The batch processor
//! has the thread keep what an outermost span leaves, short of a batch, in a place of the
//! thread's own that its worker collects (see [`SpanProcessor::park`]).

use super::{BatchConfig, BatchSpanProcessor, Parked, Sampler, SimpleSpanProcessor, SpanProcessor};
use crate::export::{ExportError, SpanExporter};
use crate::model::record::{PipelineRef, Slot, SpanBatch};
use crate::model::{Resource, SpanLimits};
use std::cell::RefCell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::time::Duration;

/// Spans a thread gathers before handing them to the processor in one call.
pub const LOCAL_BATCH: usize = 64;

/// An installed pipeline. Installed pipelines live for the rest of the process (spans in
/// flight keep a `&'static` to theirs); a replaced one is shut down, not freed.
// `repr(C)` with the limits first: a record's `PipelineRef` points at them, and is the
// pipeline's address too.
#[repr(C)]
pub struct Pipeline {
    pub(crate) limits: SpanLimits,
    pub(crate) sampler: Sampler,
    pub(crate) resource: Resource,
    pub(crate) processor: Box<dyn SpanProcessor>,
    buffered: bool,
    /// The processor keeps what a thread's outermost span leaves (see
    /// [`SpanProcessor::parks`]).
    parks: bool,
    /// The sampler drops every child of an unsampled local parent (OpenTelemetry's default).
    pub(crate) follows_local_parent: bool,
    /// The sampler samples every child of a sampled local parent (OpenTelemetry's default):
    /// such children take the fast path. Turned off for good by an integration that must see
    /// every span entered (`context::hook`), which the `tracing` feature compiles in.
    #[cfg(feature = "tracing")]
    follows_sampled_local_parent: AtomicBool,
    #[cfg(not(feature = "tracing"))]
    follows_sampled_local_parent: bool,
    /// What the sampler says of such children, whatever an integration turned off.
    #[cfg(feature = "tracing")]
    samples_sampled_local_children: bool,
    /// The sampler samples every root, whatever its name or kind (OpenTelemetry's default).
    pub(crate) samples_roots: bool,
    /// How long dropping the guard (or [`shutdown`]) waits for the processor to export what
    /// is queued; `None`: no limit.
    shutdown_timeout: Option<Duration>,
}

const _: () = assert!(std::mem::offset_of!(Pipeline, limits) == 0);

/// How a record points at its pipeline while the model below knows only its limits.
impl PipelineRef {
    #[inline]
    pub(crate) fn new(pipeline: &'static Pipeline) -> Self {
        // SAFETY: the limits are the first field of a `repr(C)` pipeline that is never
        // freed, and the pointer is cast from the whole pipeline's.
        unsafe { PipelineRef::from_raw(NonNull::from(pipeline).cast()) }
    }

    /// The pipeline that [`new`](Self::new) was given.
    #[inline]
    pub(crate) fn get(self) -> &'static Pipeline {
        #[cfg(test)]
        assert!(!self.is_detached(), "a test record reached a pipeline");
        // SAFETY: every `PipelineRef` but a test's detached one comes from `new`: it is the
        // address of a pipeline (its first field), with the provenance of the whole, and
        // pipelines are never freed.
        unsafe { self.as_raw().cast::<Pipeline>().as_ref() }
    }
}

/// The guard's deadline when none is set: OpenTelemetry's default export timeout.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("sampler", &self.sampler.description())
            .field("limits", &self.limits)
            .field("resource", &self.resource)
            .field("processor", &self.processor)
            .field("buffered", &self.buffered)
            .field("parks", &self.parks)
            .field("follows_local_parent", &self.follows_local_parent)
            .field("samples_roots", &self.samples_roots)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field(
                "follows_sampled_local_parent",
                &self.follows_sampled_local_parent(),
            )
            .field(
                "samples_sampled_local_children",
                &self.samples_sampled_local_children(),
            )
            .finish()
    }
}

impl Pipeline {
    /// Whether children of a sampled local span are sampled without asking the sampler (the
    /// fast path for children).
    #[inline(always)]
    pub(crate) fn follows_sampled_local_parent(&self) -> bool {
        #[cfg(feature = "tracing")]
        return self.follows_sampled_local_parent.load(Ordering::Relaxed);
        #[cfg(not(feature = "tracing"))]
        self.follows_sampled_local_parent
    }

    /// Whether the sampler samples every child of a sampled local parent: the fast path for
    /// a child started apart from its enter (not turned off by an integration, which sees it
    /// entered anyway).
    #[inline(always)]
    pub(crate) fn samples_sampled_local_children(&self) -> bool {
        #[cfg(feature = "tracing")]
        return self.samples_sampled_local_children;
        #[cfg(not(feature = "tracing"))]
        self.follows_sampled_local_parent
    }

    /// Sends every child through the slow path, where an integration's hook sees it entered.
    #[cfg(feature = "tracing")]
    pub(crate) fn slow_children(&self) {
        self.follows_sampled_local_parent
            .store(false, Ordering::Relaxed);
    }

    /// A pipeline builder.
    ///
    /// ```
    /// use traced_runtime::Sampler;
    /// use traced_runtime::export::InMemoryExporter;
    /// use traced_runtime::pipeline::Pipeline;
    /// let exporter = InMemoryExporter::default();
    /// let guard = Pipeline::builder()
    ///     .with_simple_exporter(exporter.clone())
    ///     .with_sampler(Sampler::AlwaysOn)
    ///     .install();
    /// traced_runtime::span("hello").start().end();
    /// assert_eq!(exporter.spans()[0].name, "hello");
    /// drop(guard); // flushes and shuts down
    /// ```
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }
    /// The sampler.
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }
    /// The span limits.
    pub fn limits(&self) -> &SpanLimits {
        &self.limits
    }
    /// The resource.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }
    /// The processor.
    pub fn processor(&self) -> &dyn SpanProcessor {
        &*self.processor
    }
    /// How long dropping the guard or [`shutdown`] waits; `None`: no limit.
    pub fn shutdown_timeout(&self) -> Option<Duration> {
        self.shutdown_timeout
    }
}

/// Builds and installs a [`Pipeline`].
#[derive(Debug, Default)]
#[must_use = "call .install()"]
pub struct PipelineBuilder {
    sampler: Option<Sampler>,
    limits: Option<SpanLimits>,
    resource: Option<Resource>,
    processor: Option<Box<dyn SpanProcessor>>,
    /// Zero: no limit.
    shutdown_timeout: Option<Duration>,
    /// `OTEL_SDK_DISABLED`: `install` installs nothing.
    pub(crate) disabled: bool,
}

impl PipelineBuilder {
    /// The sampler (default: parent-based, always on for roots).
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }
    /// The span limits (default: OpenTelemetry's).
    pub fn with_limits(mut self, limits: SpanLimits) -> Self {
        self.limits = Some(limits);
        self
    }
    /// How long dropping the guard, or [`shutdown`], waits for the processor to export what is
    /// queued before giving up (what is left is then counted as dropped): default
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`], and from [`Config`](crate::Config) the batch export
    /// timeout (`OTEL_BSP_EXPORT_TIMEOUT`). Zero means no limit.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }
    /// The resource (default: [`Resource::default_for_process`]).
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }
    /// A processor.
    pub fn with_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.processor = Some(Box::new(processor));
        self
    }
    /// Exports every span as it ends, on the thread that ended it: for tests and the console.
    pub fn with_simple_exporter(self, exporter: impl SpanExporter + 'static) -> Self {
        self.with_processor(SimpleSpanProcessor::new(exporter))
    }
    /// Exports in batches from a background thread, with OpenTelemetry's default
    /// [`BatchConfig`]: the choice for a remote backend. Ending a span never waits for it.
    ///
    /// ```
    /// use traced_runtime::export::InMemoryExporter;
    /// use traced_runtime::pipeline::Pipeline;
    /// let exporter = InMemoryExporter::default();
    /// let guard = Pipeline::builder().with_batch_exporter(exporter.clone()).install();
    /// traced_runtime::span("job").start().end();
    /// drop(guard); // exports what is queued, then shuts the exporter down
    /// assert_eq!(exporter.spans().len(), 1);
    /// ```
    pub fn with_batch_exporter(self, exporter: impl SpanExporter + 'static) -> Self {
        self.with_processor(BatchSpanProcessor::new(exporter))
    }
    /// Exports in batches from a background thread, with these settings.
    pub fn with_batch_exporter_config(
        self,
        exporter: impl SpanExporter + 'static,
        config: BatchConfig,
    ) -> Self {
        self.with_processor(BatchSpanProcessor::with_config(exporter, config))
    }

    /// Builds the pipeline without installing it.
    pub fn build(self) -> Pipeline {
        let mut resource = self.resource.unwrap_or_default();
        let processor = self
            .processor
            .unwrap_or_else(|| Box::new(SimpleSpanProcessor::new(crate::export::NoopExporter)));
        processor.set_resource(&mut resource);
        let sampler = self.sampler.unwrap_or_default();
        Pipeline {
            follows_local_parent: sampler.drops_unsampled_local_children(),
            #[cfg(feature = "tracing")]
            follows_sampled_local_parent: AtomicBool::new(
                sampler.samples_sampled_local_children() && !crate::context::hook::every_enter(),
            ),
            #[cfg(not(feature = "tracing"))]
            follows_sampled_local_parent: sampler.samples_sampled_local_children(),
            samples_roots: sampler.samples_roots(),
            #[cfg(feature = "tracing")]
            samples_sampled_local_children: sampler.samples_sampled_local_children(),
            sampler,
            limits: self.limits.unwrap_or_default(),
            resource,
            buffered: processor.accepts_thread_batches(),
            parks: processor.parks(),
            processor,
            shutdown_timeout: Some(self.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT))
                .filter(|t| !t.is_zero()),
        }
    }

    /// Installs the pipeline for the whole process, replacing (and shutting down) any
    /// previous one. Keep the guard alive until the end of `main`: dropping it flushes.
    pub fn install(self) -> PipelineGuard {
        if self.disabled {
            return PipelineGuard::not_installed(self.build());
        }
        install(self.build())
    }
}

static GLOBAL: AtomicPtr<Pipeline> = AtomicPtr::new(std::ptr::null_mut());

/// The installed pipeline, if any: one atomic load.
#[inline]
pub(crate) fn get() -> Option<&'static Pipeline> {
    let p = GLOBAL.load(Ordering::Acquire);
    // SAFETY: GLOBAL only ever holds null or a pointer from `Box::leak`, never freed.
    unsafe { p.as_ref() }
}

/// The installed pipeline, if any.
pub fn installed() -> Option<&'static Pipeline> {
    get()
}

/// Installs `pipeline` for the process; see [`PipelineBuilder::install`].
pub fn install(pipeline: Pipeline) -> PipelineGuard {
    crate::context::panic::install_hook();
    // The clock calibrates now rather than in the first span.
    crate::model::clock::init();
    detect_prefetchw();
    let leaked: &'static Pipeline = Box::leak(Box::new(pipeline));
    let previous = GLOBAL.swap(std::ptr::from_ref(leaked).cast_mut(), Ordering::AcqRel);
    // Built before an integration wanted every enter (checked after the swap: an integration
    // turned on meanwhile either sees this pipeline or is seen here).
    #[cfg(feature = "tracing")]
    {
        std::sync::atomic::fence(Ordering::SeqCst);
        if crate::context::hook::every_enter() {
            leaked.slow_children();
        }
    }
    // SAFETY: as in `get`, a non-null value came from `Box::leak`.
    if let Some(previous) = unsafe { previous.as_ref() } {
        flush_thread();
        let _ = previous.processor.shutdown(Duration::from_secs(5));
    }
    PipelineGuard { pipeline: leaked }
}

/// Keeps the pipeline installed: dropping it flushes this thread's spans, then shuts the
/// processor down (exporting everything queued, within
/// [`with_shutdown_timeout`](PipelineBuilder::with_shutdown_timeout)), so a short program
/// loses nothing.
///
/// Bind it for the whole of `main`: `let _guard = traced::init();`. `let _ = traced::init();`
/// drops it at once, and every span after that is lost; a debug build says so on standard
/// error at the first span started after a guard was dropped.
///
/// `std::process::exit` does not run destructors: call [`shutdown`] (or
/// [`force_flush`](PipelineGuard::force_flush)) before it, or the spans still queued are
/// lost.
#[must_use = "dropping the guard shuts the pipeline down: bind it, `let _guard = ...`"]
#[derive(Debug)]
pub struct PipelineGuard {
    pipeline: &'static Pipeline,
}

impl PipelineGuard {
    /// A guard for a pipeline that was not installed (`OTEL_SDK_DISABLED`): spans cost one
    /// atomic load and record nothing.
    pub(crate) fn not_installed(pipeline: Pipeline) -> PipelineGuard {
        PipelineGuard {
            pipeline: Box::leak(Box::new(pipeline)),
        }
    }
    /// The pipeline.
    pub fn pipeline(&self) -> &'static Pipeline {
        self.pipeline
    }
    /// Exports everything finished so far (this thread's buffer included).
    pub fn force_flush(&self, timeout: Duration) -> Result<(), ExportError> {
        flush_thread();
        self.pipeline.processor.force_flush(timeout)
    }
}

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        flush_thread();
        let _ = shut_down(self.pipeline);
        // Uninstall only if it is still ours.
        let ours = std::ptr::from_ref(self.pipeline).cast_mut();
        if GLOBAL
            .compare_exchange(
                ours,
                std::ptr::null_mut(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            GONE.store(true, Ordering::Relaxed);
        }
    }
}

fn shut_down(pipeline: &Pipeline) -> Result<(), ExportError> {
    let timeout = pipeline.shutdown_timeout.unwrap_or(Duration::MAX);
    pipeline.processor.shutdown(timeout)
}

/// Shuts the installed pipeline down now, as dropping its guard does: this thread's spans
/// are handed over, the processor exports what is queued (within the pipeline's
/// [shutdown timeout](PipelineBuilder::with_shutdown_timeout); what is left then is counted as
/// dropped), and the pipeline is uninstalled. Call it before `std::process::exit`, which runs
/// no destructors, so the guard never flushes:
///
/// ```no_run
/// let _guard = traced_runtime::init();
/// // ... traced code ...
/// let _ = traced_runtime::shutdown();
/// std::process::exit(2);
/// ```
///
/// Spans ended on other threads after this are not recorded. `Err` when nothing is installed
/// ([`ExportError::Shutdown`]) or when the processor ran out of time.
pub fn shutdown() -> Result<(), ExportError> {
    flush_thread();
    let previous = GLOBAL.swap(std::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: as in `get`, a non-null value came from `Box::leak`.
    let Some(pipeline) = (unsafe { previous.as_ref() }) else {
        return Err(ExportError::Shutdown);
    };
    GONE.store(true, Ordering::Relaxed);
    shut_down(pipeline)
}

/// A guard has uninstalled its pipeline (or [`shutdown`] did).
static GONE: AtomicBool = AtomicBool::new(false);

/// Called where a span starts with no pipeline installed: a debug build warns, once, if a
/// guard was dropped before (`let _ = traced::init();` drops it at once). Release builds
/// check nothing: the no-pipeline path stays one atomic load.
#[inline]
pub(crate) fn off() {
    if cfg!(debug_assertions) && GONE.load(Ordering::Relaxed) {
        warn_gone();
    }
}

#[cold]
#[inline(never)]
fn warn_gone() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "traced: a span started after the pipeline was shut down, and is not recorded: was \
             the guard of traced::init() dropped early? `let _ = traced::init();` drops it at \
             once; bind it for the whole of main: `let _guard = traced::init();` (this warning \
             is printed once, by debug builds)"
        );
    });
}

/// Empty record boxes a thread keeps for its next spans: as deep as spans usually nest,
/// plus a batch's worth, which is what comes back from a processor at once.
pub(crate) const POOL_MAX: usize = 2 * LOCAL_BATCH;

/// How many spans ahead a thread asks for the cache lines of the box its span will take.
/// Boxes come back from a batch processor whose worker read them on another core, and
/// writing a line another core holds waits for that core; asked for a few spans early, the
/// lines are here when the span starts. With one thread ending spans flat out into the OTLP
/// encoder (`throughput cpu traced-otlp`, five rounds of ten or twelve interleaved runs), the
/// median CPU per exported span was 112–122 ns in every round with it, and 114–162 without:
/// the slow rounds are gone.
const POOL_PREFETCH_AHEAD: usize = 4;

/// Asks the CPU to fetch a box's first cache lines for writing (a hint; nothing on other
/// targets, nor under Miri, which runs no inline assembly).
/// A box coming back from the batch worker was last read on another core: fetched for
/// reading, its lines arrive shared and the span's first stores still wait for the other
/// core to give them up; fetched for writing (`prefetchw`), they arrive owned.
///
/// The lines asked for are the header and first four attributes
/// ([`PREFETCH_BYTES`](crate::model::record::PREFETCH_BYTES)): those most spans write, and
/// those the worker reads ahead of encoding a record, so those it may hold. The box's last
/// three lines are written only by a span with more than four attributes, and read by the
/// worker only then; asking for them for every span cost the thread more than it saved.
/// `throughput cpu traced-otlp --pin`, three sets of 20 to 24 interleaved runs
/// at b7332ad, the lines chosen at run time:
/// the calling thread's ns per span 67.3 → 64.3, 66.3 → 63.6 and 67.5 → 63.7, process CPU per
/// exported span 114.2 → 108.5, 106.5 → 101.6 and 106.3 → 104.5 (medians), with a counting
/// exporter 56.3 → 55.4.
///
/// `prefetchw` is written out: `_mm_prefetch::<_MM_HINT_ET0>` compiles to a read prefetch
/// (`prefetcht0`) unless the build targets CPUs with `prfchw`, which the default x86-64
/// target does not. It runs where the CPU reports it ([`PREFETCHW`]); elsewhere the lines
/// are fetched for reading, as before.
#[inline(always)]
fn prefetch_for_write(slot: &Slot) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        let at = std::ptr::from_ref::<std::mem::MaybeUninit<crate::model::record::Record>>(slot)
            .cast::<u8>();
        if PREFETCHW.load(Ordering::Relaxed) {
            // SAFETY: a prefetch never faults and writes nothing; the five addresses lie in
            // the box's first `PREFETCH_BYTES`, a line apart (checked below; a box is not
            // aligned to a line, so their lines may stop a few bytes short of that end: it is
            // a hint), and the CPU reports `prefetchw`.
            unsafe {
                std::arch::asm!(
                    "prefetchw byte ptr [{0}]",
                    "prefetchw byte ptr [{0} + 64]",
                    "prefetchw byte ptr [{0} + 128]",
                    "prefetchw byte ptr [{0} + 192]",
                    "prefetchw byte ptr [{0} + 256]",
                    in(reg) at,
                    options(nostack, preserves_flags, readonly)
                );
            }
        } else {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let mut line = 0;
            while line < crate::model::record::PREFETCH_BYTES {
                // SAFETY: a prefetch never faults; the address is inside the box.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(at.add(line).cast::<i8>()) };
                line += 64;
            }
        }
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    let _ = slot;
}

/// The CPU reports `prefetchw` (CPUID leaf `0x8000_0001`, ECX bit 8: every AMD64 CPU, Intel's
/// since Broadwell). Read when a pipeline is installed ([`detect_prefetchw`]).
static PREFETCHW: AtomicBool = AtomicBool::new(false);

// The five addresses `prefetch_for_write` asks for, a line apart, span a record's first
// `PREFETCH_BYTES`.
const _: () = assert!(crate::model::record::PREFETCH_BYTES == 5 * 64);

/// Sets [`PREFETCHW`].
fn detect_prefetchw() {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::__cpuid;
        // Leaf 0x8000_0001 is read only where leaf 0x8000_0000 says it exists.
        let reported =
            __cpuid(0x8000_0000).eax >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0;
        PREFETCHW.store(reported, Ordering::Relaxed);
    }
}

/// What a thread keeps for the spans it starts and ends.
struct Finished {
    /// Sampled spans ended here, not yet handed over. Handed to the processor in place
    /// (the processor takes the records and leaves the batch's room, or swaps in a batch of
    /// its own), so ending a thread's outermost span moves no batch around.
    spans: SpanBatch,
    /// The pipeline of `spans`.
    pipeline: Option<&'static Pipeline>,
    /// Empty boxes for the records of spans started on this thread.
    pool: Vec<Slot>,
    /// The processor refused some of this thread's last batch: the thread sheds the
    /// children it starts while the processor stays full (see [`take_recording_slot`]).
    shedding: bool,
    /// Spans shed since the last hand-over, reported with the next one.
    shed_count: usize,
    /// Room for the empty boxes the processor lends when the pool runs dry (see
    /// [`refill`](Self::refill)).
    lent: SpanBatch,
    /// The processor had no box to lend since the last hand-over: not asked again before it.
    dry: bool,
    /// Where the processor of `pipeline` keeps the spans this thread's outermost spans left
    /// (see [`SpanProcessor::park`]).
    parked: Option<Arc<Parked>>,
}

impl Finished {
    /// Hands the buffered spans (and the count of spans shed since the last time) to their
    /// processor, then keeps the empty boxes and the batch's room for the next spans.
    ///
    /// The thread's buffer stays borrowed meanwhile: a span the processor itself ends on this
    /// thread does not join it, but goes to the processor alone (see [`finish`]).
    #[inline(never)]
    fn hand_over(&mut self) {
        let Some(p) = self.pipeline else { return };
        if self.spans.is_empty() && self.shed_count == 0 {
            return;
        }
        self.spans.shed = std::mem::take(&mut self.shed_count);
        let room = POOL_MAX.saturating_sub(self.pool.len());
        self.spans.keeps = Some(room);
        p.processor.on_end(&mut self.spans);
        self.shedding = std::mem::take(&mut self.spans.refused);
        self.spans.shed = 0;
        self.dry = false;
        let mut boxes = self.spans.recycle();
        self.pool.extend(boxes.by_ref().take(room));
    }

    /// The thread's outermost local span has ended: its spans go to the processor, kept
    /// where its own thread collects them when it keeps spans so (no lock shared with other
    /// threads), else handed over.
    #[inline(never)]
    fn end_outer(&mut self) {
        let Some(p) = self.pipeline else { return };
        if p.parks && self.shed_count == 0 && p.processor.park(&mut self.spans, &mut self.parked) {
            return;
        }
        self.hand_over();
    }

    /// Refills an empty pool with boxes the processor keeps spare, if it has some.
    ///
    /// A thread gets boxes back when it hands spans over; when the processor had none then
    /// (its worker lagging), the pool stays short until it runs dry, by which time the worker
    /// may have put boxes aside again. Asking for them costs a lock where the alternative is
    /// allocating.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        let Some(p) = self.pipeline else { return };
        if self.dry {
            return;
        }
        p.processor.lend_boxes(&mut self.lent);
        self.pool.extend(self.lent.recycle());
        self.dry = self.pool.is_empty();
    }

    /// A box from the pool, asking for the one it will hand out [`POOL_PREFETCH_AHEAD`]
    /// spans from now.
    #[inline]
    fn pop_slot(&mut self) -> Option<Slot> {
        let slot = self.pool.pop();
        if let Some(ahead) = self.pool.len().checked_sub(POOL_PREFETCH_AHEAD) {
            prefetch_for_write(&self.pool[ahead]);
        }
        slot
    }

    /// Whether to shed the child starting now, when [`shedding`](Self::shedding); counted if
    /// so. Asks the processor, and stops shedding at the first answer that it has room.
    #[cold]
    #[inline(never)]
    fn shed(&mut self) -> bool {
        if self.pipeline.is_some_and(|p| p.processor.is_full()) {
            self.shed_count += 1;
            return true;
        }
        self.shedding = false;
        false
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        // The thread is exiting: hand over what is left, its parked spans first.
        if let Some(place) = self.parked.take() {
            place.take_into(&mut self.spans);
        }
        self.hand_over();
    }
}

thread_local! {
    static FINISHED: RefCell<Finished> = const {
        RefCell::new(Finished {
            spans: SpanBatch::new(),
            pipeline: None,
            pool: Vec::new(),
            shedding: false,
            shed_count: 0,
            lent: SpanBatch::new(),
            dry: false,
            parked: None,
        })
    };
}

/// A box for a new span's record: from the thread's pool, so starting a span does not
/// allocate once the thread has ended a few.
#[inline]
pub(crate) fn take_slot() -> Slot {
    FINISHED
        .try_with(|f| f.try_borrow_mut().ok().and_then(|mut f| f.pop_slot()))
        .ok()
        .flatten()
        .unwrap_or_else(new_slot)
}

/// A box for the record of a sampled child of the span active here, or `None` when the
/// thread sheds it.
///
/// A thread sheds spans after the batch processor's full queue refused some of its batch, for
/// as long as the queue stays full ([`crate::pipeline::SpanProcessor::is_full`]):
/// the spans it would record meanwhile could only be dropped too, and recording them would
/// cost the observed program for nothing. Only children of the span active on the thread are
/// shed: the shed span is not recorded (as an unsampled child: its parent's context stays
/// current and goes on propagating) and is counted as received and dropped with the thread's
/// next batch; what starts under it is shed or recorded on its own, each counted. Roots and
/// children of remote parents are always recorded: shed, they would leave whole subtrees
/// unsampled and uncounted.
#[inline]
pub(crate) fn take_recording_slot() -> Option<Slot> {
    let mut shed = false;
    let slot = FINISHED
        .try_with(|f| {
            f.try_borrow_mut().ok().and_then(|mut f| {
                if f.shedding && f.shed() {
                    shed = true;
                    return None;
                }
                f.pop_slot()
            })
        })
        .ok()
        .flatten();
    if shed {
        return None;
    }
    Some(slot.unwrap_or_else(new_slot))
}

/// Whether this thread sheds the sampled child of its active span it is starting (see
/// [`take_recording_slot`]); counted if so.
pub(crate) fn shed_one() -> bool {
    FINISHED
        .try_with(|f| f.try_borrow_mut().is_ok_and(|mut f| f.shedding && f.shed()))
        .unwrap_or(false)
}

/// A box for a span when the thread's pool is empty: from the processor's spares if it has
/// some (see [`Finished::refill`]), else a new one.
#[cold]
fn new_slot() -> Slot {
    FINISHED
        .try_with(|f| {
            f.try_borrow_mut().ok().and_then(|mut f| {
                f.refill();
                f.pool.pop()
            })
        })
        .ok()
        .flatten()
        .unwrap_or_else(Box::new_uninit)
}

/// Gives an empty box back to the thread's pool (or frees it, when the pool is full or the
/// thread is exiting).
#[inline]
pub(crate) fn recycle_slot(slot: Slot) {
    let _ = FINISHED.try_with(move |f| {
        if let Ok(mut f) = f.try_borrow_mut()
            && f.pool.len() < POOL_MAX
        {
            f.pool.push(slot);
        }
    });
}

/// Hands a finished, sampled span to its pipeline: its box joins the thread's batch (a
/// pointer moves; the record is not copied).
///
/// `outer_recording`: whether the span now active on this thread records, if the caller
/// knows (the thread's spans are handed over when its outermost recording span ends).
///
/// # Safety
/// `slot` must hold an initialized record, which the caller must not drop afterwards.
#[inline]
pub(crate) unsafe fn finish(slot: Slot, outer_recording: Option<bool>) {
    // SAFETY: the caller hands over an initialized record.
    let pipeline = unsafe { slot.assume_init_ref() }.pipeline.get();
    let mut slot = Some(slot);
    let _ = FINISHED.try_with(|f| {
        let Ok(mut f) = f.try_borrow_mut() else {
            return;
        };
        let f = &mut *f;
        if f.pipeline.is_some_and(|p| !std::ptr::eq(p, pipeline)) {
            f.hand_over();
            // What the old processor keeps is collected by its own thread.
            f.parked = None;
        }
        f.pipeline = Some(pipeline);
        if f.spans.capacity() == 0 {
            f.spans.reserve(LOCAL_BATCH);
            // The pool's whole room at once: growing it later, when boxes come back after a
            // lag, would allocate on this thread.
            f.pool.reserve_exact(POOL_MAX);
            f.lent.reserve(LOCAL_BATCH);
        }
        let Some(s) = slot.take() else { return };
        let len = f.spans.push(s);
        if !pipeline.buffered || len >= LOCAL_BATCH {
            f.hand_over();
        } else if !outer_recording.unwrap_or_else(|| crate::context::active().recording) {
            f.end_outer();
        }
    });
    if let Some(s) = slot {
        // Ended from inside a processor's own call, or while the thread exits: no buffer.
        pipeline.processor.on_end(&mut SpanBatch::one(s));
    }
}

/// Hands this thread's buffered spans to their processor now.
pub fn flush_thread() {
    let _ = FINISHED.try_with(|f| {
        if let Ok(mut f) = f.try_borrow_mut() {
            f.hand_over();
        }
    });
}

/// Exports everything finished so far on this thread and in the installed processor.
pub fn force_flush(timeout: Duration) -> Result<(), ExportError> {
    flush_thread();
    match get() {
        Some(p) => p.processor.force_flush(timeout),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPUID bit read is the one the kernel reports as `3dnowprefetch` (its name for
    /// `prefetchw`): a wrong leaf or bit would leave the boxes fetched for reading on a CPU
    /// that has the instruction, or worse, fetched with one it lacks.
    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64", not(miri)))]
    fn prefetchw_is_used_where_the_cpu_reports_it() {
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else {
            return;
        };
        let Some(flags) = cpuinfo.lines().find(|l| l.starts_with("flags")) else {
            return;
        };
        let reported = flags.split_whitespace().any(|f| f == "3dnowprefetch");
        detect_prefetchw();
        assert_eq!(PREFETCHW.load(Ordering::Relaxed), reported, "{flags}");
    }
}
