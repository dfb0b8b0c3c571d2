//! Context propagation over text headers: W3C Trace Context (`traceparent`, `tracestate`)
//! and W3C Baggage (`baggage`).
//!
//! A service reads the caller's span context from the incoming request with
//! [`TraceContextPropagator::extract`], starts its spans under it, and writes its own
//! context into outgoing requests with [`TraceContextPropagator::inject`]. Headers are read
//! through an [`Extractor`] and written through an [`Injector`]; both are implemented for
//! `HashMap<String, String>` and, with the `http` feature, for `http::HeaderMap`.
//!
//! ```
//! use std::collections::HashMap;
//! use traced_runtime::propagation::TraceContextPropagator;
//!
//! let mut incoming = HashMap::new();
//! incoming.insert(
//!     "traceparent".to_string(),
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
//! );
//! incoming.insert("tracestate".to_string(), "rojo=00f067aa0ba902b7".to_string());
//!
//! let parent = TraceContextPropagator.extract(&incoming).expect("a valid traceparent");
//! assert!(parent.is_remote() && parent.is_sampled());
//! assert_eq!(parent.trace_state().get("rojo"), Some("00f067aa0ba902b7"));
//!
//! let mut outgoing = HashMap::new();
//! TraceContextPropagator.inject(&parent, &mut outgoing);
//! assert_eq!(outgoing["traceparent"], incoming["traceparent"]);
//! ```
//!
//! Most code needs only the span-level functions: [`inject`] writes the thread's current
//! context (active span and baggage) into outgoing headers, [`extract`] reads the caller's
//! span context for [`SpanBuilder::parent`](crate::SpanBuilder::parent) (or
//! [`Parent::from_carrier`](crate::Parent::from_carrier)), and [`extract_context`] reads
//! span and baggage together as a [`Context`](crate::context::Context) to attach.
//!
//! Malformed input never fails a request: an invalid `traceparent` extracts as `None` (the
//! caller starts a new trace), an invalid `tracestate` is dropped while its `traceparent` is
//! kept, and invalid baggage members are skipped. Nothing here panics on input.
//!
//! The parsers are exposed for other carriers (message queues, gRPC metadata):
//! [`parse_traceparent`], [`format_traceparent`], [`parse_trace_state`],
//! [`format_trace_state`], and [`Baggage::parse`] / [`Baggage::header`]. The W3C rules for
//! changing a trace state live in [`TraceStateExt`].

pub(crate) mod baggage;
mod carrier;
mod context;
mod error;
mod trace_context;
mod traceparent;
mod tracestate;

#[cfg(test)]
mod proptests;

pub use baggage::{Baggage, BaggageEntry, BaggagePropagator};
pub use carrier::{Extractor, Injector};
pub use context::{extract, extract_context, inject, inject_context};
pub use error::PropagationError;
pub use trace_context::TraceContextPropagator;
pub use traceparent::{format_traceparent, parse_traceparent};
pub use tracestate::{TraceStateExt, format_trace_state, parse_trace_state};

/// The W3C Trace Context header carrying version, trace id, parent id and flags.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// The W3C Trace Context header carrying vendor-specific `key=value` entries.
pub const TRACESTATE_HEADER: &str = "tracestate";
/// The W3C Baggage header carrying user-defined `key=value` entries.
pub const BAGGAGE_HEADER: &str = "baggage";

/// Trims optional white space (`OWS`: spaces and horizontal tabs, RFC 7230 §3.2.3) from
/// both ends. Other white space is data, and the grammars reject it.
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}
