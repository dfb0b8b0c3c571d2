//! Roots ended one at a time under the batch processor: a thread keeps them in a place of its
//! own until they make a batch, and the worker collects the rest. None is lost or left behind,
//! whatever the thread does next: waits for ever, exits, or ends spans while the pipeline shuts
//! down.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use traced::export::InMemoryExporter;
use traced::pipeline::{BatchConfig, Pipeline, PipelineGuard};
use traced::traced;

/// One pipeline at a time: each test installs its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

#[traced]
fn request(n: u64) -> u64 {
    n + 1
}

fn install(delay: Duration) -> (InMemoryExporter, PipelineGuard) {
    let exporter = InMemoryExporter::default();
    let guard = Pipeline::builder()
        .with_batch_exporter_config(
            exporter.clone(),
            BatchConfig::default().with_scheduled_delay(delay),
        )
        .install();
    (exporter, guard)
}

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: not in 10 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A thread that ended some roots and now waits, neither ending another span nor exiting,
/// until released.
struct Waiting {
    release: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Waiting {
    fn after_roots(n: u64) -> Self {
        let (ended, ended_rx) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            for i in 0..n {
                request(i);
            }
            ended.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        ended_rx.recv().unwrap();
        Waiting { release, thread }
    }

    fn release(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

#[test]
fn a_root_whose_thread_then_waits_is_exported_after_the_scheduled_delay() {
    let _one = one_at_a_time();
    let (exporter, guard) = install(Duration::from_millis(50));
    let waiting = Waiting::after_roots(1);
    wait_for("the waiting thread's root", || exporter.spans().len() == 1);
    assert_eq!(exporter.spans()[0].name, "request");
    waiting.release();
    drop(guard);
}

#[test]
fn with_a_zero_delay_a_root_is_exported_at_once() {
    let _one = one_at_a_time();
    let (exporter, guard) = install(Duration::ZERO);
    let waiting = Waiting::after_roots(1);
    wait_for("the root, with no delay", || exporter.spans().len() == 1);
    waiting.release();
    drop(guard);
}

#[test]
fn a_flush_exports_the_roots_other_threads_ended() {
    let _one = one_at_a_time();
    let (exporter, guard) = install(Duration::from_secs(3600));
    let waiting = Waiting::after_roots(3);
    guard.force_flush(Duration::from_secs(10)).unwrap();
    assert_eq!(exporter.spans().len(), 3, "the flush collects them");
    waiting.release();
    drop(guard);
}

#[test]
fn an_exiting_thread_hands_its_roots_over() {
    let _one = one_at_a_time();
    let (exporter, guard) = install(Duration::from_secs(3600));
    std::thread::spawn(|| {
        for i in 0..5 {
            request(i);
        }
    })
    .join()
    .unwrap();
    let stats = guard.pipeline().processor().stats();
    assert_eq!(stats.received, 5, "handed over as the thread exited");
    guard.force_flush(Duration::from_secs(10)).unwrap();
    assert_eq!(exporter.spans().len(), 5);
    drop(guard);
}

#[test]
fn every_root_is_counted_when_the_pipeline_shuts_down_under_threads_ending_them() {
    const THREADS: u64 = 4;
    const ROOTS: u64 = 100_000;
    let _one = one_at_a_time();
    let (exporter, guard) = install(Duration::from_millis(5));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(|| {
                for i in 0..ROOTS {
                    request(i);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2));
    let processor = guard.pipeline().processor();
    processor.shutdown(Duration::from_secs(10)).unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let s = processor.stats();
    assert_eq!(
        s.received,
        THREADS * ROOTS,
        "every root reached the processor"
    );
    assert_eq!(s.exported + s.dropped + s.failed, s.received, "{s:?}");
    assert_eq!(s.exported, exporter.spans().len() as u64);
    drop(guard);
}
