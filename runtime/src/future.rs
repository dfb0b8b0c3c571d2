//! Futures that carry a span: active during each poll, inactive between polls, ended when
//! the future completes or is dropped.

use crate::span::Span;
use pin_project::{pin_project, pinned_drop};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What an instrumented future does with its output before returning it (the macro uses
/// this to record a returned `Err`).
pub type OnOutput<O> = fn(&O, &mut Span);

/// A future with a span. See [`FutureExt::instrument`].
#[pin_project(PinnedDrop)]
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F: Future, C = OnOutput<<F as Future>::Output>> {
    #[pin]
    future: F,
    span: Span,
    on_output: Option<C>,
}

impl<F: Future, C> fmt::Debug for Instrumented<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumented")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<F: Future, C: FnOnce(&F::Output, &mut Span)> Instrumented<F, C> {
    /// Wraps `future` with `span`; `on_output` sees the output before the span ends.
    #[doc(hidden)]
    pub fn new(span: Span, future: F, on_output: C) -> Self {
        Instrumented {
            future,
            span,
            on_output: Some(on_output),
        }
    }
}

/// Ends the span if the poll unwinds.
struct PollGuard<'a> {
    span: &'a mut Span,
    saved: Option<crate::context::Saved>,
}

impl Drop for PollGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.span.deactivate(self.saved.take());
        if std::thread::panicking() {
            self.span.record_panic();
            self.span.end_in_place(None);
        }
    }
}

impl<F: Future, C: FnOnce(&F::Output, &mut Span)> Future for Instrumented<F, C> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let saved = this.span.activate();
        let guard = PollGuard {
            span: this.span,
            saved,
        };
        let poll = this.future.poll(cx);
        drop(guard);
        if let Poll::Ready(output) = &poll {
            if let Some(on_output) = this.on_output.take() {
                on_output(output, this.span);
            }
            this.span.end_in_place(None);
        }
        poll
    }
}

#[pinned_drop]
impl<F: Future, C> PinnedDrop for Instrumented<F, C> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        if this.span.is_recording() {
            // Still recording: dropped before completion (a panic already ended the span).
            this.span.record_cancelled();
            this.span.end_in_place(None);
        }
        // The future's own drop runs after this, outside the span: its spans are not children.
    }
}

fn no_output<O>(_: &O, _: &mut Span) {}

/// Attaches spans to futures.
pub trait FutureExt: Future + Sized {
    /// Runs this future inside `span`: active during every poll, ended on completion or drop.
    ///
    /// ```
    /// use traced_runtime::{span, FutureExt};
    /// let fut = async { 1 + 1 }.instrument(span("compute").start());
    /// assert_eq!(futures::executor::block_on(fut), 2);
    /// ```
    fn instrument(self, span: Span) -> Instrumented<Self> {
        Instrumented {
            future: self,
            span,
            on_output: Some(no_output::<Self::Output>),
        }
    }
}

impl<F: Future> FutureExt for F {}
