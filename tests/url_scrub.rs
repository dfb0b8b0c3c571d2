//! The password of a URL in a string argument never reaches an exporter, whatever the path.
//!
//! The thread that records a span only marks such a value; the scrubbing happens where the
//! finished span is read for export. Every way out is checked here: the simple processor
//! (spans converted to `SpanData` on the calling thread), the batch processor (on its worker),
//! a processor of one's own that drains the batch, one that encodes it to OTLP protobuf in
//! place, a value cut to the length limit (cut after it is scrubbed), and an argument past the
//! attributes a record holds inline.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use traced::export::{ExportError, InMemoryExporter, SpanBatch};
use traced::model::{Resource, SpanLimits};
use traced::pipeline::{Pipeline, PipelineBuilder, SpanProcessor};
use traced::{Sampler, SpanData, Value, traced};

const URL: &str = "postgres://app:hunter2@db:5432/orders";
const SCRUBBED: &str = "postgres://app:[REDACTED]@db:5432/orders";

/// One pipeline at a time: each test installs its own.
static LOCK: Mutex<()> = Mutex::new(());

#[traced]
fn connect(url: &str, port: u64) -> u64 {
    port + url.len() as u64
}

#[traced]
#[allow(clippy::too_many_arguments)] // one more than a record holds inline
fn wide(
    n1: u64,
    n2: u64,
    n3: u64,
    n4: u64,
    n5: u64,
    n6: u64,
    n7: u64,
    n8: u64,
    url: &str,
) -> usize {
    (n1 + n2 + n3 + n4 + n5 + n6 + n7 + n8) as usize + url.len()
}

/// Runs `f` under a root span with `builder`'s pipeline installed, then flushes and shuts it
/// down.
fn run(builder: PipelineBuilder, f: impl FnOnce()) {
    let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let guard = builder.with_sampler(Sampler::AlwaysOn).install();
    {
        let mut root = traced::span("root").start();
        let _entered = root.enter();
        f();
    }
    let _ = guard.force_flush(Duration::from_secs(5));
    drop(guard);
}

/// Runs `f` as [`run`] does, with the pipeline `builder` makes around an in-memory
/// exporter; the spans that exporter got.
fn exported(
    builder: impl FnOnce(InMemoryExporter) -> PipelineBuilder,
    f: impl FnOnce(),
) -> Vec<SpanData> {
    let exporter = InMemoryExporter::default();
    run(builder(exporter.clone()), f);
    exporter.spans()
}

fn url_of(spans: &[SpanData], name: &str) -> Value {
    let span = traced::testing::one(spans, name);
    span.attribute("url").cloned().expect("a url attribute")
}

#[test]
fn simple_processor() {
    let spans = exported(
        |e| Pipeline::builder().with_simple_exporter(e),
        || {
            connect(URL, 5432);
        },
    );
    assert_eq!(url_of(&spans, "connect"), s(SCRUBBED));
}

#[test]
fn batch_processor() {
    let spans = exported(
        |e| Pipeline::builder().with_batch_exporter(e),
        || {
            connect(URL, 5432);
        },
    );
    assert_eq!(url_of(&spans, "connect"), s(SCRUBBED));
}

/// A processor of one's own: keeps what `drain` gives it.
#[derive(Debug, Default, Clone)]
struct Draining(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Draining {
    fn on_end(&self, spans: &mut SpanBatch) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.extend(spans.drain());
    }
    fn force_flush(&self, _: Duration) -> Result<(), ExportError> {
        Ok(())
    }
    fn shutdown(&self, _: Duration) -> Result<(), ExportError> {
        Ok(())
    }
}

#[test]
fn a_processor_that_drains() {
    let processor = Draining::default();
    run(
        Pipeline::builder().with_processor(processor.clone()),
        || {
            connect(URL, 5432);
        },
    );
    let spans = processor.0.lock().unwrap().clone();
    assert_eq!(url_of(&spans, "connect"), s(SCRUBBED));
}

/// A processor of one's own: encodes each batch to OTLP protobuf in place.
#[derive(Debug, Default, Clone)]
struct Encoding(Arc<Mutex<Vec<u8>>>);

impl SpanProcessor for Encoding {
    fn on_end(&self, spans: &mut SpanBatch) {
        let mut encoder = traced::export::otlp::Encoder::new(&Resource::default());
        let bytes = encoder.encode(spans).to_vec();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(bytes);
    }
    fn force_flush(&self, _: Duration) -> Result<(), ExportError> {
        Ok(())
    }
    fn shutdown(&self, _: Duration) -> Result<(), ExportError> {
        Ok(())
    }
}

fn contains(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

#[test]
fn the_otlp_encoder() {
    let processor = Encoding::default();
    run(
        Pipeline::builder().with_processor(processor.clone()),
        || {
            connect(URL, 5432);
        },
    );
    let bytes = processor.0.lock().unwrap().clone();
    assert!(contains(&bytes, SCRUBBED));
    assert!(!contains(&bytes, "hunter2"));
}

/// The encoder reads records before they are scrubbed and takes its fast path only for
/// values the scrub would leave alone: a value past the limit, with or without a password,
/// is cut there too, after scrubbing.
#[test]
fn the_otlp_encoder_cuts_after_scrubbing() {
    const LONG: &str = "abcdefghijklmnopqrstuvwxyz";
    let processor = Encoding::default();
    let limits = SpanLimits {
        max_attribute_value_length: Some(20),
        ..SpanLimits::default()
    };
    run(
        Pipeline::builder()
            .with_limits(limits)
            .with_processor(processor.clone()),
        || {
            connect(URL, 5432);
            connect(LONG, 1);
        },
    );
    let bytes = processor.0.lock().unwrap().clone();
    assert!(contains(&bytes, &SCRUBBED[..20]) && !contains(&bytes, &SCRUBBED[..21]));
    assert!(!contains(&bytes, "hunter2"));
    assert!(contains(&bytes, &LONG[..20]) && !contains(&bytes, &LONG[..21]));
}

#[test]
fn a_value_cut_to_the_limit_is_cut_after_scrubbing() {
    let limits = SpanLimits {
        max_attribute_value_length: Some(20),
        ..SpanLimits::default()
    };
    let spans = exported(
        |e| {
            Pipeline::builder()
                .with_limits(limits)
                .with_simple_exporter(e)
        },
        || {
            connect(URL, 5432);
        },
    );
    assert_eq!(url_of(&spans, "connect"), s(&SCRUBBED[..20]));
}

#[test]
fn an_argument_past_the_inline_attributes() {
    let spans = exported(
        |e| Pipeline::builder().with_batch_exporter(e),
        || {
            wide(1, 2, 3, 4, 5, 6, 7, 8, URL);
        },
    );
    assert_eq!(url_of(&spans, "wide"), s(SCRUBBED));
}

#[test]
fn a_value_set_over_an_argument_is_kept_as_set() {
    #[traced]
    fn replaced(url: &str) {
        let _ = url;
        traced::current().set_attribute("url", "set by hand");
    }
    let spans = exported(
        |e| Pipeline::builder().with_simple_exporter(e),
        || replaced(URL),
    );
    assert_eq!(url_of(&spans, "replaced"), s("set by hand"));
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}
