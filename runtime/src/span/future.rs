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

/// Runs one poll with `span` active; if the poll unwinds, records the panic and ends the span.
/// Shared by instrumented futures and streams.
#[inline]
pub(crate) fn poll_in<T>(span: &mut Span, poll: impl FnOnce() -> T) -> T {
    let guard = PollGuard::enter(span);
    let out = poll();
    guard.exit();
    out
}

/// The span active during one poll: [`PollGuard::exit`] after the poll returns; dropped
/// instead (the poll unwound), it exits, records the panic and ends the span.
struct PollGuard<'a> {
    span: &'a mut Span,
    saved: Option<crate::context::Saved>,
}

impl<'a> PollGuard<'a> {
    #[inline]
    fn enter(span: &'a mut Span) -> Self {
        let saved = span.activate();
        PollGuard { span, saved }
    }

    /// The poll returned: back to the context before it. Returns the span and, if it was
    /// entered, whether the context active now records (what ending the span next wants to
    /// know, and would otherwise look up).
    #[inline]
    fn exit(self) -> (&'a mut Span, Option<bool>) {
        let this = std::mem::ManuallyDrop::new(self);
        let saved = this.saved;
        // SAFETY: `this` is never dropped nor used again: the `&mut Span` is moved out of it
        // once, and no other copy of it is ever used.
        let span = unsafe { std::ptr::read(&raw const this.span) };
        let outer_recording = span.deactivate(saved);
        (span, outer_recording)
    }
}

impl Drop for PollGuard<'_> {
    #[cold]
    fn drop(&mut self) {
        // Only while unwinding: a poll that returns goes through `exit`.
        self.span.deactivate(self.saved.take());
        self.span.record_panic();
        self.span.end_in_place(None);
    }
}

impl<F: Future, C: FnOnce(&F::Output, &mut Span)> Future for Instrumented<F, C> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let guard = PollGuard::enter(this.span);
        let poll = this.future.poll(cx);
        let (span, outer_recording) = guard.exit();
        if let Poll::Ready(output) = &poll {
            if let Some(on_output) = this.on_output.take() {
                on_output(output, span);
            }
            span.end_exited(outer_recording);
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

    /// Runs this future in the caller's context: the span active here (and the baggage) is
    /// attached during every poll, on whatever thread polls it, so spans started inside are
    /// children of the span that created the future. See [`Context`](crate::context::Context)
    /// for what is recorded where.
    ///
    /// ```
    /// use traced_runtime::{span, testing, FutureExt};
    ///
    /// let spans = testing::spans(|| {
    ///     let mut request = span("request").start();
    ///     let fut = request.in_scope(|| async { span("step").start().end() }.in_current_context());
    ///     std::thread::spawn(|| futures::executor::block_on(fut)).join().unwrap();
    ///     request.end();
    /// });
    /// assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
    /// ```
    fn in_current_context(self) -> WithContext<Self> {
        self.with_context(crate::context::Context::current())
    }

    /// Runs this future with `context` attached during every poll.
    fn with_context(self, context: crate::context::Context) -> WithContext<Self> {
        WithContext {
            inner: self,
            context,
        }
    }
}

/// A future (or stream) that runs with a captured context attached during each poll. See
/// [`FutureExt::in_current_context`].
#[pin_project]
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct WithContext<T> {
    #[pin]
    pub(crate) inner: T,
    pub(crate) context: crate::context::Context,
}

impl<T> WithContext<T> {
    /// The context attached during each poll.
    pub fn context(&self) -> &crate::context::Context {
        &self.context
    }

    /// The wrapped future or stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.context.attach();
        this.inner.poll(cx)
    }
}

impl<F: Future> FutureExt for F {}
