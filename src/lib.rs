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
//! let (_, spans) = traced::testing::capture(|| charge(250, "4242 4242 4242 4242"));
//! assert_eq!(spans[0].name, "charge-payment");
//! assert_eq!(spans[0].attribute("amount"), Some(&Value::I64(250)));
//! assert_eq!(spans[0].attribute("card_number"), None);
//! assert_eq!(spans[0].status, Status::error("card declined"));
//! ```
//!
//! ## Getting spans out
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
//! ## Where to look
//!
//! - [`traced`](macro@traced): the attribute and every option (`name`, `kind`, `skip`,
//!   `skip_all`, `attrs`, `ret`, `on_ok`, `on_err`, `err`, `redact`, `reveal`, `code`,
//!   `parent`, `links`, `crate`), on functions, `impl` blocks and traits.
//! - [`span`], [`current`], [`FutureExt`], [`Context`]: spans by hand, the active span, futures
//!   and the context across threads and tasks.
//! - [`propagation`]: W3C Trace Context and Baggage across processes.
//! - `traced::tower` (features `tower`, `axum`) and `traced::reqwest` (feature `reqwest`):
//!   HTTP and gRPC server and client spans in one line each (`ServerLayer`, `ClientLayer`,
//!   `TracingMiddleware`); [`semconv`]: the semantic conventions' attribute keys.
//! - [`Pipeline`], [`config`], [`Sampler`], [`export`]: where finished spans go.
//! - [`testing`]: run code under an in-memory pipeline and assert on its spans.
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
