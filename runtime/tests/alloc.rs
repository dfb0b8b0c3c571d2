//! Ending spans through the batch processor allocates nothing on the calling thread once the
//! pipeline runs: record boxes and batches come back from the worker, as many as went.
//!
//! A test binary of its own, for its counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;
use traced_runtime::export::NoopExporter;
use traced_runtime::pipeline::{BatchConfig, Pipeline};
use traced_runtime::{Sampler, span};

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

#[test]
fn ending_spans_through_the_batch_processor_allocates_nothing_once_it_runs() {
    let guard = Pipeline::builder()
        .with_batch_exporter_config(
            NoopExporter,
            BatchConfig::default()
                .with_max_queue_size(8192)
                .with_max_export_batch_size(8192)
                .with_scheduled_delay(Duration::from_secs(3600)),
        )
        .with_sampler(Sampler::AlwaysOn)
        .install();
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
        round(&guard, roots, children);
    }
    let before = allocs();
    for _ in 0..2 {
        for (roots, children) in rounds {
            round(&guard, roots, children);
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
