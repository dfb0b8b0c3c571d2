//! Heap allocations per call on the calling thread, for traced and each rival.
//!
//! A counting global allocator keeps a thread-local count, so background threads (fastrace's
//! collector, traced's batch worker) are not counted: this is what the instrumented code's own
//! thread pays. Each case runs in a process of its own; with no argument this binary runs every
//! case and prints one JSON object per line: `{"case", "allocs_per_call", "bytes_per_call"}`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::process::Command;
use traced_benches::{Case, Lib, Meter, Scenario};

struct Counting;

thread_local! {
    /// (allocations, bytes) made by this thread.
    static COUNT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn note(bytes: usize) {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = COUNT.try_with(|c| {
        let (n, b) = c.get();
        c.set((n + 1, b + bytes as u64));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// touches only a const-initialized thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract for `GlobalAlloc::alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
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

/// Counts this thread's allocations inside the measured loops only.
#[derive(Default)]
struct Allocs {
    at_begin: (u64, u64),
    total: (u64, u64),
}

impl Meter for Allocs {
    fn begin(&mut self) {
        self.at_begin = COUNT.with(Cell::get);
    }
    fn end(&mut self) {
        let (n, b) = COUNT.with(Cell::get);
        self.total.0 += n - self.at_begin.0;
        self.total.1 += b - self.at_begin.1;
    }
}

/// The cases counted: the sampled child for everyone, and traced's other paths.
fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = [
        Lib::Traced,
        Lib::TracedBatch,
        Lib::Fastrace,
        Lib::Tracing,
        Lib::TracingOtel,
        Lib::Otel,
    ]
    .into_iter()
    .map(|lib| Case {
        scenario: Scenario::Child,
        lib,
    })
    .collect();
    for scenario in [
        Scenario::Disabled,
        Scenario::Unsampled,
        Scenario::Root,
        Scenario::AsyncCall,
        Scenario::AsyncPoll,
        // The wider children: six arguments, three and two `attrs`, six and two (eight
        // attributes: as many as a record holds inline).
        Scenario::Child6,
        Scenario::Child3Attrs2,
        Scenario::Child8,
    ] {
        cases.push(Case {
            scenario,
            lib: Lib::Traced,
        });
    }
    cases
}

const CALLS: u64 = 100_000;

fn main() {
    let Some(id) = std::env::args().nth(1) else {
        let exe = std::env::current_exe().expect("own path");
        for id in cases().into_iter().map(Case::id) {
            let status = Command::new(&exe).arg(&id).status().expect("start a case");
            assert!(status.success(), "{id} failed: {status}");
        }
        return;
    };
    let case = Case::parse(&id).unwrap_or_else(|| panic!("unknown case {id}"));
    // Warm up: thread-local buffers and queues reach their steady size.
    traced_benches::run(case, CALLS, &mut Allocs::default());
    if case.lib == Lib::TracedBatch {
        // The count starts with the worker caught up. On a busy machine it may not have run
        // at all during the warm-up (100 000 calls, a few ms): neither its reserve of empty
        // boxes (topped up after each export) nor the thread's pool, refilled from it, would
        // exist yet, and the calls counted would pay for the pipeline's start (1 run in 10
        // counted up to 132 boxes that way, each time with nothing exported before the count).
        traced::pipeline::force_flush(std::time::Duration::from_secs(10)).expect("drained");
    }
    let mut allocs = Allocs::default();
    traced_benches::run(case, CALLS, &mut allocs);
    print(&case.id(), &allocs);
}

fn print(id: &str, allocs: &Allocs) {
    println!(
        "{{\"case\":\"{}\",\"allocs_per_call\":{},\"bytes_per_call\":{}}}",
        id,
        allocs.total.0 as f64 / CALLS as f64,
        allocs.total.1 as f64 / CALLS as f64,
    );
}
