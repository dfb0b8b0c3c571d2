//! The `tracing` ecosystem in traced's traces, both ways (feature `tracing`).
//!
//! Add [`layer()`] to your subscriber, on [`registry()`] (in place of
//! `tracing_subscriber::registry()`, the cheapest) or on the registry you already have:
//!
//! ```
//! use tracing_subscriber::{fmt, prelude::*};
//!
//! traced_runtime::tracing::registry() // or tracing_subscriber::registry()
//!     .with(traced_runtime::tracing::layer())
//!     .with(fmt::layer().event_format(traced_runtime::tracing::with_trace_ids(fmt::format())))
//!     .init();
//! ```
//!
//! (or, with no subscriber of your own, `traced::Config::from_env().with_tracing(true)`).
//! Then:
//!
//! - **`tracing` into traced.** Every `tracing` span (`#[instrument]`, `info_span!`, the
//!   spans of hyper, tower-http, sqlx...) becomes a traced span, a child of the active traced
//!   span (or of its explicit `tracing` parent), sampled by traced's sampler; every event
//!   becomes an event on the span it happened in.
//! - **traced into `tracing`.** While a traced span is active, `tracing::Span::current()`
//!   stands for it: a library that captures it to carry the context to another thread or task
//!   (the `SQLite` worker of sqlx, `tracing::Instrument::in_current_span`) carries the traced span's
//!   context, so spans it starts there are its children, events it records there land on it,
//!   and [`with_trace_ids`] puts its ids on the lines written there.
//!
//! # The mapping
//!
//! | `tracing` | traced span data | note |
//! |---|---|---|
//! | span name | span name | |
//! | field `otel.name` | span name | |
//! | field `otel.kind` (`client`, `server`, `producer`, `consumer`, `internal`) | kind | any case; another value stays an attribute; read before sampling |
//! | field `otel.status_code` (`ok`, `error`, `unset`) | status | with `otel.status_description` (or `otel.status_message`) as the error's description |
//! | other span fields, at creation or by `span.record` | attributes | `i64` → int, `u64` → int (a string above `i64::MAX`), `f64`, `bool`, `&str` → string; `Debug` and `Display` values as their text; errors as their `Display` |
//! | callsite file, line, module | `code.file.path`, `code.line.number`, `code.module.name` | [`TracedLayer::with_location`] |
//! | target, level | attributes `target`, `level` (`INFO`...) | |
//! | target's crate (`sqlx` for `sqlx::query`) | instrumentation scope (no version) | one `ScopeSpans` per crate in OTLP |
//! | explicit parent (`parent: &span`) | parent | its traced span, or its nearest ancestor's |
//! | contextual parent | the thread's active traced span | a bridged span entered is the active traced span |
//! | `span.follows_from(other)` | link to `other` | |
//! | span closed (last handle dropped) | span ends | an entered span is active in traced too |
//! | event | span event on the event's span | at the time it was recorded, on any thread |
//! | event `message` | event name | without one: the callsite's name (`event src/lib.rs:12`) |
//! | event fields | event attributes, plus `level` and `target` | typed as for spans |
//! | event with an `error` field | event `exception` with `exception.message` (the other fields kept); at level ERROR also status `Error` with the error's text (a handled error logged at WARN leaves the status alone) | [`TracedLayer::with_error_fields_to_exceptions`] |
//! | event at level ERROR | status `Error` with the message as description | [`TracedLayer::with_error_events_to_status`]; in the `exception` shape with [`TracedLayer::with_error_events_to_exceptions`] |
//! | event outside any span | dropped | as tracing-opentelemetry does |
//! | event under a traced span's stand-in after the traced span ended (on another thread) | dropped | counted in [`late_events_dropped`] |
//!
//! # Sampling and cost
//!
//! A `tracing` span under an unsampled traced span (with a sampler that follows its parent,
//! the default) costs one thread-local read in the layer: its fields are not read, nothing
//! is allocated, and the parent's context stays active so it still propagates. Otherwise the
//! fields are read before the sampler is asked (it needs `otel.kind` and `otel.name`). An
//! event is read only when its span records.
//!
//! # How `tracing::Span::current()` leads back to a traced span
//!
//! `Span::current()` is answered by the registry, not by layers, so while a traced span is
//! active a `tracing` span must be current in the registry: a stand-in, named `traced`
//! (target `traced`, level INFO, no fields), whose extensions hold the traced span's context
//! and an inbox. Carried to another thread and entered there, it makes the traced span's
//! context active there; events recorded under it there are kept and added to the traced
//! span when it ends, on its own thread. Events recorded under it after that are dropped and
//! counted in [`late_events_dropped`].
//!
//! - On [`registry()`] (lazy): the stand-in is created only when the registry is asked for
//!   its current span while a traced span newer than its current span is active
//!   (`Span::current()`, or a layer looking up an event's span), entered at that span's place
//!   on the context stack and closed when it exits. A `#[traced]` span that nothing asks
//!   about costs 86 instructions more than without the layer (callgrind at 1af684a: 893
//!   against 807).
//! - On `tracing_subscriber::registry()` (eager): the layer cannot see `Span::current()`
//!   being asked, so every traced span gets its stand-in the first time it is entered on a
//!   thread (created and closed through the whole stack, entered and exited straight in the
//!   registry): 4 145 instructions per `#[traced]` span against 807, more than a `tracing`
//!   span itself (1 291 through the registry and a counting layer).
//!
//! Programs built without the `tracing` feature pay nothing (the hooks are compiled out: 795
//! instructions per `#[traced]` span at 1af684a). With the feature but no layer installed,
//! each hook site is one relaxed load of a static flag and a branch (enter, exit, end): 807.

mod fmt;
mod layer;
mod lazy;
mod mirror;
mod visit;

pub use fmt::{WithTraceIds, with_trace_ids};
pub use layer::TracedLayer;
pub use lazy::{TracedRegistry, registry};
pub use mirror::late_events_dropped;

/// The layer that joins `tracing` and traced, with the defaults of the table above.
pub fn layer() -> TracedLayer {
    TracedLayer::default()
}

/// Makes [`registry()`] with [`layer()`] and a fmt layer writing lines with the ids
/// ([`with_trace_ids`]) to standard error, levels INFO and above, the process's default
/// `tracing` subscriber. What `Config::with_tracing(true)` does; an error when the program
/// already has one.
pub fn try_init() -> Result<(), tracing_core::dispatcher::SetGlobalDefaultError> {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(layer())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .event_format(with_trace_ids(tracing_subscriber::fmt::format())),
        );
    tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(subscriber))
}
