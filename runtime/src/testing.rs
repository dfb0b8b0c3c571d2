//! Helpers for tests that assert on spans: run code under an in-memory pipeline and get back
//! what it exported.
//!
//! The pipeline is process-wide, so captures are serialized by a lock: tests that use
//! [`capture`] can run on parallel test threads without seeing each other's spans.

use crate::export::InMemoryExporter;
use crate::model::SpanData;
use crate::pipeline::{Pipeline, PipelineBuilder};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

static LOCK: Mutex<()> = Mutex::new(());

/// Runs `f` with an in-memory pipeline installed (sampler: always on) and returns its result
/// and every span that ended meanwhile, on any thread, in the order they ended.
///
/// ```
/// let (n, spans) = traced_runtime::testing::capture(|| {
///     traced_runtime::span("work").start().end();
///     7
/// });
/// assert_eq!(n, 7);
/// assert_eq!(spans[0].name, "work");
/// ```
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    capture_with(|b| b, f)
}

/// Like [`capture`], with a say on the pipeline (sampler, limits, resource); the in-memory
/// exporter is added after `configure`.
pub fn capture_with<R>(
    configure: impl FnOnce(PipelineBuilder) -> PipelineBuilder,
    f: impl FnOnce() -> R,
) -> (R, Vec<SpanData>) {
    let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let exporter = InMemoryExporter::default();
    let guard = configure(Pipeline::builder().with_sampler(crate::pipeline::Sampler::AlwaysOn))
        .with_simple_exporter(exporter.clone())
        .install();
    let r = f();
    let _ = guard.force_flush(Duration::from_secs(5));
    drop(guard);
    (r, exporter.take())
}

/// Only the spans of [`capture`].
pub fn spans(f: impl FnOnce()) -> Vec<SpanData> {
    capture(f).1
}

/// The one span named `name` among `spans`; panics, printing the span tree, when there is
/// none or more than one.
///
/// ```
/// let spans = traced_runtime::testing::spans(|| traced_runtime::span("load").start().end());
/// assert!(traced_runtime::testing::one(&spans, "load").is_root());
/// ```
#[track_caller]
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert!(
        found.len() == 1,
        "expected one span named {name:?}, found {}:\n{}",
        found.len(),
        crate::export::render_tree(spans)
    );
    found[0]
}
