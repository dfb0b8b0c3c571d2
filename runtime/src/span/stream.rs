//! Streams that carry a span: active during each poll, ended when the stream ends or is
//! dropped, like [`Instrumented`](crate::future::Instrumented) futures.

use crate::context::Context;
use crate::span::Span;
use crate::span::future::{WithContext, poll_in};
use futures::Stream;
use pin_project::{pin_project, pinned_drop};
use std::fmt;
use std::pin::Pin;
use std::task::{self, Poll};

/// A stream with a span. See [`StreamExt::instrument`].
#[pin_project(PinnedDrop)]
#[must_use = "streams do nothing unless polled"]
pub struct InstrumentedStream<S> {
    #[pin]
    stream: S,
    span: Span,
}

impl<S> fmt::Debug for InstrumentedStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentedStream")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for InstrumentedStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let stream = this.stream;
        let poll = poll_in(this.span, || stream.poll_next(cx));
        if let Poll::Ready(None) = poll {
            this.span.end_in_place(None);
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

#[pinned_drop]
impl<S> PinnedDrop for InstrumentedStream<S> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        if this.span.is_recording() {
            // Still recording: dropped before the stream ended (a panic already ended it).
            this.span.record_cancelled();
            this.span.end_in_place(None);
        }
    }
}

impl<S: Stream> Stream for WithContext<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let _guard = this.context.attach();
        this.inner.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Attaches spans and contexts to [`Stream`]s, as [`FutureExt`](crate::FutureExt) does to
/// futures. Import it as `use traced::StreamExt as _;` beside `futures::StreamExt`.
pub trait StreamExt: Stream + Sized {
    /// Runs this stream inside `span`: active during every poll, ended when the stream
    /// yields `None`, or when it is dropped before that (with `traced.cancelled = true`).
    ///
    /// ```
    /// use futures::{executor::block_on, stream, StreamExt as _};
    /// use traced_runtime::{span, testing, StreamExt as _};
    ///
    /// let (items, spans) = testing::capture(|| {
    ///     let numbers = stream::iter(1..=3).map(|n| {
    ///         span("item").start().end(); // a child of "numbers"
    ///         n * 10
    ///     });
    ///     block_on(numbers.instrument(span("numbers").start()).collect::<Vec<_>>())
    /// });
    /// assert_eq!(items, [10, 20, 30]);
    /// assert_eq!(spans.len(), 4);
    /// assert!(spans[..3].iter().all(|s| s.parent_span_id == spans[3].span_context.span_id()));
    /// ```
    fn instrument(self, span: Span) -> InstrumentedStream<Self> {
        InstrumentedStream { stream: self, span }
    }

    /// Runs this stream in the caller's context: the span active here is attached during
    /// every poll, wherever it is polled. See [`FutureExt::in_current_context`](crate::FutureExt::in_current_context).
    fn in_current_context(self) -> WithContext<Self> {
        self.with_context(Context::current())
    }

    /// Runs this stream with `context` attached during every poll.
    fn with_context(self, context: Context) -> WithContext<Self> {
        WithContext {
            inner: self,
            context,
        }
    }
}

impl<S: Stream> StreamExt for S {}
