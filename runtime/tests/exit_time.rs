//! How long a program takes to exit when its collector is down: the guard's drop against a
//! closed port on 127.0.0.1 (the connection is refused) and a black-hole listener (it accepts
//! and never answers). The assertions are generous; the figures are printed
//! (`cargo test -p traced-runtime --features otlp --test exit_time -- --nocapture`).

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use traced_runtime::config::Config;
use traced_runtime::pipeline::ProcessorStats;

/// The pipeline is process-wide: tests that install one take turns.
static PIPELINE: Mutex<()> = Mutex::new(());

/// Installs an OTLP pipeline for `endpoint` with `vars`, ends `spans` spans, and returns how
/// long dropping the guard took, with the processor's counts after it.
fn exit_time(endpoint: &str, vars: &[(&str, &str)], spans: usize) -> (Duration, ProcessorStats) {
    let _turn = PIPELINE.lock().unwrap_or_else(PoisonError::into_inner);
    let endpoint = endpoint.to_owned();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let guard = Config::from_lookup(&move |name: &str| {
        if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
            return Some(endpoint.clone());
        }
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .install();
    for _ in 0..spans {
        traced_runtime::span("work").start().end();
    }
    let pipeline = guard.pipeline();
    let start = Instant::now();
    drop(guard);
    let took = start.elapsed();
    (took, pipeline.processor().stats())
}

fn assert_balanced(s: ProcessorStats) {
    assert_eq!(s.exported + s.dropped + s.failed, s.received, "{s:?}");
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
    // Dropped here: nothing listens on the port any more.
}

#[test]
fn a_refused_connection_does_not_hold_the_exit_up() {
    let port = closed_port();
    for (protocol, spans) in [
        ("http/protobuf", 10),
        ("http/protobuf", 5000),
        ("grpc", 5000),
    ] {
        let (took, stats) = exit_time(
            &format!("http://127.0.0.1:{port}"),
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)],
            spans,
        );
        println!("closed port, {protocol}, {spans} spans: exit took {took:?}, {stats:?}");
        assert!(took < Duration::from_secs(2), "{protocol}: {took:?}");
        assert_eq!(stats.exported, 0);
        assert_eq!(stats.received, spans as u64);
        assert!(stats.failed > 0);
        assert_balanced(stats);
    }
}

/// Accepts connections and never answers; stops when dropped.
struct BlackHole {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl BlackHole {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                if let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true).unwrap();
                    held.push(stream);
                }
                // Read and discard, never answer.
                let mut buf = [0; 4096];
                for s in &mut held {
                    while s.read(&mut buf).is_ok_and(|n| n > 0) {}
                }
                thread::sleep(Duration::from_millis(5));
            }
        });
        BlackHole {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_black_hole_collector_holds_the_exit_up_one_export_timeout_not_one_per_batch() {
    let hole = BlackHole::start();
    for protocol in ["http/protobuf", "grpc"] {
        // 5000 spans: ten batches of 512 would each wait a second.
        let (took, stats) = exit_time(
            &format!("http://127.0.0.1:{}", hole.port),
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
                ("OTEL_BSP_EXPORT_TIMEOUT", "5000"),
            ],
            5000,
        );
        println!(
            "black hole, {protocol}, 5000 spans, 1 s export timeout: exit took {took:?}, {stats:?}"
        );
        assert!(took < Duration::from_secs(4), "{protocol}: {took:?}");
        assert_eq!(stats.exported, 0);
        assert_balanced(stats);
    }
}

#[test]
fn the_guard_s_deadline_is_the_batch_export_timeout() {
    let hole = BlackHole::start();
    // The exporter would wait 30 s; the guard gives up after OTEL_BSP_EXPORT_TIMEOUT.
    let (took, stats) = exit_time(
        &format!("http://127.0.0.1:{}", hole.port),
        &[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "30000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "500"),
        ],
        3000,
    );
    println!("black hole, deadline 500 ms: exit took {took:?}, {stats:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(stats.received, 3000);
    assert_balanced(stats);
}
