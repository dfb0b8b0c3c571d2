//! Heap allocations per call on the calling thread, for traced and each rival.
//!
//! A counting global allocator keeps a thread-local count, so background threads (fastrace's
//! collector, traced's batch worker) are not counted: this is what the instrumented code's own
//! thread pays. Each case runs in a process of its own; with no argument this binary runs every
//! case and prints one JSON object per line: `{"case", "allocs_per_call", "bytes_per_call"}`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::process::Command;
use traced::traced;
use traced_benches::{A, B, Case, Lib, Meter, Scenario, sinks};

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
    ] {
        cases.push(Case {
            scenario,
            lib: Lib::Traced,
        });
    }
    cases
}

const CALLS: u64 = 100_000;

/// A third string argument, as long as a short identifier can be.
const C: &str = "customer-77";
/// The longest string argument kept in the record itself: 24 bytes.
const D: &str = "tenant-0123456789abcdefg";

#[traced(kind = "client")]
fn child6(id: u64, note: &str, qty: u64, customer: &str, total: u64, tenant: &str) -> u64 {
    id ^ qty ^ total ^ (note.len() + customer.len() + tenant.len()) as u64
}

#[traced(kind = "client", attrs(order.id = a + 1, order.note = b))]
fn child3_attrs2(a: u64, b: &str, c: u64) -> u64 {
    a ^ c ^ b.len() as u64
}

#[traced(kind = "client", attrs(order.id = id + 1, order.note = note))]
fn child8(id: u64, note: &str, qty: u64, customer: &str, total: u64, tenant: &str) -> u64 {
    id ^ qty ^ total ^ (note.len() + customer.len() + tenant.len()) as u64
}

/// traced's own wider children, under the counting processor as `child/traced` is: the
/// cases past the attributes a record holds inline (`child6`: six arguments,
/// `child3-attrs2`: three and two `attrs`, `child8`: six and two, the last `&str` 24 bytes).
const WIDE: [&str; 3] = ["child6/traced", "child3-attrs2/traced", "child8/traced"];

fn call_wide(case: &str) -> u64 {
    match case {
        "child6/traced" => child6(
            black_box(A),
            black_box(B),
            black_box(A + 1),
            black_box(C),
            black_box(A + 2),
            black_box(D),
        ),
        "child3-attrs2/traced" => child3_attrs2(black_box(A), black_box(B), black_box(A + 1)),
        "child8/traced" => child8(
            black_box(A),
            black_box(B),
            black_box(A + 1),
            black_box(C),
            black_box(A + 2),
            black_box(D),
        ),
        other => panic!("unknown case {other}"),
    }
}

/// Runs a [`WIDE`] case: calls inside roots of [`traced_benches::CHUNK`], the roots started
/// and ended outside the count.
fn run_wide(case: &str, meter: &mut Allocs) {
    let mut acc = 0;
    let mut done = 0;
    while done < CALLS {
        let mut root = traced::span("root").start();
        let entered = root.enter();
        let n = traced_benches::CHUNK.min(CALLS - done);
        meter.begin();
        for _ in 0..n {
            acc ^= call_wide(case);
        }
        meter.end();
        drop(entered);
        root.end();
        done += n;
    }
    black_box(acc);
}

fn main() {
    let Some(id) = std::env::args().nth(1) else {
        let exe = std::env::current_exe().expect("own path");
        let wide = WIDE.iter().map(|id| (*id).to_owned());
        let ids = cases().into_iter().map(Case::id).chain(wide);
        for id in ids {
            let status = Command::new(&exe).arg(&id).status().expect("start a case");
            assert!(status.success(), "{id} failed: {status}");
        }
        return;
    };
    if WIDE.contains(&id.as_str()) {
        let guard = traced::pipeline::Pipeline::builder()
            .with_sampler(traced::Sampler::AlwaysOn)
            .with_processor(sinks::TracedCountingProcessor)
            .install();
        run_wide(&id, &mut Allocs::default());
        let mut allocs = Allocs::default();
        run_wide(&id, &mut allocs);
        drop(guard);
        print(&id, &allocs);
        return;
    }
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
