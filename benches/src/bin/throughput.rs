//! End to end: spans through a real background pipeline, and memory under overload.
//!
//! `throughput cpu <lib>`: 1 048 576 sampled children (in roots of 256) through the library's
//! background pipeline into a counting sink: traced's batch processor with its default
//! settings, fastrace's collector, the OpenTelemetry SDK's batch processor, tracing's counting
//! layer (no background). The process's total CPU time (`getrusage(RUSAGE_SELF)`: every
//! thread, the background ones included) is read after shutdown, so background work counts.
//!
//! `throughput overload traced`: the same calls for a fixed time into an exporter that sleeps
//! 2 ms per batch (about 250 000 spans/s, far below the calling rate): peak RSS (`VmHWM`) must
//! stay bounded, and what did not fit is dropped and counted.
//!
//! Each prints one JSON object on stdout.

use std::time::{Duration, Instant};
use traced_benches::{Case, Lib, Meter, Scenario, sinks};

const SPANS: u64 = 1 << 20;
const OVERLOAD: Duration = Duration::from_secs(3);

/// No measuring inside the loops: the whole run is measured from outside.
struct Nothing;
impl Meter for Nothing {
    fn begin(&mut self) {}
    fn end(&mut self) {}
}

/// User + system CPU time of the whole process (all threads, live or joined), in ns.
fn process_cpu_ns() -> u64 {
    // SAFETY: `rusage` is plain old data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`; RUSAGE_SELF is a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

fn child(lib: Lib) -> Case {
    Case {
        scenario: Scenario::Child,
        lib,
    }
}

fn spans() -> u64 {
    traced_benches::SPANS.load(std::sync::atomic::Ordering::Relaxed)
}

fn cpu(lib: &str) {
    let (case, shutdown): (Case, Box<dyn FnOnce() -> (u64, u64)>) = match lib {
        "traced" => {
            traced_benches::installed_by_caller();
            let guard = traced::Pipeline::builder()
                .with_batch_exporter(sinks::TracedCountingExporter)
                .with_sampler(traced::Sampler::AlwaysOn)
                .install();
            (
                child(Lib::Traced),
                Box::new(move || {
                    let pipeline = guard.pipeline();
                    drop(guard); // flushes, exports what is queued, joins the worker
                    let stats = pipeline.processor().stats();
                    (stats.dropped, stats.failed)
                }),
            )
        }
        "fastrace" => (
            child(Lib::Fastrace),
            Box::new(|| {
                fastrace::flush();
                (0, 0)
            }),
        ),
        "otel-sdk" => {
            let provider = sinks::otel_batch_provider(true);
            traced_benches::set_otel_provider(provider.clone());
            (
                child(Lib::OtelBatch),
                Box::new(move || {
                    let _ = provider.shutdown();
                    (0, 0)
                }),
            )
        }
        "tracing" => (child(Lib::Tracing), Box::new(|| (0, 0))),
        other => panic!("unknown library {other}"),
    };
    // One round first, so that the one-time setup is not counted.
    traced_benches::run(case, traced_benches::CHUNK, &mut Nothing);
    let spans_before = spans();
    let cpu_before = process_cpu_ns();
    let wall = Instant::now();
    traced_benches::run(case, SPANS, &mut Nothing);
    let calling = wall.elapsed();
    let (dropped, failed) = shutdown();
    let wall = wall.elapsed();
    let cpu = process_cpu_ns() - cpu_before;
    // Children and their roots.
    let made = SPANS + SPANS / traced_benches::CHUNK;
    let exported = spans() - spans_before;
    // Sinks without a drop counter (the SDK's batch processor): what never arrived was dropped.
    let dropped = if dropped == 0 && exported < made {
        made - exported
    } else {
        dropped
    };
    println!(
        "{{\"mode\":\"cpu\",\"lib\":\"{lib}\",\"spans\":{made},\"exported\":{exported},\"dropped\":{dropped},\"failed\":{failed},\"calling_ns_per_span\":{:.1},\"wall_ns_per_span\":{:.1},\"cpu_ns_per_span\":{:.1},\"cpu_ns_per_exported_span\":{:.1}}}",
        calling.as_nanos() as f64 / made as f64,
        wall.as_nanos() as f64 / made as f64,
        cpu as f64 / made as f64,
        cpu as f64 / exported.max(1) as f64,
    );
}

fn overload() {
    let hwm_before = traced_benches::proc_status_kib("VmHWM").unwrap_or(0);
    traced_benches::installed_by_caller();
    let guard = traced::Pipeline::builder()
        .with_batch_exporter(sinks::TracedSlowExporter(Duration::from_millis(2)))
        .with_sampler(traced::Sampler::AlwaysOn)
        .install();
    let case = child(Lib::Traced);
    let start = Instant::now();
    let mut calls = 0u64;
    let mut hwm_mid = Vec::new();
    while start.elapsed() < OVERLOAD {
        traced_benches::run(case, 64 * traced_benches::CHUNK, &mut Nothing);
        calls += 64 * traced_benches::CHUNK;
        if calls.is_multiple_of(1 << 20) {
            hwm_mid.push(traced_benches::proc_status_kib("VmHWM").unwrap_or(0));
        }
    }
    let elapsed = start.elapsed();
    let hwm_loaded = traced_benches::proc_status_kib("VmHWM").unwrap_or(0);
    let stats = guard.pipeline().processor().stats();
    // The queue still holds up to `max_queue_size` spans; a 2 ms-per-batch exporter drains
    // them in a few ms.
    drop(guard);
    let made = calls + calls / traced_benches::CHUNK;
    println!(
        "{{\"mode\":\"overload\",\"lib\":\"traced\",\"seconds\":{:.2},\"spans\":{made},\"received\":{},\"exported_while_loaded\":{},\"dropped\":{},\"ns_per_span\":{:.1},\"vm_hwm_kib_before\":{hwm_before},\"vm_hwm_kib_first_mib_of_calls\":{},\"vm_hwm_kib\":{hwm_loaded}}}",
        elapsed.as_secs_f64(),
        stats.received,
        stats.exported,
        stats.dropped,
        elapsed.as_nanos() as f64 / made as f64,
        hwm_mid.first().copied().unwrap_or(hwm_loaded),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["cpu", lib] => cpu(lib),
        ["overload"] | ["overload", "traced"] => overload(),
        // For profilers: `throughput run child/traced 100000`.
        ["run", case, n] => {
            let case = traced_benches::Case::parse(case).expect("a case id");
            traced_benches::run(case, n.parse().expect("a count"), &mut Nothing);
        }
        _ => {
            let exe = std::env::current_exe().expect("own path");
            for args in [
                &["cpu", "traced"][..],
                &["cpu", "fastrace"],
                &["cpu", "tracing"],
                &["cpu", "otel-sdk"],
                &["overload", "traced"],
            ] {
                let status = std::process::Command::new(&exe)
                    .args(args)
                    .status()
                    .expect("start a mode");
                assert!(status.success(), "{args:?} failed: {status}");
            }
        }
    }
}
