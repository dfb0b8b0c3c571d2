//! The runtime behind `#[traced]`: the OpenTelemetry span model, the active-span context,
//! sampling, propagation and the export pipeline.
//!
//! Users depend on the `traced` crate, which re-exports everything here.

// The few `#[inline(always)]` sit on the argument-recording path, where perf showed
// store-forwarding stalls whenever a freshly built value crossed a call boundary.
#![allow(clippy::inline_always)]

mod clock;
pub mod config;
pub mod context;
mod data;
pub mod export;
mod future;
mod ids;
mod integrations;
mod panic;
mod pipeline;
pub mod propagation;
mod record;
mod redacted;
mod sampling;
pub mod semconv;
mod span;
mod stream;
pub mod testing;
pub mod thread;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "reqwest")]
pub use integrations::reqwest;
#[cfg(feature = "tower")]
pub use integrations::tower;
mod value;

#[doc(hidden)]
pub mod __private {
    pub use crate::data::SpanKind;
    pub use crate::private::*;
    pub use crate::span::{Guard, Span};
    pub use crate::value::Value;
    // `#[traced(parent = .., links(..))]`: the conversion targets of the option values.
    pub use crate::ids::SpanContext;
    pub use crate::span::Parent;
    pub use crate::value::KeyValue;
}
mod private;

pub use clock::now_unix_nanos;
pub use config::{Config, init};
pub use context::{Context, ContextGuard, CurrentSpan, current};
pub use data::{Attributes, Event, Link, Resource, SpanData, SpanKind, SpanLimits, Status};
pub use export::{BatchConfig, BatchSpanProcessor};
pub use export::{
    ConsoleExporter, ExportError, InMemoryExporter, NoopExporter, ProcessorStats,
    SimpleSpanProcessor, SpanBatch, SpanExporter, SpanProcessor, render_tree,
};
pub use future::{FutureExt, Instrumented, OnOutput, WithContext};
pub use ids::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
pub use pipeline::{
    LOCAL_BATCH, Pipeline, PipelineBuilder, PipelineGuard, flush_thread, force_flush, install,
    installed,
};
pub use redacted::Redacted;
pub use sampling::{ParentBased, Sampler, SamplingDecision, ShouldSample};
pub use span::{CodeLocation, Entered, Parent, Span, SpanBuilder, span};
pub use stream::{InstrumentedStream, StreamExt};
pub use value::{Array, Key, KeyValue, OptionalValue, StringValue, ToValue, Value};
