//! One HTTP exchange's span, from the request to the end of the response body, and the
//! body wrapper that ends it.

use crate::context::{Context, Saved};
use crate::integrations::http::{self, Side};
use crate::model::semconv;
use crate::span::Span;
use http_body::{Body, Frame, SizeHint};
use pin_project::{pin_project, pinned_drop};
use std::fmt::{self, Display};
use std::pin::Pin;
use std::task::{self, Poll};

/// The span of one request and what its end depends on.
pub(crate) struct Exchange {
    pub(crate) span: Span,
    /// Attached during every poll under the span: the caller's remote span and baggage on
    /// a server (so that, with tracing off, the caller's context still propagates).
    pub(crate) context: Option<Context>,
    pub(crate) side: Side,
    /// A gRPC exchange: the outcome is the `grpc-status` (headers or trailers), not the HTTP
    /// status.
    pub(crate) grpc: bool,
    /// A `HEAD` request: its response's body is never sent (hyper and axum drop it), so the
    /// exchange ends with the response head.
    pub(crate) head: bool,
}

impl Exchange {
    /// Runs `f` (a poll of the inner service's future or body) with the exchange's context
    /// attached and its span active. A panic in `f` is recorded (`error.type = panic`, status
    /// `Error`, an `exception` event), ends the span, and goes on unwinding.
    pub(crate) fn poll_in<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let _context = self.context.as_ref().map(Context::attach);
        let saved = self.span.activate();
        let _unwind = Unwind {
            span: &mut self.span,
            saved,
        };
        f()
    }

    /// The response head: status code (or gRPC status in a trailers-only response).
    pub(crate) fn on_response(&mut self, status: ::http::StatusCode, headers: &::http::HeaderMap) {
        if !self.span.is_recording() {
            return;
        }
        if self.grpc {
            if !http::record_grpc_status(&mut self.span, self.side, headers)
                && status != ::http::StatusCode::OK
            {
                http::record_grpc_http_error(&mut self.span, self.side, status.as_u16());
            }
        } else {
            http::record_status_code(&mut self.span, self.side, status.as_u16());
        }
    }

    /// The service failed: no response.
    pub(crate) fn on_error<E: Display>(&mut self, error: &E) {
        http::record_failure(&mut self.span, error);
    }

    fn on_trailers(&mut self, trailers: &::http::HeaderMap) {
        if self.grpc && self.span.is_recording() {
            http::record_grpc_status(&mut self.span, self.side, trailers);
        }
    }

    pub(crate) fn cancel(mut self) {
        self.span.record_cancelled();
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("span", &self.span)
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

/// Deactivates the span after a poll; on a panic, records it and ends the span.
struct Unwind<'a> {
    span: &'a mut Span,
    saved: Option<Saved>,
}

impl Drop for Unwind<'_> {
    fn drop(&mut self) {
        self.span.deactivate(self.saved.take());
        if std::thread::panicking() && self.span.is_recording() {
            self.span.set_attribute(semconv::ERROR_TYPE, "panic");
            self.span.record_panic();
            self.span.end_in_place(None);
        }
    }
}

/// A response body whose request span ends when the body has been sent (or read) to its
/// end, fails, or is dropped before its end (then the span gets `traced.cancelled = true`).
/// The span is active while the body is polled, so spans a streaming body starts are its
/// children. For gRPC, the status in the trailers is recorded.
#[pin_project(PinnedDrop)]
pub struct ResponseBody<B> {
    #[pin]
    inner: B,
    exchange: Option<Exchange>,
}

impl<B> ResponseBody<B> {
    /// A body without a span (its span already ended).
    pub(crate) fn empty(inner: B) -> Self {
        ResponseBody {
            inner,
            exchange: None,
        }
    }
}

impl<B: Body> ResponseBody<B> {
    /// An empty body (a 204, a 404 with no text) is never polled: the span ends here.
    pub(crate) fn new(inner: B, exchange: Exchange) -> Self {
        let exchange = (!inner.is_end_stream()).then_some(exchange);
        ResponseBody { inner, exchange }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Error: Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(exchange) = this.exchange.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        let inner = this.inner.as_mut();
        let poll = exchange.poll_in(|| inner.poll_frame(cx));
        let done = match &poll {
            Poll::Pending => false,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    exchange.on_trailers(trailers);
                }
                this.inner.is_end_stream()
            }
            Poll::Ready(Some(Err(error))) => {
                exchange.on_error(error);
                true
            }
            Poll::Ready(None) => true,
        };
        if done {
            // Dropping the exchange ends its span.
            this.exchange.take();
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[pinned_drop]
impl<B> PinnedDrop for ResponseBody<B> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        if let Some(exchange) = this.exchange.take() {
            // A body that ended was let go at its last frame (or at `new`, when empty):
            // one still here was cut short (the client went away, the server shut down).
            exchange.cancel();
        }
    }
}
