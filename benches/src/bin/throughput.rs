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
//! Options after the library, for `cpu` and `paced`: `--threads N` (N threads end spans at
//! once, each making the whole run's calls; `calling_cpu_ns_per_span` is then their summed
//! CPU over every span they made, to compare with one thread), `--rate R` (paced: R spans/s
//! per thread instead of 2 M), `--chunk C` (paced: calls between two pauses, 2048 unless
//! told), `--queue N` (traced's `max_queue_size`, 2048 unless told), `--root` (each call a new trace instead of a child in a root of
//! 256), `--pin` (the calling thread on CPU 0, the library's background threads on CPU 1: see
//! `pin_apart`; one calling thread only), `--stalls` (a thread that does nothing but sleep 1 ms at a time runs alongside, and
//! its worst overshoot is printed as `host_stall_max_us`: how long the host kept a ready
//! thread off a core. A paced run that drops spans while it is 4 ms or more lost them to the
//! host's scheduling, not to the pipeline; the thread costs about 0.5 % of a core).
//!
//! A paced run also prints, for its first calling thread, `caller_behind_max_us` (the most
//! it fell behind its schedule: a stall of its own), `caller_burst_max` (the most calls it
//! made back to back) and `caller_restarts` (how often it fell more than a chunk behind and
//! started its schedule again rather than burst the missed calls: see
//! [`traced_benches::pace`]). `traced-counting` is traced with the counting processor and no background thread, the
//! reference for what the batch processor costs the calling thread; `traced` is the batch
//! processor into an exporter that counts the spans and drops them in place, and
//! `traced-spandata` the same into one that takes them as `SpanData` (built by the worker).
//!
//! `throughput roundtrip`: a cache line's round trip between CPU 0 and CPU 1 at this moment
//! (see `roundtrip`), the machine's state for the runs that follow.
//!
//! Each prints one JSON object on stdout. With no arguments: every `cpu` mode in
//! [`THROUGHPUT_ROUNDS`](traced_benches::THROUGHPUT_ROUNDS) interleaved rounds (a round trip,
//! then one run per library, each round), then the overload.

use std::time::{Duration, Instant};
use traced_benches::{Case, Lib, Meter, Pacing, Scenario, sinks};

const SPANS: u64 = 1 << 20;
const OVERLOAD: Duration = Duration::from_secs(3);

/// No measuring inside the loops: the whole run is measured from outside.
struct Nothing;
impl Meter for Nothing {
    fn begin(&mut self) {}
    fn end(&mut self) {}
}

/// User + system CPU time of the calling thread, in ns.
fn thread_cpu_ns() -> u64 {
    cpu_ns(libc::RUSAGE_THREAD)
}

/// User + system CPU time of the whole process (all threads, live or joined), in ns.
fn process_cpu_ns() -> u64 {
    cpu_ns(libc::RUSAGE_SELF)
}

fn cpu_ns(who: libc::c_int) -> u64 {
    // SAFETY: `rusage` is plain old data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`; `who` is RUSAGE_SELF or RUSAGE_THREAD.
    let rc = unsafe { libc::getrusage(who, &raw mut usage) };
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

/// traced's batch processor (default settings, but for `--queue`) in front of `exporter`; the
/// shutdown flushes, exports what is queued and joins the worker, then reads the drop and
/// failure counts.
fn traced_batch(
    exporter: impl traced::export::SpanExporter + 'static,
    options: Options,
) -> (Case, Shutdown) {
    traced_benches::installed_by_caller();
    let mut config = traced::pipeline::BatchConfig::default();
    if let Some(queue) = options.queue {
        config = config.with_max_queue_size(queue);
    }
    let guard = traced::pipeline::Pipeline::builder()
        .with_batch_exporter_config(exporter, config)
        .with_sampler(traced::Sampler::AlwaysOn)
        .install();
    (
        child(Lib::Traced),
        Box::new(move || {
            let pipeline = guard.pipeline();
            drop(guard);
            let stats = pipeline.processor().stats();
            (stats.dropped, stats.failed)
        }),
    )
}

/// Stops a library's pipeline after a run: its dropped and failed counts, where it has them.
type Shutdown = Box<dyn FnOnce() -> (u64, u64)>;

fn spans() -> u64 {
    traced_benches::SPANS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Spans per second in the paced runs: far above what a service's thread ends, and below
/// what each background pipeline here exports, so that nothing is dropped and the CPU per
/// exported span is the pipeline's cost, not the overload's.
const PACED_RATE: u64 = 2_000_000;

/// Calls between two pauses of a paced run, by default (about 1 ms at [`PACED_RATE`]):
/// `--chunk` changes it. The calls of a chunk come as fast as the thread makes them, so a
/// chunk of 2048 arrives as a burst about as large as the default queue; `--chunk 256`
/// spreads the same rate over pauses of about 128 µs.
const PACED_CHUNK: u64 = 8 * traced_benches::CHUNK;

/// Runs `case` `spans` times, as fast as it goes (`rate` `None`) or at `rate` calls per second
/// ([`traced_benches::pace`]: chunks of `chunk` calls, a sleep between two, no catch-up burst
/// after a stall).
fn drive(case: Case, spans: u64, rate: Option<u64>, chunk: u64) -> Pacing {
    let Some(rate) = rate else {
        traced_benches::run(case, spans, &mut Nothing);
        return Pacing::default();
    };
    traced_benches::pace(case, spans, rate, chunk)
}

/// Sleeps 1 ms at a time until `stop`, and returns the worst overshoot: how long the host
/// kept this ready thread off a core.
fn sleeper(stop: &std::sync::atomic::AtomicBool) -> Duration {
    let mut worst = Duration::ZERO;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let t = Instant::now();
        std::thread::sleep(Duration::from_millis(1));
        worst = worst.max(t.elapsed().saturating_sub(Duration::from_millis(1)));
    }
    worst
}

/// With `pin` (`--pin`), pins this thread to CPU 0 and every other thread of the process
/// (the library's background threads) to CPU 1. On a small VM the scheduler sometimes wakes a background
/// thread on the core of the thread that woke it and leaves it there, the two taking turns
/// on one core while the other idles (`perf sched timehist` showed it): what a run then
/// measures is that placement, which changes from run to run, not the pipeline.
fn pin_apart(pin: bool) {
    if !pin {
        return;
    }
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    pin_to(me, 0);
    for task in std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
    {
        if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok())
            && tid != me
        {
            pin_to(tid, 1);
        }
    }
}

/// Pins thread `tid` to CPU `cpu` (0 or 1); a failure (a thread that exited, a machine with
/// one CPU) is ignored.
fn pin_to(tid: libc::pid_t, cpu: usize) {
    // SAFETY: `cpu_set_t` is plain old data, valid when zeroed.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` (0 or 1) is inside the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: a valid set of the size given.
    unsafe { libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), &raw const set) };
}

/// Round trips in [`roundtrip`].
const TRIPS: u64 = 1 << 20;

/// `throughput roundtrip`: how long a cache line takes to go from CPU 0 to CPU 1 and back at
/// this moment, the price of every hand-over between a calling thread and a background
/// thread pinned apart (`--pin`): two threads so pinned pass a counter back and forth
/// [`TRIPS`] times (or for 2 s, whichever ends first), spinning on it; `null` with one CPU.
/// A shared VM has spells in which this is several times its usual figure; the report
/// prints it beside the end-to-end runs, taken before each round of them.
fn roundtrip() {
    use std::sync::atomic::{
        AtomicU64,
        Ordering::{Acquire, Release},
    };
    /// The counter on a line of its own: nothing else of either thread's moves with it.
    #[repr(align(128))]
    struct Line(AtomicU64);
    static LINE: Line = Line(AtomicU64::new(0));
    /// Written instead of the next count: the other thread stops.
    const STOP: u64 = u64::MAX;
    /// The longest it measures: two threads that share a CPU (one CPU, or CPU 1 outside this
    /// process's set) take a time slice per trip, and would take hours for all of them.
    const LIMIT: Duration = Duration::from_secs(2);
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        println!("{{\"mode\":\"roundtrip\",\"round_trip_ns\":null}}");
        return;
    }
    let counter = &LINE.0;
    // SAFETY: gettid has no preconditions.
    pin_to(unsafe { libc::gettid() }, 0);
    let other = std::thread::spawn(|| {
        // SAFETY: gettid has no preconditions.
        pin_to(unsafe { libc::gettid() }, 1);
        for i in 0..TRIPS {
            loop {
                match counter.load(Acquire) {
                    STOP => return,
                    n if n == 2 * i + 1 => break,
                    _ => {}
                }
            }
            counter.store(2 * i + 2, Release);
        }
    });
    let start = Instant::now();
    let mut trips = 0;
    while trips < TRIPS {
        counter.store(2 * trips + 1, Release);
        while counter.load(Acquire) != 2 * trips + 2 {}
        trips += 1;
        if trips % 4096 == 0 && start.elapsed() > LIMIT {
            counter.store(STOP, Release);
            break;
        }
    }
    let elapsed = start.elapsed();
    other.join().expect("the other thread");
    println!(
        "{{\"mode\":\"roundtrip\",\"round_trip_ns\":{:.1}}}",
        elapsed.as_nanos() as f64 / trips as f64
    );
}

/// What `cpu` and `paced` run, from the arguments after the library.
#[derive(Clone, Copy, Debug)]
struct Options {
    threads: usize,
    rate: Option<u64>,
    chunk: u64,
    root: bool,
    /// traced's `max_queue_size`, when not the default.
    queue: Option<usize>,
    /// Measure the host's scheduling stalls alongside (`--stalls`).
    stalls: bool,
    /// Pin the calling thread to CPU 0 and every other thread to CPU 1 (`--pin`).
    pin: bool,
}

impl Options {
    fn parse(paced: bool, args: &[&str]) -> Self {
        let mut o = Options {
            threads: 1,
            rate: paced.then_some(PACED_RATE),
            chunk: PACED_CHUNK,
            root: false,
            queue: None,
            stalls: false,
            pin: false,
        };
        let mut args = args.iter();
        while let Some(a) = args.next() {
            let mut value = || {
                args.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("{a} takes a number"))
            };
            match *a {
                "--threads" => o.threads = usize::try_from(value()).expect("threads").max(1),
                "--rate" if paced => o.rate = Some(value().max(1)),
                "--chunk" if paced => o.chunk = value().max(1),
                "--root" => o.root = true,
                "--stalls" => o.stalls = true,
                "--pin" => o.pin = true,
                "--queue" => o.queue = Some(usize::try_from(value()).expect("queue")),
                other => panic!("unknown option {other}"),
            }
        }
        o
    }
}

/// Installs `lib`'s background pipeline: the case to run and how to stop it.
fn setup(lib: &str, options: Options) -> (Case, Shutdown) {
    match lib {
        "traced-counting" => {
            traced_benches::installed_by_caller();
            let guard = traced::pipeline::Pipeline::builder()
                .with_processor(sinks::TracedCountingProcessor)
                .with_sampler(traced::Sampler::AlwaysOn)
                .install();
            (
                child(Lib::Traced),
                Box::new(move || {
                    drop(guard);
                    (0, 0)
                }),
            )
        }
        "traced" => traced_batch(sinks::TracedCountingExporter, options),
        "traced-spandata" => traced_batch(sinks::TracedSpanDataCountingExporter, options),
        "traced-otlp" => traced_batch(sinks::TracedOtlpEncodingExporter::default(), options),
        "traced-otlp-messages" => {
            traced_batch(sinks::TracedOtlpMessagesExporter::default(), options)
        }
        "traced-otlp-inline" => {
            traced_benches::installed_by_caller();
            let guard = traced::pipeline::Pipeline::builder()
                .with_processor(sinks::TracedOtlpEncodingProcessor::default())
                .with_sampler(traced::Sampler::AlwaysOn)
                .install();
            (
                child(Lib::Traced),
                Box::new(move || {
                    drop(guard);
                    (0, 0)
                }),
            )
        }
        "otel-sdk-otlp" => {
            let provider = sinks::otel_otlp_provider();
            traced_benches::set_otel_provider(provider.clone());
            (
                child(Lib::OtelBatch),
                Box::new(move || {
                    let _ = provider.shutdown();
                    (0, 0)
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
    }
}

/// What a [`cpu`] run measured while its threads ran, read once they are done.
struct Measured {
    /// Wall time the calling threads took.
    calling: Duration,
    /// Their CPU time, in ns.
    calling_cpu: u64,
    dropped: u64,
    failed: u64,
    /// Wall time until the pipeline was shut down.
    wall: Duration,
    /// The process's CPU time, in ns, background threads included.
    cpu: u64,
    spans_before: u64,
    bytes_before: u64,
    pacing: Pacing,
    stall: Option<Duration>,
}

fn cpu(lib: &str, options: Options) {
    let rate = options.rate;
    let (case, shutdown) = setup(lib, options);
    let case = if options.root {
        Case {
            scenario: Scenario::Root,
            ..case
        }
    } else {
        case
    };
    let threads = options.threads;
    let chunk = options.chunk;
    // Every thread runs one round first, so that the one-time setup is not counted; then
    // they start together.
    let start = std::sync::Barrier::new(threads);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let Measured {
        calling,
        calling_cpu,
        dropped,
        failed,
        wall,
        cpu,
        spans_before,
        bytes_before,
        pacing,
        stall,
    } = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    traced_benches::run(case, traced_benches::CHUNK, &mut Nothing);
                    // Everyone's warm-up done; then the counters are read; then go.
                    start.wait();
                    start.wait();
                    let before = thread_cpu_ns();
                    drive(case, SPANS, rate, chunk);
                    thread_cpu_ns() - before
                })
            })
            .collect();
        traced_benches::run(case, traced_benches::CHUNK, &mut Nothing);
        pin_apart(options.pin);
        start.wait();
        // The warm-ups' spans, handed over as their roots ended, reach the exporter.
        traced::pipeline::force_flush(Duration::from_secs(10)).ok();
        let spans_before = spans();
        let bytes_before = traced_benches::BYTES.load(std::sync::atomic::Ordering::Relaxed);
        let cpu_before = process_cpu_ns();
        let thread_before = thread_cpu_ns();
        let wall = Instant::now();
        let stalls = options.stalls.then(|| scope.spawn(|| sleeper(&stop)));
        start.wait();
        let pacing = drive(case, SPANS, rate, chunk);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let stall = stalls.map(|s| s.join().expect("the sleeping thread"));
        let mut calling_cpu = thread_cpu_ns() - thread_before;
        for w in workers {
            calling_cpu += w.join().expect("a calling thread");
        }
        let calling = wall.elapsed();
        let (dropped, failed) = shutdown();
        let wall = wall.elapsed();
        Measured {
            calling,
            calling_cpu,
            dropped,
            failed,
            wall,
            cpu: process_cpu_ns() - cpu_before,
            spans_before,
            bytes_before,
            pacing,
            stall,
        }
    });
    // Children and their roots, on every thread.
    let made = if options.root {
        SPANS
    } else {
        SPANS + SPANS / traced_benches::CHUNK
    } * threads as u64;
    let exported = spans() - spans_before;
    let bytes = traced_benches::BYTES.load(std::sync::atomic::Ordering::Relaxed) - bytes_before;
    // Sinks without a drop counter (the SDK's batch processor): what never arrived was dropped.
    let dropped = if dropped == 0 && exported < made {
        made - exported
    } else {
        dropped
    };
    let extra = pacing_fields(rate.is_some(), pacing, stall);
    println!(
        "{{\"mode\":\"{}\",\"lib\":\"{lib}\",\"threads\":{threads},\"root\":{},\"rate_per_thread\":{},\"chunk\":{},\"spans\":{made},\"exported\":{exported},\"dropped\":{dropped},\"failed\":{failed},\"calling_ns_per_span\":{:.1},\"calling_cpu_ns_per_span\":{:.1},\"wall_ns_per_span\":{:.1},\"cpu_ns_per_span\":{:.1},\"cpu_ns_per_exported_span\":{:.1},\"otlp_bytes_per_span\":{:.1}{extra}}}",
        if rate.is_some() { "paced" } else { "cpu" },
        options.root,
        rate.unwrap_or(0),
        if rate.is_some() { chunk } else { 0 },
        calling.as_nanos() as f64 / made as f64,
        calling_cpu as f64 / made as f64,
        wall.as_nanos() as f64 / made as f64,
        cpu as f64 / made as f64,
        cpu as f64 / exported.max(1) as f64,
        bytes as f64 / exported.max(1) as f64,
    );
}

/// The JSON fields a run adds about its pacing (paced runs) and the host's stalls
/// (`--stalls`), each with its leading comma.
fn pacing_fields(paced: bool, pacing: Pacing, stall: Option<Duration>) -> String {
    use std::fmt::Write as _;
    let mut fields = String::new();
    if paced {
        let _ = write!(
            fields,
            ",\"caller_behind_max_us\":{},\"caller_burst_max\":{},\"caller_restarts\":{}",
            pacing.behind_max.as_micros(),
            pacing.burst_max,
            pacing.restarts
        );
    }
    if let Some(stall) = stall {
        let _ = write!(fields, ",\"host_stall_max_us\":{}", stall.as_micros());
    }
    fields
}

fn overload() {
    let hwm_before = traced_benches::proc_status_kib("VmHWM").unwrap_or(0);
    traced_benches::installed_by_caller();
    let guard = traced::pipeline::Pipeline::builder()
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
        ["cpu", lib, options @ ..] => cpu(lib, Options::parse(false, options)),
        ["paced", lib, options @ ..] => cpu(lib, Options::parse(true, options)),
        ["overload"] | ["overload", "traced"] => overload(),
        ["roundtrip"] => roundtrip(),
        // For profilers: `throughput run child/traced 100000`.
        ["run", case, n] => {
            let case = traced_benches::Case::parse(case).expect("a case id");
            traced_benches::run(case, n.parse().expect("a count"), &mut Nothing);
        }
        _ => {
            let exe = std::env::current_exe().expect("own path");
            let run = |args: &[&str]| {
                let status = std::process::Command::new(&exe)
                    .args(args)
                    .status()
                    .expect("start a mode");
                assert!(status.success(), "{args:?} failed: {status}");
            };
            // Rounds over every library, so that each sees the machine in the same states;
            // the report takes each library's median run.
            for _ in 0..traced_benches::THROUGHPUT_ROUNDS {
                // The machine's state for this round: see `roundtrip`.
                run(&["roundtrip"]);
                for lib in [
                    "traced",
                    "traced-otlp",
                    "traced-otlp-messages",
                    "traced-otlp-inline",
                    "fastrace",
                    "tracing",
                    "otel-sdk",
                    "otel-sdk-otlp",
                ] {
                    // Pinned apart: see `pin_apart`.
                    run(&["cpu", lib, "--pin"]);
                }
            }
            run(&["overload", "traced"]);
        }
    }
}
