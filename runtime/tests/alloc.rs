//! Ending spans through the batch processor allocates nothing on the calling thread once the
//! pipeline runs: record boxes and batches come back from the worker, as many as went. A span
//! that does not record allocates nothing for its name.
//!
//! A test binary of its own, for its counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Duration;
use traced_runtime::export::NoopExporter;
use traced_runtime::model::{TraceFlags, TraceState};
use traced_runtime::pipeline::{BatchConfig, Pipeline, PipelineGuard};
use traced_runtime::{Sampler, SpanContext, SpanId, TraceId, span};

struct Counting;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// touches only a const-initialized thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `GlobalAlloc::alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// One root with `children` children, each with two attributes: handed over in full local
/// batches, then a short one when the root ends.
fn root(children: usize) {
    let mut root = span("root").start();
    root.in_scope(|| {
        for i in 0..children {
            let mut child = span("child").start();
            child.set_attribute("n", i as i64);
            child.set_attribute("s", "a short string");
            child.end();
        }
    });
    root.end();
}

/// `roots` roots of `children` children each, then a flush: the worker exports only then, so
/// that every batch of the round waits in the queue with its boxes, as when the worker lags.
fn round(guard: &traced_runtime::pipeline::PipelineGuard, roots: usize, children: usize) {
    for _ in 0..roots {
        root(children);
    }
    guard.force_flush(Duration::from_secs(10)).unwrap();
}

/// The pipeline of this binary's tests, installed once: OpenTelemetry's default sampler
/// (`ParentBased(root = AlwaysOn)`), a batch processor that exports only when flushed.
fn pipeline() -> &'static PipelineGuard {
    static GUARD: OnceLock<PipelineGuard> = OnceLock::new();
    GUARD.get_or_init(|| {
        Pipeline::builder()
            .with_batch_exporter_config(
                NoopExporter,
                BatchConfig::default()
                    .with_max_queue_size(8192)
                    .with_max_export_batch_size(8192)
                    .with_scheduled_delay(Duration::from_secs(3600)),
            )
            .with_sampler(Sampler::parent_based(Sampler::AlwaysOn))
            .install()
    })
}

#[test]
fn ending_spans_through_the_batch_processor_allocates_nothing_once_it_runs() {
    let guard = pipeline();
    // Roots of every size: full local batches, short ones, one batch per root.
    let rounds = [
        (8, 256),
        (20, 3),
        (5, 100),
        (8, 64),
        (8, 63),
        (100, 1),
        (4, 200),
    ];
    // Warm up: the thread's pool, and as many boxes and batches in circulation as the
    // largest round holds.
    for (roots, children) in rounds {
        round(guard, roots, children);
    }
    let before = allocs();
    for _ in 0..2 {
        for (roots, children) in rounds {
            round(guard, roots, children);
        }
    }
    let made = allocs() - before;
    assert_eq!(
        made, 0,
        "allocations on the calling thread once the pipeline runs"
    );
    let stats = guard.pipeline().processor().stats();
    assert_eq!(stats.dropped + stats.failed, 0, "{stats:?}");
}

/// A remote caller's span that it did not sample, as a `traceparent` with flags `00` gives it.
fn unsampled_caller() -> SpanContext {
    SpanContext::new(
        TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
        TraceFlags::default(),
        true,
        TraceState::NONE,
    )
}

#[test]
fn a_span_that_does_not_record_allocates_nothing_for_its_name() {
    let _ = pipeline();
    let caller = unsampled_caller();
    // Warm up the thread's pool of record boxes.
    for _ in 0..2 {
        let name = String::from("GET /users/{id}");
        span(name).parent(caller.clone()).start().end();
    }
    for round in 0..100 {
        // Named at run time, as servers name their spans: the name is made before counting.
        let name = format!("GET /users/{{id}} {round}");
        let before = allocs();
        let s = span(name).parent(caller.clone()).start();
        assert!(!s.is_recording());
        // It still carries the caller's trace, to propagate it.
        assert_eq!(s.span_context().trace_id(), caller.trace_id());
        assert!(!s.span_context().is_sampled());
        s.end();
        assert_eq!(allocs() - before, 0, "allocations for an unsampled span");
    }
}
