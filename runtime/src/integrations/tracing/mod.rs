//! The `tracing` ecosystem in traced's traces, both ways (feature `tracing`).
//!
//! **Build your subscriber on [`registry()`] instead of `tracing_subscriber::registry()`
//! and add [`layer()`]** (or, with no subscriber of your own,
//! `traced::Config::from_env().with_tracing(true)`, which does that): a `#[traced]` span
//! then costs what it costs without the layer until something asks for the current `tracing`
//! span. [`layer()`] on `tracing_subscriber::registry()` works too, but adds about 3 500
//! instructions to every `#[traced]` span, about eight times its own cost (see
//! [the costs](#sampling-and-cost)).
//!
//! ```
//! use tracing_subscriber::{fmt, prelude::*};
//!
//! traced_runtime::tracing::registry() // in place of tracing_subscriber::registry()
//!     .with(traced_runtime::tracing::layer())
//!     .with(fmt::layer().event_format(traced_runtime::tracing::with_trace_ids(fmt::format())))
//!     .init();
//! ```
//!
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
//! | a span or event field whose name looks secret (`password`, `api_key`, `authorization`, `session_id`..., the rules of [`secret`](crate::secret)) | attribute `[REDACTED]` | as `#[traced]` records such a parameter |
//! | secret-looking fields inside `Debug` text, the password of a URL in any text | `[REDACTED]` in the text | as for `#[traced]`'s arguments |
//!
//! # Sampling and cost
//!
//! A `tracing` span under an unsampled traced span (with a sampler that follows its parent,
//! the default) costs one thread-local read in the layer: its fields are not read, nothing
//! is allocated, and the parent's context stays active so it still propagates. Otherwise, when
//! the sampler decides without the name and kind (a child of a sampled span of this
//! process, under a sampler that samples those, the default), the span starts first and
//! its fields are read into it only if it records; else they are read before the sampler is
//! asked (it may look at `otel.kind` and `otel.name`). An event is read only when its span
//! records.
//!
//! Instructions per call (callgrind, `benches/src/bin/bridge.rs`, a `#[traced]` child with
//! two arguments, or an `info_span!` with two fields and `otel.kind` entered, exited and
//! closed, under a sampled traced root; at a2837f5, secret-looking fields redacted and text
//! scrubbed as [the mapping](#the-mapping) says):
//!
//! | case | instructions |
//! |---|---|
//! | `#[traced]` child, built without the `tracing` feature | 455 |
//! | the same, feature compiled, no layer installed | 460 |
//! | the same under [`registry()`] + [`layer()`] (lazy) | 460 |
//! | the same under `tracing_subscriber::registry()` + [`layer()`] (eager) | 3 883 |
//! | a `tracing` span through the registry and a counting layer (`tracing` itself) | 1 310 |
//! | the `tracing` span through [`layer()`] | 3 796 |
//! | the same on [`registry()`] (lazy) | 3 826 |
//! | the `tracing` span through tracing-opentelemetry (SDK tracer) | 9 815 |
//!
//! (The instructions between the first two rows are code layout: the feature's cold branches
//! change the generated code of the span's start and end; no hook is checked there.)
//!
//! - **No layer.** Nothing is checked on the `#[traced]` path: each place the bridge
//!   hooks rides on a branch that path takes anyway. A layer on a registry that needs every
//!   span entered (eager, below) turns the pipeline's fast path for children off, so
//!   `#[traced]` spans go through the enter that checks the hook (spans entered by hand and
//!   futures at each poll check one relaxed load there); a stand-in that must be exited marks
//!   the saved stack depth, which the exit finds on the branch it takes for a stale guard; a
//!   span with events to collect from other threads trades its `SAMPLED` bit for `SETTLE`,
//!   which the end finds on its unsampled branch.
//! - **A bridged `tracing` span** is a traced span with seven attributes (the two fields,
//!   the three `code.*`, `target`, `level`), all in the record itself (no allocation). What
//!   a callsite's spans share is worked out at its first span and kept: its scope, its
//!   `code.*`, `target` and `level` values (cloned into each span), and what each field is
//!   for (an attribute or an `otel.*` field, by index, with no name compared). When the
//!   sampler does not read the name and kind (a child of a sampled span of this process,
//!   under the default sampler), the span starts first and its fields are read straight
//!   into it. The enter that follows a span's creation on the same thread finds what to
//!   make active without looking the span up in the registry. What remains: `tracing`'s
//!   own cost (about 1 300), the traced span's start and end (about 500), the layer's
//!   state in the span's extensions (an allocation, the map's insert and clear, about 330),
//!   the registry look-ups at creation and close (about 110 each), the fields read through
//!   `tracing`'s visitor, and the traced context entered and exited with the span. It costs
//!   0.40 of the same span through tracing-opentelemetry.
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
//!   on the context stack, and exited and closed once that span is no longer there (checked
//!   before the registry answers again). A `#[traced]` span that nothing asks about costs
//!   nothing more than without the layer.
//! - On `tracing_subscriber::registry()` (eager): the layer cannot see `Span::current()`
//!   being asked, so every traced span gets its stand-in when it is entered: created and
//!   closed through the whole stack (other layers, fmt's for one, keep their own state in
//!   every span), entered and exited straight in the registry. That is a `tracing` span's
//!   life for every traced span, and it is the floor: creating the stand-in through the
//!   stack costs about 930 instructions (the registry's slot and its reference to the
//!   current span as parent, about 410; the layer's extension, about 410), closing it about
//!   770, entering and exiting it about 150. The rest (about 1 500) is the bridge's own
//!   bookkeeping: the default dispatcher looked up, the stand-in and its inbox kept in the
//!   span's record, the stand-ins entered on the thread, the enter taken apart from the
//!   start.
//!
mod callsite;
mod fmt;
mod layer;
mod lazy;
mod mirror;
mod visit;

pub use fmt::{WithTraceIds, with_trace_ids};
pub use layer::TracedLayer;
pub use lazy::{TracedRegistry, registry};
pub use mirror::late_events_dropped;

/// The layer that joins `tracing` and traced, with the defaults of the table above. Put it
/// on [`registry()`] (the cheap way) rather than on `tracing_subscriber::registry()`.
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
