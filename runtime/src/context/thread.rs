//! Threads that start in the spawning thread's context; public as [`crate::thread`].

use crate::context::Context;
use std::thread::{JoinHandle, Scope, ScopedJoinHandle};

/// [`std::thread::spawn`], with the caller's context attached on the new thread: spans started
/// there are children of the span active here, and the baggage comes along.
///
/// ```
/// use traced_runtime::{span, testing, thread};
///
/// let spans = testing::spans(|| {
///     let mut request = span("request").start();
///     let handle = request.in_scope(|| thread::spawn(|| span("background").start().end()));
///     handle.join().unwrap();
///     request.end();
/// });
/// assert_eq!(spans[0].name, "background");
/// assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(Context::current().wrap(f))
}

/// [`Scope::spawn`], with the caller's context attached on the new thread.
///
/// ```
/// use traced_runtime::{span, testing, thread};
///
/// let spans = testing::spans(|| {
///     let mut batch = span("batch").start();
///     batch.in_scope(|| {
///         std::thread::scope(|s| {
///             for i in 0..2 {
///                 thread::spawn_scoped(s, move || span(format!("part-{i}")).start().end());
///             }
///         });
///     });
///     batch.end();
/// });
/// let batch = spans.iter().find(|s| s.name == "batch").unwrap();
/// assert!(spans.iter().filter(|s| s.name != "batch")
///     .all(|s| s.parent_span_id == batch.span_context.span_id()));
/// ```
pub fn spawn_scoped<'scope, 'env, F, T>(
    scope: &'scope Scope<'scope, 'env>,
    f: F,
) -> ScopedJoinHandle<'scope, T>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    scope.spawn(Context::current().wrap(f))
}
