//! `#[traced]` functions under a batch processor whose queue is full: the thread that was
//! refused sheds the spans of the functions it calls (not recorded, counted as dropped) until
//! the queue has room again, and the context around them goes on.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use traced::export::{ExportError, SpanExporter};
use traced::pipeline::{BatchConfig, LOCAL_BATCH, Pipeline};
use traced::{SpanData, traced};

/// Holds every export until opened.
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    entered: Mutex<usize>,
    exported: Mutex<usize>,
}

#[derive(Debug, Clone, Default)]
struct Gated(Arc<Gate>);

impl SpanExporter for Gated {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        *self.0.entered.lock().unwrap() += 1;
        let mut open = self.0.open.lock().unwrap();
        while !*open {
            open = self.0.cv.wait(open).unwrap();
        }
        *self.0.exported.lock().unwrap() += batch.len();
        Ok(())
    }
}

impl Gated {
    fn open(&self) {
        *self.0.open.lock().unwrap() = true;
        self.0.cv.notify_all();
    }
    fn entered(&self) -> usize {
        *self.0.entered.lock().unwrap()
    }
    fn exported(&self) -> usize {
        *self.0.exported.lock().unwrap()
    }
}

/// Whether its own span records: a shed span is not entered, so the context is its caller's.
#[traced]
fn work(caller: traced::SpanId) -> bool {
    traced::current().span_context().span_id() != caller
}

#[traced]
fn request(calls: usize) -> usize {
    let me = traced::current().span_context().span_id();
    (0..calls).filter(|_| work(me)).count()
}

fn wait_until(cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "not in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn functions_called_while_the_queue_is_full_are_shed_and_counted() {
    let exporter = Gated::default();
    let guard = Pipeline::builder()
        .with_batch_exporter_config(
            exporter.clone(),
            BatchConfig::default()
                .with_max_queue_size(LOCAL_BATCH)
                .with_max_export_batch_size(LOCAL_BATCH)
                .with_scheduled_delay(Duration::from_secs(3600)),
        )
        .install();
    let processor = guard.pipeline().processor();
    let batch = LOCAL_BATCH;
    // The third request's calls: more than a batch holds.
    let third_calls = batch + batch / 2;
    // A request and its calls, a batch's worth: the worker takes it and is stuck exporting.
    assert_eq!(request(batch - 1), batch - 1);
    wait_until(|| exporter.entered() == 1);
    // The next fills the queue.
    assert_eq!(request(batch - 1), batch - 1);
    assert!(!processor.is_full());
    // In the third, the first batch of calls is refused; the calls after it are shed while
    // the queue stays full, and the request's own span (a root, never shed) is refused too.
    assert_eq!(request(third_calls), batch);
    assert!(processor.is_full());
    let stats = processor.stats();
    assert_eq!(
        stats.dropped as usize,
        batch + (third_calls - batch) + 1,
        "{stats:?}"
    );
    exporter.open();
    wait_until(|| !processor.is_full());
    // Room again: everything records.
    assert_eq!(request(10), 10);
    guard.force_flush(Duration::from_secs(10)).unwrap();
    let stats = processor.stats();
    assert_eq!(
        stats.received as usize,
        2 * batch + third_calls + 1 + 11,
        "{stats:?}"
    );
    assert_eq!(stats.dropped as usize, third_calls + 1, "{stats:?}");
    assert_eq!(
        stats.exported + stats.dropped + stats.failed,
        stats.received,
        "{stats:?}"
    );
    assert_eq!(exporter.exported(), 2 * batch + 11);
}
