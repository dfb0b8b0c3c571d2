//! Propagation at the span level: the thread's current context into outgoing headers, the
//! caller's context out of incoming ones.

use super::{BaggagePropagator, Extractor, Injector, TraceContextPropagator};
use crate::context::Context;
use crate::model::SpanContext;
use crate::span::Parent;

/// Writes the thread's current context into `carrier`: the active span as `traceparent` and
/// `tracestate`, and the current [`Baggage`](super::Baggage) as `baggage`. Writes nothing
/// for what is absent (no active span, no baggage).
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::{propagation, span, testing, SpanKind};
///
/// testing::capture(|| {
///     let mut call = span("GET /users").kind(SpanKind::Client).start();
///     let mut headers = HashMap::new();
///     call.in_scope(|| propagation::inject(&mut headers));
///     let traceparent = &headers["traceparent"];
///     assert!(traceparent.contains(&call.span_context().span_id().to_string()));
/// });
/// ```
pub fn inject(carrier: &mut dyn Injector) {
    inject_context(&Context::current(), carrier);
}

/// Writes `context` (its span and its baggage) into `carrier`: for a context captured
/// earlier, or built with [`Context::from_span_context`].
pub fn inject_context(context: &Context, carrier: &mut dyn Injector) {
    TraceContextPropagator.inject(&context.span_context(), carrier);
    if let Some(baggage) = context.baggage() {
        BaggagePropagator.inject(baggage, carrier);
    }
}

/// The caller's span context in `carrier` (`is_remote() == true`), or `None` when there is
/// no valid `traceparent`. Never panics on input; see
/// [`TraceContextPropagator::extract`] for the rules.
///
/// Give it to [`SpanBuilder::parent`](crate::SpanBuilder::parent): `None` starts a new
/// trace.
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::{propagation, span, testing, SpanKind};
///
/// let mut headers = HashMap::new();
/// headers.insert(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// );
/// let spans = testing::spans(|| {
///     span("GET /users").kind(SpanKind::Server).parent(propagation::extract(&headers)).start().end();
/// });
/// assert_eq!(spans[0].span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(spans[0].parent_span_id.to_string(), "00f067aa0ba902b7");
/// assert!(spans[0].parent_is_remote);
/// ```
pub fn extract(carrier: &dyn Extractor) -> Option<SpanContext> {
    TraceContextPropagator.extract(carrier)
}

/// The caller's whole context in `carrier`: its span (remote) and its baggage. Attach it
/// (`extract_context(&headers).attach()`) to make both current, so that spans started with
/// the default parent join the caller's trace and [`inject`] forwards the baggage.
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::{propagation, span, testing};
///
/// let mut headers = HashMap::new();
/// headers.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
/// headers.insert("baggage".to_string(), "userId=alice".to_string());
///
/// let cx = propagation::extract_context(&headers);
/// assert_eq!(cx.baggage().unwrap().get("userId"), Some("alice"));
/// let spans = testing::spans(|| {
///     let _guard = cx.attach();
///     span("handler").start().end();
/// });
/// assert_eq!(spans[0].parent_span_id.to_string(), "00f067aa0ba902b7");
/// ```
pub fn extract_context(carrier: &dyn Extractor) -> Context {
    let cx = extract(carrier).map_or_else(Context::new, |cx| Context::from_span_context(&cx));
    match BaggagePropagator.extract(carrier) {
        Some(baggage) => cx.with_baggage(baggage),
        None => cx,
    }
}

impl Parent {
    /// The caller's span in `carrier` as a parent: [`Parent::Context`] with the remote span
    /// context, or [`Parent::Root`] (a new trace) when the headers hold none or an invalid
    /// one.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use traced_runtime::{span, testing, Parent, SpanKind};
    ///
    /// let mut headers = HashMap::new();
    /// headers.insert("traceparent".to_string(), "not a traceparent".to_string());
    /// assert!(matches!(Parent::from_carrier(&headers), Parent::Root));
    /// let spans = testing::spans(|| {
    ///     span("GET /").kind(SpanKind::Server).parent(Parent::from_carrier(&headers)).start().end();
    /// });
    /// assert!(!spans[0].parent_span_id.is_valid());
    /// ```
    pub fn from_carrier(carrier: &dyn Extractor) -> Parent {
        extract(carrier).into()
    }
}
