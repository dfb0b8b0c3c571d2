//! # traced
//!
//! OpenTelemetry-native spans from one attribute. Every call of a `#[traced]` function becomes
//! a span: trace and span ids, parent, kind, start and end in nanoseconds, the arguments as
//! typed attributes, status `Error` and an `exception` event when the call returns `Err` or
//! panics. The span always ends, on every path, a dropped future included.
//!
//! ```
//! use traced::{traced, Status, Value};
//!
//! #[derive(Debug)]
//! struct Declined;
//! impl std::fmt::Display for Declined {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("card declined")
//!     }
//! }
//!
//! #[traced(kind = "client", name = "charge-payment", skip(card_number))]
//! fn charge(amount: u64, card_number: &str) -> Result<u64, Declined> {
//!     if amount > 100 { Err(Declined) } else { Ok(amount) }
//! }
//!
//! # if cfg!(feature = "off") { return; } // compiled out: no span to check
//! let (_, spans) = traced::testing::capture(|| charge(250, "4242 4242 4242 4242"));
//! assert_eq!(spans[0].name, "charge-payment");
//! assert_eq!(spans[0].attribute("amount"), Some(&Value::I64(250)));
//! assert_eq!(spans[0].attribute("card_number"), None);
//! assert_eq!(spans[0].status, Status::error("card declined"));
//! ```
//!
//! ## Instrument a function
//!
//! Put [`#[traced]`](macro@traced) on a function, a method, an `async fn`, an `impl` block or
//! a trait. Its options (`name`, `kind`, `skip`, `skip_all`, `attrs`, `ret`, `on_ok`, `on_err`,
//! `err`, `redact`, `reveal`, `code`, `parent`, `links`, `crate`) are documented on the macro.
//! Arguments are recorded when their type implements [`ToValue`] (or `Debug`); wrap secrets
//! in [`Redacted`]. For spans by hand: [`span`] builds one, [`current`] reaches the active
//! span from anywhere (to add an attribute or an event), [`FutureExt`] and [`StreamExt`] carry
//! a span across `.await`s.
//!
//! ## Ship to a collector
//!
//! [`init`] in `main` reads the standard `OTEL_*` variables: with no OTLP endpoint set, spans
//! print to the terminal as trees; with `OTEL_EXPORTER_OTLP_ENDPOINT` set (and the `otlp`
//! feature), they go to an OpenTelemetry Collector, Jaeger or Tempo from a background thread.
//! Keep the returned guard alive: dropping it flushes.
//!
//! ```no_run
//! // First thing in `main`:
//! let _guard = traced::init();
//! // ... traced code ...
//! ```
//!
//! [`Config`] overrides the variables in code ([`config`] lists them all, with a [`Sampler`]
//! among them). To write your own exporter or processor, or to build a pipeline by hand:
//! [`export`] (the [`SpanExporter`](export::SpanExporter) trait, console, memory, OTLP) and
//! [`pipeline`] (processors, samplers, [`Pipeline`](pipeline::Pipeline)).
//!
//! ## Carry context
//!
//! A span started while another is active on the same thread is its child. Across threads,
//! tasks and callbacks carry a [`Context`]: [`thread::spawn`], [`context::wrap`],
//! [`FutureExt::in_current_context`], and `traced::tokio::spawn` (feature `tokio`). Across
//! processes, [`propagation`] writes and reads W3C Trace Context and Baggage headers;
//! `#[traced(parent = &headers)]` joins the caller's trace.
//!
//! ## Test your spans
//!
//! [`testing::capture`] runs code under an in-memory pipeline and returns the spans it made,
//! as [`SpanData`] to assert on; [`export::render_tree`] prints them as a tree.
//!
//! ## Already using `tracing`?
//!
//! The `tracing` feature adds `traced::tracing`, whose `traced::tracing::layer()` plugs into a
//! `tracing-subscriber` registry (best on `traced::tracing::registry()`) so `tracing` spans and
//! events join the same traces as `#[traced]` ones, `tracing::Span::current()` carries a
//! `#[traced]` span to a library's worker thread, and `traced::tracing::with_trace_ids` puts
//! the ids on fmt lines; its module docs have the mapping. The `log` feature adds
//! `traced::log::Logger`, a `log::Log` wrapper: records become span events and carry the ids.
//! `Config::with_tracing(true)` sets all of it up for a program with no subscriber.
//!
//! ## HTTP services
//!
//! The `tower` feature adds `traced::tower`: `ServerLayer` gives each request to an axum,
//! tonic or hyper-util service a server span joined to the caller's W3C headers (feature
//! `axum` names it after the route), `ClientLayer` a client span to each request of a
//! hyper-util client or tonic channel; the `reqwest` feature adds
//! `traced::reqwest::TracingMiddleware` for reqwest-middleware. Both follow the HTTP and gRPC
//! semantic conventions, whose keys are constants in [`semconv`]. For other clients,
//! [`propagation::inject`] writes the headers (the `http` feature makes `http::HeaderMap` a
//! carrier).
//!
//! ## Where things live
//!
//! The crate root holds what an application calls. Below it: [`model`] (the data of a span:
//! ids, values, events, links, [`SpanData`]), [`context`], [`future`], [`propagation`],
//! [`pipeline`], [`export`], [`config`], [`testing`]. How the runtime fits together is drawn
//! in the `traced-runtime` crate's docs.
//!
//! Two commands: `cargo run --example checkout` (the main example) and
//! `cargo test --workspace` (the test suite). `cargo run --example shop` runs two traced HTTP
//! services with a database between them.

pub use traced_macros::traced;
pub use traced_runtime::*;

#[doc(hidden)]
pub mod __private {
    pub use traced_runtime::__private::*;
}
