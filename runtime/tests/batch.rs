//! The batch span processor: batching, scheduling, back-pressure by dropping, flush, shutdown,
//! timeouts, and the real pipeline on many threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use traced_runtime::export::{ExportError, InMemoryExporter, SpanBatch, SpanExporter};
use traced_runtime::model::{Resource, TraceFlags, TraceState};
use traced_runtime::pipeline::{
    BatchConfig, BatchSpanProcessor, Pipeline, ProcessorStats, SpanProcessor,
};
use traced_runtime::{SpanContext, SpanData, SpanId, TraceId};

const HOUR: Duration = Duration::from_secs(3600);
const LONG: Duration = Duration::from_secs(10);

/// The pipeline is process-wide: tests that install one take turns.
static PIPELINE: Mutex<()> = Mutex::new(());

fn pipeline_lock() -> std::sync::MutexGuard<'static, ()> {
    PIPELINE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn span_data(i: u64) -> SpanData {
    SpanData {
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..SpanData::new(
            SpanContext::new(
                TraceId::from_u128(u128::from(i) + 1),
                SpanId::from_u64(i + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            "span",
        )
    }
}

fn spans(range: std::ops::Range<u64>) -> SpanBatch {
    SpanBatch::from(range.map(span_data).collect::<Vec<_>>())
}

/// A gate an export waits at until the test opens it.
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    entered: AtomicUsize,
}

impl Gate {
    fn pass(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
    fn wait_entered(&self, n: usize) {
        wait_until(|| self.entered.load(Ordering::SeqCst) >= n);
    }
}

#[derive(Debug, Default)]
struct Log {
    batches: Vec<usize>,
    ids: Vec<u64>,
    flushes: usize,
    shutdowns: usize,
    resource: Option<Resource>,
    resource_before_first_export: Option<bool>,
}

/// Records what it receives; can sleep, fail, panic or wait at a gate; fails the test if
/// ever called concurrently.
#[derive(Debug, Clone, Default)]
struct Mock {
    log: Arc<Mutex<Log>>,
    busy: Arc<AtomicBool>,
    sleep: Duration,
    fail: bool,
    panic_once: Arc<AtomicBool>,
    gate: Option<Arc<Gate>>,
}

impl Mock {
    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn exported(&self) -> usize {
        self.log().ids.len()
    }
    fn batches(&self) -> Vec<usize> {
        self.log().batches.clone()
    }
}

impl SpanExporter for Mock {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        assert!(
            !self.busy.swap(true, Ordering::SeqCst),
            "exporter called concurrently"
        );
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        thread::sleep(self.sleep);
        {
            let mut log = self.log();
            let had_resource = log.resource.is_some();
            log.resource_before_first_export.get_or_insert(had_resource);
            log.batches.push(batch.len());
            log.ids
                .extend(batch.iter().map(|s| s.span_context.span_id().to_u64()));
        }
        self.busy.store(false, Ordering::SeqCst);
        assert!(
            !self.panic_once.swap(false, Ordering::SeqCst),
            "exporter bug"
        );
        if self.fail {
            return Err(ExportError::Failed("backend said no".into()));
        }
        Ok(())
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.log().resource = Some(resource.clone());
    }
    fn force_flush(&mut self) -> Result<(), ExportError> {
        self.log().flushes += 1;
        Ok(())
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.log().shutdowns += 1;
        Ok(())
    }
}

fn wait_until(cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LONG, "condition not met in {LONG:?}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A processor whose worker threads wake at 250 spans (a quarter of the queue), and which
/// exports in batches of 100.
fn queue_1000_batch_100(mock: &Mock) -> BatchSpanProcessor {
    BatchSpanProcessor::with_config(
        mock.clone(),
        config()
            .with_max_queue_size(1000)
            .with_max_export_batch_size(100),
    )
}

/// Hands spans `range` to `p` in the thread-sized chunks the pipeline hands over.
fn hand_over(p: &BatchSpanProcessor, range: std::ops::Range<u64>) {
    let mut n = range.start;
    while n < range.end {
        let mut chunk = spans(n..(n + 64).min(range.end));
        n += chunk.len() as u64;
        p.on_end(&mut chunk);
        assert!(chunk.is_empty(), "on_end takes the spans out");
    }
}

fn assert_balanced(stats: ProcessorStats) {
    assert_eq!(
        stats.exported + stats.dropped + stats.failed,
        stats.received,
        "{stats:?}"
    );
}

fn config() -> BatchConfig {
    BatchConfig::default().with_scheduled_delay(HOUR)
}

#[test]
fn defaults_are_opentelemetry_s_but_a_larger_queue() {
    let c = BatchConfig::default();
    assert_eq!(c.max_queue_size(), 8192);
    assert_eq!(c.max_export_batch_size(), 512);
    assert_eq!(c.scheduled_delay(), Duration::from_secs(5));
    assert_eq!(c.export_timeout(), Duration::from_secs(30));
    let clamped = c.with_max_queue_size(100).with_max_export_batch_size(0);
    assert_eq!(clamped.max_export_batch_size(), 1);
    assert_eq!(
        c.with_max_queue_size(100).max_export_batch_size(),
        100,
        "batch clamped to the queue"
    );
}

#[test]
fn threads_wake_the_worker_at_a_quarter_of_the_queue_not_at_each_full_batch() {
    let mock = Mock::default();
    let p = queue_1000_batch_100(&mock);
    // The worker asleep, as between bursts.
    std::thread::sleep(Duration::from_millis(50));
    hand_over(&p, 0..192);
    // Nearly two full batches wait: a burst goes on without the worker.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(mock.exported(), 0);
    hand_over(&p, 192..256);
    // Past 250: the worker wakes and exports the full batches.
    wait_until(|| mock.exported() == 200);
    assert_eq!(p.queue_len(), 56);
    p.shutdown(LONG).unwrap();
    assert_eq!(mock.exported(), 256);
}

#[test]
fn full_batches_go_at_once_and_never_exceed_the_batch_size() {
    let mock = Mock::default();
    let p = queue_1000_batch_100(&mock);
    hand_over(&p, 0..250);
    // A quarter of the queue (250 spans) wakes the worker: two full batches leave without
    // waiting for the (hour-long) delay; 50 stay queued.
    wait_until(|| mock.exported() == 200);
    assert_eq!(mock.batches(), [100, 100]);
    assert_eq!(p.queue_len(), 50);
    p.force_flush(LONG).unwrap();
    assert_eq!(mock.batches(), [100, 100, 50]);
    let ids = mock.log().ids.clone();
    assert_eq!(ids, (1..=250).collect::<Vec<_>>(), "in order, each once");
    let stats = p.stats();
    assert_eq!(
        stats,
        ProcessorStats {
            received: 250,
            exported: 250,
            dropped: 0,
            failed: 0,
            formatting_failures: 0,
        }
    );
}

#[test]
fn a_partial_batch_waits_for_the_scheduled_delay() {
    let mock = Mock::default();
    let delay = Duration::from_millis(300);
    let start = Instant::now();
    let p = BatchSpanProcessor::with_config(mock.clone(), config().with_scheduled_delay(delay));
    p.on_end(&mut spans(0..5));
    if start.elapsed() < delay / 2 {
        thread::sleep(delay / 10);
        assert_eq!(mock.exported(), 0, "exported before the delay");
    }
    wait_until(|| mock.exported() == 5);
    assert!(start.elapsed() >= delay.saturating_sub(Duration::from_millis(20)));
    assert_eq!(mock.batches(), [5]);
    assert_eq!(mock.log().flushes, 0, "no flush was asked for");
}

#[test]
fn zero_delay_exports_as_soon_as_anything_is_queued() {
    let mock = Mock::default();
    let p = BatchSpanProcessor::with_config(
        mock.clone(),
        config().with_scheduled_delay(Duration::ZERO),
    );
    p.on_end(&mut spans(0..3));
    wait_until(|| mock.exported() == 3);
    p.on_end(&mut spans(3..4));
    wait_until(|| mock.exported() == 4);
}

#[test]
fn a_full_queue_drops_new_spans_and_counts_them() {
    let gate = Arc::new(Gate::default());
    let mock = Mock {
        gate: Some(Arc::clone(&gate)),
        ..Mock::default()
    };
    let p = BatchSpanProcessor::with_config(
        mock.clone(),
        config()
            .with_max_queue_size(10)
            .with_max_export_batch_size(5),
    );
    p.on_end(&mut spans(0..5));
    gate.wait_entered(1); // the worker holds 5 spans in a stuck export
    let mut more = spans(5..25);
    p.on_end(&mut more);
    assert!(more.is_empty());
    assert_eq!(p.queue_len(), 10);
    let stats = p.stats();
    assert_eq!((stats.received, stats.dropped), (25, 10));
    gate.open();
    p.force_flush(LONG).unwrap();
    let stats = p.stats();
    assert_eq!((stats.exported, stats.dropped, stats.failed), (15, 10, 0));
    assert_balanced(stats);
    assert_eq!(
        mock.log().ids,
        (1..=15).collect::<Vec<_>>(),
        "the newest were dropped"
    );
}

#[test]
fn shutdown_exports_everything_then_drops_later_spans() {
    let mock = Mock::default();
    let p = BatchSpanProcessor::with_config(mock.clone(), config());
    for i in 0..10 {
        p.on_end(&mut spans(i * 100..(i + 1) * 100));
    }
    p.shutdown(LONG).unwrap();
    assert_eq!(mock.exported(), 1000);
    assert!(
        mock.batches().iter().all(|&b| b <= 512),
        "{:?}",
        mock.batches()
    );
    assert_eq!(mock.log().shutdowns, 1);
    p.on_end(&mut spans(0..7));
    let stats = p.stats();
    assert_eq!(
        (stats.received, stats.exported, stats.dropped),
        (1007, 1000, 7)
    );
    assert_balanced(stats);
    assert_eq!(p.shutdown(LONG), Err(ExportError::Shutdown));
    assert_eq!(p.force_flush(LONG), Err(ExportError::Shutdown));
    assert_eq!(mock.log().shutdowns, 1, "the exporter is shut down once");
}

#[test]
fn force_flush_exports_what_is_queued_and_flushes_the_exporter() {
    let mock = Mock::default();
    let p = BatchSpanProcessor::with_config(mock.clone(), config());
    p.on_end(&mut spans(0..10));
    p.force_flush(LONG).unwrap();
    assert_eq!(mock.exported(), 10);
    assert_eq!(mock.log().flushes, 1);
    // Nothing queued: a flush still reaches the exporter.
    p.force_flush(LONG).unwrap();
    assert_eq!(mock.log().flushes, 2);
    assert_eq!(mock.exported(), 10);
}

#[test]
fn a_slow_exporter_never_slows_the_threads_ending_spans() {
    let _lock = pipeline_lock();
    let mock = Mock {
        sleep: Duration::from_millis(200),
        ..Mock::default()
    };
    let guard = Pipeline::builder()
        .with_batch_exporter_config(
            mock.clone(),
            BatchConfig::default().with_max_export_batch_size(100),
        )
        .install();
    let start = Instant::now();
    for _ in 0..1000 {
        traced_runtime::span("request").start().end();
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "1000 span ends took {took:?} while the exporter sleeps 200 ms per batch"
    );
    let processor = guard.pipeline().processor();
    processor.shutdown(LONG).unwrap();
    let stats = processor.stats();
    assert_eq!(stats.received, 1000);
    assert_eq!(stats.exported, 1000, "the default queue holds all of them");
    assert_balanced(stats);
    drop(guard);
}

#[test]
fn a_failing_exporter_counts_failed_spans() {
    let mock = Mock {
        fail: true,
        ..Mock::default()
    };
    let p = BatchSpanProcessor::with_config(mock.clone(), config().with_max_export_batch_size(10));
    // Two full batches fail on the worker's own schedule; the last 5 fail inside the flush,
    // which reports it.
    p.on_end(&mut spans(0..25));
    let flushed = p.force_flush(LONG);
    assert!(
        matches!(flushed, Err(ExportError::Failed(_))),
        "{flushed:?}"
    );
    let stats = p.stats();
    assert_eq!((stats.exported, stats.failed), (0, 25));
    assert_balanced(stats);
    assert_eq!(mock.batches(), [10, 10, 5]);
}

#[test]
fn a_panicking_exporter_fails_its_batch_and_the_worker_goes_on() {
    let mock = Mock {
        panic_once: Arc::new(AtomicBool::new(true)),
        ..Mock::default()
    };
    let p = BatchSpanProcessor::with_config(mock.clone(), config());
    p.on_end(&mut spans(0..4));
    assert!(matches!(p.force_flush(LONG), Err(ExportError::Failed(_))));
    p.on_end(&mut spans(4..10));
    p.force_flush(LONG).unwrap();
    let stats = p.stats();
    assert_eq!((stats.exported, stats.failed), (6, 4));
    p.shutdown(LONG).unwrap();
}

#[test]
fn a_hung_exporter_is_abandoned_at_its_timeout_and_the_worker_moves_on() {
    let gate = Arc::new(Gate::default());
    let mock = Mock {
        gate: Some(Arc::clone(&gate)),
        ..Mock::default()
    };
    let timeout = Duration::from_millis(100);
    let p = BatchSpanProcessor::with_config(
        mock.clone(),
        config()
            .with_max_queue_size(20)
            .with_max_export_batch_size(5)
            .with_export_timeout(timeout),
    );
    p.on_end(&mut spans(0..5));
    gate.wait_entered(1);
    p.on_end(&mut spans(5..8));
    // Past the export timeout, the stuck batch counts as failed and the call is abandoned.
    wait_until(|| p.abandoned_exports() == 1);
    assert_eq!(p.stats().failed, 5);
    // The worker moved on: a flush does not wait behind the stuck call; what it would send
    // fails at once, counted.
    let start = Instant::now();
    assert!(matches!(p.force_flush(LONG), Err(ExportError::Failed(_))));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(p.stats().failed, 8);
    let start = Instant::now();
    assert!(p.shutdown(LONG).is_err());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    p.on_end(&mut spans(8..9));
    let stats = p.stats();
    assert_eq!(
        (stats.received, stats.exported, stats.failed, stats.dropped),
        (9, 0, 8, 1)
    );
    // When the stuck call finally returns, nothing is counted twice.
    gate.open();
    wait_until(|| mock.exported() == 5);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(p.stats(), stats);
}

#[test]
fn a_shutdown_that_runs_out_of_time_still_counts_every_span_once() {
    let gate = Arc::new(Gate::default());
    let mock = Mock {
        gate: Some(Arc::clone(&gate)),
        ..Mock::default()
    };
    // No export timeout: only the shutdown's own deadline ends the wait.
    let p = BatchSpanProcessor::with_config(
        mock,
        config()
            .with_max_queue_size(2048)
            .with_max_export_batch_size(512)
            .with_export_timeout(Duration::ZERO),
    );
    for i in 0..20 {
        p.on_end(&mut spans(i * 500..(i + 1) * 500));
    }
    gate.wait_entered(1);
    let start = Instant::now();
    assert_eq!(
        p.shutdown(Duration::from_millis(200)),
        Err(ExportError::Timeout(Duration::from_millis(200)))
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    // Received 10 000: the batch under way failed, the queue dropped, the overflow dropped.
    let stats = p.stats();
    assert_eq!(stats.received, 10_000);
    assert_eq!(stats.failed, 512, "{stats:?}");
    assert_balanced(stats);
    gate.open();
    thread::sleep(Duration::from_millis(50));
    assert_eq!(p.stats(), stats, "the late export is not counted again");
}

/// A batch pipeline installed for the process, into an exporter that waits at the returned
/// gate until it opens.
fn gated_pipeline(
    export_timeout: Duration,
    shutdown_timeout: Duration,
) -> (Arc<Gate>, traced_runtime::pipeline::PipelineGuard) {
    let gate = Arc::new(Gate::default());
    let mock = Mock {
        gate: Some(Arc::clone(&gate)),
        ..Mock::default()
    };
    let guard = Pipeline::builder()
        .with_batch_exporter_config(mock, config().with_export_timeout(export_timeout))
        .with_shutdown_timeout(shutdown_timeout)
        .install();
    (gate, guard)
}

#[test]
fn a_hung_exporter_through_the_pipeline_loses_count_of_no_span() {
    let _lock = pipeline_lock();
    let (gate, guard) = gated_pipeline(Duration::from_millis(100), Duration::from_millis(300));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..2500 {
                    traced_runtime::span("s").start().end();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let pipeline = guard.pipeline();
    let start = Instant::now();
    drop(guard);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let stats = pipeline.processor().stats();
    assert_eq!(stats.received, 10_000, "{stats:?}");
    assert_eq!(stats.exported, 0);
    assert_balanced(stats);
    gate.open();
}

/// The calling thread's last spans, short of a batch, wait in its place for the worker,
/// which collects places at shutdown; a shutdown that runs out of time while the worker is
/// still in an export counts them too. (`tests/exit_time.rs` once saw 56 of 3000 spans
/// received and never settled: 3000 is 46 batches of 64 and 56.)
#[test]
fn a_shutdown_that_runs_out_of_time_counts_the_spans_threads_left_parked() {
    let _lock = pipeline_lock();
    // No export timeout: the worker stays in its first export until the gate opens.
    let (gate, guard) = gated_pipeline(Duration::ZERO, Duration::from_millis(100));
    for _ in 0..3000 {
        traced_runtime::span("s").start().end();
    }
    let pipeline = guard.pipeline();
    traced_runtime::pipeline::flush_thread();
    gate.wait_entered(1);
    drop(guard);
    let stats = pipeline.processor().stats();
    assert_eq!(stats.received, 3000, "{stats:?}");
    assert_balanced(stats);
    gate.open();
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        pipeline.processor().stats(),
        stats,
        "nothing is counted twice"
    );
}

#[test]
fn spans_ended_on_many_threads_all_arrive() {
    let _lock = pipeline_lock();
    let exporter = InMemoryExporter::default();
    let guard = Pipeline::builder()
        .with_batch_exporter_config(
            exporter.clone(),
            BatchConfig::default()
                .with_max_queue_size(20_000)
                .with_scheduled_delay(Duration::from_millis(10)),
        )
        .install();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..250 {
                    let mut parent = traced_runtime::span("parent").start();
                    parent.in_scope(|| {
                        for _ in 0..3 {
                            traced_runtime::span("child").start().end();
                        }
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    guard.force_flush(LONG).unwrap();
    let spans = exporter.take();
    assert_eq!(spans.len(), 8 * 250 * 4);
    let parents: std::collections::HashSet<_> = spans
        .iter()
        .filter(|s| s.is_root())
        .map(|s| s.span_context.span_id())
        .collect();
    assert_eq!(parents.len(), 2000);
    assert!(
        spans
            .iter()
            .filter(|s| !s.is_root())
            .all(|s| parents.contains(&s.parent_span_id))
    );
    let stats = guard.pipeline().processor().stats();
    assert_eq!(
        (stats.received, stats.exported, stats.dropped),
        (8000, 8000, 0)
    );
    drop(guard);
}

#[test]
fn a_thread_that_exits_hands_over_its_buffered_spans() {
    let _lock = pipeline_lock();
    let exporter = InMemoryExporter::default();
    let guard = Pipeline::builder()
        .with_batch_exporter_config(exporter.clone(), config())
        .install();
    thread::spawn(|| {
        // An outer span that never ends keeps its children in the thread's buffer...
        let outer = Box::leak(Box::new(traced_runtime::span("outer").start()));
        std::mem::forget(outer.enter());
        for _ in 0..10 {
            traced_runtime::span("child").start().end();
        }
        // ...until the thread exits.
    })
    .join()
    .unwrap();
    guard.force_flush(LONG).unwrap();
    let spans = exporter.take();
    assert_eq!(spans.len(), 10);
    assert!(spans.iter().all(|s| s.name == "child"));
    drop(guard);
}

#[test]
fn the_resource_reaches_the_exporter_before_the_first_batch() {
    let _lock = pipeline_lock();
    let mock = Mock::default();
    let guard = Pipeline::builder()
        .with_resource(Resource::default_for_process().with("service.name", "checkout"))
        .with_batch_exporter(mock.clone())
        .install();
    traced_runtime::span("work").start().end();
    drop(guard);
    let log = mock.log();
    assert_eq!(log.ids.len(), 1, "dropping the guard exported the span");
    assert_eq!(log.resource_before_first_export, Some(true));
    assert_eq!(
        log.resource.as_ref().map(Resource::service_name),
        Some("checkout")
    );
    assert_eq!(log.shutdowns, 1);
}

#[test]
fn memory_stays_bounded_by_the_queue_under_sustained_overload() {
    const PER_THREAD: u64 = 1_000_000;
    let max = 2048;
    let mock = Mock {
        sleep: Duration::from_millis(20),
        ..Mock::default()
    };
    let p = Arc::new(BatchSpanProcessor::with_config(
        mock.clone(),
        BatchConfig::default().with_max_queue_size(max),
    ));
    let peak = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..2u64)
        .map(|t| {
            let p = Arc::clone(&p);
            let peak = Arc::clone(&peak);
            thread::spawn(move || {
                let mut i = t * PER_THREAD;
                while i < (t + 1) * PER_THREAD {
                    let mut chunk = spans(i..i + 64);
                    i += 64;
                    p.on_end(&mut chunk);
                    assert!(chunk.is_empty());
                    if i.is_multiple_of(65_536) {
                        peak.fetch_max(p.queue_len(), Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in producers {
        t.join().unwrap();
    }
    assert!(peak.load(Ordering::Relaxed) <= max);
    assert!(p.queue_len() <= max);
    let stats = p.stats();
    assert_eq!(stats.received, 2 * PER_THREAD);
    assert!(stats.dropped > 0, "{stats:?}");
    p.shutdown(LONG).unwrap();
    let stats = p.stats();
    assert_balanced(stats);
    assert_eq!(stats.exported as usize, mock.exported());
}

/// An exporter that takes batches in place and records their sizes; `export` is never called.
#[derive(Debug, Clone, Default)]
struct InPlace(Arc<Mutex<Vec<usize>>>);

impl SpanExporter for InPlace {
    fn export(&mut self, _batch: Vec<SpanData>) -> Result<(), ExportError> {
        panic!("the processors call export_batch");
    }
    fn export_batch(&mut self, batch: &mut SpanBatch) -> Result<(), ExportError> {
        let names: Vec<String> = batch.drain().map(|s| s.name.into_owned()).collect();
        assert!(names.iter().all(|n| n == "in-place"), "{names:?}");
        self.0.lock().unwrap().push(names.len());
        Ok(())
    }
}

#[test]
fn the_batch_processor_hands_the_exporter_merged_thread_batches_in_place() {
    let _lock = pipeline_lock();
    let exporter = InPlace::default();
    let config = BatchConfig::default()
        .with_max_export_batch_size(50)
        .with_scheduled_delay(HOUR);
    let guard = Pipeline::builder()
        .with_batch_exporter_config(exporter.clone(), config)
        .install();
    // Each thread keeps its roots until it exits, then hands the 40 over: batches of 40
    // merged up to the export batch size.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..40 {
                    traced_runtime::span("in-place").start().end();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    guard.force_flush(LONG).unwrap();
    let sizes = exporter.0.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), 160, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 50), "{sizes:?}");
    assert!(
        sizes.iter().any(|&n| n > 1),
        "thread batches merged: {sizes:?}"
    );
    let stats = guard.pipeline().processor().stats();
    assert_eq!((stats.exported, stats.failed), (160, 0));
}

#[test]
fn the_simple_processor_hands_the_exporter_spans_in_place() {
    let _lock = pipeline_lock();
    let exporter = InPlace::default();
    let guard = Pipeline::builder()
        .with_simple_exporter(exporter.clone())
        .install();
    traced_runtime::span("in-place").start().end();
    assert_eq!(*exporter.0.lock().unwrap(), [1]);
    assert_eq!(guard.pipeline().processor().stats().failed, 0);
}

/// An exporter that panics on every export.
#[derive(Debug)]
struct Panics;

impl SpanExporter for Panics {
    fn export(&mut self, _: Vec<SpanData>) -> Result<(), ExportError> {
        panic!("exporter bug")
    }
}

#[test]
fn a_panicking_exporter_behind_the_simple_processor_fails_its_spans_without_unwinding_into_the_caller()
 {
    let _turn = pipeline_lock();
    let guard = Pipeline::builder().with_simple_exporter(Panics).install();
    let ended = std::panic::catch_unwind(|| {
        for _ in 0..3 {
            traced_runtime::span("work").start().end();
        }
        traced_runtime::pipeline::flush_thread();
    });
    assert!(ended.is_ok(), "the exporter's panic reached the caller");
    let stats = guard.pipeline().processor().stats();
    assert_eq!((stats.received, stats.exported, stats.failed), (3, 0, 3));
}

/// Starts `n` children of the active span; returns how many of them record.
fn children(n: usize) -> usize {
    let active = traced_runtime::current().span_context();
    (0..n)
        .filter(|_| {
            let child = traced_runtime::span("child").start();
            let recording = child.is_recording();
            if !recording {
                // Shed like an unsampled child: the parent's context goes on propagating.
                assert_eq!(traced_runtime::current().span_context(), active);
            }
            child.end();
            recording
        })
        .count()
}

#[test]
fn a_thread_whose_spans_the_full_queue_refused_sheds_its_children_while_it_stays_full() {
    let _lock = pipeline_lock();
    let gate = Arc::new(Gate::default());
    let mock = Mock {
        gate: Some(Arc::clone(&gate)),
        ..Mock::default()
    };
    let batch = traced_runtime::pipeline::LOCAL_BATCH;
    let guard = Pipeline::builder()
        .with_batch_exporter_config(
            mock.clone(),
            config()
                .with_max_queue_size(batch)
                .with_max_export_batch_size(batch),
        )
        .install();
    let processor = guard.pipeline().processor();
    let mut root = traced_runtime::span("root").start();
    root.in_scope(|| {
        // The first batch goes to the worker, which holds it in a stuck export.
        assert_eq!(children(batch), batch);
        gate.wait_entered(1);
        assert!(!processor.is_full());
        // The second fills the queue; the third is refused.
        assert_eq!(children(2 * batch), 2 * batch);
        assert!(processor.is_full());
        // While the queue stays full, the children this thread starts are shed.
        assert_eq!(children(3 * batch), 0);
        // Once the worker has taken spans off the queue, they record again.
        gate.open();
        wait_until(|| !processor.is_full());
        assert_eq!(children(batch), batch);
        // (Room for the root: the worker exports these too.)
        wait_until(|| mock.exported() == 3 * batch);
    });
    // A root is never shed: shed, it would leave its whole trace unsampled, uncounted.
    assert!(root.is_recording());
    root.end();
    guard.force_flush(LONG).unwrap();
    let stats = processor.stats();
    let started = 7 * batch + 1;
    assert_eq!(stats.received as usize, started, "{stats:?}");
    // Dropped: the refused batch, and the shed children.
    assert_eq!(stats.dropped as usize, batch + 3 * batch, "{stats:?}");
    assert_balanced(stats);
    assert_eq!(mock.exported(), started - 4 * batch);
}
