//! The per-request cost of a server span: one axum route (`GET /users/{id}`) served on
//! 127.0.0.1 plain, behind traced's `ServerLayer`, behind tower-http's `TraceLayer` with
//! tracing-opentelemetry (a `make_span` recording the same HTTP attributes, the SDK's batch
//! processor), and behind fastrace-axum; each stack's spans go to a counting sink.
//!
//! ```text
//! cargo run --release -p traced-benches --bin http            # every stack, a table
//! cargo run --release -p traced-benches --bin http -- traced  # one stack
//! ```
//!
//! Every stack runs in a process of its own. In it, 4 keep-alive HTTP/1.1 connections send
//! requests back to back (each with a sampled `traceparent`, so fastrace-axum traces too) for
//! a fixed time on a 2-worker tokio runtime that also runs the server. Reported: requests per
//! second, and the process's CPU time per request (client included: the difference to
//! `plain` is the stack's cost). The stacks run interleaved, five rounds; each figure is the
//! median of the five.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use traced_benches::sinks;

const CONNECTIONS: usize = 4;
const WARMUP: Duration = Duration::from_millis(500);
const MEASURE: Duration = Duration::from_secs(3);
const ROUNDS: usize = 5;
const STACKS: [&str; 4] = [
    "plain",
    "traced",
    "tower-http+tracing-otel",
    "fastrace-axum",
];

async fn user(Path(id): Path<u32>) -> String {
    format!("user-{id}")
}

fn cpu_ns() -> u64 {
    // SAFETY: `rusage` is plain old data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// The app for `stack`, with its pipeline installed; the guard that flushes it.
fn app(stack: &str) -> (Router, Box<dyn std::any::Any>) {
    let router = Router::new().route("/users/{id}", get(user));
    match stack {
        "plain" => (router, Box::new(())),
        "traced" => {
            let guard = traced::pipeline::Pipeline::builder()
                .with_batch_exporter(sinks::TracedCountingExporter)
                .with_sampler(traced::Sampler::AlwaysOn)
                .install();
            (
                router.layer(traced::tower::ServerLayer::new()),
                Box::new(guard),
            )
        }
        "tower-http+tracing-otel" => {
            use opentelemetry::trace::TracerProvider as _;
            use tracing_subscriber::layer::SubscriberExt as _;
            let provider = sinks::otel_batch_provider(true);
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
            tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            let layer = tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("", axum::extract::MatchedPath::as_str);
                    tracing::info_span!(
                        "request",
                        otel.name = format!("{} {route}", request.method()),
                        otel.kind = "server",
                        http.request.method = %request.method(),
                        http.route = route,
                        url.path = request.uri().path(),
                        http.response.status_code = tracing::field::Empty,
                    )
                })
                .on_response(
                    |response: &axum::http::Response<_>, _: Duration, span: &tracing::Span| {
                        span.record("http.response.status_code", response.status().as_u16());
                    },
                );
            (router.layer(layer), Box::new(provider))
        }
        "fastrace-axum" => {
            fastrace::set_reporter(
                sinks::FastraceCountingReporter,
                fastrace::collector::Config::default(),
            );
            (
                router.layer(fastrace_axum::FastraceLayer::default()),
                Box::new(()),
            )
        }
        other => panic!("unknown stack {other:?}; one of {STACKS:?}"),
    }
}

/// One keep-alive connection sending requests back to back until `stop`.
async fn connection(addr: SocketAddr, stop: Instant, done: &AtomicU64) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let request = format!(
        "GET /users/7 HTTP/1.1\r\nhost: {addr}\r\n\
         traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n"
    );
    let mut buf = vec![0u8; 4096];
    while Instant::now() < stop {
        stream.write_all(request.as_bytes()).await.expect("write");
        // One small response: headers and a `content-length` body.
        let mut filled = 0;
        loop {
            let n = stream.read(&mut buf[filled..]).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            filled += n;
            let text = &buf[..filled];
            if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&text[..end]).expect("an ASCII head");
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .expect("content-length");
                if filled >= end + 4 + length {
                    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                    break;
                }
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs one stack in this process: `(requests per second, CPU ns per request, spans)`.
fn run(stack: &str) -> (f64, f64, u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (router, guard) = runtime.block_on(async { app(stack) });
    let (requests, cpu, elapsed) = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        let load = |until: Instant| async move {
            let done = std::sync::Arc::new(AtomicU64::new(0));
            let tasks: Vec<_> = (0..CONNECTIONS)
                .map(|_| {
                    let done = done.clone();
                    tokio::spawn(async move { connection(addr, until, &done).await })
                })
                .collect();
            for task in tasks {
                task.await.expect("a connection");
            }
            done.load(Ordering::Relaxed)
        };
        load(Instant::now() + WARMUP).await;
        let (cpu0, t0) = (cpu_ns(), Instant::now());
        let requests = load(Instant::now() + MEASURE).await;
        (requests, cpu_ns() - cpu0, t0.elapsed())
    });
    drop(runtime);
    drop(guard);
    let spans = traced_benches::SPANS.load(Ordering::Relaxed);
    (
        requests as f64 / elapsed.as_secs_f64(),
        cpu as f64 / requests as f64,
        spans,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(stack) = args.get(1) {
        let (rps, cpu, spans) = run(stack);
        println!("{stack}\t{rps:.0}\t{cpu:.0}\t{spans}");
        return;
    }
    // Every stack in a process of its own; the stacks interleaved, ROUNDS times, so a slow
    // spell of a shared machine hits them alike. Each figure is the median of the rounds.
    let mut results: Vec<Vec<(f64, f64, u64)>> = vec![Vec::new(); STACKS.len()];
    for _ in 0..ROUNDS {
        for (i, stack) in STACKS.iter().enumerate() {
            let out = std::process::Command::new(&args[0])
                .arg(stack)
                .output()
                .expect("run a stack");
            let line = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = line.trim().split('\t').collect();
            if let [_, rps, cpu, spans] = fields[..] {
                results[i].push((
                    rps.parse().unwrap_or(f64::NAN),
                    cpu.parse().unwrap_or(f64::NAN),
                    spans.parse().unwrap_or(0),
                ));
            } else {
                eprintln!("{stack}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    println!(
        "| stack | requests/s | CPU per request (range) | vs plain | spans per run |\n|---|---:|---:|---:|---:|"
    );
    let mut plain = None;
    for (stack, runs) in STACKS.iter().zip(results) {
        if runs.is_empty() {
            continue;
        }
        let (rps, _, _) = median(runs.iter().map(|r| r.0).collect());
        let (cpu, lo, hi) = median(runs.iter().map(|r| r.1).collect());
        let spans = runs.iter().map(|r| r.2).sum::<u64>() / runs.len() as u64;
        let base = *plain.get_or_insert(cpu);
        println!(
            "| {stack} | {rps:.0} | {:.1} µs ({:.1}–{:.1}) | {:+.1} µs | {spans} |",
            cpu / 1000.0,
            lo / 1000.0,
            hi / 1000.0,
            (cpu - base) / 1000.0
        );
    }
}
