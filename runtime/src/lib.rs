//! The runtime behind `#[traced]`: the OpenTelemetry span model, the active-span context,
//! sampling, propagation and the export pipeline.
//!
//! Users depend on the `traced` crate, which re-exports everything here; its front page is
//! organized by task. The crate root holds what an application calls; exporter and processor
//! authors find their items under [`export`] and [`pipeline`]; the data a span is made of is
//! under [`model`].
//!
//! # How the runtime fits together
//!
//! ```text
//!   config/        OTEL_* variables, init(): builds a pipeline and installs it
//!   integrations/  one module per crate (tokio, tower, reqwest), behind a feature of that name
//!   propagation/   W3C traceparent, tracestate, baggage; inject/extract into a Context
//!   span/          the hot path: callsite, builder, start, guard, end; futures, streams
//!   pipeline/      sampler, processors (simple, batch), the installed pipeline
//!   context/       each thread's stack of active spans; Context carried across threads
//!   export/        SpanExporter: console, memory, otlp/ (with its own config)
//!   model/         ids, values, events, links, status, resource, limits, SpanData, records
//! ```
//!
//! Each layer imports only the ones below it (the W3C formats in `propagation/` depend on the
//! model alone; only its inject/extract sits above `span/`). `tests/layers.rs` keeps it so.
//!
//! A span's life, from the macro's callsite to the exporter:
//!
//! 1. `#[traced]` expands to a static callsite (name, kind, [`model::CodeLocation`]) and a
//!    call into `__private`, which asks the start path in `span/` for a span.
//! 2. `span/` reads the parent from the thread's stack (`context/`), asks the installed
//!    pipeline's [`Sampler`] (skipped for a sampled child of a local sampled span), takes a
//!    pooled record (`model/record.rs`) and writes ids, clock reading and arguments into it.
//! 3. The guard pushes the span on the thread's stack; [`current`] reaches it from anywhere.
//! 4. When the guard drops (return, `?`, panic, dropped future), `span/` stamps the end time
//!    and status and hands the record to `pipeline/`, which buffers it for the thread.
//! 5. When the thread's outermost span ends (or its buffer fills) the buffer goes, as a
//!    [`export::SpanBatch`], to the [`pipeline::SpanProcessor`]: the simple one exports at
//!    once, the batch one queues it for its background thread (a batch at a time: short of
//!    one, the thread keeps the spans where that thread collects them).
//! 6. There, an [`export::SpanExporter`] turns records into [`SpanData`] or OTLP bytes
//!    (`export/otlp/`) and ships them; the records go back to the pool.

// The few `#[inline(always)]` sit on the argument-recording path, where perf showed
// store-forwarding stalls whenever a freshly built value crossed a call boundary.
#![allow(clippy::inline_always)]

pub mod config;
pub mod context;
pub mod export;
mod integrations;
pub mod model;
pub mod pipeline;
pub mod propagation;
mod span;
pub mod testing;

/// Futures and streams that carry a span or a context across `.await`s.
pub mod future {
    pub use crate::span::future::{FutureExt, Instrumented, OnOutput, WithContext};
    pub use crate::span::stream::{InstrumentedStream, StreamExt};
}

/// Threads that start in the spawning thread's context.
///
/// `std::thread::spawn` starts a thread with no active span: spans started there begin new
/// traces. These wrappers capture the [`Context`] first, so they continue the caller's trace.
/// For a [`std::thread::Builder`], pass [`context::wrap(f)`](crate::context::wrap) as the
/// closure.
pub mod thread {
    pub use crate::context::thread::{spawn, spawn_scoped};
}

/// The calling crate's [`InstrumentationScope`](model::InstrumentationScope) (its
/// `CARGO_PKG_NAME` and `CARGO_PKG_VERSION`), as a `&'static`: the scope `#[traced]` gives
/// its spans, for spans started by hand.
///
/// ```
/// let scope = traced_runtime::scope!();
/// assert_eq!(scope.name(), "traced-runtime");
/// let span = traced_runtime::span("poll").scope(scope).start();
/// ```
#[macro_export]
macro_rules! scope {
    () => {{
        static SCOPE: $crate::model::InstrumentationScope = $crate::__private::crate_scope!();
        &SCOPE
    }};
}

/// The expanding crate's scope, as a value: what `#[traced]`'s callsite holds.
#[doc(hidden)]
#[macro_export]
macro_rules! __crate_scope {
    () => {
        $crate::model::InstrumentationScope::new(
            $crate::__private::env!("CARGO_PKG_NAME"),
            $crate::__private::env!("CARGO_PKG_VERSION"),
        )
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::__crate_scope as crate_scope;
    pub use crate::model::SpanKind;
    pub use crate::model::Value;
    pub use crate::private::*;
    pub use crate::span::{Guard, Span};
    // `#[traced(parent = .., links(..))]`: the conversion targets of the option values.
    pub use crate::model::KeyValue;
    pub use crate::model::SpanContext;
    pub use crate::span::Parent;
}
mod private;

pub use config::{Config, init};
pub use context::{Context, current};
#[cfg(feature = "log")]
pub use integrations::log;
#[cfg(feature = "reqwest")]
pub use integrations::reqwest;
#[cfg(feature = "tokio")]
pub use integrations::tokio;
#[cfg(feature = "tower")]
pub use integrations::tower;
#[cfg(feature = "tracing")]
pub use integrations::tracing;
pub use model::secret;
pub use model::semconv;
pub use model::{
    Key, KeyValue, Redacted, SpanContext, SpanData, SpanId, SpanKind, Status, ToValue, TraceId,
    Value,
};
pub use pipeline::Sampler;
pub use pipeline::shutdown;
pub use span::future::FutureExt;
pub use span::stream::StreamExt;
pub use span::{Entered, Parent, Span, SpanBuilder, span};
