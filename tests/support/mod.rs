#![allow(dead_code, unreachable_pub)] // Each test file uses its part.

//! The harness of the HTTP, gRPC and shop tests: async code under an in-memory pipeline.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use traced::SpanData;
use traced::export::InMemoryExporter;
use traced::pipeline::{Pipeline, Sampler};

/// The pipeline is process-wide: one test at a time.
pub static LOCK: Mutex<()> = Mutex::new(());

/// Runs `test` on a tokio runtime under an in-memory pipeline and returns the spans that
/// ended, once at least `expected` have (server spans end after the response has been
/// sent, so they may end after the client has it).
pub fn run<F: Future<Output = ()>>(expected: usize, test: impl FnOnce() -> F) -> Vec<SpanData> {
    run_with(expected, test).1
}

/// [`run`], with what `test` returned.
pub fn run_with<R, F: Future<Output = R>>(
    expected: usize,
    test: impl FnOnce() -> F,
) -> (R, Vec<SpanData>) {
    let _lock = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let exporter = InMemoryExporter::default();
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_simple_exporter(exporter.clone())
        .install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let output = runtime.block_on(test());
    let deadline = Instant::now() + Duration::from_secs(5);
    while exporter.spans().len() < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Anything else still ending.
    std::thread::sleep(Duration::from_millis(50));
    drop(runtime);
    let _ = guard.force_flush(Duration::from_secs(5));
    drop(guard);
    (output, exporter.take())
}

/// A port free on 127.0.0.1 a moment ago, for a peer that must be told its port (the W3C
/// harness's server, the Python service).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
