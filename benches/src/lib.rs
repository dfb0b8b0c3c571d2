//! The same function, `fn work(a: u64, b: &str) -> u64` recording kind `client` and both
//! arguments, instrumented by traced and by each rival (and its variants with more
//! attributes: six arguments, three plus two `attrs`, six plus two); the pipelines each one is
//! measured with; and one loop that every measurement (criterion, allocation counts) goes
//! through.
//!
//! Every case runs in a process of its own (the bench binary starts one per case), so each
//! library is set up the way an application would set it up, globally, and nothing one case
//! installs can slow down another.

#![allow(
    clippy::many_single_char_names,
    reason = "the measured functions' arguments are `a` to `f`, the same in every library"
)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub mod sinks;

/// The first argument every call gets (through `black_box`).
pub const A: u64 = 42;
/// The second argument: 11 bytes, a typical short identifier.
pub const B: &str = "order-12345";
/// The fourth argument of the six-argument variants (the third, fifth and sixth are `A + 1`,
/// `A + 2` and [`B`]).
pub const C: &str = "customer-77";

/// Calls made inside one root span (the root is started and ended outside the timed region).
pub const CHUNK: u64 = 256;

/// Calls in one burst of the burst scenarios ([`Scenario::ChildBurst`], [`Scenario::RootBurst`]):
/// before each burst, outside the timed region, every library's background pipeline is
/// drained, so no backlog is ever more than one burst deep. In the root scenario fastrace
/// sends its collector four commands per call: 1024 calls stay below the 5120 (half its
/// channel) at which the collector is woken early, and far below the 10 240 beyond which
/// commands wait in an unbounded queue on the calling thread.
pub const BURST: u64 = 1024;

/// Spans that reached a counting sink, all libraries together.
pub static SPANS: AtomicU64 = AtomicU64::new(0);

/// Rounds of the end-to-end runs in a report: on a shared machine one run can land in a slow
/// spell, so each library's figure is the median of this many, one per round.
pub const THROUGHPUT_ROUNDS: usize = 5;

/// Adds `n` to [`SPANS`].
pub fn count(n: usize) {
    SPANS.fetch_add(n as u64, Ordering::Relaxed);
}

/// Bytes of OTLP protobuf encoded by the sinks that encode.
pub static BYTES: AtomicU64 = AtomicU64::new(0);

/// Adds `n` to [`BYTES`].
pub fn count_bytes(n: usize) {
    BYTES.fetch_add(n as u64, Ordering::Relaxed);
}

/// The body every variant runs: cheap, but not foldable away.
#[inline]
fn body(a: u64, b: &str) -> u64 {
    a.wrapping_mul(31) ^ b.len() as u64
}

/// The body of the six-argument variants.
#[inline]
fn body6(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
    body(a ^ c ^ e, b) ^ d.len() as u64 ^ f.len() as u64
}

/// The body of the three-argument variants.
#[inline]
fn body3(a: u64, b: &str, c: u64) -> u64 {
    body(a ^ c, b)
}

/// A future that is pending once, then ready (`tokio::task::yield_now` without tokio).
#[derive(Debug, Default)]
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// Yields forever: each poll of it is one poll of the instrumented future around it.
async fn spin(a: u64, b: &str) -> u64 {
    let mut x = a;
    // Not `loop {}`: the instrumented versions need a return value to type-check.
    for _ in 0..u64::MAX {
        YieldNow::default().await;
        x = body(x, b);
    }
    x
}

/// The uninstrumented function.
pub mod plain {
    #[inline(never)]
    pub fn work(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    #[inline(never)]
    pub async fn work_async(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    pub async fn spin(a: u64, b: &str) -> u64 {
        super::spin(a, b).await
    }
}

/// The raw floor: what any span costs at least (two TSC reads and a 64-byte record pushed
/// into a thread-local buffer that is cleared when full).
pub mod floor {
    use std::cell::RefCell;

    /// One 64-byte record.
    #[derive(Debug, Clone, Copy)]
    #[allow(
        dead_code,
        reason = "written, never read: the floor only pays for the store"
    )]
    struct Record {
        start: fastant::Instant,
        end: fastant::Instant,
        a: u64,
        b_ptr: usize,
        b_len: usize,
        pad: [u64; 3],
    }
    const _: () = assert!(size_of::<Record>() == 64);

    thread_local! {
        static BUF: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
    }

    #[inline(never)]
    pub fn work(a: u64, b: &str) -> u64 {
        let start = fastant::Instant::now();
        let r = super::body(a, b);
        let end = fastant::Instant::now();
        BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            if buf.len() == buf.capacity() {
                buf.clear();
                buf.reserve(1024);
            }
            buf.push(Record {
                start,
                end,
                a,
                b_ptr: b.as_ptr() as usize,
                b_len: b.len(),
                pad: [0; 3],
            });
        });
        r
    }
}

/// traced: `#[traced(kind = "client")]`, both arguments recorded (the default).
pub mod traced_impl {
    #[traced::traced(kind = "client")]
    #[inline(never)]
    pub fn work(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    #[traced::traced(kind = "client")]
    #[inline(never)]
    pub async fn work_async(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    #[traced::traced(kind = "client")]
    pub async fn spin(a: u64, b: &str) -> u64 {
        super::spin(a, b).await
    }
    /// Six arguments: three `u64`, three `&str`.
    #[traced::traced(kind = "client")]
    #[inline(never)]
    pub fn work6(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
        super::body6(a, b, c, d, e, f)
    }
    /// Three arguments and two more attributes.
    #[traced::traced(kind = "client", attrs(order.id = a + 1, order.note = b))]
    #[inline(never)]
    pub fn work3_attrs2(a: u64, b: &str, c: u64) -> u64 {
        super::body3(a, b, c)
    }
    /// Six arguments and two more attributes: eight.
    #[traced::traced(kind = "client", attrs(order.id = a + 1, order.note = b))]
    #[inline(never)]
    pub fn work8(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
        super::body6(a, b, c, d, e, f)
    }
}

/// Stack per frame, for the report's stack target: the benches' function recursing, plain and
/// under `#[traced]` (both arguments recorded). `tests/stack.rs` at the root is the CI check of
/// the same measure; this copy lets the report print the figure beside the others.
#[allow(
    clippy::only_used_in_recursion,
    reason = "the arguments are there to be recorded (by the traced twin), as in a real frame"
)]
pub mod stack {
    use std::hint::black_box;

    /// How deep each recursion goes: the frames are averaged over it.
    const DEPTH: u32 = 1000;

    /// The address of a local in a frame just above the caller's.
    #[inline(never)]
    fn here() -> usize {
        let x = 0u8;
        std::ptr::from_ref(black_box(&x)) as usize
    }

    #[inline(never)]
    fn plain(n: u32, a: u64, b: &str) -> usize {
        if n == 0 {
            return here();
        }
        black_box(plain(n - 1, a + 1, b)) + black_box(0)
    }

    #[traced::traced(kind = "client")]
    #[inline(never)]
    fn traced(n: u32, a: u64, b: &str) -> usize {
        if n == 0 {
            return here();
        }
        black_box(traced(n - 1, a + 1, b)) + black_box(0)
    }

    fn per_frame(f: impl FnOnce() -> usize) -> usize {
        let base = here();
        base.saturating_sub(f()) / DEPTH as usize
    }

    /// Bytes per frame: (plain, traced), the traced frames sampled and recorded through the
    /// counting processor. Meaningful in release builds only.
    pub fn bytes_per_frame() -> (usize, usize) {
        let guard = traced::pipeline::Pipeline::builder()
            .with_sampler(traced::Sampler::AlwaysOn)
            .with_processor(crate::sinks::TracedCountingProcessor)
            .install();
        let plain = per_frame(|| plain(DEPTH, 1, "x"));
        let traced = per_frame(|| traced(DEPTH, 1, "x"));
        drop(guard);
        (plain, traced)
    }
}

/// fastrace: `#[trace]` with the kind and both arguments as properties.
pub mod fastrace_impl {
    use std::borrow::Cow;

    #[fastrace::trace(properties = { "span.kind": "client", "a": "{a}", "b": "{b}" })]
    #[inline(never)]
    pub fn work(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    /// A fastrace span with no local parent records nothing: a root is made by hand.
    #[inline(never)]
    pub fn work_root(a: u64, b: &str) -> u64 {
        let root = fastrace::Span::root("work", fastrace::prelude::SpanContext::random())
            .with_properties(|| {
                [
                    ("span.kind", Cow::Borrowed("client")),
                    ("a", Cow::Owned(a.to_string())),
                    ("b", Cow::Owned(b.to_owned())),
                ]
            });
        let _guard = root.set_local_parent();
        super::body(a, b)
    }
    #[fastrace::trace(properties = { "span.kind": "client", "a": "{a}", "b": "{b}" })]
    #[inline(never)]
    pub async fn work_async(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    #[fastrace::trace(properties = { "span.kind": "client", "a": "{a}", "b": "{b}" })]
    pub async fn spin(a: u64, b: &str) -> u64 {
        super::spin(a, b).await
    }
    #[fastrace::trace(properties = {
        "span.kind": "client", "a": "{a}", "b": "{b}", "c": "{c}", "d": "{d}", "e": "{e}",
        "f": "{f}"
    })]
    #[inline(never)]
    pub fn work6(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
        super::body6(a, b, c, d, e, f)
    }
    /// A property value is a format string of the arguments' names only: `order.id` formats
    /// `a` (the same work as `a + 1`).
    #[fastrace::trace(properties = {
        "span.kind": "client", "a": "{a}", "b": "{b}", "c": "{c}", "order.id": "{a}",
        "order.note": "{b}"
    })]
    #[inline(never)]
    pub fn work3_attrs2(a: u64, b: &str, c: u64) -> u64 {
        super::body3(a, b, c)
    }
    #[fastrace::trace(properties = {
        "span.kind": "client", "a": "{a}", "b": "{b}", "c": "{c}", "d": "{d}", "e": "{e}",
        "f": "{f}", "order.id": "{a}", "order.note": "{b}"
    })]
    #[inline(never)]
    pub fn work8(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
        super::body6(a, b, c, d, e, f)
    }
}

/// tracing: `#[instrument]` with the kind as a field (both arguments recorded by default).
/// The same functions serve tracing-opentelemetry; only the subscriber differs.
pub mod tracing_impl {
    #[tracing::instrument(fields(otel.kind = "client"))]
    #[inline(never)]
    pub fn work(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    #[tracing::instrument(fields(otel.kind = "client"))]
    #[inline(never)]
    pub async fn work_async(a: u64, b: &str) -> u64 {
        super::body(a, b)
    }
    #[tracing::instrument(fields(otel.kind = "client"))]
    pub async fn spin(a: u64, b: &str) -> u64 {
        super::spin(a, b).await
    }
    #[tracing::instrument(fields(otel.kind = "client"))]
    #[inline(never)]
    pub fn work6(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
        super::body6(a, b, c, d, e, f)
    }
    #[tracing::instrument(fields(otel.kind = "client", order.id = a + 1, order.note = b))]
    #[inline(never)]
    pub fn work3_attrs2(a: u64, b: &str, c: u64) -> u64 {
        super::body3(a, b, c)
    }
    #[tracing::instrument(fields(otel.kind = "client", order.id = a + 1, order.note = b))]
    #[inline(never)]
    pub fn work8(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64 {
        super::body6(a, b, c, d, e, f)
    }
}

/// The OpenTelemetry API on the SDK's tracer: build with kind and attributes, start, make
/// current (as `Tracer::in_span` does), end when the context guard drops.
pub mod otel_impl {
    use opentelemetry::context::FutureExt as _;
    use opentelemetry::trace::{
        SpanBuilder, SpanKind, TraceContextExt as _, Tracer, mark_span_as_active,
    };
    use opentelemetry::{Context, KeyValue};

    fn builder(a: u64, b: &str) -> SpanBuilder {
        SpanBuilder::from_name("work")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("a", a as i64),
                KeyValue::new("b", b.to_owned()),
            ])
    }

    #[inline(never)]
    pub fn work<T: Tracer>(tracer: &T, a: u64, b: &str) -> u64
    where
        T::Span: Send + Sync + 'static,
    {
        let span = builder(a, b).start(tracer);
        // The span ends when the guard drops the context that holds it.
        let _guard = mark_span_as_active(span);
        super::body(a, b)
    }
    #[inline(never)]
    pub fn work_async<'a, T: Tracer>(
        tracer: &T,
        a: u64,
        b: &'a str,
    ) -> impl Future<Output = u64> + 'a
    where
        T::Span: Send + Sync + 'static,
    {
        let cx = Context::current_with_span(builder(a, b).start(tracer));
        async move { super::body(a, b) }.with_context(cx)
    }
    pub fn spin<'a, T: Tracer>(tracer: &T, a: u64, b: &'a str) -> impl Future<Output = u64> + 'a
    where
        T::Span: Send + Sync + 'static,
    {
        let cx = Context::current_with_span(builder(a, b).start(tracer));
        super::spin(a, b).with_context(cx)
    }

    /// The six arguments as attributes.
    fn six(a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> [KeyValue; 6] {
        [
            KeyValue::new("a", a as i64),
            KeyValue::new("b", b.to_owned()),
            KeyValue::new("c", c as i64),
            KeyValue::new("d", d.to_owned()),
            KeyValue::new("e", e as i64),
            KeyValue::new("f", f.to_owned()),
        ]
    }

    /// The two `attrs` of the traced variants.
    fn two(a: u64, b: &str) -> [KeyValue; 2] {
        [
            KeyValue::new("order.id", (a + 1) as i64),
            KeyValue::new("order.note", b.to_owned()),
        ]
    }

    /// Starts `name` with kind client and `attributes`, makes it current for `f`, ends it.
    #[allow(
        clippy::inline_always,
        reason = "one function per variant, as the macros of the other libraries make"
    )]
    #[inline(always)]
    fn in_span<T: Tracer>(
        tracer: &T,
        name: &'static str,
        attributes: impl IntoIterator<Item = KeyValue>,
        f: impl FnOnce() -> u64,
    ) -> u64
    where
        T::Span: Send + Sync + 'static,
    {
        let span = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start(tracer);
        let _guard = mark_span_as_active(span);
        f()
    }

    #[inline(never)]
    pub fn work6<T: Tracer>(tracer: &T, a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64
    where
        T::Span: Send + Sync + 'static,
    {
        in_span(tracer, "work6", six(a, b, c, d, e, f), || {
            super::body6(a, b, c, d, e, f)
        })
    }

    #[inline(never)]
    pub fn work3_attrs2<T: Tracer>(tracer: &T, a: u64, b: &str, c: u64) -> u64
    where
        T::Span: Send + Sync + 'static,
    {
        let [x, y] = two(a, b);
        let attributes = [
            KeyValue::new("a", a as i64),
            KeyValue::new("b", b.to_owned()),
            KeyValue::new("c", c as i64),
            x,
            y,
        ];
        in_span(tracer, "work3_attrs2", attributes, || super::body3(a, b, c))
    }

    #[inline(never)]
    pub fn work8<T: Tracer>(tracer: &T, a: u64, b: &str, c: u64, d: &str, e: u64, f: &str) -> u64
    where
        T::Span: Send + Sync + 'static,
    {
        let attributes = six(a, b, c, d, e, f).into_iter().chain(two(a, b));
        in_span(tracer, "work8", attributes, || {
            super::body6(a, b, c, d, e, f)
        })
    }
}

/// The libraries compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// The function without instrumentation.
    Plain,
    /// Two clock reads and a 64-byte push: the least a span can cost.
    Floor,
    /// traced with a counting processor that receives the thread's batches.
    Traced,
    /// traced with its batch processor in front of a counting exporter.
    TracedBatch,
    /// fastrace with a counting reporter.
    Fastrace,
    /// tracing with a registry and a layer that counts closed spans.
    Tracing,
    /// tracing, tracing-opentelemetry and the OpenTelemetry SDK with a counting processor.
    TracingOtel,
    /// The OpenTelemetry SDK used directly, with a counting processor.
    Otel,
    /// The OpenTelemetry SDK used directly, with its batch processor in front of a counting
    /// exporter.
    OtelBatch,
    /// [`Lib::Traced`] with the lazy `tracing` bridge installed:
    /// `traced::tracing::registry().with(traced::tracing::layer())` (feature `bridge`).
    TracedLazy,
    /// [`Lib::Traced`] with the eager `tracing` bridge installed:
    /// `tracing_subscriber::registry().with(traced::tracing::layer())` (feature `bridge`).
    TracedEager,
    /// The `tracing` function ([`Lib::Tracing`]'s) through traced's layer on the lazy
    /// registry, traced's counting processor behind it (feature `bridge`).
    TracingBridge,
}

impl Lib {
    pub const ALL: [Lib; 12] = [
        Lib::Plain,
        Lib::Floor,
        Lib::Traced,
        Lib::TracedBatch,
        Lib::Fastrace,
        Lib::Tracing,
        Lib::TracingOtel,
        Lib::Otel,
        Lib::OtelBatch,
        Lib::TracedLazy,
        Lib::TracedEager,
        Lib::TracingBridge,
    ];
    pub const fn id(self) -> &'static str {
        match self {
            Lib::Plain => "plain",
            Lib::Floor => "floor",
            Lib::Traced => "traced",
            Lib::TracedBatch => "traced-batch",
            Lib::Fastrace => "fastrace",
            Lib::Tracing => "tracing",
            Lib::TracingOtel => "tracing-otel",
            Lib::Otel => "otel-sdk",
            Lib::OtelBatch => "otel-sdk-batch",
            Lib::TracedLazy => "traced-lazy",
            Lib::TracedEager => "traced-eager",
            Lib::TracingBridge => "tracing-bridge",
        }
    }
}

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The plain function and the raw floor.
    Baseline,
    /// Nothing installed.
    Disabled,
    /// A sampler that drops everything, the call inside an unsampled root.
    Unsampled,
    /// A sampled span inside a sampled root, called back to back: background pipelines see
    /// a sustained load.
    Child,
    /// [`Scenario::Child`] in bursts of [`BURST`] calls, each background pipeline drained
    /// between bursts, outside the timed region.
    ChildBurst,
    /// A sampled span with no parent: a new trace per call, called back to back.
    Root,
    /// [`Scenario::Root`] in bursts of [`BURST`] calls, each background pipeline drained
    /// between bursts, outside the timed region.
    RootBurst,
    /// An `async fn` inside a sampled root: created and polled to completion.
    AsyncCall,
    /// One poll of a long-lived instrumented future that yields every time.
    AsyncPoll,
    /// [`Scenario::ChildBurst`] with six arguments (three `u64`, three `&str`).
    Child6,
    /// [`Scenario::ChildBurst`] with three arguments and two more attributes (`attrs(..)`,
    /// tracing's extra fields, fastrace's extra properties).
    Child3Attrs2,
    /// [`Scenario::ChildBurst`] with six arguments and two more attributes: eight.
    Child8,
    /// [`Scenario::Child`] while a second thread ends the same spans back to back: the
    /// measured thread's cost per span with two threads ending spans at once.
    TwoThreads,
    /// [`Scenario::TwoThreads`] in bursts: both threads make [`BURST`]` / 2` calls at once,
    /// the pipeline drained between bursts (so [`BURST`] spans per burst, as in
    /// [`Scenario::ChildBurst`]): the hand-over with two threads when the worker keeps up.
    TwoThreadsBurst,
    /// The `tracing` bridge (feature `bridge`; without it the scenario has no cases): a
    /// `#[traced]` child with the feature compiled and no layer, with the lazy and the eager
    /// bridge installed; the `tracing` function through traced's layer, through
    /// tracing-opentelemetry, and through a counting layer.
    Bridge,
}

impl Scenario {
    pub const ALL: [Scenario; 15] = [
        Scenario::Baseline,
        Scenario::Disabled,
        Scenario::Unsampled,
        Scenario::Child,
        Scenario::ChildBurst,
        Scenario::Root,
        Scenario::RootBurst,
        Scenario::AsyncCall,
        Scenario::AsyncPoll,
        Scenario::Child6,
        Scenario::Child3Attrs2,
        Scenario::Child8,
        Scenario::TwoThreads,
        Scenario::TwoThreadsBurst,
        Scenario::Bridge,
    ];
    pub const fn id(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Disabled => "disabled",
            Scenario::Unsampled => "unsampled",
            Scenario::Child => "child",
            Scenario::ChildBurst => "child_burst",
            Scenario::Root => "root",
            Scenario::RootBurst => "root_burst",
            Scenario::AsyncCall => "async_call",
            Scenario::AsyncPoll => "async_poll",
            Scenario::Child6 => "child6",
            Scenario::Child3Attrs2 => "child3_attrs2",
            Scenario::Child8 => "child8",
            Scenario::TwoThreads => "two_threads",
            Scenario::TwoThreadsBurst => "two_threads_burst",
            Scenario::Bridge => "bridge",
        }
    }
    /// The libraries measured in this scenario, in table order.
    pub const fn libs(self) -> &'static [Lib] {
        use Lib::{
            Fastrace, Floor, Otel, OtelBatch, Plain, Traced, TracedBatch, TracedEager, TracedLazy,
            Tracing, TracingBridge, TracingOtel,
        };
        match self {
            Scenario::Baseline => &[Plain, Floor],
            // With nothing installed, tracing-opentelemetry is tracing.
            Scenario::Disabled => &[Traced, Fastrace, Tracing, Otel],
            Scenario::Unsampled => &[Traced, Fastrace, Tracing, TracingOtel, Otel],
            // Everyone runs the burst scenarios too: for the libraries without a background
            // thread, draining does nothing, and their burst figure shows what the pauses
            // alone change.
            Scenario::Child | Scenario::ChildBurst | Scenario::Root | Scenario::RootBurst => &[
                Traced,
                TracedBatch,
                Fastrace,
                Tracing,
                TracingOtel,
                Otel,
                OtelBatch,
            ],
            Scenario::AsyncCall | Scenario::AsyncPoll => {
                &[Plain, Traced, Fastrace, Tracing, TracingOtel, Otel]
            }
            // The calling thread's cost as the attributes grow: each library's synchronous
            // pipeline (and fastrace's, drained between bursts).
            Scenario::Child6 | Scenario::Child3Attrs2 | Scenario::Child8 => {
                &[Traced, Fastrace, Tracing, Otel]
            }
            Scenario::TwoThreads | Scenario::TwoThreadsBurst => &[Traced, TracedBatch],
            Scenario::Bridge => {
                if cfg!(feature = "bridge") {
                    &[
                        Traced,
                        TracedLazy,
                        TracedEager,
                        Tracing,
                        TracingBridge,
                        TracingOtel,
                    ]
                } else {
                    &[]
                }
            }
        }
    }
    /// Whether the calls come in bursts of [`BURST`], background pipelines drained between.
    pub const fn is_burst(self) -> bool {
        matches!(
            self,
            Scenario::ChildBurst
                | Scenario::RootBurst
                | Scenario::Child6
                | Scenario::Child3Attrs2
                | Scenario::Child8
        )
    }
}

/// One measurement: a scenario and a library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    pub scenario: Scenario,
    pub lib: Lib,
}

impl Case {
    /// Every case the benchmark runs, in order.
    pub fn all() -> Vec<Case> {
        Scenario::ALL
            .iter()
            .flat_map(|&scenario| {
                scenario
                    .libs()
                    .iter()
                    .map(move |&lib| Case { scenario, lib })
            })
            .collect()
    }
    /// `scenario/lib`, as criterion names it.
    pub fn id(self) -> String {
        format!("{}/{}", self.scenario.id(), self.lib.id())
    }
    /// Parses [`Case::id`].
    pub fn parse(id: &str) -> Option<Case> {
        let (s, l) = id.split_once('/')?;
        Some(Case {
            scenario: *Scenario::ALL.iter().find(|x| x.id() == s)?,
            lib: *Lib::ALL.iter().find(|x| x.id() == l)?,
        })
    }
    fn sampled(self) -> bool {
        self.scenario != Scenario::Unsampled
    }
    fn has_root(self) -> bool {
        !matches!(
            self.scenario,
            Scenario::Baseline | Scenario::Disabled | Scenario::Root | Scenario::RootBurst
        )
    }
}

/// Something that measures the inner loops: a timer, an allocation counter.
pub trait Meter {
    fn begin(&mut self);
    fn end(&mut self);
}

/// The state a case keeps for the whole process.
enum Installed {
    Nothing,
    /// Held for the whole process (dropping it uninstalls); read for the processor's counts.
    Traced(traced::pipeline::PipelineGuard),
    Otel {
        provider: opentelemetry_sdk::trace::SdkTracerProvider,
        tracer: opentelemetry_sdk::trace::SdkTracer,
    },
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Installs what `case` needs, once per process, globally (as an application would).
pub fn install(case: Case) {
    INSTALLED.get_or_init(|| install_inner(case));
}

/// What traced's processor counted so far in this process, as one JSON object (`received`,
/// `exported`, `dropped`: refused by a full queue or shed at their start while it stayed
/// full), when the case installed a traced processor that counts (the batch processor).
pub fn traced_stats_json() -> Option<String> {
    let Some(Installed::Traced(guard)) = INSTALLED.get() else {
        return None;
    };
    let stats = guard.pipeline().processor().stats();
    (stats.received > 0).then(|| {
        format!(
            "{{\"received\":{},\"exported\":{},\"dropped\":{}}}",
            stats.received, stats.exported, stats.dropped
        )
    })
}

/// The caller installed its own pipeline: [`run`] installs nothing.
pub fn installed_by_caller() {
    let _ = INSTALLED.set(Installed::Nothing);
}

/// The caller built its own OpenTelemetry tracer provider: [`run`] uses a tracer from it.
pub fn set_otel_provider(provider: opentelemetry_sdk::trace::SdkTracerProvider) {
    let _ = INSTALLED.set(otel(provider));
}

fn otel(provider: opentelemetry_sdk::trace::SdkTracerProvider) -> Installed {
    use opentelemetry::trace::TracerProvider as _;
    let tracer = provider.tracer("bench");
    Installed::Otel { provider, tracer }
}

fn install_inner(case: Case) -> Installed {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    if matches!(case.scenario, Scenario::Baseline | Scenario::Disabled) {
        return Installed::Nothing;
    }
    let sampled = case.sampled();
    match case.lib {
        Lib::Plain | Lib::Floor => Installed::Nothing,
        Lib::Traced => {
            let policy = if sampled {
                traced::Sampler::AlwaysOn
            } else {
                traced::Sampler::AlwaysOff
            };
            Installed::Traced(
                traced::pipeline::Pipeline::builder()
                    .with_processor(sinks::TracedCountingProcessor)
                    .with_sampler(policy)
                    .install(),
            )
        }
        Lib::TracedBatch => Installed::Traced(
            traced::pipeline::Pipeline::builder()
                .with_batch_exporter(sinks::TracedCountingExporter)
                .with_sampler(if sampled {
                    traced::Sampler::AlwaysOn
                } else {
                    traced::Sampler::AlwaysOff
                })
                .install(),
        ),
        Lib::Fastrace => {
            fastrace::set_reporter(
                sinks::FastraceCountingReporter,
                fastrace::collector::Config::default(),
            );
            Installed::Nothing
        }
        Lib::Tracing => {
            if sampled {
                let subscriber = tracing_subscriber::registry().with(sinks::CountingLayer);
                tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            } else {
                // tracing has no sampler: its "off" is a level filter that rejects the span.
                let subscriber = tracing_subscriber::registry()
                    .with(tracing_subscriber::filter::LevelFilter::WARN)
                    .with(sinks::CountingLayer);
                tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            }
            Installed::Nothing
        }
        Lib::TracingOtel => {
            let provider = sinks::otel_provider(sampled);
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            Installed::Nothing
        }
        Lib::Otel => otel(sinks::otel_provider(sampled)),
        Lib::OtelBatch => otel(sinks::otel_batch_provider(sampled)),
        Lib::TracedLazy | Lib::TracedEager | Lib::TracingBridge => install_bridge(case.lib),
    }
}

/// traced's counting pipeline and the `tracing` bridge on the lazy registry (or, for
/// [`Lib::TracedEager`], on `tracing_subscriber`'s own).
#[cfg(feature = "bridge")]
fn install_bridge(lib: Lib) -> Installed {
    use tracing_subscriber::layer::SubscriberExt as _;
    let guard = traced::pipeline::Pipeline::builder()
        .with_processor(sinks::TracedCountingProcessor)
        .with_sampler(traced::Sampler::AlwaysOn)
        .install();
    let installed = if lib == Lib::TracedEager {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(traced::tracing::layer()),
        )
    } else {
        tracing::subscriber::set_global_default(
            traced::tracing::registry().with(traced::tracing::layer()),
        )
    };
    installed.expect("first subscriber");
    Installed::Traced(guard)
}

#[cfg(not(feature = "bridge"))]
fn install_bridge(lib: Lib) -> Installed {
    panic!(
        "{}: the bridge cases need `--features bridge` (traced's `tracing` feature)",
        lib.id()
    )
}

fn otel_tracer() -> &'static opentelemetry_sdk::trace::SdkTracer {
    match INSTALLED.get() {
        Some(Installed::Otel { tracer, .. }) => tracer,
        _ => unreachable!("install(case) first"),
    }
}

/// Waits until everything `lib` has recorded so far went through its pipeline: exported (or
/// reported) and dropped, background threads included. Libraries with no background work
/// have nothing to wait for.
fn drain(lib: Lib) {
    const TIMEOUT: Duration = Duration::from_secs(10);
    match lib {
        Lib::Traced
        | Lib::TracedBatch
        | Lib::TracedLazy
        | Lib::TracedEager
        | Lib::TracingBridge => {
            traced::pipeline::force_flush(TIMEOUT).expect("traced drains");
        }
        // Runs the collector's work on a thread of its own and joins it.
        Lib::Fastrace => fastrace::flush(),
        Lib::Otel | Lib::OtelBatch => {
            if let Some(Installed::Otel { provider, .. }) = INSTALLED.get() {
                provider.force_flush().expect("the SDK drains");
            }
        }
        // No background work: a layer (tracing), a synchronous processor (tracing-otel).
        Lib::Plain | Lib::Floor | Lib::Tracing | Lib::TracingOtel => {}
    }
}

/// Runs `f` inside the root span of `case`'s library (or directly, when the case has none).
fn with_root(case: Case, f: &mut dyn FnMut()) {
    if !case.has_root() {
        return f();
    }
    match case.lib {
        Lib::Plain | Lib::Floor => f(),
        // A `tracing` span through the bridge is called from traced code: its parent is a
        // traced span.
        Lib::Traced
        | Lib::TracedBatch
        | Lib::TracedLazy
        | Lib::TracedEager
        | Lib::TracingBridge => {
            let mut root = traced::span("root").start();
            root.in_scope(f);
            root.end();
        }
        Lib::Fastrace => {
            let cx = fastrace::prelude::SpanContext::random().sampled(case.sampled());
            let root = fastrace::Span::root("root", cx);
            let _guard = root.set_local_parent();
            f();
        }
        Lib::Tracing | Lib::TracingOtel => tracing::info_span!("root").in_scope(f),
        Lib::Otel | Lib::OtelBatch => {
            use opentelemetry::trace::Tracer as _;
            let root = otel_tracer().start("root");
            let _guard = opentelemetry::trace::mark_span_as_active(root);
            f();
        }
    }
}

/// Runs `iters` calls of `case`, in roots of [`CHUNK`] calls when the case has a root, and
/// in bursts of [`BURST`] calls with the library's pipeline drained before each, when the
/// scenario is a burst one; `meter` sees only the calls, never the roots or the draining.
pub fn run(case: Case, iters: u64, meter: &mut impl Meter) {
    install(case);
    if case.scenario == Scenario::TwoThreads {
        return second_thread::alongside(case, None, || run_roots(case, iters, meter));
    }
    if case.scenario == Scenario::TwoThreadsBurst {
        let mut left = iters;
        while left > 0 {
            let n = left.min(BURST / 2);
            drain(case.lib);
            second_thread::alongside(case, Some(n), || run_roots(case, n, meter));
            left -= n;
        }
        return;
    }
    if !case.scenario.is_burst() {
        return run_roots(case, iters, meter);
    }
    let mut left = iters;
    while left > 0 {
        let n = left.min(BURST);
        drain(case.lib);
        run_roots(case, n, meter);
        left -= n;
    }
}

/// `iters` calls of `case`, in roots of [`CHUNK`] calls when the case has a root.
fn run_roots(case: Case, iters: u64, meter: &mut impl Meter) {
    let chunk = if case.has_root() { CHUNK } else { iters.max(1) };
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk);
        with_root(case, &mut || calls(case, n, meter));
        left -= n;
    }
}

/// `n` timed calls (or polls) of `case`.
fn calls(case: Case, n: u64, meter: &mut impl Meter) {
    let c = case;
    match (c.scenario, c.lib) {
        (Scenario::AsyncCall, lib) => match lib {
            Lib::Plain => async_calls(n, meter, plain::work_async),
            Lib::Traced | Lib::TracedBatch => async_calls(n, meter, traced_impl::work_async),
            Lib::Fastrace => async_calls(n, meter, fastrace_impl::work_async),
            Lib::Tracing | Lib::TracingOtel => async_calls(n, meter, tracing_impl::work_async),
            Lib::Otel | Lib::OtelBatch => {
                async_calls(n, meter, |a, b| otel_impl::work_async(otel_tracer(), a, b));
            }
            Lib::Floor | Lib::TracedLazy | Lib::TracedEager | Lib::TracingBridge => {
                unreachable!()
            }
        },
        (Scenario::AsyncPoll, lib) => match lib {
            Lib::Plain => polls(n, meter, plain::spin),
            Lib::Traced | Lib::TracedBatch => polls(n, meter, traced_impl::spin),
            Lib::Fastrace => polls(n, meter, fastrace_impl::spin),
            Lib::Tracing | Lib::TracingOtel => polls(n, meter, tracing_impl::spin),
            Lib::Otel | Lib::OtelBatch => {
                polls(n, meter, |a, b| otel_impl::spin(otel_tracer(), a, b));
            }
            Lib::Floor | Lib::TracedLazy | Lib::TracedEager | Lib::TracingBridge => {
                unreachable!()
            }
        },
        (Scenario::Child6, lib) => match lib {
            Lib::Fastrace => sync_calls(n, meter, six(fastrace_impl::work6)),
            Lib::Tracing => sync_calls(n, meter, six(tracing_impl::work6)),
            Lib::Otel => sync_calls(
                n,
                meter,
                six(|a, b, c, d, e, f| otel_impl::work6(otel_tracer(), a, b, c, d, e, f)),
            ),
            _ => sync_calls(n, meter, six(traced_impl::work6)),
        },
        (Scenario::Child3Attrs2, lib) => match lib {
            Lib::Fastrace => sync_calls(n, meter, three(fastrace_impl::work3_attrs2)),
            Lib::Tracing => sync_calls(n, meter, three(tracing_impl::work3_attrs2)),
            Lib::Otel => sync_calls(
                n,
                meter,
                three(|a, b, c| otel_impl::work3_attrs2(otel_tracer(), a, b, c)),
            ),
            _ => sync_calls(n, meter, three(traced_impl::work3_attrs2)),
        },
        (Scenario::Child8, lib) => match lib {
            Lib::Fastrace => sync_calls(n, meter, six(fastrace_impl::work8)),
            Lib::Tracing => sync_calls(n, meter, six(tracing_impl::work8)),
            Lib::Otel => sync_calls(
                n,
                meter,
                six(|a, b, c, d, e, f| otel_impl::work8(otel_tracer(), a, b, c, d, e, f)),
            ),
            _ => sync_calls(n, meter, six(traced_impl::work8)),
        },
        (Scenario::Disabled, Lib::Otel) => {
            // Nothing installed: the global tracer is OpenTelemetry's no-op.
            let tracer = opentelemetry::global::tracer("bench");
            sync_calls(n, meter, |a, b| otel_impl::work(&tracer, a, b));
        }
        (Scenario::Root | Scenario::RootBurst, Lib::Fastrace) => {
            sync_calls(n, meter, fastrace_impl::work_root);
        }
        (_, lib) => match lib {
            Lib::Plain => sync_calls(n, meter, plain::work),
            Lib::Floor => sync_calls(n, meter, floor::work),
            Lib::Traced | Lib::TracedBatch | Lib::TracedLazy | Lib::TracedEager => {
                sync_calls(n, meter, traced_impl::work);
            }
            Lib::Fastrace => sync_calls(n, meter, fastrace_impl::work),
            Lib::Tracing | Lib::TracingOtel | Lib::TracingBridge => {
                sync_calls(n, meter, tracing_impl::work);
            }
            Lib::Otel | Lib::OtelBatch => {
                sync_calls(n, meter, |a, b| otel_impl::work(otel_tracer(), a, b));
            }
        },
    }
}

/// A six-argument function as a two-argument one: the other four are `A + 1`, [`C`],
/// `A + 2` and [`B`], each through `black_box`.
#[allow(
    clippy::inline_always,
    reason = "inlined into the measured loop, as the two-argument call is"
)]
#[inline(always)]
fn six(f: impl Fn(u64, &str, u64, &str, u64, &str) -> u64) -> impl Fn(u64, &str) -> u64 {
    move |a, b: &str| {
        f(
            a,
            b,
            black_box(A + 1),
            black_box(C),
            black_box(A + 2),
            black_box(B),
        )
    }
}

/// A three-argument function as a two-argument one: the third is `A + 1`, through
/// `black_box`.
#[allow(
    clippy::inline_always,
    reason = "inlined into the measured loop, as the two-argument call is"
)]
#[inline(always)]
fn three(f: impl Fn(u64, &str, u64) -> u64) -> impl Fn(u64, &str) -> u64 {
    move |a, b: &str| f(a, b, black_box(A + 1))
}

#[allow(
    clippy::inline_always,
    reason = "the measured loop must sit in the caller, like criterion's own"
)]
#[inline(always)]
fn sync_calls(n: u64, meter: &mut impl Meter, f: impl Fn(u64, &str) -> u64) {
    meter.begin();
    for _ in 0..n {
        black_box(f(black_box(A), black_box(B)));
    }
    meter.end();
}

#[allow(
    clippy::inline_always,
    reason = "the measured loop must sit in the caller, like criterion's own"
)]
#[inline(always)]
fn async_calls<F: Future<Output = u64>>(
    n: u64,
    meter: &mut impl Meter,
    f: impl Fn(u64, &'static str) -> F,
) {
    let mut cx = Context::from_waker(Waker::noop());
    meter.begin();
    for _ in 0..n {
        let fut = pin!(f(black_box(A), black_box(B)));
        match fut.poll(&mut cx) {
            Poll::Ready(v) => {
                black_box(v);
            }
            Poll::Pending => unreachable!("the body never waits"),
        }
    }
    meter.end();
}

#[allow(
    clippy::inline_always,
    reason = "the measured loop must sit in the caller, like criterion's own"
)]
#[inline(always)]
fn polls<F: Future<Output = u64>>(
    n: u64,
    meter: &mut impl Meter,
    f: impl Fn(u64, &'static str) -> F,
) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut fut = pin!(f(black_box(A), black_box(B)));
    // The first poll starts the body; the measured ones each resume it for one iteration.
    let _ = fut.as_mut().poll(&mut cx);
    meter.begin();
    for _ in 0..n {
        black_box(fut.as_mut().poll(&mut cx).is_ready());
    }
    meter.end();
}

/// A [`Meter`] that measures nothing: for runs measured from outside.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nothing;

impl Meter for Nothing {
    fn begin(&mut self) {}
    fn end(&mut self) {}
}

/// The second thread of [`Scenario::TwoThreads`] and [`Scenario::TwoThreadsBurst`]: started
/// once per process (as a service's threads live), it ends spans of the same case, in roots
/// of [`CHUNK`], while the measured thread runs, and waits (parked, costing nothing) in
/// between.
mod second_thread {
    use super::{CHUNK, Case, Nothing, run_roots};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
    use std::thread::Thread;

    const IDLE: u8 = 0;
    const GO: u8 = 1;
    const RUNNING: u8 = 2;
    const STOP: u8 = 3;

    static STATE: AtomicU8 = AtomicU8::new(IDLE);
    /// Calls to make once started; 0: until stopped.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    static THREAD: OnceLock<Thread> = OnceLock::new();

    /// Runs `f` on this thread while the second thread ends spans of `case`: `calls` of them,
    /// or (`None`) back to back until `f` returns. It is running before `f` starts; this
    /// returns once it is done (its last root ended).
    pub(super) fn alongside(case: Case, calls: Option<u64>, f: impl FnOnce()) {
        let thread = THREAD.get_or_init(|| {
            std::thread::Builder::new()
                .name("second".into())
                .spawn(move || work(case))
                .expect("spawn the second thread")
                .thread()
                .clone()
        });
        CALLS.store(calls.unwrap_or(0), Ordering::Relaxed);
        STATE.store(GO, Ordering::Release);
        thread.unpark();
        while STATE.load(Ordering::Acquire) != RUNNING {
            std::thread::yield_now();
        }
        f();
        STATE.store(STOP, Ordering::Release);
        thread.unpark();
        while STATE.load(Ordering::Acquire) != IDLE {
            std::thread::yield_now();
        }
    }

    fn work(case: Case) {
        loop {
            while STATE.load(Ordering::Acquire) != GO {
                std::thread::park();
            }
            STATE.store(RUNNING, Ordering::Release);
            match CALLS.load(Ordering::Relaxed) {
                0 => {
                    while STATE.load(Ordering::Relaxed) == RUNNING {
                        run_roots(case, CHUNK, &mut Nothing);
                    }
                }
                calls => {
                    run_roots(case, calls, &mut Nothing);
                    // Done first: out of the way of the measured thread until it is.
                    while STATE.load(Ordering::Acquire) != STOP {
                        std::thread::park();
                    }
                }
            }
            STATE.store(IDLE, Ordering::Release);
        }
    }
}

/// A [`Meter`] that adds up the wall time of the inner loops.
#[derive(Debug, Default)]
pub struct Timer {
    pub total: std::time::Duration,
    start: Option<std::time::Instant>,
}

impl Meter for Timer {
    #[inline]
    fn begin(&mut self) {
        self.start = Some(std::time::Instant::now());
    }
    #[inline]
    fn end(&mut self) {
        if let Some(s) = self.start.take() {
            self.total += s.elapsed();
        }
    }
}

/// Reads `/proc/self/status` fields such as `VmHWM` and `VmRSS`, in KiB.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// User + system CPU time of the whole process (all threads, live or joined), in ns.
pub fn process_cpu_ns() -> u64 {
    // SAFETY: `rusage` is plain old data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`, and RUSAGE_SELF a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// Calls between two pauses of a paced run: 2048, about 1 ms at 2 M calls/s.
const PACED_CHUNK: u64 = 8 * CHUNK;

/// One paced run of the production pipeline into OTLP: `calls` sampled children (in roots of
/// [`CHUNK`]) at `rate` calls per second from one thread, through traced's batch processor
/// (default `BatchConfig`) into traced's OTLP encoder (as `throughput paced traced-otlp`, at
/// any rate), the thread sleeping between chunks of 2048 calls. Installs the pipeline: one
/// run per process. Returns one JSON object (mode `paced-search`): spans made, exported and
/// dropped, the rate reached, and the process CPU per exported span.
pub fn paced_otlp(rate: u64, calls: u64) -> String {
    use std::time::Instant;
    installed_by_caller();
    let guard = traced::pipeline::Pipeline::builder()
        .with_batch_exporter(sinks::TracedOtlpEncodingExporter::default())
        .with_sampler(traced::Sampler::AlwaysOn)
        .install();
    let case = Case {
        scenario: Scenario::Child,
        lib: Lib::Traced,
    };
    // One root first, so that the one-time setup is not counted; exported before the count
    // starts, so that its spans are not counted as the run's.
    run(case, CHUNK, &mut Nothing);
    let _ = traced::pipeline::force_flush(Duration::from_secs(5));
    let spans_before = SPANS.load(Ordering::Relaxed);
    let cpu_before = process_cpu_ns();
    let start = Instant::now();
    let pacing = pace(case, calls, rate, PACED_CHUNK);
    let done = pacing.calls;
    let calling = start.elapsed();
    let pipeline = guard.pipeline();
    drop(guard);
    let stats = pipeline.processor().stats();
    let cpu = process_cpu_ns() - cpu_before;
    let made = done + done / CHUNK;
    let exported = SPANS.load(Ordering::Relaxed) - spans_before;
    format!(
        "{{\"mode\":\"paced-search\",\"lib\":\"traced-otlp\",\"rate\":{rate},\"reached_rate\":{:.0},\"spans\":{made},\"exported\":{exported},\"dropped\":{},\"failed\":{},\"cpu_ns_per_span\":{:.1},\"cpu_ns_per_exported_span\":{:.1},\"caller_behind_max_us\":{},\"caller_restarts\":{}}}",
        done as f64 / calling.as_secs_f64(),
        stats.dropped,
        stats.failed,
        cpu as f64 / made as f64,
        cpu as f64 / exported.max(1) as f64,
        pacing.behind_max.as_micros(),
        pacing.restarts,
    )
}

/// How a paced thread kept to its schedule (see [`pace`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pacing {
    /// Calls made.
    pub calls: u64,
    /// The most it fell behind its schedule: how long the host kept it off a core, at most.
    pub behind_max: Duration,
    /// The most calls it made without sleeping in between.
    pub burst_max: u64,
    /// How many times it fell more than a chunk behind and started its schedule again.
    pub restarts: u64,
}

/// Runs `calls` calls of `case` at `rate` calls per second, in chunks of `chunk` calls with a
/// sleep between two (a sleeping thread costs no CPU).
///
/// A thread that falls more than one chunk's time behind its schedule (the host kept it off
/// its core: seen here for 4 to 34 ms on the shared 2-core machine) does not make the missed
/// calls up in one burst: it starts its schedule again from where it is (counted in
/// `restarts`). Made up, a 30 ms stall at 2 M calls/s would come out as 60 000 calls back to
/// back, which is a flat-out run (measured apart, in the `cpu` rows) and not the steady rate
/// this run is for. The rate reached over the whole run shows what the stalls took.
pub fn pace(case: Case, calls: u64, rate: u64, chunk: u64) -> Pacing {
    use std::time::Instant;
    let chunk_time = Duration::from_nanos(chunk * 1_000_000_000 / rate);
    let mut pacing = Pacing::default();
    let mut anchor = Instant::now();
    let mut since_anchor = 0;
    let mut burst = 0;
    while pacing.calls < calls {
        run(case, chunk, &mut Nothing);
        pacing.calls += chunk;
        since_anchor += chunk;
        burst += chunk;
        let due = anchor + Duration::from_nanos(since_anchor * 1_000_000_000 / rate);
        let now = Instant::now();
        if let Some(wait) = due.checked_duration_since(now) {
            pacing.burst_max = pacing.burst_max.max(burst);
            burst = 0;
            std::thread::sleep(wait);
        } else {
            let behind = now - due;
            pacing.behind_max = pacing.behind_max.max(behind);
            if behind > chunk_time {
                pacing.restarts += 1;
                anchor = now;
                since_anchor = 0;
            }
        }
    }
    pacing.burst_max = pacing.burst_max.max(burst);
    pacing
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_paced_run_keeps_to_its_rate_and_never_makes_up_a_stall_in_one_burst() {
        let case = Case::parse("baseline/plain").expect("a case");
        let start = Instant::now();
        let pacing = pace(case, 100_000, 1_000_000, 1000);
        let took = start.elapsed();
        assert_eq!(pacing.calls, 100_000);
        // 100 000 calls at 1 M/s: 100 ms, less the last chunk's sleep, at the least.
        assert!(
            took >= Duration::from_millis(99),
            "{took:?}: faster than the rate"
        );
        // Behind by more than a chunk's time, it starts its schedule again instead of making
        // the missed calls up: a burst is a few chunks at most, whatever the host's stalls
        // (catching up, a 5 ms stall would come out as 5000 calls back to back).
        assert!(pacing.burst_max <= 5 * 1000, "{pacing:?}");
    }
}
